package challenge_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/musterhq/muster/domain/challenge"
	"github.com/musterhq/muster/domain/content"
	"github.com/musterhq/muster/domain/economytest"
	"github.com/musterhq/muster/domain/inventory"
	"github.com/musterhq/muster/domain/ledger"
	"github.com/musterhq/muster/domain/match"
	"github.com/musterhq/muster/domain/outbox"
	"github.com/musterhq/muster/domain/reward"
	"github.com/musterhq/muster/test/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// clock is a settable clock for the Store.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// fx is one test's world: a Store over the package database with its own
// clock, currency, item and game server, and content published for it.
type fx struct {
	t      testing.TB
	ctx    context.Context
	conn   *sqlx.DB
	kinds  map[string]content.Kind
	store  *challenge.Store
	clock  *clock
	led    *ledger.Ledger
	inv    *inventory.Store
	coin   string
	item   string
	server int64
}

var seq atomic.Int64

func next(prefix string) string { return fmt.Sprintf("%s%d", prefix, seq.Add(1)) }

func setup(t testing.TB) *fx {
	t.Helper()
	conn := testenv.DB(t)
	kinds := map[string]content.Kind{match.KindMode: match.ModeKind()}
	for _, k := range challenge.ContentKinds() {
		kinds[k.Name] = k
	}
	led := ledger.New(conn)
	inv := inventory.NewStore(conn, led, inventory.Config{})
	clk := &clock{t: time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)}
	f := &fx{t: t, ctx: context.Background(), conn: conn, kinds: kinds, clock: clk, led: led, inv: inv,
		store: challenge.New(conn, reward.NewPayer(inv, led), challenge.Config{Now: clk.Now})}
	f.coin = economytest.Currency(t, conn, "soft")
	f.item = economytest.Item(t, conn, nil).ID
	f.publish(match.KindMode, "br", match.Mode{Name: "Battle royale", Teams: 50, TeamSize: 2, MaxDurationSeconds: 1800,
		Bounds: map[string]int64{match.StatKills: 100, match.StatDamage: 10000, match.StatAssists: 100,
			match.StatHeadshots: 100, match.StatRevives: 50, match.StatSecondsPlayed: 1800},
		WeaponClasses: []string{"smg", "ar", "sniper"},
		XP:            match.XPRules{PerKill: 50, Max: 10000}})
	f.publish(match.KindMode, "tdm", match.Mode{Name: "Team deathmatch", Teams: 2, TeamSize: 6, MaxDurationSeconds: 900,
		Bounds: map[string]int64{match.StatKills: 100, match.StatSecondsPlayed: 900}, WeaponClasses: []string{"smg", "shotgun"},
		XP: match.XPRules{PerKill: 50, Max: 10000}})
	if err := conn.Get(&f.server, `INSERT INTO game_servers (name, secret_hash) VALUES ($1, '\x00') RETURNING id`, next("gs-")); err != nil {
		t.Fatal(err)
	}
	return f
}

// save checks body as a draft of kind/id would be checked.
//
// content.Store cannot save or publish on this branch's base (it scans a
// NULL draft or published body into json.RawMessage, which database/sql
// refuses), so the tests run the kinds' checks themselves and write
// published documents directly.
func (f *fx) save(kind, id string, body any) error {
	raw, err := json.Marshal(body)
	if err != nil {
		f.t.Fatal(err)
	}
	return f.kinds[kind].Check(f.ctx, f.conn, id, raw)
}

// publish checks body and publishes it as the next version of kind/id.
func (f *fx) publish(kind, id string, body any) {
	f.t.Helper()
	if err := f.save(kind, id, body); err != nil {
		f.t.Fatalf("check %s/%s: %v", kind, id, err)
	}
	raw, _ := json.Marshal(body)
	const up = `
INSERT INTO content_documents (kind, id, name, published_version, published, published_at) VALUES ($1, $2, $2, 1, $3, now())
ON CONFLICT (kind, id) DO UPDATE SET published_version = content_documents.published_version + 1, published = EXCLUDED.published, published_at = now()`
	if _, err := f.conn.Exec(up, kind, id, raw); err != nil {
		f.t.Fatalf("publish %s/%s: %v", kind, id, err)
	}
}

// coins is a reward of n of the test's currency.
func (f *fx) coins(n int64) reward.Reward {
	return reward.Reward{Currencies: []reward.Amount{{Currency: f.coin, Amount: n}}}
}

func ch(id, metric string, target int64, r reward.Reward, edit ...func(*challenge.Challenge)) challenge.Challenge {
	c := challenge.Challenge{ID: id, Name: "Challenge " + id, Goal: challenge.Goal{Metric: metric, Target: target}, Reward: r, Weight: 10}
	for _, e := range edit {
		e(&c)
	}
	return c
}

// rotation is the test rotation: North America on New York time, Europe
// (the default) on Berlin time, both turning over at 04:00; weekly sets on
// Mondays.
func rotation(daily, weekly challenge.Slate) challenge.Rotation {
	return challenge.Rotation{
		Regions: map[string]challenge.Region{
			"na": {Timezone: "America/New_York", ResetAt: "04:00", Countries: []string{"US", "CA"}},
			"eu": {Timezone: "Europe/Berlin", ResetAt: "04:00", Countries: []string{"DE", "FR"}},
		},
		DefaultRegion: "eu", WeeklyDay: "monday", Daily: daily, Weekly: weekly,
	}
}

