package bots

import (
	"context"
	"crypto/rand"
	"testing"

	"github.com/musterhq/muster/domain/session"
	"github.com/musterhq/muster/test/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestEnrollMakesAccountsAndSessionsOnce: enrolled players can refresh the
// session written for them, and enrolling again makes only what is missing.
func TestEnrollMakesAccountsAndSessionsOnce(t *testing.T) {
	ctx := context.Background()
	conn := testenv.DB(t)
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	sc := DefaultScenario()
	sc.Players = 3
	sc.Accounts.Prefix = "enroll"
	path := t.TempDir() + "/sessions.json"

	e, err := Enroll(ctx, conn, sc, path, key, nil)
	if err != nil {
		t.Fatal(err)
	}
	if e.Created != 3 || e.Started != 3 {
		t.Fatalf("first enroll: %+v, want 3 accounts and 3 sessions", e)
	}
	saved, err := loadSessions(path)
	if err != nil || len(saved) != 3 {
		t.Fatalf("sessions file: %v, %v", saved, err)
	}
	cfg := session.Config{SecretKey: key}
	keys := session.NewKeys(conn, cfg)
	if err := keys.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	store := session.NewStore(conn, session.NewTokens(keys, nil, cfg), nil, cfg)
	email := "enroll00002@" + sc.Accounts.Domain
	tok := saved[email]
	if tok == "" {
		t.Fatalf("no session for %s in %v", email, saved)
	}
	if _, err := store.Refresh(ctx, tok, session.Meta{IP: "127.0.0.1", Method: "email"}); err != nil {
		t.Fatalf("refresh the enrolled session: %v", err)
	}

	// All kept: nothing to do.
	if e, err = Enroll(ctx, conn, sc, path, key, nil); err != nil || e.Created != 0 || e.Started != 0 {
		t.Fatalf("second enroll: %+v, %v; want nothing made", e, err)
	}
	// One session lost: a new session for the existing account.
	delete(saved, email)
	if err := writeSessions(path, saved); err != nil {
		t.Fatal(err)
	}
	if e, err = Enroll(ctx, conn, sc, path, key, nil); err != nil || e.Created != 0 || e.Started != 1 {
		t.Fatalf("third enroll: %+v, %v; want 1 session and no account", e, err)
	}
	if saved, _ = loadSessions(path); saved[email] == "" || saved[email] == tok || len(saved) != 3 {
		t.Fatalf("sessions after the third enroll: %v", saved)
	}
}
