package metagame_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/domain/catalog"
	"github.com/musterhq/muster/domain/content"
	"github.com/musterhq/muster/domain/economytest"
	"github.com/musterhq/muster/domain/inventory"
	"github.com/musterhq/muster/domain/ledger"
	"github.com/musterhq/muster/domain/match"
	"github.com/musterhq/muster/domain/outbox"
	"github.com/musterhq/muster/domain/progression"
	"github.com/musterhq/muster/domain/reward"
)

// fixture is the published content of a season in play and the consumers
// that apply match results, wired as the worker target wires them.
type fixture struct {
	mode      string
	consumers []outbox.Consumer
}

func newFixture(t testing.TB, conn *sqlx.DB) fixture {
	ctx := context.Background()
	cs := content.New(conn)
	led := ledger.New(conn)
	inv := inventory.NewStore(conn, led, inventory.Config{})
	payer := reward.NewPayer(inv, led)
	prog := progression.New(conn, payer, led)
	cs.Register(match.ModeKind())
	for _, k := range prog.ContentKinds() {
		cs.Register(k)
	}
	coins := economytest.Currency(t, conn, "soft")
	charm := economytest.Item(t, conn, func(it *catalog.Item) { it.MaxStack = 100000 })
	publish := func(kind, id string, body any) {
		b, _ := json.Marshal(body)
		var expected int
		if d, err := cs.Get(ctx, kind, id); err == nil {
			expected = d.DraftRevision
		}
		d, err := cs.SaveDraft(ctx, kind, id, "", b, content.Edit{Expected: expected, Editor: "bench"})
		if err != nil {
			t.Fatalf("save %s: %v", kind, err)
		}
		if _, err := cs.Publish(ctx, kind, id, content.Edit{Expected: d.DraftRevision, Editor: "bench"}); err != nil {
			t.Fatalf("publish %s: %v", kind, err)
		}
	}
	mode := economytest.Name("br")
	publish(match.KindMode, mode, match.Mode{Name: "Bench quads", Teams: 25, TeamSize: 4, MaxDurationSeconds: 1800,
		Bounds: map[string]int64{match.StatKills: 60, match.StatDeaths: 60, match.StatAssists: 60, match.StatDamage: 20000,
			match.StatSecondsPlayed: 1800},
		WeaponClasses: []string{"assault_rifle", "smg"},
		XP:            match.XPRules{PerMinute: 20, PerKill: 100, PerAssist: 40, Win: 2000, Placement: []int64{1000, 500}, Max: 10000}})
	// Short levels, so that most matches level most players up and pay
	// rewards: the expensive path.
	levels := make([]int64, 199)
	for i := range levels {
		levels[i] = 300
	}
	var rewards []progression.LevelReward
	for lv := 2; lv <= 200; lv++ {
		r := reward.Reward{Currencies: []reward.Amount{{Currency: coins, Amount: 10}}}
		if lv%2 == 0 {
			r.Items = []inventory.Line{{ItemID: charm.ID, Quantity: 1}}
		}
		rewards = append(rewards, progression.LevelReward{Level: lv, Reward: r})
	}
	publish(progression.KindCurve, progression.CurveID, progression.Curve{XPPerLevel: levels, Rewards: rewards})
	return fixture{mode: mode, consumers: []outbox.Consumer{prog.Consumer()}}
}
