package rating_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/musterhq/muster/domain/content"
	"github.com/musterhq/muster/domain/economytest"
	"github.com/musterhq/muster/domain/match"
	"github.com/musterhq/muster/domain/matchmaking"
	"github.com/musterhq/muster/domain/outbox"
	"github.com/musterhq/muster/domain/rating"
	"github.com/musterhq/muster/domain/season"
	"github.com/musterhq/muster/test/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// The store gives the matchmaker the ratings it asks for.
var _ matchmaking.Ratings = (*rating.Store)(nil)

var ctx = context.Background()

// slots hands each test a stretch of time of its own, so that the seasons
// of tests sharing the package database never overlap.
var slots atomic.Int64

func slot() time.Time {
	return time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(slots.Add(1)) * 90 * 24 * time.Hour)
}

// fixture is a rating store over the package database whose matches are
// rated in the pool of their mode, except modes named "custom-*".
type fixture struct {
	t        testing.TB
	conn     *sqlx.DB
	store    *rating.Store
	model    rating.Model
	start    time.Time                 // the start of the test's stretch of time
	clock    atomic.Pointer[time.Time] // the store's clock
	serverID int64
	matches  atomic.Int64
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	conn := testenv.DB(t)
	poolOf := func(_ context.Context, tx *sqlx.Tx, matchID, mode string) (string, bool, error) {
		if tx == nil || matchID == "" {
			return "", false, errors.New("PoolOf called without a transaction or match")
		}
		if len(mode) > 7 && mode[:7] == "custom-" {
			return "", false, nil
		}
		return rating.ModePool(ctx, tx, matchID, mode)
	}
	f := &fixture{t: t, conn: conn, start: slot()}
	f.setClock(f.start)
	store, err := rating.New(conn, rating.Config{PoolOf: poolOf, Now: func() time.Time { return *f.clock.Load() }})
	if err != nil {
		t.Fatal(err)
	}
	f.store, f.model = store, store.Model()
	err = conn.Get(&f.serverID, `INSERT INTO game_servers (name, secret_hash) VALUES ($1, '\x00') RETURNING id`, economytest.Name("srv"))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) setClock(t time.Time) { f.clock.Store(&t) }

func (f *fixture) players(n int) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = economytest.Player(f.t, f.conn)
	}
	return out
}

// season publishes a season of 30 days from the fixture's start.
func (f *fixture) season() season.Season {
	f.t.Helper()
	cs := content.New(f.conn)
	cs.Register(season.ContentKind())
	s := season.Season{ID: economytest.Name("s"), Name: "Test season", StartsAt: f.start, EndsAt: f.start.Add(30 * 24 * time.Hour)}
	body, _ := json.Marshal(s)
	d, err := cs.SaveDraft(ctx, season.Kind, s.ID, s.ID, body, content.Edit{Editor: "test"})
	if err == nil {
		_, err = cs.Publish(ctx, season.Kind, s.ID, content.Edit{Expected: d.DraftRevision, Editor: "test"})
	}
	if err != nil {
		f.t.Fatalf("publish season: %v", err)
	}
	return s
}

// accepted records an accepted match of mode, started at started, whose
// teams (team i plays as team i+1) finished at places, and returns its
// results as the consumer gets them.
func (f *fixture) accepted(mode string, started time.Time, teams [][]int64, places []int) match.Accepted {
	f.t.Helper()
	m := match.Accepted{MatchID: fmt.Sprintf("rt-%d-%d", f.serverID, f.matches.Add(1)), Mode: mode, StartedAt: started, EndedAt: started.Add(20 * time.Minute)}
	roster := pq.Int64Array{}
	for i, team := range teams {
		for _, id := range team {
			roster = append(roster, id)
			m.Players = append(m.Players, match.AcceptedPlayer{PlayerResult: match.PlayerResult{AccountID: id, Team: i + 1, Placement: places[i]}, Won: places[i] == 1})
		}
	}
	const q = `INSERT INTO matches (id, server_id, mode, roster, started_at, status, result, reported_at)
		VALUES ($1, $2, $3, $4, $5, 'accepted', '{}', now())`
	if _, err := f.conn.Exec(q, m.MatchID, f.serverID, mode, roster, started); err != nil {
		f.t.Fatal(err)
	}
	return m
}

