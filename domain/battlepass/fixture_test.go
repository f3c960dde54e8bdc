package battlepass_test

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

	"github.com/musterhq/muster/domain/battlepass"
	"github.com/musterhq/muster/domain/catalog"
	"github.com/musterhq/muster/domain/content"
	"github.com/musterhq/muster/domain/economytest"
	"github.com/musterhq/muster/domain/inventory"
	"github.com/musterhq/muster/domain/ledger"
	"github.com/musterhq/muster/domain/match"
	"github.com/musterhq/muster/domain/outbox"
	"github.com/musterhq/muster/domain/reward"
	"github.com/musterhq/muster/domain/season"
	"github.com/musterhq/muster/test/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// clock is a settable clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

// slots hands each test a stretch of time of its own, so that the seasons
// of tests sharing the package database never overlap.
var slots atomic.Int64

const slotLength = 90 * 24 * time.Hour

func slot() time.Time {
	base := time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
	return base.Add(time.Duration(slots.Add(1)) * slotLength)
}

// fixture is a battle pass store over the package database with a soft
// currency, a premium currency and two items, and a clock of its own.
type fixture struct {
	t        testing.TB
	conn     *sqlx.DB
	content  *content.Store
	led      *ledger.Ledger
	inv      *inventory.Store
	bp       *battlepass.Store
	clock    *clock
	soft     string // free track currency, and the tier skip price's
	gems     string // the premium price's currency
	token    catalog.Item
	emblem   catalog.Item
	start    time.Time // the start of the test's stretch of time
	serverID int64
	matches  atomic.Int64
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	conn := testenv.DB(t)
	f := &fixture{t: t, conn: conn, content: content.New(conn), led: ledger.New(conn), clock: &clock{}, start: slot()}
	f.content.Register(season.ContentKind())
	f.content.Register(battlepass.ContentKind())
	f.inv = inventory.NewStore(conn, f.led, inventory.Config{})
	f.bp = battlepass.New(conn, reward.NewPayer(f.inv, f.led), f.led, battlepass.Config{Now: f.clock.Now})
	f.soft = economytest.Currency(t, conn, "soft")
	f.gems = economytest.Currency(t, conn, "premium")
	f.token = economytest.Item(t, conn, nil)
	f.emblem = economytest.Item(t, conn, nil)
	f.clock.Set(f.start)
	name := economytest.Name("srv")
	err := conn.Get(&f.serverID, `INSERT INTO game_servers (name, secret_hash) VALUES ($1, '\x00') RETURNING id`, name)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// publish saves and publishes a document.
func (f *fixture) publish(kind, id string, body any) error {
	f.t.Helper()
	raw, err := json.Marshal(body)
	if err != nil {
		f.t.Fatal(err)
	}
	ctx := context.Background()
	expected := 0
	if d, err := f.content.Get(ctx, kind, id); err == nil {
		expected = d.DraftRevision
	}
	d, err := f.content.SaveDraft(ctx, kind, id, id, raw, content.Edit{Expected: expected, Editor: "test"})
	if err != nil {
		return err
	}
	_, err = f.content.Publish(ctx, kind, id, content.Edit{Expected: d.DraftRevision, Editor: "test"})
	return err
}

// season publishes a season from the start of the test's time plus from,
// lasting length, and returns its id.
func (f *fixture) season(from, length time.Duration) season.Season {
	f.t.Helper()
	s := season.Season{ID: economytest.Name("s"), Name: "Test season", StartsAt: f.start.Add(from), EndsAt: f.start.Add(from + length)}
	if err := f.publish(season.Kind, s.ID, s); err != nil {
		f.t.Fatalf("publish season: %v", err)
	}
	return s
}

// doc is a pass of n tiers of 100 XP: the free track gives 10 soft coins
// per tier, the premium track one token and 20 soft coins per tier; the
// premium track costs 500 gems, a tier 50 soft coins.
func (f *fixture) doc(n int) battlepass.Doc {
	d := battlepass.Doc{XPPerTier: 100,
		PremiumPrice:  &battlepass.Price{Currency: f.gems, Amount: 500},
		TierSkipPrice: &battlepass.Price{Currency: f.soft, Amount: 50}}
	for range n {
		d.Tiers = append(d.Tiers, battlepass.DocTier{
			Free:    reward.Reward{Currencies: []reward.Amount{{Currency: f.soft, Amount: 10}}},
			Premium: reward.Reward{Items: []inventory.Line{{ItemID: f.token.ID, Quantity: 1}}, Currencies: []reward.Amount{{Currency: f.soft, Amount: 20}}},
		})
	}
	return d
}

// pass publishes d as the pass of s.
func (f *fixture) pass(s season.Season, d battlepass.Doc) {
	f.t.Helper()
	if err := f.publish(battlepass.Kind, s.ID, d); err != nil {
		f.t.Fatalf("publish pass: %v", err)
	}
}

// running publishes a season running at the fixture's clock, for 30 days,
// with a pass of n tiers (doc), and returns it.
func (f *fixture) running(n int) season.Season {
	f.t.Helper()
	s := f.season(-24*time.Hour, 30*24*time.Hour)
	f.pass(s, f.doc(n))
	return s
}

func (f *fixture) player() int64 { return economytest.Player(f.t, f.conn) }

// fund credits amount of currency to a player.
func (f *fixture) fund(accountID int64, currency string, amount int64) {
	f.t.Helper()
	_, err := f.led.Transfer(context.Background(), ledger.Transfer{Key: economytest.Name("fund:"), Source: "support",
		From: ledger.System(ledger.Minted), To: ledger.Player(accountID), Currency: currency, Amount: amount})
	if err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) balance(accountID int64, currency string) int64 {
	f.t.Helper()
	bs, err := f.led.Balances(context.Background(), accountID)
	if err != nil {
		f.t.Fatal(err)
	}
	for _, b := range bs {
		if b.Currency == currency {
			return b.Balance
		}
	}
	return 0
}

func (f *fixture) holds(accountID int64, itemID string) int {
	f.t.Helper()
	items, err := f.inv.Reader().All(context.Background(), accountID)
	if err != nil {
		f.t.Fatal(err)
	}
	for _, e := range items {
		if e.ItemID == itemID {
			return e.Quantity
		}
	}
	return 0
}

// game is a match to report: who earned how much XP.
type game struct {
	started time.Time
	xp      map[int64]int64
}

// accepted opens a match row (the results' consumers claim matches by id)
// and returns its accepted results.
func (f *fixture) accepted(g game) match.Accepted {
	f.t.Helper()
	m := match.Accepted{MatchID: fmt.Sprintf("bp-%d-%d", f.serverID, f.matches.Add(1)), Mode: "test",
		StartedAt: g.started, EndedAt: g.started.Add(20 * time.Minute)}
	roster := pq.Int64Array{}
	for id, xp := range g.xp {
		roster = append(roster, id)
		m.Players = append(m.Players, match.AcceptedPlayer{PlayerResult: match.PlayerResult{AccountID: id, Team: 1, Placement: 1}, XP: xp})
	}
	const q = `INSERT INTO matches (id, server_id, mode, roster, started_at, status, result, reported_at)
		VALUES ($1, $2, 'test', $3, $4, 'accepted', '{}', now())`
	if _, err := f.conn.Exec(q, m.MatchID, f.serverID, roster, g.started); err != nil {
		f.t.Fatal(err)
	}
	return m
}

// deliver hands m, accepted at acceptedAt, to the consumer as a new event
// in a transaction of its own, as the relay would.
func (f *fixture) deliver(m match.Accepted, acceptedAt time.Time) {
	f.t.Helper()
	payload, err := json.Marshal(m)
	if err != nil {
		f.t.Fatal(err)
	}
	ev := outbox.Event{ID: economytest.Name("ev"), Topic: match.TopicAccepted, Payload: payload, CreatedAt: acceptedAt}
	tx, err := f.conn.Beginx()
	if err != nil {
		f.t.Fatal(err)
	}
	defer tx.Rollback()
	if err := f.bp.Consumer().Handle(context.Background(), tx, ev); err != nil {
		f.t.Fatalf("handle match %s: %v", m.MatchID, err)
	}
	if err := tx.Commit(); err != nil {
		f.t.Fatal(err)
	}
}

// state reads a player's pass.
func (f *fixture) state(accountID int64, s season.Season) battlepass.State {
	f.t.Helper()
	st, err := f.bp.State(context.Background(), accountID, s.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	return st
}

// tierEvents returns the tiers of the tier_reached events for a player in
// the order they were written.
func (f *fixture) tierEvents(accountID int64, seasonID string) []int {
	f.t.Helper()
	var out []int
	const q = `SELECT (payload->>'tier')::int FROM outbox_events
		WHERE topic = $1 AND (payload->>'account_id')::bigint = $2 AND payload->>'season' = $3 ORDER BY created_at, id`
	if err := f.conn.Select(&out, q, battlepass.TopicTierReached, accountID, seasonID); err != nil {
		f.t.Fatal(err)
	}
	return out
}
