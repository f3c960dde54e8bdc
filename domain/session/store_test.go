package session_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/domain/db"
	"github.com/musterhq/muster/domain/session"
)

func TestStartRefreshLogout(t *testing.T) {
	a, conn := signer(t)
	ctx := context.Background()
	iss, acc, pub := start(t, a, conn)

	if !strings.HasPrefix(iss.RefreshToken, "mrt_") || len(iss.RefreshToken) < 4+43 {
		t.Fatalf("refresh token %q", iss.RefreshToken)
	}
	if d := time.Until(iss.AccessExpiresAt); d < 14*time.Minute || d > 15*time.Minute {
		t.Fatalf("access token lives %s, want 15m", d)
	}
	if d := time.Until(iss.RefreshExpiresAt); d < 30*24*time.Hour-time.Minute || d > 30*24*time.Hour+time.Minute {
		t.Fatalf("refresh token lives %s, want 30d", d)
	}
	c, err := a.tokens.Verify(ctx, iss.AccessToken)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if c.AccountID != acc || c.PlayerID != pub || c.SessionID != iss.SessionID || !c.ExpiresAt.Equal(iss.AccessExpiresAt) {
		t.Fatalf("claims %+v for account %d %s session %s", c, acc, pub, iss.SessionID)
	}

	// Only the hash of the refresh token is stored.
	var stored [][]byte
	if err := conn.Select(&stored, `SELECT token_hash FROM auth_refresh_tokens WHERE session_id = $1`, iss.SessionID); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(iss.RefreshToken))
	if len(stored) != 1 || string(stored[0]) != string(sum[:]) {
		t.Fatalf("stored %x, want only sha256 %x", stored, sum)
	}

	time.Sleep(1100 * time.Millisecond) // let expires_at and iat move on
	next, err := a.store.Refresh(ctx, iss.RefreshToken, session.Meta{IP: "198.51.100.1", UserAgent: "ua2"})
	if err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	if next.SessionID != iss.SessionID || next.RefreshToken == iss.RefreshToken || next.AccessToken == iss.AccessToken {
		t.Fatalf("Refresh gave %+v after %+v", next, iss)
	}
	if !next.RefreshExpiresAt.After(iss.RefreshExpiresAt) {
		t.Fatalf("session did not slide: %s then %s", iss.RefreshExpiresAt, next.RefreshExpiresAt)
	}
	if c, err := a.tokens.Verify(ctx, next.AccessToken); err != nil || c.PlayerID != pub || c.AccountID != acc {
		t.Fatalf("refreshed access token: %+v, %v", c, err)
	}
	if _, err := a.tokens.Verify(ctx, iss.AccessToken); err != nil {
		t.Fatalf("first access token after a normal refresh: %v", err)
	}
	list, err := a.store.List(ctx, acc)
	if err != nil || len(list) != 1 {
		t.Fatalf("List = %+v, %v", list, err)
	}
	if s := list[0]; s.ID != iss.SessionID || s.IP != "198.51.100.1" || s.UserAgent != "ua2" || s.Method != "email" ||
		!s.ExpiresAt.Equal(next.RefreshExpiresAt) || s.LastUsedAt.Before(s.CreatedAt.Add(time.Second)) {
		t.Fatalf("listed %+v", s)
	}

	if err := a.store.Logout(ctx, next.RefreshToken); err != nil {
		t.Fatalf("Logout: %v", err)
	}
	if err := a.store.Logout(ctx, next.RefreshToken); err != nil {
		t.Fatalf("second Logout: %v", err)
	}
	if err := a.store.Logout(ctx, "mrt_unknown"); !errors.Is(err, session.ErrInvalidRefresh) {
		t.Fatalf("Logout of unknown token: %v", err)
	}
	if _, err := a.store.Refresh(ctx, next.RefreshToken, meta); !errors.Is(err, session.ErrInvalidRefresh) {
		t.Fatalf("Refresh after Logout: %v, want ErrInvalidRefresh", err)
	}
	if _, err := a.tokens.Verify(ctx, next.AccessToken); !errors.Is(err, session.ErrRevoked) {
		t.Fatalf("access token after Logout: %v, want ErrRevoked", err)
	}
	if list, _ := a.store.List(ctx, acc); len(list) != 0 {
		t.Fatalf("List after Logout = %+v", list)
	}
}