// deliver hands m to the consumer as a new event in a transaction of its
// own, as the relay would.
func (f *fixture) deliver(m match.Accepted) {
	f.t.Helper()
	if err := f.handle(m, nil); err != nil {
		f.t.Fatalf("handle match %s: %v", m.MatchID, err)
	}
}

// handle runs the consumer on m in a transaction, calling before (if set)
// once the handler is done and before the commit.
func (f *fixture) handle(m match.Accepted, before func()) error {
	payload, err := json.Marshal(m)
	if err != nil {
		return err
	}
	ev := outbox.Event{ID: economytest.Name("ev"), Topic: match.TopicAccepted, Payload: payload, CreatedAt: m.EndedAt}
	tx, err := f.conn.Beginx()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := f.store.Consumer().Handle(ctx, tx, ev); err != nil {
		return err
	}
	if before != nil {
		before()
	}
	return tx.Commit()
}

// row is a stored rating.
type row struct {
	Mu      float64 `db:"mu"`
	Sigma   float64 `db:"sigma"`
	Matches int     `db:"matches"`
}

func (f *fixture) row(pool, seasonID string, id int64) (row, bool) {
	f.t.Helper()
	var r row
	err := f.conn.Get(&r, `SELECT mu, sigma, matches FROM ratings WHERE pool = $1 AND season = $2 AND account_id = $3`, pool, seasonID, id)
	if errors.Is(err, sql.ErrNoRows) {
		return row{}, false
	}
	if err != nil {
		f.t.Fatal(err)
	}
	return r, true
}

// expect rates teams from before with the model, as the store should.
func (f *fixture) expect(before map[int64]rating.Rating, teams [][]int64, places []int) map[int64]rating.Rating {
	f.t.Helper()
	rs := make([][]rating.Rating, len(teams))
	for i, team := range teams {
		for _, id := range team {
			rs[i] = append(rs[i], before[id])
		}
	}
	if err := f.model.Rate(rs, places); err != nil {
		f.t.Fatal(err)
	}
	out := map[int64]rating.Rating{}
	for id, r := range before {
		out[id] = r
	}
	for i, team := range teams {
		for j, id := range team {
			out[id] = rs[i][j]
		}
	}
	return out
}

// fresh is every player of teams at the new-player rating.
func (f *fixture) fresh(teams ...[]int64) map[int64]rating.Rating {
	out := map[int64]rating.Rating{}
	for _, team := range teams {
		for _, id := range team {
			out[id] = f.model.New()
		}
	}
	return out
}

// has checks that pool and season hold want, each player with matches
// rated matches.
func (f *fixture) has(pool, seasonID string, want map[int64]rating.Rating, matches int) {
	f.t.Helper()
	for id, w := range want {
		got, ok := f.row(pool, seasonID, id)
		if !ok {
			f.t.Fatalf("player %d has no rating in pool %q season %q", id, pool, seasonID)
		}
		if math.Abs(got.Mu-w.Mu) > 1e-9 || math.Abs(got.Sigma-w.Sigma) > 1e-9 || got.Matches != matches {
			f.t.Fatalf("player %d: mu %v sigma %v matches %d, want mu %v sigma %v matches %d", id, got.Mu, got.Sigma, got.Matches, w.Mu, w.Sigma, matches)
		}
	}
}

func TestMatchAppliedTwiceChangesRatingsOnce(t *testing.T) {
	f := newFixture(t)
	teams := [][]int64{f.players(1), f.players(1)}
	m := f.accepted("duel", f.start, teams, []int{1, 2})
	f.deliver(m)
	f.deliver(m) // delivered again
	want := f.expect(f.fresh(teams...), teams, []int{1, 2})
	f.has("duel", "", want, 1)
	// The published first update of two new players (see TestReferenceValues).
	if w := want[teams[0][0]]; math.Abs(w.Mu-27.635389493140497) > 1e-9 || math.Abs(w.Sigma-8.06590141354368) > 1e-9 {
		t.Fatalf("winner %v", w)
	}
	// Apply reports the repeat.
	tx, err := f.conn.Beginx()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	applied, err := f.store.Apply(ctx, tx, "duel", "", m.MatchID, rating.Teams(m))
	if err != nil || applied {
		t.Fatalf("Apply of an applied match: %v %v, want false", applied, err)
	}
}

