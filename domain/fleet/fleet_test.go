package fleet_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/domain/fleet"
	"github.com/musterhq/muster/domain/match"
	"github.com/musterhq/muster/domain/matchmaking"
)

func TestRegisterValidatesAndReplacesARestartedProcess(t *testing.T) {
	e := newEnv(t, options{})
	ctx := context.Background()
	for _, bad := range []fleet.Registration{
		{Fleet: "Main", Region: e.region, Address: "10.0.0.1:7777"},
		{Fleet: "main", Region: "", Address: "10.0.0.1:7777"},
		{Fleet: "main", Region: e.region, Address: "10.0.0.1"},
		{Fleet: "main", Region: e.region, Address: "10.0.0.1:0"},
		{Fleet: "main", Region: e.region, Address: "10.0.0.1:7777", Capacity: fleet.MaxCapacity + 1},
		{Fleet: "main", Region: e.region, Address: "10.0.0.1:7777", Labels: fleet.Labels{"bad key": "x"}},
	} {
		if _, err := e.registry.Register(ctx, e.server, bad); !errors.Is(err, fleet.ErrInvalid) {
			t.Errorf("Register(%+v) = %v, want ErrInvalid", bad, err)
		}
	}
	reg := fleet.Registration{Fleet: "main", Region: e.region, Address: "10.9.9.9:7777", Version: "1.2.3", Labels: fleet.Labels{"map": "dust"}}
	first, err := e.registry.Register(ctx, e.server, reg)
	if err != nil || first.Capacity != 1 || first.State != fleet.StateReady || first.Labels["map"] != "dust" {
		t.Fatalf("Register = %+v, %v", first, err)
	}
	// The same credential at the same address: the process restarted.
	second, err := e.registry.Register(ctx, e.server, reg)
	if err != nil || second.ID == first.ID {
		t.Fatalf("re-Register = %+v, %v", second, err)
	}
	if old, _ := e.registry.Get(ctx, first.ID); old.State != fleet.StateGone || old.GoneReason != "replaced" {
		t.Fatalf("replaced instance = %+v", old)
	}
	// Another credential cannot take a live address.
	other, _ := e.newServer(t)
	if _, err := e.registry.Register(ctx, other, reg); !errors.Is(err, fleet.ErrAddressInUse) {
		t.Fatalf("Register by another credential = %v, want ErrAddressInUse", err)
	}
	// Nor heartbeat or deregister an instance that is not its own.
	if _, err := e.registry.Heartbeat(ctx, other, second.ID); !errors.Is(err, fleet.ErrInstanceNotFound) {
		t.Fatalf("Heartbeat by another credential = %v", err)
	}
	if err := e.registry.Deregister(ctx, other, second.ID); !errors.Is(err, fleet.ErrInstanceNotFound) {
		t.Fatalf("Deregister by another credential = %v", err)
	}
	if err := e.registry.Deregister(ctx, e.server, second.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.registry.Deregister(ctx, e.server, second.ID); err != nil {
		t.Fatalf("second Deregister = %v, want nil", err)
	}
	if _, err := e.registry.Heartbeat(ctx, e.server, second.ID); !errors.Is(err, fleet.ErrInstanceGone) {
		t.Fatalf("Heartbeat after Deregister = %v, want ErrInstanceGone", err)
	}
}

// The done-when test: a server that stops heart-beating gets no new match;
// the sweeper marks it gone and its match lost, and tells its players.
func TestSilentServerGetsNoMatch(t *testing.T) {
	e := newEnv(t, options{config: fleet.Config{HeartbeatTimeout: 2 * time.Second}, scfg: fleet.SessionsConfig{AllocateWithin: time.Minute}})
	ctx := context.Background()
	in := e.register(t, 2)
	ps := e.gamers(t, 4)

	first := unique("m-")
	e.form(t, e.formed(first, ps[:2]))
	if st, inst, _ := e.allocation(t, first); st != fleet.AllocAllocated || inst == nil || *inst != in.ID {
		t.Fatalf("first match: %s on %v, want allocated on %d", st, inst, in.ID)
	}
	beat, err := e.registry.Heartbeat(ctx, e.server, in.ID)
	if err != nil || beat.Drain || len(beat.Matches) != 1 || beat.Matches[0].MatchID != first || beat.Instance.Allocated != 1 {
		t.Fatalf("heartbeat = %+v, %v", beat, err)
	}

	// Silent past the timeout, before any sweep: a free slot, but no match.
	e.silence(t, in.ID, 3*time.Second)
	second := unique("m-")
	e.form(t, e.formed(second, ps[2:]))
	if st, inst, _ := e.allocation(t, second); st != fleet.AllocPending || inst != nil {
		t.Fatalf("match for a silent server: %s on %v, want pending", st, inst)
	}

	sw, err := e.registry.Sweep(ctx)
	if err != nil || sw.Gone < 1 || sw.Lost < 1 {
		t.Fatalf("Sweep = %+v, %v", sw, err)
	}
	if got, _ := e.registry.Get(ctx, in.ID); got.State != fleet.StateGone || got.GoneReason != "silent" {
		t.Fatalf("silent instance = %+v", got)
	}
	if st, _, _ := e.allocation(t, first); st != fleet.AllocLost {
		t.Fatalf("its match is %s, want lost", st)
	}
	if _, err := e.registry.Heartbeat(ctx, e.server, in.ID); !errors.Is(err, fleet.ErrInstanceGone) {
		t.Fatalf("heartbeat of a gone instance = %v, want ErrInstanceGone", err)
	}
	e.deliver(t)
	for _, p := range ps[:2] {
		if n := e.notifications(t, p.account, fleet.KindMatchLost); len(n) != 1 {
			t.Errorf("player %s got %d match.lost notifications, want 1", p.public, len(n))
		}
		if _, err := e.sessions.ForPlayer(ctx, p.account); !errors.Is(err, fleet.ErrNoLiveMatch) {
			t.Errorf("ForPlayer of a lost match = %v, want ErrNoLiveMatch", err)
		}
	}

	// A server that comes back registers anew and takes the waiting match.
	e.register(t, 1)
	if n, err := e.sessions.RetryDue(ctx); err != nil || n < 1 {
		// The retry may not be due yet: make it so.
		if _, err := e.conn.Exec(`UPDATE fleet_allocations SET next_attempt_at = now() WHERE match_id = $1`, second); err != nil {
			t.Fatal(err)
		}
		if _, err := e.sessions.RetryDue(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if st, _, _ := e.allocation(t, second); st != fleet.AllocAllocated {
		t.Fatalf("waiting match after a server registered: %s, want allocated", st)
	}
}

func TestDrainingServerFinishesButTakesNothingNew(t *testing.T) {
	e := newEnv(t, options{scfg: fleet.SessionsConfig{AllocateWithin: time.Minute}})
	ctx := context.Background()
	in := e.register(t, 3)
	ps := e.gamers(t, 4)
	running := unique("m-")
	e.form(t, e.formed(running, ps[:2]))

	drained, err := e.registry.Drain(ctx, in.ID, "ops@studio", nil)
	if err != nil || drained.State != fleet.StateDraining || drained.DrainedBy != "ops@studio" {
		t.Fatalf("Drain = %+v, %v", drained, err)
	}
	beat, err := e.registry.Heartbeat(ctx, e.server, in.ID)
	if err != nil || !beat.Drain || len(beat.Matches) != 1 {
		t.Fatalf("heartbeat of a draining instance = %+v, %v", beat, err)
	}
	waiting := unique("m-")
	e.form(t, e.formed(waiting, ps[2:]))
	if st, _, _ := e.allocation(t, waiting); st != fleet.AllocPending {
		t.Fatalf("match while the only server drains: %s, want pending", st)
	}
	// Its running match ends normally and frees the slot.
	if ss, err := e.sessions.End(ctx, e.server, running, ""); err != nil || ss.State != fleet.AllocEnded {
		t.Fatalf("End = %+v, %v", ss, err)
	}
	if got, _ := e.registry.Get(ctx, in.ID); got.Allocated != 0 || got.State != fleet.StateDraining {
		t.Fatalf("drained instance after its match = %+v", got)
	}
	if _, err := e.registry.Resume(ctx, in.ID, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.conn.Exec(`UPDATE fleet_allocations SET next_attempt_at = now() WHERE match_id = $1`, waiting); err != nil {
		t.Fatal(err)
	}
	if _, err := e.sessions.RetryDue(ctx); err != nil {
		t.Fatal(err)
	}
	if st, _, _ := e.allocation(t, waiting); st != fleet.AllocAllocated {
		t.Fatalf("match after resume: %s, want allocated", st)
	}
}

func TestConcurrentAllocationsNeverOverfill(t *testing.T) {
	e := newEnv(t, options{})
	ctx := context.Background()
	a, b := e.register(t, 3), e.register(t, 2)
	const tries = 40
	var mu sync.Mutex
	got := map[int64]int{}
	none := 0
	var wg sync.WaitGroup
	for range tries {
		wg.Go(func() {
			tx, err := e.conn.BeginTxx(ctx, nil)
			if err != nil {
				t.Error(err)
				return
			}
			defer tx.Rollback()
			al, err := e.registry.Allocate(ctx, tx, fleet.Request{MatchID: unique("m-"), Region: e.region, Mode: e.mode, Players: 2})
			if errors.Is(err, fleet.ErrNoCapacity) {
				mu.Lock()
				none++
				mu.Unlock()
				return
			}
			if err != nil {
				t.Error(err)
				return
			}
			time.Sleep(5 * time.Millisecond) // hold the lock while others look
			if err := tx.Commit(); err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			got[al.InstanceID]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if got[a.ID] > 3 || got[b.ID] > 2 || got[a.ID]+got[b.ID]+none != tries {
		t.Fatalf("allocations %v (a=%d cap 3, b=%d cap 2), %d refused", got, a.ID, b.ID, none)
	}
	for _, in := range []fleet.Instance{a, b} {
		cur, _ := e.registry.Get(ctx, in.ID)
		if cur.Allocated != got[in.ID] || cur.Allocated > cur.Capacity {
			t.Errorf("instance %d: allocated %d, %d allocations, capacity %d", in.ID, cur.Allocated, got[in.ID], cur.Capacity)
		}
	}
	// Packing: the first allocations fill the fuller instance first, so
	// with no contention a full fleet is the only way to see a refusal.
	if got[a.ID]+got[b.ID] == 5 && none != tries-5 {
		t.Errorf("%d refused with the fleet full, want %d", none, tries-5)
	}
}

// An allocation that waited for an instance which filled up meanwhile, and
// found no room anywhere, holds no instance afterwards: PostgreSQL keeps
// the lock on a row it waited for even when the row no longer qualifies,
// and allocations holding such rows while waiting for others deadlocked.
func TestAllocationThatFindsNoRoomHoldsNoInstance(t *testing.T) {
	e := newEnv(t, options{})
	ctx := context.Background()
	a, b := e.register(t, 1), e.register(t, 1)
	begin := func() *sqlx.Tx {
		tx, err := e.conn.BeginTxx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = tx.Rollback() })
		return tx
	}
	allocate := func(tx *sqlx.Tx) (fleet.Allocation, error) {
		return e.registry.Allocate(ctx, tx, fleet.Request{MatchID: unique("m-"), Region: e.region, Mode: e.mode, Players: 2})
	}
	holdA, holdB := begin(), begin()
	if al, err := allocate(holdA); err != nil || al.InstanceID != a.ID {
		t.Fatalf("first allocation = %+v, %v, want instance %d", al, err, a.ID)
	}
	if al, err := allocate(holdB); err != nil || al.InstanceID != b.ID {
		t.Fatalf("second allocation = %+v, %v, want instance %d", al, err, b.ID)
	}
	// Both are held: the third waits for a, which fills when holdA commits,
	// then for b, which fills when holdB commits.
	late := begin()
	done := make(chan error, 1)
	go func() {
		_, err := allocate(late)
		done <- err
	}()
	waitForLockWaits(t, e, 1)
	if err := holdA.Commit(); err != nil {
		t.Fatal(err)
	}
	waitForLockWaits(t, e, 1)
	if err := holdB.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, fleet.ErrNoCapacity) {
		t.Fatalf("third allocation = %v, want ErrNoCapacity", err)
	}
	for _, in := range []fleet.Instance{a, b} {
		var id int64
		err := e.conn.GetContext(ctx, &id, `SELECT id FROM fleet_instances WHERE id = $1 FOR UPDATE NOWAIT`, in.ID)
		if err != nil {
			t.Errorf("instance %d after an allocation found no room: %v, want it free", in.ID, err)
		}
	}
}

// waitForLockWaits waits until n statements of the test's database wait for
// a row of fleet_instances.
func waitForLockWaits(t *testing.T, e *env, n int) {
	t.Helper()
	const q = `SELECT count(*) FROM pg_stat_activity
		WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%fleet_instances%'`
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		var waiting int
		if err := e.conn.Get(&waiting, q); err != nil {
			t.Fatal(err)
		}
		if waiting == n {
			return
		}
	}
	t.Fatalf("no %d statements waiting for an instance", n)
}

func TestFormedMatchIsAllocatedOnceAndPlayersAreTold(t *testing.T) {
	e := newEnv(t, options{})
	ctx := context.Background()
	in := e.register(t, 4)
	ps := e.gamers(t, 2)
	id := unique("m-")
	f := e.formed(id, ps)
	e.form(t, f)
	e.form(t, f) // the matchmaker sent it twice (or the outbox delivered it twice)
	e.deliver(t) // store and publish the notifications

	if st, inst, _ := e.allocation(t, id); st != fleet.AllocAllocated || *inst != in.ID {
		t.Fatalf("allocation %s on %v", st, inst)
	}
	if got, _ := e.registry.Get(ctx, in.ID); got.Allocated != 1 {
		t.Fatalf("instance allocated %d after one match sent twice, want 1", got.Allocated)
	}
	m, err := e.matches.Get(ctx, id)
	if err != nil || m.ServerID != e.server.ID || m.Status != match.StatusOpen || len(m.Roster) != 2 {
		t.Fatalf("opened match = %+v, %v", m, err)
	}
	for i, p := range ps {
		found := e.notifications(t, p.account, fleet.KindMatchFound)
		if len(found) != 1 {
			t.Fatalf("player %d has %d match.found notifications, want 1", i, len(found))
		}
		var pl fleet.FoundPayload
		if err := json.Unmarshal(found[0], &pl); err != nil {
			t.Fatal(err)
		}
		want := fleet.FoundPayload{MatchID: id, Queue: f.Queue, Mode: e.mode, Region: e.region, Address: in.Host, Port: in.Port, Team: i + 1}
		if pl != want {
			t.Errorf("match.found = %+v, want %+v", pl, want)
		}
		live, err := e.sessions.ForPlayer(ctx, p.account)
		if err != nil || live.MatchID != id || live.Address != in.Host || live.Port != in.Port || live.Team != i+1 || live.Connected {
			t.Errorf("ForPlayer = %+v, %v", live, err)
		}
	}
}

// The done-when test: a result from a server that was not allocated the
// match is refused; the allocated server's is accepted and frees its slot.
func TestResultFromAnotherServerIsRefused(t *testing.T) {
	e := newEnv(t, options{})
	ctx := context.Background()
	in := e.register(t, 1)
	other, _ := e.newServer(t)
	ps := e.gamers(t, 2)
	id := unique("m-")
	e.form(t, e.formed(id, ps))

	res := match.Result{Players: []match.PlayerResult{
		{PlayerID: ps[0].public, Team: 1, Placement: 1, Stats: map[string]int64{match.StatKills: 3, match.StatSecondsPlayed: 60}},
		{PlayerID: ps[1].public, Team: 2, Placement: 2, Stats: map[string]int64{match.StatKills: 1, match.StatSecondsPlayed: 60}},
	}}
	if _, err := e.matches.Report(ctx, other, id, res); !errors.Is(err, match.ErrNotYourMatch) {
		t.Fatalf("report from a server not allocated the match = %v, want ErrNotYourMatch", err)
	}
	if _, err := e.sessions.Get(ctx, other, id); !errors.Is(err, match.ErrNotYourMatch) {
		t.Fatalf("another server reading the allocation = %v", err)
	}
	if _, err := e.sessions.Players(ctx, other, id, []string{ps[0].public}, nil); !errors.Is(err, match.ErrNotYourMatch) {
		t.Fatalf("another server reporting players = %v", err)
	}
	// Nor can it open the match for itself.
	if _, err := e.matches.Open(ctx, other, id, e.mode, []string{ps[0].public, ps[1].public}); !errors.Is(err, match.ErrMatchExists) {
		t.Fatalf("another server opening the match = %v, want ErrMatchExists", err)
	}

	rc, err := e.matches.Report(ctx, e.server, id, res)
	if err != nil || rc.Status != match.StatusAccepted {
		t.Fatalf("report from the allocated server = %+v, %v", rc, err)
	}
	e.deliver(t) // sessions.results ends the allocation
	if st, _, _ := e.allocation(t, id); st != fleet.AllocEnded {
		t.Fatalf("allocation after accepted results: %s, want ended", st)
	}
	if got, _ := e.registry.Get(ctx, in.ID); got.Allocated != 0 || got.State != fleet.StateReady {
		t.Fatalf("instance after its match ended = %+v", got)
	}
}

func TestPlayersJoinLeaveAndReconnect(t *testing.T) {
	e := newEnv(t, options{})
	ctx := context.Background()
	e.register(t, 1)
	ps := e.gamers(t, 3)
	id := unique("m-")
	e.form(t, e.formed(id, ps[:2]))

	ss, err := e.sessions.Get(ctx, e.server, id)
	if err != nil || len(ss.Players) != 2 || ss.State != fleet.AllocAllocated || ss.Mode != e.mode {
		t.Fatalf("Get = %+v, %v", ss, err)
	}
	if _, err := e.sessions.Players(ctx, e.server, id, []string{ps[2].public}, nil); !errors.Is(err, match.ErrNotInMatch) {
		t.Fatalf("an outsider joining = %v, want ErrNotInMatch", err)
	}
	ss, err = e.sessions.Players(ctx, e.server, id, []string{ps[0].public, ps[1].public}, nil)
	if err != nil || !ss.Players[0].Connected || !ss.Players[1].Connected {
		t.Fatalf("both joined = %+v, %v", ss, err)
	}
	// Player 0 drops; they ask for their live match and get back in.
	if _, err := e.sessions.Players(ctx, e.server, id, nil, []string{ps[0].public}); err != nil {
		t.Fatal(err)
	}
	live, err := e.sessions.ForPlayer(ctx, ps[0].account)
	if err != nil || live.MatchID != id || live.Connected {
		t.Fatalf("ForPlayer after a drop = %+v, %v", live, err)
	}
	if _, err := e.sessions.Players(ctx, e.server, id, []string{ps[0].public}, nil); err != nil {
		t.Fatal(err)
	}
	if live, _ = e.sessions.ForPlayer(ctx, ps[0].account); !live.Connected {
		t.Fatalf("ForPlayer after rejoining = %+v", live)
	}
	if _, err := e.sessions.ForPlayer(ctx, ps[2].account); !errors.Is(err, fleet.ErrNoLiveMatch) {
		t.Fatalf("ForPlayer of a player in no match = %v", err)
	}

	ended, err := e.sessions.End(ctx, e.server, id, "abandoned")
	if err != nil || ended.State != fleet.AllocEnded || ended.EndReason != "abandoned" {
		t.Fatalf("End = %+v, %v", ended, err)
	}
	if again, err := e.sessions.End(ctx, e.server, id, ""); err != nil || again.EndReason != "abandoned" {
		t.Fatalf("End again = %+v, %v", again, err)
	}
	if _, err := e.sessions.Players(ctx, e.server, id, nil, []string{ps[1].public}); !errors.Is(err, fleet.ErrAllocationOver) {
		t.Fatalf("players of an ended match = %v, want ErrAllocationOver", err)
	}
	if _, err := e.sessions.ForPlayer(ctx, ps[0].account); !errors.Is(err, fleet.ErrNoLiveMatch) {
		t.Fatalf("ForPlayer after the match ended = %v", err)
	}
}

func TestNoServerWithinTheWindowGivesTheMatchBack(t *testing.T) {
	const window = 600 * time.Millisecond
	e := newEnv(t, options{scfg: fleet.SessionsConfig{AllocateWithin: window, RetryBase: 50 * time.Millisecond, RetryMax: 200 * time.Millisecond}})
	ctx := context.Background()
	ps := e.gamers(t, 2)
	id := unique("m-")
	f := e.formed(id, ps)
	start := time.Now()
	e.form(t, f)
	for time.Since(start) < 5*time.Second {
		if st, _, _ := e.allocation(t, id); st != fleet.AllocPending {
			break
		}
		if _, err := e.sessions.RetryDue(ctx); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	st, _, attempts := e.allocation(t, id)
	if st != fleet.AllocFailed {
		t.Fatalf("after the window the match is %s, want failed", st)
	}
	if elapsed := time.Since(start); elapsed < window {
		t.Fatalf("gave up after %s, before the %s window", elapsed, window)
	}
	if attempts < 3 {
		t.Errorf("%d attempts in the window, want retries with backoff", attempts)
	}
	got := e.failures(t, id)
	want := matchmaking.AllocationFailed{MatchID: id, Queue: f.Queue, Region: e.region, Reason: fleet.ReasonNoServer}
	if len(got) != 1 || got[0] != want {
		t.Fatalf("allocation_failed events = %+v, want [%+v]", got, want)
	}
	// Nothing was opened or announced.
	if _, err := e.matches.Get(ctx, id); !errors.Is(err, match.ErrMatchNotFound) {
		t.Fatalf("the failed match was opened: %v", err)
	}
	e.deliver(t)
	if n := e.notifications(t, ps[0].account, fleet.KindMatchFound); len(n) != 0 {
		t.Fatalf("a player of a failed match was told it was found")
	}
}

func TestUnknownModeFailsAtOnceAndFreesTheSlot(t *testing.T) {
	e := newEnv(t, options{})
	ctx := context.Background()
	in := e.register(t, 1)
	ps := e.gamers(t, 2)
	id := unique("m-")
	f := e.formed(id, ps)
	f.Mode = "no-such-mode"
	e.form(t, f)
	if st, _, _ := e.allocation(t, id); st != fleet.AllocFailed {
		t.Fatalf("match of an unknown mode: %s, want failed", st)
	}
	if got := e.failures(t, id); len(got) != 1 || got[0].Reason != fleet.ReasonInvalidMatch {
		t.Fatalf("allocation_failed = %+v", got)
	}
	if got, _ := e.registry.Get(ctx, in.ID); got.Allocated != 0 {
		t.Fatalf("the slot stayed taken: %+v", got)
	}
}

func TestSweepExpiresOverlongMatches(t *testing.T) {
	e := newEnv(t, options{})
	ctx := context.Background()
	in := e.register(t, 1)
	id := unique("m-")
	e.form(t, e.formed(id, e.gamers(t, 2)))
	if _, err := e.conn.Exec(`UPDATE fleet_allocations SET expires_at = now() - interval '1 second' WHERE match_id = $1`, id); err != nil {
		t.Fatal(err)
	}
	sw, err := e.registry.Sweep(ctx)
	if err != nil || sw.Expired < 1 {
		t.Fatalf("Sweep = %+v, %v", sw, err)
	}
	if st, _, _ := e.allocation(t, id); st != fleet.AllocEnded {
		t.Fatalf("expired match is %s", st)
	}
	if got, _ := e.registry.Get(ctx, in.ID); got.Allocated != 0 {
		t.Fatalf("expired match kept its slot: %+v", got)
	}
	loads, err := e.registry.Loads(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range loads {
		if l.Region == e.region && (l.Instances != 1 || l.Ready != 1 || l.Capacity != 1 || l.Free != 1 || l.Allocated != 0) {
			t.Errorf("load of %s = %+v", e.region, l)
		}
	}
}
