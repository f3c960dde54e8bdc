package session_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/domain/session"
	"github.com/musterhq/muster/domain/state"
	"github.com/musterhq/muster/test/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// secret is the SecretKey every signing node in these tests shares.
var secret = []byte("0123456789abcdef0123456789abcdef")

// node is one Muster process: its keys, deny list, verifier and store.
type node struct {
	keys   *session.Keys
	deny   *session.DenyList
	tokens *session.Tokens
	store  *session.Store
}

// newNode starts a node on conn whose deny list runs on st until the test
// ends. With cfg.SecretKey set the node signs; without, it only verifies.
func newNode(t testing.TB, conn *sqlx.DB, presence state.Presence, pubsub state.PubSub, cfg session.Config) *node {
	t.Helper()
	ctx := context.Background()
	keys := session.NewKeys(conn, cfg)
	var err error
	if cfg.SecretKey != nil {
		err = keys.Ensure(ctx)
	} else {
		err = keys.Load(ctx)
	}
	if err != nil {
		t.Fatalf("keys: %v", err)
	}
	deny := session.NewDenyList(presence, pubsub, cfg.DenyTTL())
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- deny.Run(runCtx) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("deny list Run: %v", err)
		}
	})
	tokens := session.NewTokens(keys, deny, cfg)
	return &node{keys: keys, deny: deny, tokens: tokens, store: session.NewStore(conn, tokens, deny, cfg)}
}

// redisState returns shared state in a Redis keyspace of this test's own.
func redisState(t testing.TB) *state.Redis {
	client, prefix := testenv.Redis(t)
	return state.NewRedis(client, prefix)
}

// signer returns a node that signs, on the package database and Redis.
func signer(t testing.TB) (*node, *sqlx.DB) {
	t.Helper()
	conn := testenv.DB(t)
	st := redisState(t)
	return newNode(t, conn, st, st, session.Config{SecretKey: secret}), conn
}

// newAccount inserts an account and returns its id and public id.
func newAccount(t testing.TB, conn *sqlx.DB) (int64, string) {
	t.Helper()
	b := make([]byte, 8)
	rand.Read(b)
	pub := "p_" + hex.EncodeToString(b)
	var id int64
	const q = `INSERT INTO accounts (public_id, display_name, display_name_key) VALUES ($1, $1, $1) RETURNING id`
	if err := conn.Get(&id, q, pub); err != nil {
		t.Fatalf("insert account: %v", err)
	}
	return id, pub
}

var meta = session.Meta{IP: "203.0.113.7", UserAgent: "muster-test/1", Method: "email"}

// start begins a session for a new account.
func start(t testing.TB, n *node, conn *sqlx.DB) (session.Issued, int64, string) {
	t.Helper()
	acc, pub := newAccount(t, conn)
	iss, err := n.store.Start(context.Background(), acc, pub, meta)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	return iss, acc, pub
}

// eventually polls verify until it returns want, failing after limit.
func eventually(t testing.TB, limit time.Duration, verify func() error, want error) time.Duration {
	t.Helper()
	begin := time.Now()
	for {
		err := verify()
		if errors.Is(err, want) {
			return time.Since(begin)
		}
		if time.Since(begin) > limit {
			t.Fatalf("after %s: got %v, want %v", limit, err, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
