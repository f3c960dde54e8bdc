package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/musterhq/muster/bench/loadgen"
)

// routes are the player routes the GET load reads in turn: one of each
// target that serves player REST in the drill (auth, inventory, store,
// realtime's notification list).
var routes = []string{"/v1/me", "/v1/catalog", "/v1/me/wallets", "/v1/store", "/v1/me/notifications?limit=1"}

// tally counts every HTTP request the drill sends through the proxy: the
// GET load and the friend requests that make notifications.
type tally struct {
	client *http.Client
	base   string

	mu         sync.Mutex
	byStatus   map[string]int64
	byUpstream map[string]int64
	byMethod   map[string]int64
	retried    int64
	failures   []string
	hist       loadgen.Histogram
	failed     atomic.Int64
	requests   atomic.Int64
}

func newTally(client *http.Client, base string) *tally {
	return &tally{client: client, base: strings.TrimSuffix(base, "/"),
		byStatus: map[string]int64{}, byUpstream: map[string]int64{}, byMethod: map[string]int64{}}
}

func (t *tally) fail(start time.Time, format string, args ...any) {
	t.failed.Add(1)
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.failures) < 20 {
		t.failures = append(t.failures, start.Format("15:04:05.000")+" "+fmt.Sprintf(format, args...))
	}
}

// load starts rate GET requests a second for dur (or until ctx ends) and
// waits for the last ones to finish. The rate is open loop: a request
// starts every 1/rate seconds whether or not earlier ones have finished
// (at most inflight at once; a request that finds no free slot counts as
// failed), so a stalled upstream shows as failures and latency, not as a
// slower rate. It answers how long it sent requests, and how many.
func (t *tally) load(ctx context.Context, token string, rate int, dur time.Duration, inflight int) (time.Duration, int64) {
	slots := make(chan struct{}, inflight)
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	start := time.Now()
	end := time.NewTimer(dur)
	defer end.Stop()
	var n int64
	for ; ; n++ {
		select {
		case <-ctx.Done():
		case <-end.C:
		case <-tick.C:
			route := routes[n%int64(len(routes))]
			select {
			case slots <- struct{}{}:
			default:
				t.requests.Add(1)
				t.fail(time.Now(), "GET %s: %d requests already in flight", route, inflight)
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-slots }()
				t.do(http.MethodGet, route, token, nil, http.StatusOK)
			}()
			continue
		}
		break
	}
	elapsed := time.Since(start)
	wg.Wait()
	return elapsed, n
}

// do sends one request through the proxy and counts it; it fails when the
// transport fails or the status is not want. It answers the body of a
// response with the wanted status, else nil.
func (t *tally) do(method, route, token string, body []byte, want int) []byte {
	t.requests.Add(1)
	start := time.Now()
	req, _ := http.NewRequest(method, t.base+route, bytes.NewReader(body))
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := t.client.Do(req)
	if err != nil {
		t.mu.Lock()
		t.byStatus["transport error"]++
		t.byMethod[method]++
		t.mu.Unlock()
		t.fail(start, "%s %s: %v", method, route, err)
		return nil
	}
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	elapsed := time.Since(start)
	upstream := resp.Header.Get("X-Upstream")
	t.mu.Lock()
	t.hist.Record(elapsed)
	t.byStatus[fmt.Sprint(resp.StatusCode)]++
	t.byMethod[method]++
	if upstream != "" {
		addrs := strings.Split(upstream, ", ")
		t.byUpstream[addrs[len(addrs)-1]]++
		if len(addrs) > 1 {
			t.retried++
		}
	}
	t.mu.Unlock()
	if resp.StatusCode != want {
		t.fail(start, "%s %s: status %d from %q: %s", method, route, resp.StatusCode, upstream, bytes.TrimSpace(raw))
		return nil
	}
	return raw
}
