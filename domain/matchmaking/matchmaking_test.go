package matchmaking_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/musterhq/muster/domain/account"
	"github.com/musterhq/muster/domain/content"
	"github.com/musterhq/muster/domain/economytest"
	"github.com/musterhq/muster/domain/friend"
	"github.com/musterhq/muster/domain/match"
	"github.com/musterhq/muster/domain/matchmaking"
	"github.com/musterhq/muster/domain/outbox"
	"github.com/musterhq/muster/domain/party"
	"github.com/musterhq/muster/domain/push"
	"github.com/musterhq/muster/domain/rating"
	"github.com/musterhq/muster/domain/state"
	"github.com/musterhq/muster/test/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

type world struct {
	t       *testing.T
	db      *sqlx.DB
	svc     *matchmaking.Service
	parties *party.Service
	friends *friend.Store
	acc     *account.Store
	queue   string
}

// newWorld publishes a 2-team mode and a queue over it (teams of size
// teamSize, party sizes 1 to teamSize, maxWait seconds).
func newWorld(t *testing.T, teamSize, teams, maxWait int, backfill ...bool) *world {
	conn := testenv.DB(t)
	st := state.NewMemory()
	acc := account.NewStore(conn)
	friends := friend.NewStore(conn, friend.Config{})
	parties := party.New(party.Deps{Store: st, Bus: push.New(st), Friends: friends, Accounts: acc, Notifier: party.OutboxNotifier{DB: conn}}, party.Config{})
	w := &world{t: t, db: conn, acc: acc, friends: friends, parties: parties, queue: economytest.Name("q_")}
	ratings, err := rating.New(conn, rating.Config{})
	if err != nil {
		t.Fatal(err)
	}
	w.svc = matchmaking.NewService(conn, parties, ratings, acc, nil, nil)
	cs := content.New(conn)
	cs.Register(match.ModeKind())
	cs.Register(matchmaking.QueueKind())
	mode := "m_" + w.queue
	publish(t, cs, match.KindMode, mode, match.Mode{Name: "test", Teams: teams, TeamSize: teamSize, MaxDurationSeconds: 1800,
		Bounds: map[string]int64{match.StatKills: 50, match.StatSecondsPlayed: 1800}, XP: match.XPRules{PerKill: 1, Max: 100}})
	publish(t, cs, matchmaking.KindQueue, w.queue, matchmaking.Queue{Name: "test", Mode: mode, TeamSize: teamSize, Teams: teams,
		Regions: []string{"eu-west", "us-east"}, PartyMin: 1, PartyMax: teamSize, Skill: matchmaking.Widening{Start: 50, Max: 50},
		Latency: matchmaking.Widening{Start: 100, Max: 100}, MaxWaitSeconds: maxWait, Fallback: matchmaking.FallbackBots, MinPlayers: 1, Backfill: len(backfill) > 0 && backfill[0]})
	return w
}

func publish(t *testing.T, cs *content.Store, kind, id string, body any) {
	t.Helper()
	b, _ := json.Marshal(body)
	ctx := context.Background()
	d, err := cs.SaveDraft(ctx, kind, id, "", b, content.Edit{Editor: "test"})
	if err != nil {
		t.Fatalf("save %s/%s: %v", kind, id, err)
	}
	if _, err := cs.Publish(ctx, kind, id, content.Edit{Expected: d.DraftRevision, Editor: "test"}); err != nil {
		t.Fatalf("publish %s/%s: %v", kind, id, err)
	}
}

type who struct {
	id     int64
	public string
}

func (w *world) player() who {
	w.t.Helper()
	id := economytest.Player(w.t, w.db)
	a, err := w.acc.ByID(context.Background(), id)
	if err != nil {
		w.t.Fatal(err)
	}
	return who{id, a.PublicID}
}

var eu = map[string]int{"eu-west": 30}

func wantErr(t *testing.T, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("error %v, want %v", err, want)
	}
}

