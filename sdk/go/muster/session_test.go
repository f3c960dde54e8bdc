package muster

import (
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/musterhq/muster/domain/session"
)

// tokenLog records what OnTokens was given.
type tokenLog struct {
	mu   sync.Mutex
	seen []Tokens
}

func (l *tokenLog) add(t Tokens) {
	l.mu.Lock()
	l.seen = append(l.seen, t)
	l.mu.Unlock()
}

func (l *tokenLog) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.seen)
}

// waitExpired sleeps until the client's access token has expired, and
// then for extra.
func waitExpired(t *testing.T, c *Client, extra time.Duration) {
	t.Helper()
	exp, ok := jwtExpiry(c.Tokens().AccessToken)
	if !ok {
		t.Fatal("the access token has no exp")
	}
	time.Sleep(time.Until(exp) + time.Second + extra)
}

func TestSessionRefreshesOnExpiryAndRotates(t *testing.T) {
	srv := startDev(t, "--access-ttl=2s")
	ctx := testCtx(t)
	var log tokenLog
	c, login := srv.newPlayer(t, WithOnTokens(log.add))
	if log.count() != 1 || log.seen[0] != login.Tokens || c.Tokens() != login.Tokens {
		t.Fatalf("after Register: OnTokens %d times, held %+v", log.count(), c.Tokens())
	}
	me, err := c.GetMe(ctx)
	if err != nil || me.ID != login.Player.ID || len(me.Identities) != 1 {
		t.Fatalf("GetMe = %+v, %v", me, err)
	}

	// Past its expiry the access token is refreshed before the call, and
	// the refresh token rotates.
	waitExpired(t, c, 0)
	before := c.Tokens()
	if _, err := c.GetMe(ctx); err != nil {
		t.Fatalf("GetMe after expiry: %v", err)
	}
	after := c.Tokens()
	if after.AccessToken == before.AccessToken || after.RefreshToken == before.RefreshToken || log.count() < 2 {
		t.Fatalf("no rotation: before %+v after %+v, OnTokens %d times", before, after, log.count())
	}

	// A client whose clock is behind sends the expired token; the server's
	// 401 token_expired (past the server's leeway for clock skew) makes it
	// refresh once and send again.
	waitExpired(t, c, session.Leeway)
	// On a loaded machine a refresh's answer can arrive inside the next
	// token's refresh window and bring one more: counts are relative.
	n := log.count()
	c.now = func() time.Time { return time.Now().Add(-time.Hour) }
	if _, err := c.GetProgression(ctx); err != nil {
		t.Fatalf("GetProgression with a slow clock: %v", err)
	}
	if log.count() != n+1 {
		t.Fatalf("OnTokens %d times, want %d (one refresh after the 401)", log.count(), n+1)
	}
	c.now = time.Now

	// Concurrent calls share one refresh: a second refresh would spend the
	// rotated token again, and the server would revoke the session.
	waitExpired(t, c, 0)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Go(func() {
			_, err := c.GetMe(ctx)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent GetMe: %v", err)
		}
	}
	// (A second refresh spending the same token would have revoked the
	// session and failed the calls above.)
	if log.count() < n+2 {
		t.Fatalf("OnTokens %d times after 16 concurrent calls, want a refresh (%d)", log.count(), n+2)
	}

	// A saved session restores on a new client.
	restored := NewClient(srv.url)
	restored.SetTokens(c.Tokens())
	if me, err := restored.GetMe(ctx); err != nil || me.ID != login.Player.ID {
		t.Fatalf("restored GetMe = %+v, %v", me, err)
	}

	// Presenting a spent refresh token is reuse: the session is revoked,
	// and the client that held it forgets it.
	spent := before.RefreshToken
	thief := NewClient(srv.url)
	_, err = thief.RefreshTokens(ctx, spent)
	var e *APIError
	if !errors.As(err, &e) || e.Status != http.StatusUnauthorized || e.Code != "refresh_token_reused" {
		t.Fatalf("reusing a spent refresh token: %v", err)
	}
	if _, err := c.RefreshTokens(ctx, ""); !IsCode(err, "invalid_refresh_token", "refresh_token_reused") {
		t.Fatalf("refresh of a revoked session: %v", err)
	}
	if _, err := c.GetMe(ctx); !errors.Is(err, ErrNoSession) {
		t.Fatalf("GetMe after the session was revoked: %v, want ErrNoSession", err)
	}
	if last := log.seen[log.count()-1]; last != (Tokens{}) {
		t.Fatalf("OnTokens last given %+v, want the zero Tokens", last)
	}
}

func TestLoginLogoutAndErrors(t *testing.T) {
	srv := startDev(t)
	ctx := testCtx(t)
	_, login := srv.newPlayer(t)
	email := login.Player.DisplayName + "@example.com"

	c := NewClient(srv.url)
	if _, err := c.LoginEmail(ctx, LoginRequest{Email: email, Password: "correct horse battery staple"}); err != nil {
		t.Fatalf("LoginEmail: %v", err)
	}
	sessions, err := c.ListSessions(ctx)
	if err != nil || len(sessions.Sessions) != 2 {
		t.Fatalf("ListSessions = %+v, %v; want the register's and the login's", sessions, err)
	}
	if err := c.Logout(ctx); err != nil {
		t.Fatalf("Logout: %v", err)
	}
	if _, err := c.GetMe(ctx); !errors.Is(err, ErrNoSession) {
		t.Fatalf("GetMe after Logout: %v", err)
	}

	// Errors carry the status and the stable code.
	_, err = NewClient(srv.url).Register(ctx, RegisterRequest{Email: "x" + email, Password: "password", DisplayName: "x" + login.Player.DisplayName})
	var e *APIError
	if !errors.As(err, &e) || e.Status != http.StatusBadRequest || e.Code != "weak_password" || e.Message == "" {
		t.Fatalf("weak password: %#v", err)
	}
	_, err = NewClient(srv.url).Register(ctx, RegisterRequest{Email: email, Password: "another fine password", DisplayName: "y" + login.Player.DisplayName})
	if !IsCode(err, "email_taken") {
		t.Fatalf("taken email: %v", err)
	}
	// Logins per account are limited (10 a minute by default): the 429
	// carries Retry-After, and the failed attempts are not repeated.
	var limited *APIError
	for i := 0; i < 15 && limited == nil; i++ {
		_, err := NewClient(srv.url).LoginEmail(ctx, LoginRequest{Email: email, Password: "wrong password!"})
		if errors.As(err, &e) && e.Code == "rate_limited" {
			limited = e
		} else if !IsCode(err, "invalid_credentials") {
			t.Fatalf("wrong password, attempt %d: %v", i+1, err)
		}
	}
	if limited == nil || limited.Status != http.StatusTooManyRequests || limited.RetryAfter < time.Second {
		t.Fatalf("no 429 with Retry-After after 15 bad logins: %+v", limited)
	}
}
