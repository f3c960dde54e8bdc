package api_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/musterhq/muster/domain/session"
)

// A registration that finds every hashing slot taken is answered 503
// auth_busy with Retry-After and a queue ticket, and a try that brings the
// ticket back and is turned away again gets a ticket that keeps the first
// time: the player keeps their place in the login queue.
func TestBusyRegistrationKeepsItsPlaceInTheQueue(t *testing.T) {
	cl := newCluster(t)
	n := cl.node(t, defaultConfig(), session.Config{})
	// A hash waits at most 100 µs for a slot, and many goroutines keep
	// the slots taken, so a password call is almost always turned away.
	n.hasher.SetMaxWait(100 * time.Microsecond)
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				_, _ = n.hasher.Hash(ctx, goodPassword)
			}
		}()
	}
	t.Cleanup(func() { stop(); wg.Wait() })

	// busy registers new players until one is turned away (a few may get
	// a slot between two hashes) and returns that answer's ticket.
	busy := func(ticket string) string {
		t.Helper()
		for range 200 {
			name := unique("q")
			r := n.do(t, call{method: http.MethodPost, path: "/v1/auth/register", header: map[string]string{"Muster-Queue-Ticket": ticket},
				body: `{"email":"` + name + `@example.com","password":"` + goodPassword + `","display_name":"` + name + `"}`})
			if r.status == http.StatusCreated {
				continue
			}
			expect(t, r, http.StatusServiceUnavailable, "auth_busy")
			if r.header.Get("Retry-After") == "" || r.header.Get("Muster-Queue-Ticket") == "" {
				t.Fatalf("busy answer without Retry-After or ticket: %v", r.header)
			}
			return r.header.Get("Muster-Queue-Ticket")
		}
		t.Fatal("200 registrations and none was turned away")
		return ""
	}
	since := func(ticket string) string { s, _, _ := strings.Cut(ticket, "."); return s }

	first := busy("")
	time.Sleep(5 * time.Millisecond) // a fresh ticket would now say a later time
	again := busy(first)
	if again == first || since(again) != since(first) {
		t.Fatalf("the try with ticket %q got %q: want a new ticket with the same first time", first, again)
	}
	if fresh := busy(""); since(fresh) == since(first) {
		t.Fatalf("a try without a ticket got %q, the first time of %q", fresh, first)
	}
}
