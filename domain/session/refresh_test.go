package session_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/musterhq/muster/domain/session"
)

// TestRotateBatch rotates, in one statement, the tokens of live sessions
// mixed with every kind of token that must get nothing, and checks each
// answer belongs to its own token.
func TestRotateBatch(t *testing.T) {
	a, conn := signer(t)
	ctx := context.Background()

	type entry struct {
		name    string
		token   string
		session string
		meta    session.Meta
		ok      bool // rotated
	}
	var entries []entry
	for i := range 30 {
		iss, _, _ := start(t, a, conn)
		entries = append(entries, entry{name: fmt.Sprintf("live %d", i), token: iss.RefreshToken, session: iss.SessionID,
			meta: session.Meta{IP: fmt.Sprintf("198.51.100.%d", i), UserAgent: fmt.Sprintf("ua-%d", i)}, ok: true})
	}
	// A live session whose refresh keeps its address and agent (empty meta).
	iss, _, _ := start(t, a, conn)
	entries = append(entries, entry{name: "live, no meta", token: iss.RefreshToken, session: iss.SessionID, ok: true})

	spoiled := []struct{ name, spoil string }{
		{"expired token", `UPDATE auth_refresh_tokens SET expires_at = now() - interval '1 second' WHERE session_id = $1`},
		{"rotated token", `UPDATE auth_refresh_tokens SET rotated_at = now() WHERE session_id = $1`},
		{"expired session", `UPDATE auth_sessions SET expires_at = now() - interval '1 second' WHERE id = $1`},
		{"revoked session", `UPDATE auth_sessions SET revoked_at = now() WHERE id = $1`},
		{"banned account", `UPDATE accounts SET status = 'banned' WHERE id = (SELECT account_id FROM auth_sessions WHERE id = $1)`},
		{"deleted account", `UPDATE accounts SET status = 'deleted' WHERE id = (SELECT account_id FROM auth_sessions WHERE id = $1)`},
	}
	for _, sp := range spoiled {
		iss, _, _ := start(t, a, conn)
		if _, err := conn.Exec(sp.spoil, iss.SessionID); err != nil {
			t.Fatalf("%s: %v", sp.name, err)
		}
		entries = append(entries, entry{name: sp.name, token: iss.RefreshToken, session: iss.SessionID, meta: meta})
	}
	entries = append(entries, entry{name: "unknown token", token: "mrt_unknown", meta: meta})
	rand.Shuffle(len(entries), func(i, j int) { entries[i], entries[j] = entries[j], entries[i] })

	tokens, metas := make([]string, len(entries)), make([]session.Meta, len(entries))
	for i, e := range entries {
		tokens[i], metas[i] = e.token, e.meta
	}
	sessions, next, err := session.RotateBatch(ctx, a.store, tokens, metas)
	if err != nil {
		t.Fatalf("RotateBatch: %v", err)
	}
	for i, e := range entries {
		switch {
		case e.ok && (sessions[i] != e.session || next[i] == ""):
			t.Errorf("%s: rotated into session %q with next token %q, want session %s", e.name, sessions[i], next[i], e.session)
		case !e.ok && (sessions[i] != "" || next[i] != ""):
			t.Errorf("%s: rotated into session %q, want nothing", e.name, sessions[i])
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	for i, e := range entries {
		if !e.ok {
			continue
		}
		var ip, ua string
		if err := conn.QueryRow(`SELECT ip, user_agent FROM auth_sessions WHERE id = $1`, e.session).Scan(&ip, &ua); err != nil {
			t.Fatal(err)
		}
		want := e.meta
		if want.IP == "" {
			want = meta // kept from Start
		}
		if ip != want.IP || ua != want.UserAgent {
			t.Errorf("%s: session has ip %q, user agent %q; want %q, %q", e.name, ip, ua, want.IP, want.UserAgent)
		}
		// The successor works once, on its own session.
		got, err := a.store.Refresh(ctx, next[i], e.meta)
		if err != nil || got.SessionID != e.session {
			t.Errorf("%s: successor token: session %q, %v", e.name, got.SessionID, err)
		}
		// The batch's token was used: presenting it again revokes the session.
		if _, err := a.store.Refresh(ctx, e.token, e.meta); !errors.Is(err, session.ErrRefreshReused) {
			t.Errorf("%s: token presented again after the batch: %v, want ErrRefreshReused", e.name, err)
		}
	}
}

// TestConcurrentRefreshOfDistinctSessions refreshes many sessions at once,
// twice, so that refreshes share batches: each must get its own session's
// tokens, and each old token is then refused as reused.
func TestConcurrentRefreshOfDistinctSessions(t *testing.T) {
	a, conn := signer(t)
	ctx := context.Background()
	const n = 120
	type player struct {
		pub     string
		session string
		tokens  []string // refresh tokens, oldest first
	}
	players := make([]*player, n)
	for i := range players {
		iss, _, pub := start(t, a, conn)
		players[i] = &player{pub: pub, session: iss.SessionID, tokens: []string{iss.RefreshToken}}
	}
	before := session.RotatedInBatches(a.store)
	for round := range 2 {
		var wg sync.WaitGroup
		ready := make(chan struct{})
		errs := make([]error, n)
		for i, p := range players {
			wg.Go(func() {
				<-ready
				got, err := a.store.Refresh(ctx, p.tokens[len(p.tokens)-1], meta)
				if err == nil && got.SessionID != p.session {
					err = fmt.Errorf("session %s, want %s", got.SessionID, p.session)
				}
				if err == nil {
					var c session.Claims
					if c, err = a.tokens.Verify(ctx, got.AccessToken); err == nil && (c.PlayerID != p.pub || c.SessionID != p.session) {
						err = fmt.Errorf("access token for %s/%s, want %s/%s", c.PlayerID, c.SessionID, p.pub, p.session)
					}
				}
				errs[i] = err
				if err == nil {
					p.tokens = append(p.tokens, got.RefreshToken)
				}
			})
		}
		close(ready)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("round %d, player %d: %v", round, i, err)
			}
		}
	}
	if got := session.RotatedInBatches(a.store) - before; got == 0 {
		t.Fatalf("no refresh of %d concurrent ones shared a batch", 2*n)
	}

	// Every old token is now a reuse, which revokes its session.
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i, p := range players {
		wg.Go(func() { _, errs[i] = a.store.Refresh(ctx, p.tokens[i%2], meta) })
	}
	wg.Wait()
	for i, err := range errs {
		if !errors.Is(err, session.ErrRefreshReused) {
			t.Fatalf("player %d, old token: %v, want ErrRefreshReused", i, err)
		}
	}
	for i, p := range players {
		var reason string
		if err := conn.Get(&reason, `SELECT revoke_reason FROM auth_sessions WHERE id = $1 AND revoked_at IS NOT NULL`, p.session); err != nil {
			t.Fatalf("player %d: session not revoked after reuse: %v", i, err)
		}
		if _, err := a.store.Refresh(ctx, p.tokens[2], meta); !errors.Is(err, session.ErrInvalidRefresh) {
			t.Fatalf("player %d, newest token of the revoked session: %v, want ErrInvalidRefresh", i, err)
		}
	}
}

