package state_test

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/musterhq/muster/domain/state"
	"github.com/musterhq/muster/test/testenv"
)

// store is everything both implementations provide.
type store interface {
	state.Limiter
	state.KV
	state.PubSub
	state.Presence
}

func TestRedis(t *testing.T) {
	runContract(t, func(t *testing.T) store {
		client, prefix := testenv.Redis(t)
		return state.NewRedis(client, prefix)
	})
}

func TestMemory(t *testing.T) {
	runContract(t, func(*testing.T) store { return state.NewMemory() })
}

// runContract checks the behaviour every implementation must share. Each
// case gets a fresh store and runs in parallel with the others.
func runContract(t *testing.T, newStore func(*testing.T) store) {
	cases := []struct {
		name string
		run  func(*testing.T, store)
	}{
		{"LimiterBurstThenDeny", testLimiterBurstThenDeny},
		{"LimiterRecovers", testLimiterRecovers},
		{"LimiterKeysIndependent", testLimiterKeysIndependent},
		{"LimiterBadArgs", testLimiterBadArgs},
		{"LimiterConcurrent", testLimiterConcurrent},
		{"KVMissing", testKVMissing},
		{"KVSetGet", testKVSetGet},
		{"KVExpiry", testKVExpiry},
		{"KVSetNX", testKVSetNX},
		{"KVDelete", testKVDelete},
		{"KVGetMany", testKVGetMany},
		{"KVCompareAndSwap", testKVCompareAndSwap},
		{"KVCompareAndSwapConcurrent", testKVCompareAndSwapConcurrent},
		{"KVExpire", testKVExpire},
		{"KVExpireMany", testKVExpireMany},
		{"PubSubDelivery", testPubSubDelivery},
		{"PubSubManyChannels", testPubSubManyChannels},
		{"PubSubClose", testPubSubClose},
		{"PubSubSlowSubscriber", testPubSubSlowSubscriber},
		{"PresenceMembers", testPresenceMembers},
		{"PresenceRemove", testPresenceRemove},
		{"PresenceExpiry", testPresenceExpiry},
		{"PresenceTouchMany", testPresenceTouchMany},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.run(t, newStore(t))
		})
	}
}

func allow(t *testing.T, s store, key string, limit int, window time.Duration) state.Decision {
	t.Helper()
	d, err := s.Allow(t.Context(), key, limit, window)
	if err != nil {
		t.Fatalf("Allow(%q, %d, %s): %v", key, limit, window, err)
	}
	return d
}

func testLimiterBurstThenDeny(t *testing.T, s store) {
	// One action per 20s: the bucket earns nothing back while the test
	// runs, however slow the machine, so the counts below are exact.
	const limit, window = 5, 100 * time.Second
	const interval = window / limit
	start := time.Now()
	for i := range limit {
		d := allow(t, s, "burst", limit, window)
		if !d.Allowed || d.Remaining != limit-1-i || d.RetryAfter != 0 {
			t.Fatalf("call %d (%s in): got %+v, want allowed with %d remaining", i+1, time.Since(start), d, limit-1-i)
		}
	}
	d := allow(t, s, "burst", limit, window)
	elapsed := time.Since(start)
	if d.Allowed || d.Remaining != 0 {
		t.Fatalf("call %d: got %+v, want denied", limit+1, d)
	}
	// GCRA: the first call set the theoretical arrival time to its own time
	// plus one interval, each later call added an interval, and the next
	// action is allowed one interval after the first call. RetryAfter is
	// that less the time since the first call, which is at most elapsed.
	if d.RetryAfter <= interval-elapsed-time.Millisecond || d.RetryAfter > interval {
		t.Fatalf("RetryAfter = %s, want one emission interval (%s) less the %s the calls took", d.RetryAfter, interval, elapsed)
	}
}

func testLimiterRecovers(t *testing.T, s store) {
	// One action per second: long enough that the burst and the calls
	// after the recovery do not earn another action on a slow machine,
	// short enough to wait for.
	const limit, window = 3, 3 * time.Second
	for range limit {
		if d := allow(t, s, "recover", limit, window); !d.Allowed {
			t.Fatalf("burst denied early: %+v", d)
		}
	}
	d := allow(t, s, "recover", limit, window)
	if d.Allowed || d.RetryAfter <= 0 {
		t.Fatalf("after burst got %+v, want denied with RetryAfter > 0", d)
	}
	time.Sleep(d.RetryAfter + 20*time.Millisecond)
	if d := allow(t, s, "recover", limit, window); !d.Allowed {
		t.Fatalf("after waiting RetryAfter got %+v, want allowed", d)
	}
	for range limit + 1 {
		if d := allow(t, s, "recover", limit, window); !d.Allowed {
			return
		}
	}
	t.Fatalf("%d more calls all allowed after recovery, want the limit to hold", limit+1)
}

