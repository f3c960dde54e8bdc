// Command drill is the load side of the zero-downtime drill
// (deploy/drill/drill.sh, `make drill`): it registers one player through the
// proxy in front of two muster instances, then sends GET requests of that
// player, with its access token, at a fixed rate for a bounded time while
// the script restarts the instances one after the other, and reports every
// request that failed.
//
// It only loads this machine: -url must be a loopback address, and the
// client refuses to dial anything else. The rate is open loop: a request
// starts every 1/-rate seconds whether or not earlier ones have finished
// (at most -inflight at once; a request that finds no free slot counts as
// failed), so a stalled upstream shows as failures and latency, not as a
// slower rate.
//
// Usage:
//
//	go run ./deploy/drill -url http://127.0.0.1:18180 [-rate 100] [-d 20s] [-json]
//
// A request fails when it gets a transport error or a status other than
// 200. The exit status is 2 for bad flags or a failed registration and 1
// when any request failed.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/musterhq/muster/bench/loadgen"
)

const (
	maxDuration    = 2 * time.Minute
	maxRate        = 1000
	requestTimeout = 10 * time.Second
)

// routes are the player routes loaded in turn: one of each target the
// drill runs (auth, inventory, store).
var routes = []string{"/v1/me", "/v1/catalog", "/v1/me/wallets", "/v1/store"}