func TestRefreshReuseRevokesSession(t *testing.T) {
	a, conn := signer(t)
	ctx := context.Background()
	first, _, _ := start(t, a, conn)
	second, err := a.store.Refresh(ctx, first.RefreshToken, meta)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.tokens.Verify(ctx, second.AccessToken); err != nil {
		t.Fatal(err)
	}

	if _, err := a.store.Refresh(ctx, first.RefreshToken, meta); !errors.Is(err, session.ErrRefreshReused) {
		t.Fatalf("reused token: %v, want ErrRefreshReused", err)
	}
	var reason string
	var revoked bool
	if err := conn.QueryRow(`SELECT revoke_reason, revoked_at IS NOT NULL FROM auth_sessions WHERE id = $1`, first.SessionID).Scan(&reason, &revoked); err != nil {
		t.Fatal(err)
	}
	if !revoked || reason != "refresh_reused" {
		t.Fatalf("session revoked=%v reason=%q", revoked, reason)
	}
	if _, err := a.store.Refresh(ctx, second.RefreshToken, meta); !errors.Is(err, session.ErrInvalidRefresh) {
		t.Fatalf("newest token of the revoked session: %v, want ErrInvalidRefresh", err)
	}
	for _, tok := range []string{first.AccessToken, second.AccessToken} {
		if _, err := a.tokens.Verify(ctx, tok); !errors.Is(err, session.ErrRevoked) {
			t.Fatalf("access token of the revoked session: %v, want ErrRevoked", err)
		}
	}
	if _, err := a.store.Refresh(ctx, first.RefreshToken, meta); err == nil {
		t.Fatal("third use of the old token worked")
	}
}

func TestRefreshRefused(t *testing.T) {
	a, conn := signer(t)
	ctx := context.Background()
	cases := []struct {
		name  string
		spoil string // SQL run with $1 = session id
	}{
		{"expired token", `UPDATE auth_refresh_tokens SET expires_at = now() - interval '1 second' WHERE session_id = $1`},
		{"expired session", `UPDATE auth_sessions SET expires_at = now() - interval '1 second' WHERE id = $1`},
		{"revoked session", `UPDATE auth_sessions SET revoked_at = now() WHERE id = $1`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			iss, _, _ := start(t, a, conn)
			if _, err := conn.Exec(tc.spoil, iss.SessionID); err != nil {
				t.Fatal(err)
			}
			if _, err := a.store.Refresh(ctx, iss.RefreshToken, meta); !errors.Is(err, session.ErrInvalidRefresh) {
				t.Fatalf("Refresh: %v, want ErrInvalidRefresh", err)
			}
		})
	}
	for _, tok := range []string{"", "mrt_nope", "garbage"} {
		if _, err := a.store.Refresh(ctx, tok, meta); !errors.Is(err, session.ErrInvalidRefresh) {
			t.Fatalf("Refresh(%q): %v, want ErrInvalidRefresh", tok, err)
		}
	}
}

func TestConcurrentRefreshOfOneToken(t *testing.T) {
	a, conn := signer(t)
	ctx := context.Background()
	iss, _, _ := start(t, a, conn)
	const n = 10
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		won     []session.Issued
		refused int
	)
	ready := make(chan struct{})
	for range n {
		wg.Go(func() {
			<-ready
			got, err := a.store.Refresh(ctx, iss.RefreshToken, meta)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won = append(won, got)
			case errors.Is(err, session.ErrRefreshReused), errors.Is(err, session.ErrInvalidRefresh):
				refused++
			default:
				t.Errorf("Refresh: %v", err)
			}
		})
	}
	close(ready)
	wg.Wait()
	if len(won) != 1 || refused != n-1 {
		t.Fatalf("%d refreshes won and %d were refused, want 1 and %d", len(won), refused, n-1)
	}
	var revoked bool
	if err := conn.Get(&revoked, `SELECT revoked_at IS NOT NULL FROM auth_sessions WHERE id = $1`, iss.SessionID); err != nil {
		t.Fatal(err)
	}
	if !revoked {
		t.Fatal("session survived concurrent reuse of its refresh token")
	}
	if _, err := a.tokens.Verify(ctx, won[0].AccessToken); !errors.Is(err, session.ErrRevoked) {
		t.Fatalf("winner's access token: %v, want ErrRevoked", err)
	}
	if _, err := a.store.Refresh(ctx, won[0].RefreshToken, meta); !errors.Is(err, session.ErrInvalidRefresh) {
		t.Fatalf("winner's refresh token: %v, want ErrInvalidRefresh", err)
	}
}

