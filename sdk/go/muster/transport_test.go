package muster

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The transport's retries against a scripted httptest server: what the
// real server cannot be made to do on demand (503s, dropped connections).

// script answers the i-th request (0-based) with answers[i], the last one
// repeating, and records the requests.
type script struct {
	mu       sync.Mutex
	answers  []func(w http.ResponseWriter)
	requests []*http.Request
}

func (s *script) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	i := len(s.requests)
	s.requests = append(s.requests, r)
	a := s.answers[min(i, len(s.answers)-1)]
	s.mu.Unlock()
	a(w)
}

func (s *script) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.requests)
}

func status(code int, errCode, retryAfter string) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_, _ = w.Write([]byte(`{"error":{"code":"` + errCode + `","message":"scripted"}}`))
	}
}

func okJSON(body string) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(body))
	}
}

// hangUp closes the connection without an answer.
func hangUp(w http.ResponseWriter) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err == nil {
		conn.Close()
	}
}

// scripted returns a client of a scripted server whose waits are recorded
// instead of slept, with a session it never needs to refresh.
func scripted(t *testing.T, answers ...func(w http.ResponseWriter)) (*Client, *script, *[]time.Duration) {
	t.Helper()
	s := &script{answers: answers}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	c := NewClient(srv.URL, WithRetryPolicy(RetryPolicy{MaxAttempts: 4, BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second}))
	var mu sync.Mutex
	waits := &[]time.Duration{}
	c.t.sleep = func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		*waits = append(*waits, d)
		mu.Unlock()
		return ctx.Err()
	}
	c.SetTokens(Tokens{AccessToken: "opaque", RefreshToken: "r", ExpiresIn: 3600})
	return c, s, waits
}

func TestRetriesHonourRetryAfterOn429And503(t *testing.T) {
	c, s, waits := scripted(t, status(429, "rate_limited", "2"), status(503, "unavailable", "1"), okJSON(`{"level":3}`))
	p, err := c.GetProgression(context.Background())
	if err != nil || p.Level != 3 {
		t.Fatalf("GetProgression = %+v, %v", p, err)
	}
	if s.count() != 3 {
		t.Fatalf("%d requests, want 3", s.count())
	}
	if len(*waits) != 2 || (*waits)[0] != 2*time.Second || (*waits)[1] != time.Second {
		t.Fatalf("waits %v, want the Retry-Afters [2s 1s]", *waits)
	}
}

func TestRetryBackoffIsBoundedFullJitter(t *testing.T) {
	c, s, waits := scripted(t, status(502, "bad_gateway", ""))
	_, err := c.GetProgression(context.Background())
	var e *APIError
	if !errors.As(err, &e) || e.Status != 502 {
		t.Fatalf("err = %v, want the last 502", err)
	}
	if s.count() != 4 {
		t.Fatalf("%d requests, want MaxAttempts 4", s.count())
	}
	for i, w := range *waits {
		if ceiling := 100 * time.Millisecond << i; w < 0 || w >= ceiling {
			t.Errorf("wait %d = %v, want in [0, %v)", i, w, ceiling)
		}
	}
	// Full jitter: many draws of the first wait spread over its range.
	seen := map[bool]bool{}
	for range 200 {
		seen[c.t.backoff(1) < 50*time.Millisecond] = true
	}
	if !seen[true] || !seen[false] {
		t.Error("backoff(1) never fell in one half of [0, 100ms)")
	}
}

func TestNoRetryOn400OrUnsafePost(t *testing.T) {
	c, s, _ := scripted(t, status(400, "bad_request", ""), okJSON(`{}`))
	_, err := c.GetProgression(context.Background())
	if !IsCode(err, "bad_request") || s.count() != 1 {
		t.Fatalf("400: err %v after %d requests, want bad_request after 1", err, s.count())
	}
	// A POST without an Idempotency-Key is not repeated, even on 503.
	c, s, _ = scripted(t, status(503, "unavailable", "1"), okJSON(`{}`))
	err = c.SendPartyChat(context.Background(), PartyChat{Text: "hi"})
	if !IsCode(err, "unavailable") || s.count() != 1 {
		t.Fatalf("unsafe POST: err %v after %d requests, want unavailable after 1", err, s.count())
	}
	// Nor after a dropped connection, which may have done the work.
	c, s, _ = scripted(t, hangUp, okJSON(`{}`))
	if err := c.SendPartyChat(context.Background(), PartyChat{Text: "hi"}); err == nil || s.count() != 1 {
		t.Fatalf("unsafe POST, hang-up: err %v after %d requests, want an error after 1", err, s.count())
	}
}

// A 503 auth_busy was answered before the platform did anything, so even a
// registration, which is not safe to repeat otherwise, is sent again.
func TestTurnedAwayRegistrationIsSentAgain(t *testing.T) {
	c, s, waits := scripted(t, status(503, "auth_busy", "2"), status(503, "auth_busy", "1"),
		okJSON(`{"player":{"id":"p_1"},"tokens":{"access_token":"a","refresh_token":"r","expires_in":900}}`))
	l, err := c.Register(context.Background(), RegisterRequest{Email: "a@example.com", Password: "zq8!Lm2#xx", DisplayName: "Ace"})
	if err != nil || l.Player.ID != "p_1" {
		t.Fatalf("Register = %+v, %v", l, err)
	}
	if s.count() != 3 || len(*waits) != 2 || (*waits)[0] != 2*time.Second || (*waits)[1] != time.Second {
		t.Fatalf("%d requests after waits %v, want 3 after the Retry-Afters [2s 1s]", s.count(), *waits)
	}
	// Other 503s still leave it alone: the registration may have been made.
	c, s, _ = scripted(t, status(503, "unavailable", "1"), okJSON(`{}`))
	if _, err := c.Register(context.Background(), RegisterRequest{Email: "b@example.com", Password: "zq8!Lm2#xx", DisplayName: "Bo"}); !IsCode(err, "unavailable") || s.count() != 1 {
		t.Fatalf("Register after 503 unavailable: err %v after %d requests, want unavailable after 1", err, s.count())
	}
}