func TestTicketsSoloAndParty(t *testing.T) {
	w := newWorld(t, 4, 2, 60)
	ctx := t.Context()
	solo := w.player()
	_, err := w.svc.Join(ctx, solo.id, "nope", eu)
	wantErr(t, err, matchmaking.ErrUnknownQueue)
	_, err = w.svc.Join(ctx, solo.id, w.queue, map[string]int{"mars": 5})
	wantErr(t, err, matchmaking.ErrNoRegion)
	st, err := w.svc.Join(ctx, solo.id, w.queue, eu)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != "waiting" || len(st.Players) != 1 || st.Players[0] != solo.public {
		t.Fatalf("ticket %+v", st)
	}
	_, err = w.svc.Join(ctx, solo.id, w.queue, eu)
	wantErr(t, err, matchmaking.ErrAlreadyQueued)
	if got, err := w.svc.Status(ctx, solo.id); err != nil || got.TicketID != st.TicketID {
		t.Fatalf("status %+v %v", got, err)
	}

	// A party: the leader queues everyone; a member cannot; a member
	// already queued alone blocks the party's ticket.
	lead, mate := w.player(), w.player()
	v, err := w.parties.Create(ctx, lead.id, 4, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.parties.Join(ctx, mate.id, "", v.InviteCode); err != nil {
		t.Fatal(err)
	}
	_, err = w.svc.Join(ctx, mate.id, w.queue, eu)
	wantErr(t, err, matchmaking.ErrNotLeader)
	pt, err := w.svc.Join(ctx, lead.id, w.queue, eu)
	if err != nil {
		t.Fatal(err)
	}
	if len(pt.Players) != 2 || pt.PartyID != v.ID {
		t.Fatalf("party ticket %+v", pt)
	}
	if got, err := w.svc.Status(ctx, mate.id); err != nil || got.TicketID != pt.TicketID {
		t.Fatalf("the member's status %+v %v", got, err)
	}
	// A member cancels for the party.
	if _, err := w.svc.Cancel(ctx, mate.id, "cancelled"); err != nil {
		t.Fatal(err)
	}
	_, err = w.svc.Status(ctx, lead.id)
	wantErr(t, err, matchmaking.ErrNotQueued)
	// The party's change cancels its new ticket.
	if _, err := w.svc.Join(ctx, lead.id, w.queue, eu); err != nil {
		t.Fatal(err)
	}
	if err := w.svc.PartyChanged(ctx, v.ID, []int64{lead.id, mate.id}); err != nil {
		t.Fatal(err)
	}
	_, err = w.svc.Status(ctx, mate.id)
	wantErr(t, err, matchmaking.ErrNotQueued)
}

// formed reads every TopicFormed event of the queue.
func (w *world) formed() []matchmaking.Formed {
	w.t.Helper()
	var raws []json.RawMessage
	if err := w.db.Select(&raws, `SELECT payload FROM outbox_events WHERE topic = $1 AND payload->>'queue' = $2 ORDER BY created_at`,
		matchmaking.TopicFormed, w.queue); err != nil {
		w.t.Fatal(err)
	}
	out := make([]matchmaking.Formed, len(raws))
	for i, r := range raws {
		if err := json.Unmarshal(r, &out[i]); err != nil {
			w.t.Fatal(err)
		}
	}
	return out
}

// TestLeaseHandoverLosesAndDuplicatesNothing: two matchmaker replicas; the
// one holding the lease stops (as if killed) mid-stream; the other takes
// over once the lease expires and every ticket ends in exactly one match.
//
// The lease is long, so that no pause of a loaded machine lets it lapse
// between ticks; the test expires it in the database where the dead
// holder's lease would run out.
func TestLeaseHandoverLosesAndDuplicatesNothing(t *testing.T) {
	w := newWorld(t, 1, 2, 600)
	ctx := t.Context()
	cfg := matchmaking.Config{Tick: 100 * time.Millisecond, Lease: time.Minute}
	regA, regB := prometheus.NewRegistry(), prometheus.NewRegistry()
	a := matchmaking.NewMatchmaker(w.db, w.svc, matchmaking.Config{Tick: cfg.Tick, Lease: cfg.Lease, Holder: "a"}, regA, nil)
	b := matchmaking.NewMatchmaker(w.db, w.svc, matchmaking.Config{Tick: cfg.Tick, Lease: cfg.Lease, Holder: "b"}, regB, nil)
	// The lease holder as each replica's metrics tell it.
	leases := func(want string) {
		t.Helper()
		for name, reg := range map[string]*prometheus.Registry{"a": regA, "b": regB} {
			held, ok := sample(t, reg, "muster_matchmaking_lease_held", w.queue)
			if wantHeld := map[bool]float64{true: 1, false: 0}[name == want]; !ok || held != wantHeld {
				t.Errorf("replica %s: muster_matchmaking_lease_held = %v (exported %v), want %v: %s holds the lease", name, held, ok, wantHeld, want)
			}
		}
	}
	var players []who
	queue := func(n int) {
		for range n {
			p := w.player()
			players = append(players, p)
			if _, err := w.svc.Join(ctx, p.id, w.queue, eu); err != nil {
				t.Fatal(err)
			}
		}
	}
	holder := func() string {
		var h string
		_ = w.db.Get(&h, `SELECT holder FROM mm_leases WHERE queue = $1 AND expires_at > now()`, w.queue)
		return h
	}
	queue(6)
	for _, m := range []*matchmaking.Matchmaker{a, b, a, b} {
		if err := m.TickOnce(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if holder() != "a" {
		t.Fatalf("holder %q, want a (first to tick)", holder())
	}
	if got := len(w.formed()); got != 3 {
		t.Fatalf("%d matches of 6 solo players in 1v1, want 3", got)
	}
	leases("a")
	if ticks, _ := sample(t, regA, "muster_matchmaking_tick_seconds", w.queue); ticks != 2 {
		t.Errorf("replica a reports %v ticks of the queue, want 2", ticks)
	}
	if ticks, ok := sample(t, regB, "muster_matchmaking_tick_seconds", w.queue); ok {
		t.Errorf("replica b, which never held the queue, reports %v ticks", ticks)
	}
	if n, _ := sample(t, regA, "muster_matchmaking_lease_takeovers_total", w.queue); n != 1 {
		t.Errorf("replica a took the lease %v times, want 1", n)
	}
	// a dies: it ticks no more. New players arrive; while a's lease lasts
	// b leaves them be.
	queue(6)
	if err := b.TickOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if h := holder(); h != "a" {
		t.Fatalf("holder %q while a's lease lasts, want a", h)
	}
	if got := len(w.formed()); got != 3 {
		t.Fatalf("%d matches while the holder is stopped, want the 3 it formed", got)
	}
	// a's lease runs out; b takes over at its next tick.
	res, err := w.db.Exec(`UPDATE mm_leases SET expires_at = now() - interval '1 millisecond' WHERE queue = $1 AND holder = 'a'`, w.queue)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("expired %d leases of a, want 1", n)
	}
	for range 2 {
		if err := b.TickOnce(ctx); err != nil {
			t.Fatal(err)
		}
		if h := holder(); h != "b" {
			t.Fatalf("holder %q after a's lease expired and b ticked, want b", h)
		}
	}
	if n, _ := sample(t, regB, "muster_matchmaking_lease_takeovers_total", w.queue); n != 1 {
		t.Errorf("replica b took the lease %v times, want 1", n)
	}
	// a wakes up (a paused replica, not a dead one) and ticks: its lease is
	// gone, so it commits nothing.
	queue(2)
	if err := a.TickOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.TickOnce(ctx); err != nil {
		t.Fatal(err)
	}
	leases("b")
	seen := map[string]string{}
	for _, f := range w.formed() {
		for _, team := range f.Teams {
			for _, p := range team.Players {
				if prev, dup := seen[p.PlayerID]; dup {
					t.Fatalf("player %s in matches %s and %s", p.PlayerID, prev, f.MatchID)
				}
				seen[p.PlayerID] = f.MatchID
			}
		}
	}
	if len(seen) != len(players) {
		t.Fatalf("%d of %d players matched", len(seen), len(players))
	}
	var waiting int
	_ = w.db.Get(&waiting, `SELECT count(*) FROM mm_tickets WHERE queue = $1 AND state = 'waiting'`, w.queue)
	if waiting != 0 {
		t.Fatalf("%d tickets still waiting", waiting)
	}
}

// sample reads the value of a metric's series for queue from reg: a
// gauge's or counter's value, a histogram's count. ok is false when reg
// has no such series.
func sample(t *testing.T, reg *prometheus.Registry, name, queue string) (v float64, ok bool) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() != "queue" || l.GetValue() != queue {
					continue
				}
				switch {
				case m.Gauge != nil:
					return m.GetGauge().GetValue(), true
				case m.Counter != nil:
					return m.GetCounter().GetValue(), true
				case m.Histogram != nil:
					return float64(m.GetHistogram().GetSampleCount()), true
				}
			}
		}
	}
	return 0, false
}