func testLimiterKeysIndependent(t *testing.T, s store) {
	for range 2 {
		allow(t, s, "a", 2, time.Minute)
	}
	if d := allow(t, s, "a", 2, time.Minute); d.Allowed {
		t.Fatalf("key a not exhausted: %+v", d)
	}
	if d := allow(t, s, "b", 2, time.Minute); !d.Allowed || d.Remaining != 1 {
		t.Fatalf("key b affected by key a: %+v", d)
	}
}

func testLimiterBadArgs(t *testing.T, s store) {
	for _, c := range []struct {
		limit  int
		window time.Duration
	}{{0, time.Second}, {-1, time.Second}, {1, 0}, {1, -time.Second}} {
		_, err := s.Allow(t.Context(), "bad", c.limit, c.window)
		if !errors.Is(err, state.ErrInvalidArgument) {
			t.Errorf("Allow(limit %d, window %s) error = %v, want ErrInvalidArgument", c.limit, c.window, err)
		}
	}
}

func testLimiterConcurrent(t *testing.T, s store) {
	const limit, workers = 10, 20
	var allowed atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range workers {
		wg.Go(func() {
			<-start
			d, err := s.Allow(t.Context(), "shared", limit, time.Minute)
			if err != nil {
				t.Error(err)
				return
			}
			if d.Allowed {
				allowed.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	if got := allowed.Load(); got != limit {
		t.Fatalf("%d of %d concurrent calls allowed, want exactly %d", got, workers, limit)
	}
}

func get(t *testing.T, s store, key string) ([]byte, error) {
	t.Helper()
	return s.Get(t.Context(), key)
}

func wantValue(t *testing.T, s store, key, want string) {
	t.Helper()
	got, err := get(t, s, key)
	if err != nil || string(got) != want {
		t.Fatalf("Get(%q) = %q, %v; want %q", key, got, err, want)
	}
}

func wantNotFound(t *testing.T, s store, key string) {
	t.Helper()
	if got, err := get(t, s, key); !errors.Is(err, state.ErrNotFound) {
		t.Fatalf("Get(%q) = %q, %v; want ErrNotFound", key, got, err)
	}
}

func set(t *testing.T, s store, key, value string, ttl time.Duration) {
	t.Helper()
	if err := s.Set(t.Context(), key, []byte(value), ttl); err != nil {
		t.Fatalf("Set(%q): %v", key, err)
	}
}

func setNX(t *testing.T, s store, key, value string, ttl time.Duration) bool {
	t.Helper()
	ok, err := s.SetNX(t.Context(), key, []byte(value), ttl)
	if err != nil {
		t.Fatalf("SetNX(%q): %v", key, err)
	}
	return ok
}

func testKVMissing(t *testing.T, s store) {
	wantNotFound(t, s, "missing")
}

func testKVSetGet(t *testing.T, s store) {
	value := []byte("v1")
	if err := s.Set(t.Context(), "k", value, 0); err != nil {
		t.Fatal(err)
	}
	value[0] = 'X' // the store keeps its own copy
	wantValue(t, s, "k", "v1")
	got, _ := get(t, s, "k")
	got[0] = 'Y' // and hands out copies
	wantValue(t, s, "k", "v1")
	set(t, s, "k", "v2", 0)
	wantValue(t, s, "k", "v2")
	if err := s.Set(t.Context(), "k", []byte("v3"), -time.Second); !errors.Is(err, state.ErrInvalidArgument) {
		t.Fatalf("Set with negative ttl error = %v, want ErrInvalidArgument", err)
	}
}

// sleepPast sleeps until ttl has passed since set, and a little more: a key
// written with ttl before set returned has expired by then. A slow machine
// only makes the sleep longer.
func sleepPast(set time.Time, ttl time.Duration) {
	time.Sleep(time.Until(set.Add(ttl + 50*time.Millisecond)))
}

// presentTTL is the ttl of keys that must still be there when next read:
// long enough that a loaded machine does not expire them under the test.
// Every test that uses it waits it out, so it is not longer.
const presentTTL = time.Second

func testKVExpiry(t *testing.T, s store) {
	set(t, s, "short", "s", presentTTL)
	set(t, s, "forever", "f", 0)
	if !setNX(t, s, "lease", "first", presentTTL) {
		t.Fatal("SetNX on a new key lost")
	}
	written := time.Now()
	wantValue(t, s, "short", "s")
	wantValue(t, s, "lease", "first")
	sleepPast(written, presentTTL)
	wantNotFound(t, s, "short")
	wantValue(t, s, "forever", "f")
	if !setNX(t, s, "lease", "second", 0) {
		t.Fatal("SetNX on an expired key lost")
	}
	wantValue(t, s, "lease", "second")
}

func testKVSetNX(t *testing.T, s store) {
	if !setNX(t, s, "once", "first", time.Minute) {
		t.Fatal("first SetNX lost")
	}
	if setNX(t, s, "once", "second", time.Minute) {
		t.Fatal("second SetNX won")
	}
	wantValue(t, s, "once", "first")
	if err := s.Delete(t.Context(), "once"); err != nil {
		t.Fatal(err)
	}
	if !setNX(t, s, "once", "third", 0) {
		t.Fatal("SetNX after Delete lost")
	}
	wantValue(t, s, "once", "third")
}

func testKVDelete(t *testing.T, s store) {
	set(t, s, "gone", "x", 0)
	if err := s.Delete(t.Context(), "gone"); err != nil {
		t.Fatal(err)
	}
	wantNotFound(t, s, "gone")
	if err := s.Delete(t.Context(), "never-set"); err != nil {
		t.Fatalf("Delete of a missing key: %v", err)
	}
}

func testKVGetMany(t *testing.T, s store) {
	set(t, s, "m1", "one", 0)
	set(t, s, "m3", "", 0)
	set(t, s, "m4", "gone", 30*time.Millisecond)
	time.Sleep(60 * time.Millisecond)
	got, err := s.GetMany(t.Context(), []string{"m1", "m2", "m3", "m4"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 || string(got[0]) != "one" || got[1] != nil || got[2] == nil || len(got[2]) != 0 || got[3] != nil {
		t.Fatalf("GetMany = %q, want [one <nil> \"\" <nil>]", got)
	}
	if got, err := s.GetMany(t.Context(), nil); err != nil || len(got) != 0 {
		t.Fatalf("GetMany of nothing = %q, %v", got, err)
	}
}

func swap(t *testing.T, s store, key string, old, value []byte, ttl time.Duration) bool {
	t.Helper()
	ok, err := s.CompareAndSwap(t.Context(), key, old, value, ttl)
	if err != nil {
		t.Fatalf("CompareAndSwap(%q): %v", key, err)
	}
	return ok
}

func testKVCompareAndSwap(t *testing.T, s store) {
	if !swap(t, s, "doc", nil, []byte("v1"), time.Minute) {
		t.Fatal("swap of an absent key expecting absent lost")
	}
	if swap(t, s, "doc", nil, []byte("v1b"), time.Minute) {
		t.Fatal("swap expecting absent won over a present key")
	}
	if swap(t, s, "doc", []byte("other"), []byte("v2"), time.Minute) {
		t.Fatal("swap with a stale old value won")
	}
	if !swap(t, s, "doc", []byte("v1"), []byte("v2"), presentTTL) {
		t.Fatal("swap with the current value lost")
	}
	swapped := time.Now()
	wantValue(t, s, "doc", "v2")
	sleepPast(swapped, presentTTL)
	wantNotFound(t, s, "doc")
	if swap(t, s, "doc", []byte("v2"), []byte("v3"), 0) {
		t.Fatal("swap of an expired key expecting its old value won")
	}
	set(t, s, "doc", "v4", 0)
	if !swap(t, s, "doc", []byte("v4"), nil, 0) {
		t.Fatal("delete by swap lost")
	}
	wantNotFound(t, s, "doc")
	if _, err := s.CompareAndSwap(t.Context(), "doc", nil, []byte("x"), -time.Second); !errors.Is(err, state.ErrInvalidArgument) {
		t.Fatalf("negative ttl: %v", err)
	}
}

// testKVCompareAndSwapConcurrent has many writers increment one counter
// by read, change, swap: none of their increments is lost.
func testKVCompareAndSwapConcurrent(t *testing.T, s store) {
	const writers, each = 8, 25
	set(t, s, "counter", "0", 0)
	var wg sync.WaitGroup
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				for {
					cur, err := s.Get(t.Context(), "counter")
					if err != nil {
						t.Error(err)
						return
					}
					var n int
					fmt.Sscan(string(cur), &n)
					ok, err := s.CompareAndSwap(t.Context(), "counter", cur, []byte(fmt.Sprint(n+1)), 0)
					if err != nil {
						t.Error(err)
						return
					}
					if ok {
						break
					}
				}
			}
		}()
	}
	wg.Wait()
	wantValue(t, s, "counter", fmt.Sprint(writers*each))
}

func testKVExpire(t *testing.T, s store) {
	if ok, err := s.Expire(t.Context(), "nothing", time.Second); err != nil || ok {
		t.Fatalf("Expire of a missing key = %v, %v", ok, err)
	}
	set(t, s, "lease", "x", 0)
	set(t, s, "kept", "y", presentTTL)
	written := time.Now()
	if ok, err := s.Expire(t.Context(), "lease", presentTTL); err != nil || !ok {
		t.Fatalf("Expire = %v, %v", ok, err)
	}
	expired := time.Now()
	if ok, err := s.Expire(t.Context(), "kept", 0); err != nil || !ok {
		t.Fatalf("Expire(0) = %v, %v", ok, err)
	}
	wantValue(t, s, "lease", "x") // Expire keeps the value
	sleepPast(expired, presentTTL)
	wantNotFound(t, s, "lease")
	sleepPast(written, presentTTL) // already past: kept's ttl is gone
	wantValue(t, s, "kept", "y")
}

func testKVExpireMany(t *testing.T, s store) {
	if ok, err := s.ExpireMany(t.Context(), nil, time.Second); err != nil || len(ok) != 0 {
		t.Fatalf("ExpireMany of no keys = %v, %v", ok, err)
	}
	set(t, s, "a", "1", 0)
	set(t, s, "c", "3", 0)
	set(t, s, "kept", "y", presentTTL)
	written := time.Now()
	ok, err := s.ExpireMany(t.Context(), []string{"a", "b", "c"}, presentTTL)
	if err != nil || !slices.Equal(ok, []bool{true, false, true}) {
		t.Fatalf("ExpireMany = %v, %v; want [true false true]", ok, err)
	}
	expired := time.Now()
	if ok, err := s.ExpireMany(t.Context(), []string{"kept", "gone"}, 0); err != nil || !slices.Equal(ok, []bool{true, false}) {
		t.Fatalf("ExpireMany(0) = %v, %v", ok, err)
	}
	wantValue(t, s, "a", "1") // ExpireMany keeps the values
	wantValue(t, s, "c", "3")
	sleepPast(expired, presentTTL)
	wantNotFound(t, s, "a")
	wantNotFound(t, s, "c")
	sleepPast(written, presentTTL) // already past: kept's ttl is gone
	wantValue(t, s, "kept", "y")
	if _, err := s.ExpireMany(t.Context(), []string{"kept"}, -time.Second); !errors.Is(err, state.ErrInvalidArgument) {
		t.Fatalf("ExpireMany with a negative ttl error = %v, want ErrInvalidArgument", err)
	}
}

func subscribe(t *testing.T, s store, channels ...string) state.Subscription {
	t.Helper()
	sub, err := s.Subscribe(t.Context(), channels...)
	if err != nil {
		t.Fatalf("Subscribe(%q): %v", channels, err)
	}
	t.Cleanup(func() {
		closed := make(chan error, 1)
		go func() { closed <- sub.Close() }()
		select {
		case err := <-closed:
			if err != nil {
				t.Errorf("Close: %v", err)
			}
		case <-time.After(2 * time.Second):
			t.Error("Close blocked")
		}
	})
	return sub
}

func publish(t *testing.T, s store, channel, payload string) {
	t.Helper()
	if err := s.Publish(t.Context(), channel, []byte(payload)); err != nil {
		t.Fatalf("Publish(%q): %v", channel, err)
	}
}

// wantMessage fails unless the next message on sub is payload on channel.
func wantMessage(t *testing.T, sub state.Subscription, channel, payload string) {
	t.Helper()
	select {
	case m, ok := <-sub.C():
		if !ok {
			t.Fatalf("subscription closed, want %q on %q", payload, channel)
		}
		if m.Channel != channel || string(m.Payload) != payload {
			t.Fatalf("got %q on %q, want %q on %q", m.Payload, m.Channel, payload, channel)
		}
	case <-time.After(2 * time.Second):
		t.Fatalf("no message, want %q on %q", payload, channel)
	}
}

func testPubSubDelivery(t *testing.T, s store) {
	a1 := subscribe(t, s, "room:a")
	a2 := subscribe(t, s, "room:a")
	b := subscribe(t, s, "room:b")

	publish(t, s, "room:a", "hello")
	wantMessage(t, a1, "room:a", "hello")
	wantMessage(t, a2, "room:a", "hello")

	// Messages arrive in order, so if b's first message is the one sent to
	// room:b, it never got "hello"; likewise for a1 and a2.
	publish(t, s, "room:b", "for b")
	publish(t, s, "room:a", "again")
	wantMessage(t, b, "room:b", "for b")
	wantMessage(t, a1, "room:a", "again")
	wantMessage(t, a2, "room:a", "again")

	if _, err := s.Subscribe(t.Context()); !errors.Is(err, state.ErrInvalidArgument) {
		t.Fatalf("Subscribe with no channels error = %v, want ErrInvalidArgument", err)
	}
}

func testPubSubManyChannels(t *testing.T, s store) {
	sub := subscribe(t, s, "x", "y", "x")
	publish(t, s, "y", "1")
	publish(t, s, "x", "2")
	wantMessage(t, sub, "y", "1")
	wantMessage(t, sub, "x", "2")
}

func testPubSubClose(t *testing.T, s store) {
	sub := subscribe(t, s, "closing")
	if err := sub.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	timeout := time.After(2 * time.Second)
	for closed := false; !closed; {
		select {
		case _, ok := <-sub.C():
			closed = !ok
		case <-timeout:
			t.Fatal("C() not closed after Close")
		}
	}
	if err := sub.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	publish(t, s, "closing", "nobody listens")
}

func testPubSubSlowSubscriber(t *testing.T, s store) {
	sub := subscribe(t, s, "slow")
	if c := cap(sub.C()); c < 4096 || c > 1<<16 {
		t.Fatalf("subscription buffer is %d, want room for bursts (4096) and bounded", c)
	}
	n := cap(sub.C()) + 1000

	// Published by several goroutines at once: the buffer is large.
	const publishers = 8
	published := make(chan error, publishers)
	for p := range publishers {
		go func() {
			for i := p; i < n; i += publishers {
				if err := s.Publish(t.Context(), "slow", fmt.Appendf(nil, "%d", i)); err != nil {
					published <- err
					return
				}
			}
			published <- nil
		}()
	}
	// A Publish that blocked would never return; the bound is generous so
	// that a busy machine (the race detector, other load) is not mistaken
	// for blocking.
	timeout := time.After(60 * time.Second)
	for range publishers {
		select {
		case err := <-published:
			if err != nil {
				t.Fatal(err)
			}
		case <-timeout:
			t.Fatal("Publish blocked on a subscriber that does not read")
		}
	}

	// The buffer fills to its bound and no further.
	for deadline := time.Now().Add(10 * time.Second); len(sub.C()) < cap(sub.C()); {
		if time.Now().After(deadline) {
			t.Fatalf("buffer holds %d of %d after %d publishes", len(sub.C()), cap(sub.C()), n)
		}
		time.Sleep(5 * time.Millisecond)
	}

	// Once the reader catches up, new messages get through again.
	for deadline := time.Now().Add(5 * time.Second); ; {
		if time.Now().After(deadline) {
			t.Fatal("subscriber never received a message after draining")
		}
		publish(t, s, "slow", "after")
		for drained := false; !drained; {
			select {
			case m := <-sub.C():
				if bytes.Equal(m.Payload, []byte("after")) {
					return
				}
			case <-time.After(50 * time.Millisecond):
				drained = true
			}
		}
	}
}

func touch(t *testing.T, s store, set, member string, ttl time.Duration) {
	t.Helper()
	if err := s.Touch(t.Context(), set, member, ttl); err != nil {
		t.Fatalf("Touch(%q, %q): %v", set, member, err)
	}
}

func wantMembers(t *testing.T, s store, set string, want ...string) {
	t.Helper()
	got, err := s.Members(t.Context(), set)
	if err != nil {
		t.Fatalf("Members(%q): %v", set, err)
	}
	if !slices.Equal(got, want) { // nil and empty are equal here
		t.Fatalf("Members(%q) = %q, want %q", set, got, want)
	}
}

func wantPresent(t *testing.T, s store, set, member string, want bool) {
	t.Helper()
	got, err := s.IsPresent(t.Context(), set, member)
	if err != nil || got != want {
		t.Fatalf("IsPresent(%q, %q) = %v, %v; want %v", set, member, got, err, want)
	}
}

func testPresenceMembers(t *testing.T, s store) {
	wantMembers(t, s, "lobby")
	wantPresent(t, s, "lobby", "bob", false)
	for _, m := range []string{"carol", "alice", "bob", "alice"} {
		touch(t, s, "lobby", m, time.Minute)
	}
	wantMembers(t, s, "lobby", "alice", "bob", "carol")
	wantPresent(t, s, "lobby", "bob", true)
	wantPresent(t, s, "lobby", "dave", false)
	wantMembers(t, s, "other")
	if err := s.Touch(t.Context(), "lobby", "eve", 0); !errors.Is(err, state.ErrInvalidArgument) {
		t.Fatalf("Touch with ttl 0 error = %v, want ErrInvalidArgument", err)
	}
}

func testPresenceTouchMany(t *testing.T, s store) {
	if err := s.TouchMany(t.Context(), nil, time.Minute); err != nil {
		t.Fatalf("TouchMany of nothing: %v", err)
	}
	touch(t, s, "lobby", "alice", 40*time.Millisecond)
	// More members than one Redis pipeline carries, over two sets.
	var many []state.SetMember
	for i := range 1500 {
		many = append(many, state.SetMember{Set: []string{"lobby", "squad"}[i%2], Member: fmt.Sprintf("p%04d", i)})
	}
	many = append(many, state.SetMember{Set: "lobby", Member: "alice"})
	if err := s.TouchMany(t.Context(), many, time.Minute); err != nil {
		t.Fatalf("TouchMany: %v", err)
	}
	time.Sleep(80 * time.Millisecond) // alice's first touch has expired; the second holds her
	lobby, err := s.Members(t.Context(), "lobby")
	if err != nil || len(lobby) != 751 || !slices.Contains(lobby, "alice") {
		t.Fatalf("lobby holds %d members (alice: %v), %v; want 751 with alice", len(lobby), slices.Contains(lobby, "alice"), err)
	}
	wantPresent(t, s, "squad", "p1499", true)
	wantPresent(t, s, "squad", "p0000", false)
	if err := s.TouchMany(t.Context(), many[:1], 0); !errors.Is(err, state.ErrInvalidArgument) {
		t.Fatalf("TouchMany with ttl 0 error = %v, want ErrInvalidArgument", err)
	}
}

func testPresenceRemove(t *testing.T, s store) {
	touch(t, s, "lobby", "alice", time.Minute)
	touch(t, s, "lobby", "bob", time.Minute)
	if err := s.Remove(t.Context(), "lobby", "bob"); err != nil {
		t.Fatal(err)
	}
	wantMembers(t, s, "lobby", "alice")
	wantPresent(t, s, "lobby", "bob", false)
	if err := s.Remove(t.Context(), "lobby", "nobody"); err != nil {
		t.Fatalf("Remove of an absent member: %v", err)
	}
	if err := s.Remove(t.Context(), "empty", "nobody"); err != nil {
		t.Fatalf("Remove from a missing set: %v", err)
	}
}

// testPresenceExpiry has members lapse one by one. A sleep only ever goes
// past an expiry, so a slow machine only makes it longer, and a member
// that must still be present has a second or more left when checked.
func testPresenceExpiry(t *testing.T, s store) {
	const brief, lapse = 1 * time.Second, 3 * time.Second
	touch(t, s, "lobby", "brief", brief)
	briefTouched := time.Now()
	touch(t, s, "lobby", "kept", lapse)
	touch(t, s, "lobby", "lapsed", lapse)
	lapsedTouched := time.Now()
	touch(t, s, "lobby", "long", time.Minute)
	wantMembers(t, s, "lobby", "brief", "kept", "lapsed", "long")
	sleepPast(briefTouched, brief)
	wantMembers(t, s, "lobby", "kept", "lapsed", "long")
	wantPresent(t, s, "lobby", "brief", false)
	touch(t, s, "lobby", "kept", time.Minute) // a heartbeat extends
	wantPresent(t, s, "lobby", "lapsed", true)
	sleepPast(lapsedTouched, lapse)
	wantMembers(t, s, "lobby", "kept", "long")
	wantPresent(t, s, "lobby", "kept", true)
	wantPresent(t, s, "lobby", "lapsed", false)
}
