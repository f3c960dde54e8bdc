package session_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/musterhq/muster/domain/session"
	"github.com/musterhq/muster/domain/state"
	"github.com/musterhq/muster/test/testenv"
)

// deafPubSub publishes nowhere and never delivers: every message is lost.
type deafPubSub struct{}

func (deafPubSub) Publish(context.Context, string, []byte) error { return nil }
func (deafPubSub) Subscribe(context.Context, ...string) (state.Subscription, error) {
	return &deafSub{c: make(chan state.Message)}, nil
}

type deafSub struct{ c chan state.Message }

func (s *deafSub) C() <-chan state.Message { return s.c }
func (s *deafSub) Close() error            { return nil }

// emptyPresence forgets everything, so only PubSub carries revocations.
type emptyPresence struct{}

func (emptyPresence) Touch(context.Context, string, string, time.Duration) error { return nil }
func (emptyPresence) Remove(context.Context, string, string) error               { return nil }
func (emptyPresence) Members(context.Context, string) ([]string, error)          { return nil, nil }
func (emptyPresence) IsPresent(context.Context, string, string) (bool, error)    { return false, nil }
func (emptyPresence) TouchMany(context.Context, []state.SetMember, time.Duration) error {
	return nil
}

// TestRevocationReachesAnotherNode runs two nodes on one Redis: sessions
// revoked on A are refused by B, whose cache already holds their tokens.
func TestRevocationReachesAnotherNode(t *testing.T) {
	conn := testenv.DB(t)
	client, prefix := testenv.Redis(t)
	cases := []struct {
		name string
		// what node B listens with
		presence state.Presence
		pubsub   state.PubSub
	}{
		{"pubsub and polling", nil, nil},
		{"pubsub message lost: polling", nil, deafPubSub{}},
		{"polling broken: pubsub", emptyPresence{}, nil},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := state.NewRedis(client, prefix+string(rune('a'+i))+":")
			a := newNode(t, conn, st, st, session.Config{SecretKey: secret})
			bp, bs := tc.presence, tc.pubsub
			if bp == nil {
				bp = st
			}
			if bs == nil {
				bs = st
			}
			b := newNode(t, conn, bp, bs, session.Config{}) // verifier only
			ctx := context.Background()
			time.Sleep(50 * time.Millisecond) // let B subscribe

			iss, acc, _ := start(t, a, conn)
			if _, err := b.tokens.Verify(ctx, iss.AccessToken); err != nil {
				t.Fatalf("node B Verify before revocation: %v", err)
			}
			if n, err := a.store.RevokeAll(ctx, acc, "ban"); err != nil || n != 1 {
				t.Fatalf("RevokeAll = %d, %v", n, err)
			}
			took := eventually(t, 2*time.Second, func() error {
				_, err := b.tokens.Verify(ctx, iss.AccessToken)
				return err
			}, session.ErrRevoked)
			t.Logf("node B refused the token after %s", took)
		})
	}
}

func TestDenyListInMemory(t *testing.T) {
	st := state.NewMemory()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a := session.NewDenyList(st, st, time.Minute)
	b := session.NewDenyList(st, st, time.Minute)
	done := make(chan error, 2)
	go func() { done <- a.Run(ctx) }()
	go func() { done <- b.Run(ctx) }()
	time.Sleep(20 * time.Millisecond)

	if a.Revoked("s1") {
		t.Fatal("s1 revoked before Add")
	}
	if err := a.Add(ctx, "s1", "s2"); err != nil {
		t.Fatal(err)
	}
	if !a.Revoked("s1") || !a.Revoked("s2") {
		t.Fatal("Add is not effective on its own node at once")
	}
	eventually(t, 2*time.Second, func() error {
		if b.Revoked("s1") && b.Revoked("s2") {
			return session.ErrRevoked
		}
		return nil
	}, session.ErrRevoked)
	if b.Revoked("s3") {
		t.Fatal("s3 revoked")
	}

	// A late joiner learns the list from Presence.
	c := session.NewDenyList(st, st, time.Minute)
	go func() { done <- c.Run(ctx) }()
	eventually(t, 2*time.Second, func() error {
		if c.Revoked("s2") {
			return session.ErrRevoked
		}
		return nil
	}, session.ErrRevoked)

	cancel()
	for range 3 {
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
		case <-time.After(2 * time.Second):
			t.Fatal("Run did not return when ctx ended")
		}
	}
}

func TestDenyListForgetsAfterTTL(t *testing.T) {
	st := state.NewMemory()
	d := session.NewDenyList(st, st, 100*time.Millisecond)
	if err := d.Add(context.Background(), "s1"); err != nil {
		t.Fatal(err)
	}
	if !d.Revoked("s1") {
		t.Fatal("not revoked")
	}
	time.Sleep(150 * time.Millisecond)
	if d.Revoked("s1") {
		t.Fatal("still revoked after ttl")
	}
	if m, _ := st.Members(context.Background(), "session-revoked"); len(m) != 0 {
		t.Fatalf("shared set still holds %v after ttl", m)
	}
}

func TestSessionsOnMemoryState(t *testing.T) {
	conn := testenv.DB(t)
	st := state.NewMemory()
	n := newNode(t, conn, st, st, session.Config{SecretKey: secret})
	ctx := context.Background()
	iss, _, _ := start(t, n, conn)
	if _, err := n.tokens.Verify(ctx, iss.AccessToken); err != nil {
		t.Fatal(err)
	}
	if err := n.store.Logout(ctx, iss.RefreshToken); err != nil {
		t.Fatal(err)
	}
	if _, err := n.tokens.Verify(ctx, iss.AccessToken); !errors.Is(err, session.ErrRevoked) {
		t.Fatalf("Verify after Logout: %v, want ErrRevoked", err)
	}
}