// configure publishes a daily and a weekly pool under fresh ids and a
// rotation drawing count of each with rerolls.
func (f *fx) configure(daily []challenge.Challenge, dailyCount, dailyRerolls int, weekly []challenge.Challenge, weeklyCount, weeklyRerolls int) {
	f.t.Helper()
	d, w := next("daily"), next("weekly")
	f.publish(challenge.KindPool, d, challenge.Pool{Challenges: daily})
	if len(weekly) > 0 {
		f.publish(challenge.KindPool, w, challenge.Pool{Challenges: weekly})
	}
	f.publish(challenge.KindRotation, challenge.RotationID, rotation(
		challenge.Slate{Pool: d, Count: dailyCount, Rerolls: dailyRerolls},
		challenge.Slate{Pool: w, Count: weeklyCount, Rerolls: weeklyRerolls}))
}

// player makes an account whose store country is country ("" for none).
func (f *fx) player(country string) int64 {
	f.t.Helper()
	id := economytest.Player(f.t, f.conn)
	if country != "" {
		if _, err := f.conn.Exec(`UPDATE accounts SET store_country = $2 WHERE id = $1`, id, country); err != nil {
			f.t.Fatal(err)
		}
	}
	return id
}

// match opens a match of mode for players and returns its accepted
// results, ended at the clock's time.
func (f *fx) match(mode string, players ...match.AcceptedPlayer) match.Accepted {
	f.t.Helper()
	id := next("m-")
	roster := make([]int64, len(players))
	for i, p := range players {
		roster[i] = p.AccountID
	}
	if _, err := f.conn.Exec(`INSERT INTO matches (id, server_id, mode, roster) VALUES ($1, $2, $3, $4)`, id, f.server, mode, pq.Array(roster)); err != nil {
		f.t.Fatal(err)
	}
	end := f.clock.Now()
	return match.Accepted{MatchID: id, Mode: mode, StartedAt: end.Add(-20 * time.Minute), EndedAt: end, Players: players}
}

// deliver hands m to the consumer's handler in a transaction of its own,
// as the relay would.
func (f *fx) deliver(m match.Accepted) {
	f.t.Helper()
	payload, err := json.Marshal(m)
	if err != nil {
		f.t.Fatal(err)
	}
	tx, err := f.conn.Beginx()
	if err != nil {
		f.t.Fatal(err)
	}
	defer tx.Rollback()
	ev := outbox.Event{ID: next("ev-"), Topic: match.TopicAccepted, Payload: payload}
	if err := f.store.Consumer().Handle(f.ctx, tx, ev); err != nil {
		f.t.Fatalf("handle %s: %v", m.MatchID, err)
	}
	if err := tx.Commit(); err != nil {
		f.t.Fatal(err)
	}
}

// result is one player's accepted result.
type result = match.AcceptedPlayer

func played(id int64, placement int, stats map[string]int64, byClass map[string]int64) result {
	return result{PlayerResult: match.PlayerResult{AccountID: id, Team: 1, Placement: placement, Stats: stats, KillsByClass: byClass},
		Won: placement == 1}
}

func (f *fx) current(id int64) challenge.View {
	f.t.Helper()
	v, err := f.store.Current(f.ctx, id, f.clock.Now())
	if err != nil {
		f.t.Fatalf("current: %v", err)
	}
	return v
}

// progress returns challenge id -> progress, with completed ones marked.
func progress(v challenge.View) map[string]string {
	out := map[string]string{}
	for _, s := range v.Sets() {
		for _, a := range s.Challenges {
			p := fmt.Sprintf("%d/%d", a.Progress, a.Goal.Target)
			if a.Completed() {
				p += " done"
			}
			out[a.ID] = p
		}
	}
	return out
}

func (f *fx) balance(id int64) int64 {
	f.t.Helper()
	list, err := f.led.Balances(f.ctx, id)
	if err != nil {
		f.t.Fatal(err)
	}
	for _, b := range list {
		if b.Currency == f.coin {
			return b.Balance
		}
	}
	return 0
}

func (f *fx) held(id int64, item string) int {
	f.t.Helper()
	all, err := f.inv.Reader().All(f.ctx, id)
	if err != nil {
		f.t.Fatal(err)
	}
	for _, e := range all {
		if e.ItemID == item {
			return e.Quantity
		}
	}
	return 0
}

// announced counts the completion events for a player's challenge.
func (f *fx) announced(id int64, challengeID string) int {
	f.t.Helper()
	var n int
	err := f.conn.Get(&n, `SELECT count(*) FROM outbox_events WHERE topic = $1 AND (payload->>'account_id')::bigint = $2 AND payload->>'challenge' = $3`,
		challenge.TopicCompleted, id, challengeID)
	if err != nil {
		f.t.Fatal(err)
	}
	return n
}
