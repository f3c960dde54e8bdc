package muster

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// Numeric ids go into paths as their digits.
func TestNumericIDsInPaths(t *testing.T) {
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Method+" "+r.URL.EscapedPath())
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	ctx := context.Background()
	s := NewServerClient(srv.URL, "msv_1_x")
	_, _ = s.HeartbeatInstance(ctx, 13)
	_ = s.DeregisterInstance(ctx, 14)
	c := NewClient(srv.URL)
	c.SetTokens(Tokens{AccessToken: "t", RefreshToken: "r", ExpiresIn: 900})
	_, _ = c.AcceptGift(ctx, 15)
	_, _ = c.DeclineGift(ctx, 16)
	_, _ = c.AcceptTrade(ctx, 17)
	_, _ = c.CancelTrade(ctx, 18)
	want := []string{"POST /v1/server/instances/13/heartbeat", "DELETE /v1/server/instances/14",
		"POST /v1/me/gifts/15/accept", "POST /v1/me/gifts/16/decline", "POST /v1/me/trades/17/accept", "POST /v1/me/trades/18/cancel"}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != len(want) {
		t.Fatalf("requests %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("request %d: %s, want %s", i, got[i], want[i])
		}
	}
}
