package state_test

import (
	"errors"
	"testing"
	"time"

	"github.com/musterhq/muster/domain/state"
	"github.com/musterhq/muster/test/testenv"
)

// TestRedisKeys checks what the contract cannot see: where the Redis
// implementation puts its keys and that they expire on their own.
func TestRedisKeys(t *testing.T) {
	client, prefix := testenv.Redis(t)
	s := state.NewRedis(client, prefix)
	ctx := t.Context()

	pttl := func(key string) time.Duration {
		t.Helper()
		d, err := client.PTTL(ctx, prefix+key).Result()
		if err != nil {
			t.Fatalf("PTTL %s: %v", key, err)
		}
		return d
	}

	// One action of three per 300s leaves the bucket full again in 100s
	// (one emission interval, not the window). The key's ttl counts down
	// from there while the test runs.
	start := time.Now()
	if _, err := s.Allow(ctx, "k", 3, 300*time.Second); err != nil {
		t.Fatal(err)
	}
	if d, elapsed := pttl("limit:k"), time.Since(start); d <= 100*time.Second-elapsed-time.Millisecond || d > 100*time.Second {
		t.Errorf("limiter key ttl = %s after %s, want 100s less that", d, elapsed)
	}

	if err := s.Set(ctx, "k", []byte("v"), 0); err != nil {
		t.Fatal(err)
	}
	if d := pttl("kv:k"); d != -1 {
		t.Errorf("kv key with ttl 0 has PTTL %s, want none (-1)", d)
	}

	if err := s.Touch(ctx, "room", "a", time.Second); err != nil {
		t.Fatal(err)
	}
	if err := s.Touch(ctx, "room", "b", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if d := pttl("presence:room"); d <= 9*time.Second || d > 10*time.Second+time.Millisecond { // rounded up to a whole ms
		t.Errorf("presence key ttl = %s, want the longest member's (10s)", d)
	}
}

// TestRedisPrefixIsolates checks that stores with different prefixes on one
// server share nothing.
func TestRedisPrefixIsolates(t *testing.T) {
	client, prefix := testenv.Redis(t)
	one := state.NewRedis(client, prefix+"one:")
	two := state.NewRedis(client, prefix+"two:")
	ctx := t.Context()

	if err := one.Set(ctx, "k", []byte("v"), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := two.Get(ctx, "k"); !errors.Is(err, state.ErrNotFound) {
		t.Fatalf("other prefix sees key: %v", err)
	}

	sub, err := two.Subscribe(ctx, "ch")
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if err := one.Publish(ctx, "ch", []byte("from one")); err != nil {
		t.Fatal(err)
	}
	if err := two.Publish(ctx, "ch", []byte("from two")); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-sub.C():
		if string(m.Payload) != "from two" {
			t.Fatalf("first message %q crossed prefixes", m.Payload)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("no message")
	}
}

// TestRedisTouchManyLoadsItsScript checks that TouchMany works on a server
// that does not know the presence script yet (new, restarted or flushed):
// a pipeline of EVALSHA fails there as a whole.
func TestRedisTouchManyLoadsItsScript(t *testing.T) {
	client, prefix := testenv.Redis(t)
	s := state.NewRedis(client, prefix)
	ctx := t.Context()
	if err := client.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if err := s.TouchMany(ctx, []state.SetMember{{Set: "room", Member: "a"}, {Set: "room", Member: "b"}}, time.Minute); err != nil {
		t.Fatalf("TouchMany after SCRIPT FLUSH: %v", err)
	}
	if m, err := s.Members(ctx, "room"); err != nil || len(m) != 2 {
		t.Fatalf("Members = %v, %v; want a and b", m, err)
	}
}