func TestWinningTeamGainsMuAndLosesSigma(t *testing.T) {
	f := newFixture(t)
	sea := f.season()
	a, b := f.players(4), f.players(4)
	// Both teams played before: their ratings differ from the defaults.
	f.deliver(f.accepted("squads", f.start.Add(time.Hour), [][]int64{a, b}, []int{2, 1}))
	before, err := f.store.Get(ctx, "squads", sea.ID, append(append([]int64{}, a...), b...))
	if err != nil {
		t.Fatal(err)
	}
	f.deliver(f.accepted("squads", f.start.Add(2*time.Hour), [][]int64{a, b}, []int{1, 2}))
	after, err := f.store.Get(ctx, "squads", sea.ID, append(append([]int64{}, a...), b...))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range a {
		if after[id].Mu <= before[id].Mu || after[id].Sigma >= before[id].Sigma {
			t.Errorf("winner %d: %v -> %v, want mu up and sigma down", id, before[id], after[id])
		}
	}
	for _, id := range b {
		if after[id].Mu >= before[id].Mu || after[id].Sigma >= before[id].Sigma {
			t.Errorf("loser %d: %v -> %v, want mu and sigma down", id, before[id], after[id])
		}
	}
	f.has("squads", sea.ID, f.expect(before, [][]int64{a, b}, []int{1, 2}), 2)
	if _, ok := f.row("squads", "", a[0]); ok {
		t.Error("a match in a season was rated outside it too")
	}
}

// A 150-player battle royale of 36 quads and 2 trios, ranked by where the
// teams finished, with players who played before.
func TestBattleRoyale(t *testing.T) {
	f := newFixture(t)
	sea := f.season()
	rng := rand.New(rand.NewPCG(11, 12))
	teams := make([][]int64, 38)
	for i := range teams {
		teams[i] = f.players(map[bool]int{true: 3, false: 4}[i >= 36])
	}
	places := func() []int {
		p := make([]int, 38)
		for i, v := range rng.Perm(38) {
			p[i] = v + 1
		}
		return p
	}
	p1, p2 := places(), places()
	var all []int64
	for _, team := range teams {
		all = append(all, team...)
	}
	f.deliver(f.accepted("royale", f.start.Add(time.Hour), teams, p1))
	want := f.expect(f.expect(f.fresh(teams...), teams, p1), teams, p2)
	f.deliver(f.accepted("royale", f.start.Add(2*time.Hour), teams, p2))
	f.has("royale", sea.ID, want, 2)
	got, err := f.store.Get(ctx, "royale", sea.ID, all)
	if err != nil || len(got) != 150 {
		t.Fatalf("Get: %d ratings, %v", len(got), err)
	}
	var first, last float64
	for i, team := range teams {
		o := f.model.Ordinal(got[team[0]])
		switch {
		case p2[i] == 1:
			first = o
		case p2[i] == 38:
			last = o
		}
	}
	if first <= last {
		t.Errorf("the winners' ordinal %v is not above the last team's %v", first, last)
	}
}

// Free-for-all: every player a team of one; equal placements tie.
func TestFreeForAllWithTies(t *testing.T) {
	f := newFixture(t)
	ps := f.players(4)
	teams := [][]int64{{ps[0]}, {ps[1]}, {ps[2]}, {ps[3]}}
	places := []int{1, 2, 2, 4}
	f.deliver(f.accepted("ffa", f.start.Add(-time.Hour), teams, places)) // before any season
	want := f.expect(f.fresh(teams...), teams, places)
	f.has("ffa", "", want, 1)
	if want[ps[1]] != want[ps[2]] {
		t.Errorf("tied new players rated apart: %v %v", want[ps[1]], want[ps[2]])
	}
}

func TestCustomGamesAndOneTeamAreNotRated(t *testing.T) {
	f := newFixture(t)
	teams := [][]int64{f.players(2), f.players(2)}
	f.deliver(f.accepted("custom-arena", f.start, teams, []int{1, 2}))
	f.deliver(f.accepted("coop", f.start, teams[:1], []int{1}))
	for _, id := range append(teams[0], teams[1]...) {
		var n int
		if err := f.conn.Get(&n, `SELECT count(*) FROM ratings WHERE account_id = $1`, id); err != nil || n != 0 {
			t.Fatalf("player %d has %d ratings (%v), want none", id, n, err)
		}
	}
	got, err := f.store.Get(ctx, "custom-arena", "", teams[0])
	if err != nil || got[teams[0][0]] != f.model.New() || len(got) != 2 {
		t.Fatalf("Get of unrated players: %v %v, want new-player ratings", got, err)
	}
}