// TestCancelledTicketIsNeverMatched: a ticket cancelled after the
// matchmaker read it voids the match it was put in.
func TestCancelledTicketIsNeverMatched(t *testing.T) {
	w := newWorld(t, 1, 2, 600)
	ctx := t.Context()
	m := matchmaking.NewMatchmaker(w.db, w.svc, matchmaking.Config{Holder: "solo"}, nil, nil)
	a, b := w.player(), w.player()
	if _, err := w.svc.Join(ctx, a.id, w.queue, eu); err != nil {
		t.Fatal(err)
	}
	if err := m.TickOnce(ctx); err != nil { // reads a's ticket
		t.Fatal(err)
	}
	if _, err := w.svc.Cancel(ctx, a.id, "cancelled"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.Join(ctx, b.id, w.queue, eu); err != nil {
		t.Fatal(err)
	}
	if err := m.TickOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if f := w.formed(); len(f) != 0 {
		t.Fatalf("matched a cancelled ticket: %+v", f)
	}
	c := w.player()
	if _, err := w.svc.Join(ctx, c.id, w.queue, eu); err != nil {
		t.Fatal(err)
	}
	if err := m.TickOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if f := w.formed(); len(f) != 1 || fmt.Sprint(len(f[0].Teams[0].Players), len(f[0].Teams[1].Players)) != "1 1" {
		t.Fatalf("formed %+v", f)
	}
}

// TestAllocationFailureRequeues: a match sessions could not place sends its
// tickets back to wait, keeping their age.
func TestAllocationFailureRequeues(t *testing.T) {
	w := newWorld(t, 1, 2, 600)
	ctx := t.Context()
	m := matchmaking.NewMatchmaker(w.db, w.svc, matchmaking.Config{Holder: "solo"}, nil, nil)
	a, b := w.player(), w.player()
	for _, p := range []who{a, b} {
		if _, err := w.svc.Join(ctx, p.id, w.queue, eu); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.TickOnce(ctx); err != nil {
		t.Fatal(err)
	}
	f := w.formed()
	if len(f) != 1 {
		t.Fatalf("formed %d", len(f))
	}
	before, _ := w.svc.Status(ctx, a.id)
	_ = before
	relay := outbox.NewRelay(w.db, "", nil, nil, outbox.Config{})
	if err := relay.Register(ctx, w.svc.RequeueConsumer()); err != nil {
		t.Fatal(err)
	}
	tx := w.db.MustBegin()
	if _, err := outbox.Enqueue(ctx, tx, matchmaking.TopicAllocationFailed, matchmaking.AllocationFailed{MatchID: f[0].MatchID, Queue: w.queue, Region: "eu-west", Reason: "no server"}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if _, err := relay.DeliverDue(ctx); err != nil {
		t.Fatal(err)
	}
	st, err := w.svc.Status(ctx, a.id)
	if err != nil || st.State != "waiting" {
		t.Fatalf("after the failure: %+v %v", st, err)
	}
	if err := m.TickOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if got := w.formed(); len(got) != 2 || got[1].MatchID == f[0].MatchID {
		t.Fatalf("not matched again: %+v", got)
	}
}

// TestBackfillFillsOpenSeats: a seat that opens in a started match is
// filled from the queue before new matches form, and announced with the
// match's own id.
func TestBackfillFillsOpenSeats(t *testing.T) {
	w := newWorld(t, 2, 2, 600, true)
	ctx := t.Context()
	m := matchmaking.NewMatchmaker(w.db, w.svc, matchmaking.Config{Holder: "solo"}, nil, nil)
	for range 4 {
		if _, err := w.svc.Join(ctx, w.player().id, w.queue, eu); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.TickOnce(ctx); err != nil {
		t.Fatal(err)
	}
	first := w.formed()
	if len(first) != 1 {
		t.Fatalf("formed %d", len(first))
	}
	tx := w.db.MustBegin()
	if err := w.svc.RequestBackfill(ctx, tx, first[0].MatchID, []int{1, 0}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	late, other := w.player(), w.player()
	for _, p := range []who{late, other} {
		if _, err := w.svc.Join(ctx, p.id, w.queue, eu); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.TickOnce(ctx); err != nil {
		t.Fatal(err)
	}
	all := w.formed()
	if len(all) != 2 || !all[1].Backfill || all[1].MatchID != first[0].MatchID ||
		len(all[1].Teams) != 2 || len(all[1].Teams[0].Players) != 1 || len(all[1].Teams[1].Players) != 0 {
		t.Fatalf("backfill %+v", all)
	}
	var open int
	_ = w.db.Get(&open, `SELECT count(*) FROM mm_backfill WHERE match_id = $1`, first[0].MatchID)
	if open != 0 {
		t.Fatal("the filled request is still open")
	}
	// One of the two late players took the seat; the other still waits.
	waiting := 0
	for _, p := range []who{late, other} {
		if st, err := w.svc.Status(ctx, p.id); err == nil && st.State == "waiting" {
			waiting++
		}
	}
	if waiting != 1 {
		t.Fatalf("%d of the two late players waiting, want 1", waiting)
	}
}

func TestStats(t *testing.T) {
	w := newWorld(t, 1, 2, 600)
	ctx := t.Context()
	m := matchmaking.NewMatchmaker(w.db, w.svc, matchmaking.Config{Holder: "solo"}, nil, nil)
	for _, lat := range []map[string]int{eu, eu, {"us-east": 20, "eu-west": 150}} {
		if _, err := w.svc.Join(ctx, w.player().id, w.queue, lat); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.TickOnce(ctx); err != nil {
		t.Fatal(err)
	}
	all, err := matchmaking.Stats(ctx, w.db)
	if err != nil {
		t.Fatal(err)
	}
	var st *matchmaking.QueueStats
	for i := range all {
		if all[i].Queue == w.queue {
			st = &all[i]
		}
	}
	if st == nil || st.Matches != 1 || st.Players != 1 || st.Tickets != 1 || st.Holder != "solo" ||
		len(st.Regions) != 1 || st.Regions[0].Region != "us-east" {
		t.Fatalf("stats %+v", st)
	}
}
