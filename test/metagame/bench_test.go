// Package metagame measures match results end to end: a 100-player match
// reported by its server, published through the outbox, and applied by
// every consumer (progression, battle pass, stats, challenges), against the
// local PostgreSQL.
package metagame_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/musterhq/muster/domain/economytest"
	"github.com/musterhq/muster/domain/ledger"
	"github.com/musterhq/muster/domain/match"
	"github.com/musterhq/muster/domain/outbox"
	"github.com/musterhq/muster/test/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// appliedChannel is the channel each consumer's commit is announced on: the
// benchmark's wrapper sends NOTIFY in the consumer's transaction, which
// PostgreSQL delivers only once that transaction commits.
const appliedChannel = "muster_bench_applied"

// watch wraps consumers so that each announces, in its own transaction, the
// match it applied; the returned wait blocks until every consumer's
// transaction for matchID has committed.
type watch struct {
	mu      sync.Mutex
	want    int
	counts  map[string]int
	waiters map[string]chan struct{}
	handled map[string][]time.Duration // by consumer: each handler's time in its transaction
}

func newWatch(t testing.TB, dbURL string, consumers []outbox.Consumer) (*watch, []outbox.Consumer) {
	w := &watch{want: len(consumers), counts: map[string]int{}, waiters: map[string]chan struct{}{}, handled: map[string][]time.Duration{}}
	l := pq.NewListener(dbURL, 10*time.Millisecond, time.Second, nil)
	if err := l.Listen(appliedChannel); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for n := range l.Notify {
			if n != nil {
				w.done(n.Extra)
			}
		}
	}()
	out := make([]outbox.Consumer, len(consumers))
	for i, c := range consumers {
		handle := c.Handle
		name := c.Name
		c.Handle = func(ctx context.Context, tx *sqlx.Tx, ev outbox.Event) error {
			start := time.Now()
			if err := handle(ctx, tx, ev); err != nil {
				return err
			}
			w.mu.Lock()
			w.handled[name] = append(w.handled[name], time.Since(start))
			w.mu.Unlock()
			var m struct {
				MatchID string `json:"match_id"`
			}
			if err := json.Unmarshal(ev.Payload, &m); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `SELECT pg_notify($1, $2)`, appliedChannel, m.MatchID)
			return err
		}
		out[i] = c
	}
	return w, out
}

func (w *watch) done(matchID string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.counts[matchID]++
	if w.counts[matchID] == w.want {
		if ch, ok := w.waiters[matchID]; ok {
			close(ch)
		}
		w.waiters[matchID] = nil
	}
}

// timed wraps consumers that the benchmark does not wait for, to report
// their time in their transactions too.
func (w *watch) timed(consumers []outbox.Consumer) []outbox.Consumer {
	out := make([]outbox.Consumer, len(consumers))
	for i, c := range consumers {
		name := c.Name
		if h := c.Handle; h != nil {
			c.Handle = func(ctx context.Context, tx *sqlx.Tx, ev outbox.Event) error {
				start := time.Now()
				defer w.record(name, start)
				return h(ctx, tx, ev)
			}
		}
		if h := c.HandleBatch; h != nil {
			c.HandleBatch = func(ctx context.Context, tx *sqlx.Tx, evs []outbox.Event) error {
				start := time.Now()
				defer w.record(name, start)
				return h(ctx, tx, evs)
			}
		}
		out[i] = c
	}
	return out
}

func (w *watch) record(name string, start time.Time) {
	w.mu.Lock()
	w.handled[name] = append(w.handled[name], time.Since(start))
	w.mu.Unlock()
}

// reset forgets the handler times measured so far.
func (w *watch) reset() {
	w.mu.Lock()
	defer w.mu.Unlock()
	clear(w.handled)
}

// report adds each consumer's mean handler time to b.
func (w *watch) report(b *testing.B) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for name, ds := range w.handled {
		var sum time.Duration
		for _, d := range ds {
			sum += d
		}
		b.ReportMetric(float64(sum.Microseconds())/float64(len(ds))/1000, name+"-ms")
	}
}

// expect registers interest in matchID before it is reported.
func (w *watch) expect(matchID string) <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	ch := make(chan struct{})
	w.waiters[matchID] = ch
	return ch
}

// world is a database with the demo-like content, players in groups of a
// match's size, a server, and a relay running the consumers.
type world struct {
	conn    *sqlx.DB
	matches *match.Store
	server  match.Server
	mode    string
	groups  [][]string // public ids, one group per concurrent match
	watch   *watch
}

const matchSize = 100

// The content is published once per test database (seasons may not
// overlap).
var (
	fixtureOnce sync.Once
	shared      fixture
)