func main() {
	base := flag.String("url", "", "base URL of the proxy; its host must be a loopback address")
	rate := flag.Int("rate", 100, "requests started per second (1 to 1000)")
	dur := flag.Duration("d", 20*time.Second, "how long to send requests (at most 2m)")
	inflight := flag.Int("inflight", 256, "most requests in flight at once")
	asJSON := flag.Bool("json", false, "print the result as JSON")
	flag.Parse()

	if err := check(*base, *rate, *dur, *inflight); err != nil {
		fmt.Fprintln(os.Stderr, "drill:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	client := loadgen.NewClient(64, requestTimeout, nil)
	token, err := register(ctx, client, *base)
	if err != nil {
		fmt.Fprintln(os.Stderr, "drill: register a player:", err)
		os.Exit(2)
	}
	r := run(ctx, client, *base, token, *rate, *dur, *inflight)
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(r)
	} else {
		r.print(os.Stdout)
	}
	if r.Failed > 0 {
		os.Exit(1)
	}
}

// check validates the flags; the URL must be plain http on loopback.
func check(base string, rate int, dur time.Duration, inflight int) error {
	u, err := url.Parse(base)
	switch {
	case base == "":
		return errors.New("-url is required, e.g. -url http://127.0.0.1:18180")
	case err != nil:
		return fmt.Errorf("-url: %w", err)
	case u.Scheme != "http" || !loadgen.LoopbackHost(u.Hostname()):
		return fmt.Errorf("-url %s: want http:// on a loopback address (127.0.0.0/8, ::1, localhost)", base)
	case u.Path != "" && u.Path != "/":
		return fmt.Errorf("-url %s: want the proxy's base URL, without a path", base)
	case rate < 1 || rate > maxRate:
		return fmt.Errorf("-rate %d: want 1 to %d", rate, maxRate)
	case dur <= 0 || dur > maxDuration:
		return fmt.Errorf("-d %s: want more than 0 and at most %s", dur, maxDuration)
	case inflight < 1 || inflight > 4096:
		return fmt.Errorf("-inflight %d: want 1 to 4096", inflight)
	}
	return nil
}

// register creates a player with a random email and returns its access
// token. A POST is not retried by the proxy, so this runs before any
// instance is restarted.
func register(ctx context.Context, client *http.Client, base string) (string, error) {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	id := hex.EncodeToString(b)
	pw := make([]byte, 16)
	_, _ = rand.Read(pw)
	body, _ := json.Marshal(map[string]string{
		"email":        "drill-" + id + "@example.com",
		"password":     hex.EncodeToString(pw),
		"display_name": "drill" + id[:12],
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(base, "/")+"/v1/auth/register", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusCreated {
		return "", fmt.Errorf("status %d: %s", resp.StatusCode, bytes.TrimSpace(raw))
	}
	var login struct {
		Tokens struct {
			AccessToken string `json:"access_token"`
		} `json:"tokens"`
	}
	if err := json.Unmarshal(raw, &login); err != nil || login.Tokens.AccessToken == "" {
		return "", fmt.Errorf("no access token in %s", bytes.TrimSpace(raw))
	}
	return login.Tokens.AccessToken, nil
}

// result is what the drill prints.
type result struct {
	Rate       int              `json:"rate_per_second"`
	Duration   float64          `json:"duration_seconds"`
	Requests   int64            `json:"requests"`
	Failed     int64            `json:"failed"`
	ByStatus   map[string]int64 `json:"by_status"`
	ByUpstream map[string]int64 `json:"by_upstream"`
	// Retried counts requests the proxy sent to a second instance after the
	// first refused or dropped them (X-Upstream names two addresses).
	Retried  int64    `json:"retried_by_proxy"`
	P50ms    float64  `json:"p50_ms"`
	P99ms    float64  `json:"p99_ms"`
	MaxMs    float64  `json:"max_ms"`
	Failures []string `json:"first_failures,omitempty"`
}

type tally struct {
	mu         sync.Mutex
	byStatus   map[string]int64
	byUpstream map[string]int64
	retried    int64
	failures   []string
	hist       loadgen.Histogram
	failed     atomic.Int64
	requests   atomic.Int64
}

func (t *tally) fail(start time.Time, format string, args ...any) {
	t.failed.Add(1)
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.failures) < 20 {
		t.failures = append(t.failures, start.Format("15:04:05.000")+" "+fmt.Sprintf(format, args...))
	}
}

// run starts rate requests a second for dur (or until ctx ends) and waits
// for the last ones to finish.
func run(ctx context.Context, client *http.Client, base, token string, rate int, dur time.Duration, inflight int) result {
	t := &tally{byStatus: map[string]int64{}, byUpstream: map[string]int64{}}
	slots := make(chan struct{}, inflight)
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	start := time.Now()
	end := time.NewTimer(dur)
	defer end.Stop()
	base = strings.TrimSuffix(base, "/")
	for n := 0; ; n++ {
		select {
		case <-ctx.Done():
		case <-end.C:
		case <-tick.C:
			route := routes[n%len(routes)]
			t.requests.Add(1)
			select {
			case slots <- struct{}{}:
			default:
				t.fail(time.Now(), "GET %s: %d requests already in flight", route, inflight)
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-slots }()
				t.get(client, base+route, route, token)
			}()
			continue
		}
		break
	}
	elapsed := time.Since(start)
	wg.Wait()
	return result{
		Rate: rate, Duration: elapsed.Seconds(), Requests: t.requests.Load(), Failed: t.failed.Load(),
		ByStatus: t.byStatus, ByUpstream: t.byUpstream, Retried: t.retried,
		P50ms: loadgen.MS(t.hist.Quantile(0.5)), P99ms: loadgen.MS(t.hist.Quantile(0.99)), MaxMs: loadgen.MS(t.hist.Max),
		Failures: t.failures,
	}
}

func (t *tally) get(client *http.Client, target, route, token string) {
	start := time.Now()
	req, _ := http.NewRequest(http.MethodGet, target, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		t.mu.Lock()
		t.byStatus["transport error"]++
		t.mu.Unlock()
		t.fail(start, "GET %s: %v", route, err)
		return
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	elapsed := time.Since(start)
	upstream := resp.Header.Get("X-Upstream")
	t.mu.Lock()
	t.hist.Record(elapsed)
	t.byStatus[fmt.Sprint(resp.StatusCode)]++
	if upstream != "" {
		addrs := strings.Split(upstream, ", ")
		t.byUpstream[addrs[len(addrs)-1]]++
		if len(addrs) > 1 {
			t.retried++
		}
	}
	t.mu.Unlock()
	if resp.StatusCode != http.StatusOK {
		t.fail(start, "GET %s: status %d from %q", route, resp.StatusCode, upstream)
	}
}

func (r result) print(out io.Writer) {
	fmt.Fprintf(out, "rate         %d/s asked, %.0f/s sent, for %.1fs\n", r.Rate, float64(r.Requests)/r.Duration, r.Duration)
	fmt.Fprintf(out, "requests     %d\n", r.Requests)
	fmt.Fprintf(out, "failed       %d\n", r.Failed)
	fmt.Fprintf(out, "by status    %s\n", counts(r.ByStatus))
	fmt.Fprintf(out, "answered by  %s\n", counts(r.ByUpstream))
	fmt.Fprintf(out, "retried      %d (the proxy's next upstream after a refused or cut connection)\n", r.Retried)
	fmt.Fprintf(out, "latency      p50 %.2fms, p99 %.2fms, max %.2fms\n", r.P50ms, r.P99ms, r.MaxMs)
	for _, f := range r.Failures {
		fmt.Fprintf(out, "failure      %s\n", f)
	}
}

func counts(m map[string]int64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}