func TestListAndRevoke(t *testing.T) {
	a, conn := signer(t)
	ctx := context.Background()
	acc, pub := newAccount(t, conn)
	otherAcc, _ := newAccount(t, conn)
	var ids []string
	var access []string
	for range 4 {
		iss, err := a.store.Start(ctx, acc, pub, meta)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, iss.SessionID)
		access = append(access, iss.AccessToken)
	}
	list, err := a.store.List(ctx, acc)
	if err != nil || len(list) != 4 {
		t.Fatalf("List = %v, %v", list, err)
	}
	for i := 1; i < len(list); i++ {
		if list[i].CreatedAt.After(list[i-1].CreatedAt) {
			t.Fatalf("List not newest first: %+v", list)
		}
	}

	for _, bad := range []struct {
		acc int64
		id  string
	}{{otherAcc, ids[0]}, {acc, "not-a-uuid"}, {acc, "00000000-0000-4000-8000-000000000000"}} {
		if err := a.store.Revoke(ctx, bad.acc, bad.id, "test"); !errors.Is(err, session.ErrNotFound) {
			t.Fatalf("Revoke(%d, %q): %v, want ErrNotFound", bad.acc, bad.id, err)
		}
	}
	if err := a.store.Revoke(ctx, acc, strings.ToUpper(ids[0]), "player"); err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	if err := a.store.Revoke(ctx, acc, ids[0], "player"); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("second Revoke: %v, want ErrNotFound", err)
	}
	if _, err := a.tokens.Verify(ctx, access[0]); !errors.Is(err, session.ErrRevoked) {
		t.Fatalf("revoked session's token: %v", err)
	}

	n, err := a.store.RevokeAll(ctx, acc, "password_changed", strings.ToUpper(ids[3]))
	if err != nil || n != 2 {
		t.Fatalf("RevokeAll = %d, %v; want 2", n, err)
	}
	for i, tok := range access {
		_, err := a.tokens.Verify(ctx, tok)
		if wantLive := i == 3; wantLive != (err == nil) {
			t.Fatalf("session %d after RevokeAll except 3: %v", i, err)
		}
	}
	list, _ = a.store.List(ctx, acc)
	if len(list) != 1 || list[0].ID != ids[3] {
		t.Fatalf("List after RevokeAll = %+v", list)
	}
	var reason string
	conn.Get(&reason, `SELECT revoke_reason FROM auth_sessions WHERE id = $1`, ids[1])
	if reason != "password_changed" {
		t.Fatalf("revoke_reason %q", reason)
	}
}

func TestRevokeAllTxFollowsTheTransaction(t *testing.T) {
	a, conn := signer(t)
	ctx := context.Background()
	iss, acc, _ := start(t, a, conn)
	rollback := errors.New("rollback")
	err := db.InTx(ctx, conn, nil, func(tx *sqlx.Tx) error {
		ids, err := session.RevokeAllTx(ctx, tx, acc, "ban")
		if err != nil || len(ids) != 1 || ids[0] != iss.SessionID {
			t.Fatalf("RevokeAllTx = %v, %v", ids, err)
		}
		return rollback
	})
	if !errors.Is(err, rollback) {
		t.Fatal(err)
	}
	if list, _ := a.store.List(ctx, acc); len(list) != 1 {
		t.Fatalf("rolled-back RevokeAllTx revoked: %+v", list)
	}
	var ids []string
	if err := db.InTx(ctx, conn, nil, func(tx *sqlx.Tx) (err error) {
		ids, err = session.RevokeAllTx(ctx, tx, acc, "ban")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if err := a.deny.Add(ctx, ids...); err != nil {
		t.Fatal(err)
	}
	if _, err := a.store.Refresh(ctx, iss.RefreshToken, meta); !errors.Is(err, session.ErrInvalidRefresh) {
		t.Fatalf("Refresh after RevokeAllTx: %v", err)
	}
	if _, err := a.tokens.Verify(ctx, iss.AccessToken); !errors.Is(err, session.ErrRevoked) {
		t.Fatalf("Verify after RevokeAllTx: %v", err)
	}
}
