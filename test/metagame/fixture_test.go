package metagame_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/domain/battlepass"
	"github.com/musterhq/muster/domain/catalog"
	"github.com/musterhq/muster/domain/challenge"
	"github.com/musterhq/muster/domain/content"
	"github.com/musterhq/muster/domain/economytest"
	"github.com/musterhq/muster/domain/inventory"
	"github.com/musterhq/muster/domain/ledger"
	"github.com/musterhq/muster/domain/match"
	"github.com/musterhq/muster/domain/notify"
	"github.com/musterhq/muster/domain/outbox"
	"github.com/musterhq/muster/domain/player"
	"github.com/musterhq/muster/domain/progression"
	"github.com/musterhq/muster/domain/reward"
	"github.com/musterhq/muster/domain/season"
	"github.com/musterhq/muster/domain/state"
)

// fixture is the published content of a season in play and the consumers
// that apply match results, wired as the worker target wires them.
type fixture struct {
	mode      string
	season    string
	coins     string
	charm     string
	bp        *battlepass.Store
	consumers []outbox.Consumer // apply match results: the benchmark waits for each
	others    []outbox.Consumer
	publish   func(kind, id string, body any)
}

func newFixture(t testing.TB, conn *sqlx.DB) fixture {
	ctx := context.Background()
	cs := content.New(conn)
	led := ledger.New(conn)
	inv := inventory.NewStore(conn, led, inventory.Config{})
	payer := reward.NewPayer(inv, led)
	prog := progression.New(conn, payer, led)
	bp := battlepass.New(conn, payer, led, battlepass.Config{})
	ch := challenge.New(conn, payer, challenge.Config{})
	mem := state.NewMemory()
	players := player.New(conn, mem, inv, player.Config{})
	notes := notify.NewStore(conn, notify.Config{})
	cs.Register(match.ModeKind())
	cs.Register(season.ContentKind())
	cs.Register(bp.ContentKind())
	for _, k := range append(prog.ContentKinds(), ch.ContentKinds()...) {
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
	// A season running now for the battle pass.
	sid := economytest.Name("s")
	now := time.Now()
	publish(season.Kind, sid, season.Season{Name: "Bench season", StartsAt: now.Add(-time.Hour), EndsAt: now.Add(30 * 24 * time.Hour)})

	// Daily and weekly challenges every player progresses in every match.
	goal := func(id string, g challenge.Goal) challenge.Challenge {
		return challenge.Challenge{ID: id, Name: id, Goal: g, Weight: 1, Reward: reward.Reward{Currencies: []reward.Amount{{Currency: coins, Amount: 20}}}}
	}
	publish(challenge.KindPool, "bench-daily", challenge.Pool{Challenges: []challenge.Challenge{
		goal("kills", challenge.Goal{Metric: challenge.MetricKills, Target: 15}),
		goal("ar", challenge.Goal{Metric: challenge.MetricKills, Target: 8, WeaponClass: "assault_rifle"}),
		goal("play", challenge.Goal{Metric: challenge.MetricMatches, Target: 3}),
	}})
	publish(challenge.KindPool, "bench-weekly", challenge.Pool{Challenges: []challenge.Challenge{
		goal("xp", challenge.Goal{Metric: challenge.MetricXP, Target: 50000}),
		goal("damage", challenge.Goal{Metric: challenge.MetricDamage, Target: 20000}),
		goal("assists", challenge.Goal{Metric: challenge.MetricAssists, Target: 30}),
	}})
	publish(challenge.KindRotation, challenge.RotationID, challenge.Rotation{
		Regions:       map[string]challenge.Region{"eu": {Timezone: "Europe/Berlin", ResetAt: "04:00"}},
		DefaultRegion: "eu", WeeklyDay: "monday",
		Daily:  challenge.Slate{Pool: "bench-daily", Count: 3, Rerolls: 1},
		Weekly: challenge.Slate{Pool: "bench-weekly", Count: 3, Rerolls: 1},
	})
	f := fixture{mode: mode, season: sid, bp: bp, coins: coins, charm: charm.ID, publish: publish,
		consumers: []outbox.Consumer{prog.Consumer(), bp.Consumer(), ch.Consumer(), players.StatsConsumer()},
		// What else the worker runs off the same relay: the events a match
		// causes (level-ups, tiers, challenges done) become notifications,
		// published to the gateways, and refresh cached profiles.
		others: []outbox.Consumer{notes.Consumer(), notes.Publisher(mem), players.ProfileCacheConsumer(progression.TopicLevelUp)}}
	f.pace(typicalLevelXP, typicalTierXP)
	return f
}

// The typical pace: a player levels up about every fourth match and reaches
// a new tier about every sixth (the demo pass's tiers are 5,000 XP).
const (
	typicalLevelXP = 3000
	typicalTierXP  = 5000
)

// pace publishes the XP curve and the season's battle pass: levels of
// levelXP and tiers of tierXP, each level and tier with rewards (currency
// on every one, an item on every other level; currency on the free track
// and an item on the premium track of every tier). The smaller they are
// next to a match's XP (about 800 on average here), the more rewards every
// match pays.
func (f fixture) pace(levelXP, tierXP int64) {
	levels := make([]int64, 199)
	for i := range levels {
		levels[i] = levelXP
	}
	var rewards []progression.LevelReward
	for lv := 2; lv <= 200; lv++ {
		r := reward.Reward{Currencies: []reward.Amount{{Currency: f.coins, Amount: 10}}}
		if lv%2 == 0 {
			r.Items = []inventory.Line{{ItemID: f.charm, Quantity: 1}}
		}
		rewards = append(rewards, progression.LevelReward{Level: lv, Reward: r})
	}
	f.publish(progression.KindCurve, progression.CurveID, progression.Curve{XPPerLevel: levels, Rewards: rewards})
	tiers := make([]battlepass.DocTier, 200)
	for i := range tiers {
		tiers[i] = battlepass.DocTier{Free: reward.Reward{Currencies: []reward.Amount{{Currency: f.coins, Amount: 5}}},
			Premium: reward.Reward{Items: []inventory.Line{{ItemID: f.charm, Quantity: 1}}}}
	}
	f.publish(battlepass.Kind, f.season, battlepass.Doc{XPPerTier: tierXP, Tiers: tiers,
		PremiumPrice: &battlepass.Price{Currency: f.coins, Amount: 1}})
}