func TestInvalidMatchesClaimNothing(t *testing.T) {
	f := newFixture(t)
	p := f.players(3)
	m := f.accepted("duel", f.start, [][]int64{{p[0]}, {p[1]}}, []int{1, 2})
	for name, c := range map[string]struct {
		pool  string
		teams []rating.Team
	}{
		"no pool":      {"", []rating.Team{{Players: p[:1], Placement: 1}, {Players: p[1:2], Placement: 2}}},
		"listed twice": {"duel", []rating.Team{{Players: p[:2], Placement: 1}, {Players: p[1:2], Placement: 2}}},
		"placement 0":  {"duel", []rating.Team{{Players: p[:1], Placement: 0}, {Players: p[1:2], Placement: 2}}},
		"empty team":   {"duel", []rating.Team{{Players: p[:1], Placement: 1}, {Placement: 2}}},
	} {
		err := func() error {
			tx, err := f.conn.Beginx()
			if err != nil {
				return err
			}
			defer tx.Rollback()
			_, err = f.store.Apply(ctx, tx, c.pool, "", m.MatchID, c.teams)
			return err
		}()
		if !errors.Is(err, rating.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	f.deliver(m) // still applies: nothing was claimed
	f.has("duel", "", f.expect(f.fresh(p[:2]), [][]int64{{p[0]}, {p[1]}}, []int{1, 2}), 1)
}

// Two matches sharing players, applied at once: the second waits for the
// first's locks and rates from what the first left, so both count.
func TestConcurrentMatchesSharingPlayers(t *testing.T) {
	f := newFixture(t)
	shared, x, y := f.players(2), f.players(2), f.players(2)
	ta := [][]int64{{shared[0], x[0]}, {shared[1], x[1]}}
	tb := [][]int64{{shared[1], y[0]}, {y[1], shared[0]}}
	pa, pb := []int{1, 2}, []int{1, 2}
	// Everyone played before, so that their rows exist: only the locks
	// keep the second match from rating from stale values.
	warmup := [][]int64{{shared[0], x[0], y[0]}, {shared[1], x[1], y[1]}}
	f.deliver(f.accepted("pairs", f.start, warmup, []int{1, 2}))
	ma, mb := f.accepted("pairs", f.start, ta, pa), f.accepted("pairs", f.start, tb, pb)
	fresh := f.expect(f.fresh(warmup...), warmup, []int{1, 2})

	// Deterministic: A holds its locks until B is waiting for them.
	bDone := make(chan error, 1)
	err := f.handle(ma, func() {
		go func() { bDone <- f.handle(mb, nil) }()
		f.waitForLockWait()
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := <-bDone; err != nil {
		t.Fatalf("the second match: %v", err)
	}
	want := f.expect(f.expect(fresh, ta, pa), tb, pb)
	f.has("pairs", "", only(want, shared...), 3)
	f.has("pairs", "", only(want, x[0], x[1], y[0], y[1]), 2)

	// Racing, many times: each pair ends as one order or the other.
	for round := range 10 {
		shared, x, y := f.players(2), f.players(2), f.players(2)
		ta := [][]int64{{x[0], shared[0]}, {shared[1], x[1]}}
		tb := [][]int64{{shared[0], y[0]}, {y[1], shared[1]}}
		ma, mb := f.accepted("pairs", f.start, ta, pa), f.accepted("pairs", f.start, tb, pb)
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, m := range []match.Accepted{ma, mb} {
			wg.Go(func() { errs[i] = f.handle(m, nil) })
		}
		wg.Wait()
		if errs[0] != nil || errs[1] != nil {
			t.Fatalf("round %d: %v, %v", round, errs[0], errs[1])
		}
		fresh := f.fresh(shared, x, y)
		ab := f.expect(f.expect(fresh, ta, pa), tb, pb)
		ba := f.expect(f.expect(fresh, tb, pb), ta, pa)
		got, err := f.store.Get(ctx, "pairs", "", append(append(append([]int64{}, shared...), x...), y...))
		if err != nil {
			t.Fatal(err)
		}
		if !closeTo(got, ab) && !closeTo(got, ba) {
			t.Fatalf("round %d: %v is neither order (%v or %v)", round, got, ab, ba)
		}
		for _, id := range shared {
			if r, _ := f.row("pairs", "", id); r.Matches != 2 {
				t.Fatalf("round %d: player %d has %d matches, want 2", round, id, r.Matches)
			}
		}
	}
}

// only is the ratings of ids.
func only(all map[int64]rating.Rating, ids ...int64) map[int64]rating.Rating {
	out := map[int64]rating.Rating{}
	for _, id := range ids {
		out[id] = all[id]
	}
	return out
}

func closeTo(got, want map[int64]rating.Rating) bool {
	for id, w := range want {
		g := got[id]
		if math.Abs(g.Mu-w.Mu) > 1e-9 || math.Abs(g.Sigma-w.Sigma) > 1e-9 {
			return false
		}
	}
	return true
}

// waitForLockWait waits until some session of this database waits for a
// row lock.
func (f *fixture) waitForLockWait() {
	f.t.Helper()
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		var n int
		const q = `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`
		if err := f.conn.Get(&n, q); err != nil {
			f.t.Fatal(err)
		}
		if n > 0 {
			return
		}
	}
	f.t.Fatal("the second match never waited for the first's locks")
}

// The consumer through the outbox relay: results published twice rate
// the match once.
func TestThroughTheRelay(t *testing.T) {
	f := newFixture(t)
	relay := outbox.NewRelay(f.conn, testenv.DBURL(t), slog.New(slog.NewTextHandler(io.Discard, nil)), prometheus.NewRegistry(),
		outbox.Config{BaseBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond})
	if err := relay.Register(ctx, f.store.Consumer()); err != nil {
		t.Fatal(err)
	}
	teams := [][]int64{f.players(2), f.players(2)}
	m := f.accepted("relay", f.start, teams, []int{2, 1})
	for range 2 {
		tx, err := f.conn.Beginx()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := outbox.Enqueue(ctx, tx, match.TopicAccepted, m); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	for end := time.Now().Add(5 * time.Second); ; {
		n, err := relay.DeliverDue(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var pending int
		if err := f.conn.Get(&pending, `SELECT count(*) FROM outbox_deliveries WHERE consumer = $1 AND state <> 'delivered'`, rating.ConsumerName); err != nil {
			t.Fatal(err)
		}
		if n == 0 && pending == 0 {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("%d deliveries not delivered after 5s", pending)
		}
	}
	f.has("relay", "", f.expect(f.fresh(teams...), teams, []int{2, 1}), 1)
}

// Ordinals are of the season running on the store's clock, the one a
// match formed now is rated in.
func TestOrdinalsOfTheRunningSeason(t *testing.T) {
	f := newFixture(t)
	sea := f.season()
	teams := [][]int64{f.players(2), f.players(2)}
	newcomer := f.players(1)[0]
	all := []int64{teams[0][0], teams[0][1], teams[1][0], teams[1][1], newcomer}
	f.deliver(f.accepted("squads", f.start.Add(time.Hour), teams, []int{1, 2}))
	f.deliver(f.accepted("squads", f.start.Add(-time.Hour), teams, []int{2, 1})) // before the season

	in := f.expect(f.fresh(teams...), teams, []int{1, 2})
	out := f.expect(f.fresh(teams...), teams, []int{2, 1})
	for _, c := range []struct {
		at   time.Time
		want map[int64]rating.Rating
	}{{sea.StartsAt.Add(24 * time.Hour), in}, {sea.StartsAt.Add(-24 * time.Hour), out}, {sea.EndsAt, out}} {
		f.setClock(c.at)
		got, err := f.store.Ordinals(ctx, "squads", all)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(all) || got[newcomer] != 0 {
			t.Fatalf("at %s: %v, want %d ordinals and 0 for a new player", c.at, got, len(all))
		}
		for id, r := range c.want {
			if math.Abs(got[id]-f.model.Ordinal(r)) > 1e-9 {
				t.Fatalf("at %s: player %d has ordinal %v, want %v", c.at, id, got[id], f.model.Ordinal(r))
			}
		}
	}
}
