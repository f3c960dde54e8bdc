package realtime_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/musterhq/muster/domain/presence"
	"github.com/musterhq/muster/domain/push"
	"github.com/musterhq/muster/domain/state"
	"github.com/musterhq/muster/realtime"
	"github.com/musterhq/muster/realtime/protocol/pb"
)

// slowSets is shared state whose presence sets answer slowly, as a Redis
// under load would. A TouchMany (a heartbeat's refresh) says on started
// when it begins and on done when it has finished, if they are not nil.
type slowSets struct {
	*state.Memory
	delay         time.Duration
	started, done chan struct{}
}

func (s slowSets) Touch(ctx context.Context, set, member string, ttl time.Duration) error {
	time.Sleep(s.delay)
	return s.Memory.Touch(ctx, set, member, ttl)
}

func (s slowSets) TouchMany(ctx context.Context, members []state.SetMember, ttl time.Duration) error {
	signal(s.started)
	defer signal(s.done)
	time.Sleep(s.delay)
	return s.Memory.TouchMany(ctx, members, ttl)
}

// signal tells ch without waiting (it holds one word).
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// receive waits for a word on ch.
func receive(t *testing.T, ch chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: not within 10 s", what)
	}
}

// A heartbeat refreshes presence beside the connection's reader; when the
// connection closes while that refresh is still running, the player must
// still end up offline, not be brought back by the late refresh.
func TestHeartbeatRefreshDoesNotOutliveTheConnection(t *testing.T) {
	// The slow store's delay: long enough that a Pong waiting for the
	// refresh is told from one that does not on a loaded machine, and
	// that the connection closes while the refresh runs.
	const delay = 1500 * time.Millisecond
	mem := state.NewMemory()
	started, done := make(chan struct{}, 1), make(chan struct{}, 1)
	var tracker *presence.Tracker
	e := newEnv(t, realtime.Config{}, func(e *env, d *realtime.Deps) {
		tracker = presence.New(slowSets{mem, delay, started, done}, push.New(mem), e.friends, e.accounts, presence.Config{}, nil)
		d.Presence = tracker
	})
	p := e.player()
	c := e.dial()
	c.hello(p, "", 0)
	ctx := context.Background()
	status := func() presence.Status {
		t.Helper()
		v, err := tracker.Lookup(ctx, []int64{p.id})
		if err != nil {
			t.Fatal(err)
		}
		return v[p.id].Status
	}
	// The player comes online just after Welcome (presence is recorded
	// after the answer is queued, through the slow store).
	for end := time.Now().Add(delay + 10*time.Second); status() == presence.Offline; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatal("the player never came online")
		}
	}

	start := time.Now()
	c.send(&pb.Ping{Nonce: 1})
	c.expect(&pb.Pong{})
	if took := time.Since(start); took >= delay {
		t.Errorf("the Pong took %v: it waited for the presence refresh", took)
	}
	// The connection closes while the Ping's refresh is running.
	receive(t, started, "the heartbeat's refresh began")
	c.send(&pb.Goodbye{})
	c.nc.Close()
	receive(t, done, "the heartbeat's refresh ended")

	// The player goes offline, and stays so: the late refresh does not
	// bring them back (a player brought back would stay online for the
	// presence TTL, 30 s).
	for end := time.Now().Add(10 * time.Second); status() != presence.Offline; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("10 s after the connection closed the player is %v, want offline", status())
		}
	}
	for end := time.Now().Add(time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if s := status(); s != presence.Offline {
			t.Fatalf("the player went offline, then came back %v: the late refresh outlived the connection", s)
		}
	}
	if left, err := mem.Members(ctx, "presence:conns:"+strconv.FormatInt(p.id, 10)); err != nil || len(left) != 0 {
		t.Fatalf("connections left in presence: %v, %v", left, err)
	}
}

// A draining node's clients are reconnecting elsewhere: their friends must
// not see them go offline (and come back) during a rolling update, so the
// node leaves their presence to expire instead of clearing it.
func TestDrainKeepsPresenceForTheReconnect(t *testing.T) {
	mem := state.NewMemory()
	var tracker *presence.Tracker
	e := newEnv(t, realtime.Config{}, func(e *env, d *realtime.Deps) {
		tracker = presence.New(mem, push.New(mem), e.friends, e.accounts, presence.Config{TTL: time.Minute}, nil)
		d.Presence = tracker
	})
	p := e.player()
	c := e.dial()
	c.hello(p, "", 0)
	status := func() presence.Status {
		t.Helper()
		v, err := tracker.Lookup(context.Background(), []int64{p.id})
		if err != nil {
			t.Fatal(err)
		}
		return v[p.id].Status
	}
	waitFor(t, func() bool { return status() != presence.Offline })

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	e.gw.Drain(ctx, 0)
	if n := e.gw.Connections(); n != 0 {
		t.Fatalf("%d connections left after the drain", n)
	}
	time.Sleep(100 * time.Millisecond) // the handler's end has run
	if s := status(); s == presence.Offline {
		t.Fatal("the drained player went offline: friends would see them leave and come back")
	}
}

// countingSets counts how many presence removals run at once.
type countingSets struct {
	*state.Memory
	now, most *atomic.Int32
}

func (s countingSets) Remove(ctx context.Context, set, member string) error {
	n := s.now.Add(1)
	defer s.now.Add(-1)
	for m := s.most.Load(); n > m && !s.most.CompareAndSwap(m, n); m = s.most.Load() {
	}
	time.Sleep(5 * time.Millisecond) // a round trip to a busy Redis
	return s.Memory.Remove(ctx, set, member)
}

// Connections that end together (a network cut) clear their presence a
// few at a time, not all at once against the Redis pool, and every player
// still ends up offline.
func TestManyDisconnectsTakeTurns(t *testing.T) {
	mem := state.NewMemory()
	var now, most atomic.Int32
	var tracker *presence.Tracker
	e := newEnv(t, realtime.Config{}, func(e *env, d *realtime.Deps) {
		tracker = presence.New(countingSets{mem, &now, &most}, push.New(mem), e.friends, e.accounts, presence.Config{}, nil)
		d.Presence = tracker
	})
	const n = 40
	ids := make([]int64, n)
	var clients []*client
	for i := range n {
		p := e.player()
		ids[i] = p.id
		c := e.dial()
		c.hello(p, "", 0)
		clients = append(clients, c)
	}
	online := func() int {
		v, err := tracker.Lookup(context.Background(), ids)
		if err != nil {
			t.Fatal(err)
		}
		k := 0
		for _, p := range v {
			if p.Status != presence.Offline {
				k++
			}
		}
		return k
	}
	waitFor(t, func() bool { return online() == n })
	for _, c := range clients {
		c.nc.Close()
	}
	waitFor(t, func() bool { return online() == 0 })
	if m := most.Load(); m > 8 || m < 2 {
		t.Fatalf("%d presence removals ran at once, want 2 to 8", m)
	}
}