// TestConcurrentRefreshRaces has two requests race each token among many
// refreshes at once, so that they meet in different batches or on the
// one-by-one path: of each pair exactly one wins, and the other revokes
// the session as a reuse.
func TestConcurrentRefreshRaces(t *testing.T) {
	a, conn := signer(t)
	ctx := context.Background()
	const n = 60
	type race struct {
		session, token string
		won            []session.Issued
		lost           []error
	}
	races := make([]*race, n)
	for i := range races {
		iss, _, _ := start(t, a, conn)
		races[i] = &race{session: iss.SessionID, token: iss.RefreshToken}
	}
	var (
		wg sync.WaitGroup
		mu sync.Mutex
	)
	ready := make(chan struct{})
	for range 2 {
		for _, r := range races {
			wg.Go(func() {
				<-ready
				got, err := a.store.Refresh(ctx, r.token, meta)
				mu.Lock()
				defer mu.Unlock()
				if err == nil {
					r.won = append(r.won, got)
				} else {
					r.lost = append(r.lost, err)
				}
			})
		}
	}
	close(ready)
	wg.Wait()
	for i, r := range races {
		if len(r.won) != 1 || len(r.lost) != 1 {
			t.Fatalf("race %d: %d won, %d lost (%v), want 1 and 1", i, len(r.won), len(r.lost), r.lost)
		}
		if r.won[0].SessionID != r.session {
			t.Fatalf("race %d: winner got session %s, want %s", i, r.won[0].SessionID, r.session)
		}
		if !errors.Is(r.lost[0], session.ErrRefreshReused) {
			t.Fatalf("race %d: loser got %v, want ErrRefreshReused", i, r.lost[0])
		}
		var reason string
		if err := conn.Get(&reason, `SELECT revoke_reason FROM auth_sessions WHERE id = $1 AND revoked_at IS NOT NULL`, r.session); err != nil || reason != "refresh_reused" {
			t.Fatalf("race %d: session after the race: reason %q, %v", i, reason, err)
		}
		if _, err := a.store.Refresh(ctx, r.won[0].RefreshToken, meta); !errors.Is(err, session.ErrInvalidRefresh) {
			t.Fatalf("race %d: winner's refresh token: %v, want ErrInvalidRefresh", i, err)
		}
	}
}