func newWorld(t testing.TB, groups int) *world {
	conn := testenv.DB(t)
	dbURL := testenv.DBURL(t)
	ctx := context.Background()
	w := &world{conn: conn, matches: match.New(conn, nil)}
	fixtureOnce.Do(func() { shared = newFixture(t, conn) })
	fx := shared
	w.mode = fx.mode
	sv, _, err := match.NewServers(conn, 0).Create(ctx, economytest.Name("bench"), "bench", nil)
	if err != nil {
		t.Fatal(err)
	}
	w.server = sv
	var ids []int64
	for range groups * matchSize {
		ids = append(ids, economytest.Player(t, conn))
	}
	// A third of the players have the premium track.
	led := ledger.New(conn)
	for i, id := range ids {
		if i%3 != 0 {
			continue
		}
		key := economytest.Name("fund")
		if _, err := led.Transfer(ctx, ledger.Transfer{Key: key, Source: "reward", From: ledger.System(ledger.Rewards),
			To: ledger.Player(id), Currency: fx.coins, Amount: 1}); err != nil {
			t.Fatal(err)
		}
		if _, err := fx.bp.Upgrade(ctx, id, fx.season, key); err != nil {
			t.Fatal(err)
		}
	}
	var public []string
	if err := conn.Select(&public, `SELECT public_id FROM accounts WHERE id = ANY($1) ORDER BY id`, pq.Int64Array(ids)); err != nil {
		t.Fatal(err)
	}
	for g := range groups {
		w.groups = append(w.groups, public[g*matchSize:(g+1)*matchSize])
	}
	watch, consumers := newWatch(t, dbURL, fx.consumers)
	w.watch = watch
	// Failed deliveries are logged: a benchmark with failing consumers
	// measures nothing.
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	relay := outbox.NewRelay(conn, dbURL, log, nil, outbox.Config{PollInterval: time.Second})
	for _, c := range append(consumers, watch.timed(fx.others)...) {
		if err := relay.Register(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { _ = relay.Run(runCtx); close(done) }()
	t.Cleanup(func() { stop(); <-done })
	return w
}

// play opens a match of group g, reports its results, and waits until every
// consumer has applied it.
func (w *world) play(ctx context.Context, g int, id string, rng *rand.Rand) error {
	players := w.groups[g]
	if _, err := w.matches.Open(ctx, w.server, id, w.mode, players); err != nil {
		return err
	}
	res := match.Result{Players: make([]match.PlayerResult, len(players))}
	for i, p := range players {
		team := i/4 + 1
		kills := rng.Int64N(12)
		res.Players[i] = match.PlayerResult{PlayerID: p, Team: team, Placement: team,
			Stats:        map[string]int64{match.StatKills: kills, match.StatDeaths: rng.Int64N(3), match.StatAssists: rng.Int64N(6), match.StatDamage: kills*100 + rng.Int64N(500), match.StatSecondsPlayed: 60 + rng.Int64N(120)},
			KillsByClass: map[string]int64{"assault_rifle": kills / 2, "smg": kills - kills/2}}
	}
	applied := w.watch.expect(id)
	rc, err := w.matches.Report(ctx, w.server, id, res)
	if err != nil {
		return err
	}
	if rc.Status != match.StatusAccepted {
		return fmt.Errorf("match %s: %s (%s)", id, rc.Status, rc.Reason)
	}
	select {
	case <-applied:
		return nil
	case <-time.After(30 * time.Second):
		return fmt.Errorf("match %s not applied by every consumer within 30 s", id)
	}
}

// BenchmarkMatchResults measures 100-player matches from the server's report
// until every consumer's transaction has committed: open loop at 20 matches
// per second (the goal: each under 200 ms), and closed loop with 8 servers
// reporting back to back (the most it does); at the typical pace of rewards
// and with rewards for every player from every consumer in every match.
func BenchmarkMatchResults(b *testing.B) {
	const clients = 8
	w := newWorld(b, clients)
	for _, pace := range []struct {
		name            string
		levelXP, tierXP int64
	}{{"typical", typicalLevelXP, typicalTierXP}, {"rewards-every-match", 300, 1000}} {
		for _, load := range []struct {
			name string
			rate float64
		}{{"open-20-per-s", 20}, {"closed-8", 0}} {
			b.Run(pace.name+"/"+load.name, func(b *testing.B) {
				shared.pace(pace.levelXP, pace.tierXP)
				w.watch.reset()
				run := economytest.Name("m")
				economytest.Drive(b, clients, load.rate, func(client int, n int64) error {
					rng := rand.New(rand.NewPCG(uint64(n), 7))
					id := strings.ReplaceAll(fmt.Sprintf("%s-%d-%d", run, client, n), "_", "-")
					return w.play(context.Background(), client, id, rng)
				})
				w.watch.report(b)
			})
		}
	}
}

// TestMatchAppliedByEveryConsumerOnce reports one 100-player match and checks
// that each consumer applied it exactly once.
func TestMatchAppliedByEveryConsumerOnce(t *testing.T) {
	w := newWorld(t, 1)
	ctx := context.Background()
	id := strings.ReplaceAll(economytest.Name("once"), "_", "-")
	if err := w.play(ctx, 0, id, rand.New(rand.NewPCG(1, 2))); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := w.conn.Get(&n, `SELECT count(*) FROM match_applications WHERE match_id = $1`, id); err != nil || n != w.watch.want {
		t.Fatalf("%d consumers applied the match, want %d (%v)", n, w.watch.want, err)
	}
	var players int
	if err := w.conn.Get(&players, `SELECT count(*) FROM progression_events WHERE memo = $1`, id); err != nil || players != matchSize {
		t.Fatalf("%d players' XP journaled, want %d (%v)", players, matchSize, err)
	}
}