// The ticket of a busy answer goes back with the next password call, over
// the SDK's own retries and the app's next try, until an answer decides the
// call (a proxy's 502 does not); calls that hash no password never carry
// it.
func TestLoginQueueTicketKeepsThePlayersPlace(t *testing.T) {
	busy := func(ticket string) func(w http.ResponseWriter) {
		return func(w http.ResponseWriter) {
			w.Header().Set(queueTicketHeader, ticket)
			status(503, "auth_busy", "1")(w)
		}
	}
	c, s, _ := scripted(t, busy("t1"), busy("t2"), busy("t3"), busy("t4"), okJSON(`{}`),
		status(502, "bad_gateway", ""), status(401, "invalid_credentials", ""), okJSON(`{}`))
	login := LoginRequest{Email: "a@example.com", Password: "zq8!Lm2#xx"}
	if _, err := c.LoginEmail(context.Background(), login); !IsCode(err, "auth_busy") {
		t.Fatalf("LoginEmail after 4 busy answers = %v, want auth_busy", err)
	}
	if _, err := c.ListWallets(context.Background()); err != nil {
		t.Fatal(err)
	}
	// A proxy's 502 decides nothing: the ticket is kept.
	if _, err := c.LoginEmail(context.Background(), login); !IsCode(err, "bad_gateway") {
		t.Fatalf("LoginEmail = %v, want bad_gateway", err)
	}
	if _, err := c.LoginEmail(context.Background(), login); !IsCode(err, "invalid_credentials") {
		t.Fatalf("LoginEmail = %v, want invalid_credentials", err)
	}
	if _, err := c.LoginEmail(context.Background(), login); err != nil {
		t.Fatal(err)
	}
	var sent []string
	for _, r := range s.requests {
		sent = append(sent, r.Header.Get(queueTicketHeader))
	}
	if want := []string{"", "t1", "t2", "t3", "", "t4", "t4", ""}; !slices.Equal(sent, want) {
		t.Fatalf("tickets sent %q, want %q", sent, want)
	}
}

func TestIdempotencyKeyIsKeptAcrossRetries(t *testing.T) {
	c, s, _ := scripted(t, hangUp, status(504, "gateway_timeout", ""), okJSON(`{"id":"o1","replayed":true}`))
	o, err := c.BuyProduct(context.Background(), OrderRequest{ProductID: "offer"})
	if err != nil || o.ID != "o1" || !o.Replayed {
		t.Fatalf("BuyProduct = %+v, %v", o, err)
	}
	keys := map[string]bool{}
	for _, r := range s.requests {
		keys[r.Header.Get("Idempotency-Key")] = true
	}
	if len(s.requests) != 3 || len(keys) != 1 || keys[""] {
		t.Fatalf("%d requests with keys %v, want 3 with one key", len(s.requests), keys)
	}
	// The next call makes a new key; one given with the context is used.
	_, _ = c.BuyProduct(WithIdempotencyKey(context.Background(), "mine"), OrderRequest{ProductID: "offer"})
	if k := s.requests[len(s.requests)-1].Header.Get("Idempotency-Key"); k != "mine" {
		t.Fatalf("key %q, want the context's", k)
	}
}

func TestLongRetryAfterIsReturned(t *testing.T) {
	c, s, _ := scripted(t, status(429, "rate_limited", "60"), okJSON(`{}`))
	_, err := c.GetProgression(context.Background())
	var e *APIError
	if !errors.As(err, &e) || e.Code != "rate_limited" || e.RetryAfter != time.Minute || s.count() != 1 {
		t.Fatalf("err %#v after %d requests, want rate_limited with RetryAfter 1m after 1", err, s.count())
	}
}

func TestContextCancelsTheWait(t *testing.T) {
	s := &script{answers: []func(http.ResponseWriter){status(503, "unavailable", "5")}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	c := NewClient(srv.URL)
	c.SetTokens(Tokens{AccessToken: "opaque", ExpiresIn: 3600})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.GetProgression(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second {
		t.Fatalf("err %v after %v, want the deadline", err, time.Since(start))
	}
}

func TestNonJSONErrorGetsStatusCode(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		http.Error(w, "upstream said no", http.StatusForbidden)
	}))
	defer srv.Close()
	c := NewClient(srv.URL)
	c.SetTokens(Tokens{AccessToken: "opaque", ExpiresIn: 3600})
	_, err := c.GetMe(context.Background())
	var e *APIError
	if !errors.As(err, &e) || e.Status != 403 || e.Code != "forbidden" || calls.Load() != 1 {
		t.Fatalf("err %#v", err)
	}
}

func TestNoSession(t *testing.T) {
	c := NewClient("http://127.0.0.1:1")
	if _, err := c.GetMe(context.Background()); !errors.Is(err, ErrNoSession) {
		t.Fatalf("err %v, want ErrNoSession", err)
	}
}
