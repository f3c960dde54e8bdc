// Command httpload is a small, bounded HTTP load generator for benchmarking
// a server on this machine. It refuses any URL whose host is not a loopback
// address (127.0.0.0/8, ::1 or localhost), and checks the dialled address
// too, so it cannot be pointed at another machine.
//
// It keeps exactly -c keep-alive connections, one goroutine per connection,
// each sending GET -url back to back. Requests started during -warmup are
// not counted. It then measures for -d (at most 2m), or until -n requests
// have been counted, and prints requests, errors (non-2xx responses and
// transport errors apart), requests per second and the latency percentiles
// p50, p90, p99, p99.9 and max. Latencies go into a fixed log-linear
// histogram per worker, exact below 256ns and within 0.8% above.
//
// Usage:
//
//	go run ./bench/httpload -url http://127.0.0.1:9090/healthz [-c 64] [-d 10s] [-n 0] [-warmup 1s] [-json]
//
// Each request times out after 5s. The exit status is 2 for bad flags and 1
// when any request failed, so scripts notice a broken run.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/musterhq/muster/bench/loadgen"
)

const (
	maxDuration    = 2 * time.Minute
	maxWarmup      = 30 * time.Second
	maxConns       = 1024
	requestTimeout = 5 * time.Second
)

func main() {
	target := flag.String("url", "", "URL to GET; its host must be a loopback address")
	conns := flag.Int("c", 64, "keep-alive connections, one worker each (1 to 1024)")
	dur := flag.Duration("d", 10*time.Second, "how long to measure (at most 2m)")
	maxReq := flag.Int64("n", 0, "stop after this many measured requests (0: no limit)")
	warmup := flag.Duration("warmup", time.Second, "how long to send unmeasured requests first (at most 30s)")
	asJSON := flag.Bool("json", false, "print the result as JSON")
	flag.Parse()

	if err := check(*target, *conns, *dur, *maxReq, *warmup); err != nil {
		fmt.Fprintln(os.Stderr, "httpload:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	r := run(ctx, *target, *conns, *dur, *maxReq, *warmup)
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(r)
	} else {
		r.print(os.Stdout)
	}
	if r.Non2xx > 0 || r.TransportErrors > 0 {
		os.Exit(1)
	}
}

// check validates the flags; the URL must be plain http(s) on loopback.
func check(target string, conns int, dur time.Duration, maxReq int64, warmup time.Duration) error {
	if target == "" {
		return errors.New("-url is required, e.g. -url http://127.0.0.1:9090/healthz")
	}
	u, err := url.Parse(target)
	if err != nil {
		return fmt.Errorf("-url %q: %v", target, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("-url %q: scheme must be http or https", target)
	}
	if !loadgen.LoopbackHost(u.Hostname()) {
		return fmt.Errorf("refusing -url %q: host %q is not a loopback address (127.0.0.0/8, ::1 or localhost); httpload only loads this machine", target, u.Hostname())
	}
	switch {
	case conns < 1 || conns > maxConns:
		return fmt.Errorf("-c %d: want 1 to %d connections", conns, maxConns)
	case dur <= 0 || dur > maxDuration:
		return fmt.Errorf("-d %s: want more than 0 and at most %s", dur, maxDuration)
	case warmup < 0 || warmup > maxWarmup:
		return fmt.Errorf("-warmup %s: want 0 to %s", warmup, maxWarmup)
	case maxReq < 0:
		return fmt.Errorf("-n %d: want 0 (no limit) or more", maxReq)
	}
	return nil
}

// worker is one connection's loop and its private counters.
type worker struct {
	hist      loadgen.Histogram
	non2xx    int64
	transport int64
	firstErr  error
}

// result is what a run reports; latencies are in milliseconds.
type result struct {
	URL             string  `json:"url"`
	Connections     int     `json:"connections"`
	Dialled         int64   `json:"connections_dialled"`
	WarmupSeconds   float64 `json:"warmup_seconds"`
	Seconds         float64 `json:"seconds"`
	Requests        int64   `json:"requests"`
	Non2xx          int64   `json:"non_2xx"`
	TransportErrors int64   `json:"transport_errors"`
	FirstError      string  `json:"first_error,omitempty"`
	RPS             float64 `json:"requests_per_second"`
	P50             float64 `json:"p50_ms"`
	P90             float64 `json:"p90_ms"`
	P99             float64 `json:"p99_ms"`
	P999            float64 `json:"p99_9_ms"`
	Max             float64 `json:"max_ms"`
	Mean            float64 `json:"mean_ms"`
}

func run(ctx context.Context, target string, conns int, dur time.Duration, maxReq int64, warmup time.Duration) result {
	var dialled atomic.Int64
	// Dials only loopback addresses, whatever localhost resolves to.
	client := loadgen.NewClient(conns, requestTimeout, &dialled)
	defer client.CloseIdleConnections()

	var budget *atomic.Int64
	if maxReq > 0 {
		budget = new(atomic.Int64)
		budget.Store(maxReq)
	}
	begin := time.Now()
	measureFrom := begin.Add(warmup)
	until := measureFrom.Add(dur)
	workers := make([]*worker, conns)
	var wg sync.WaitGroup
	for i := range workers {
		w := &worker{}
		workers[i] = w
		wg.Go(func() { w.loop(ctx, client, target, measureFrom, until, budget) })
	}
	wg.Wait()
	end := time.Now()

	r := result{URL: target, Connections: conns, Dialled: dialled.Load(), WarmupSeconds: warmup.Seconds()}
	var all loadgen.Histogram
	for _, w := range workers {
		all.Merge(&w.hist)
		r.Non2xx += w.non2xx
		r.TransportErrors += w.transport
		if r.FirstError == "" && w.firstErr != nil {
			r.FirstError = w.firstErr.Error()
		}
	}
	elapsed := max(end.Sub(measureFrom), 0)
	r.Seconds = elapsed.Seconds()
	r.Requests = all.Count
	if elapsed > 0 {
		r.RPS = float64(all.Count) / elapsed.Seconds()
	}
	r.P50, r.P90, r.P99, r.P999 = ms(all.Quantile(0.50)), ms(all.Quantile(0.90)), ms(all.Quantile(0.99)), ms(all.Quantile(0.999))
	r.Max = ms(all.Max)
	r.Mean = ms(all.Mean())
	return r
}

// loop sends requests back to back on the worker's connection until the
// measurement ends, the request budget is spent or ctx is cancelled.
func (w *worker) loop(ctx context.Context, client *http.Client, target string, measureFrom, until time.Time, budget *atomic.Int64) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		w.transport, w.firstErr = 1, err
		return
	}
	for ctx.Err() == nil {
		start := time.Now()
		if !start.Before(until) {
			return
		}
		measured := !start.Before(measureFrom)
		if measured && budget != nil && budget.Add(-1) < 0 {
			return
		}
		status, err := get(client, req)
		elapsed := time.Since(start)
		if ctx.Err() != nil || !measured {
			continue
		}
		w.hist.Record(elapsed)
		switch {
		case err != nil:
			w.transport++
			if w.firstErr == nil {
				w.firstErr = err
			}
		case status < 200 || status > 299:
			w.non2xx++
			if w.firstErr == nil {
				w.firstErr = fmt.Errorf("status %d", status)
			}
		}
	}
}

// get sends req and reads the whole body so the connection is reused.
func get(client *http.Client, req *http.Request) (int, error) {
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, err
}

func (r result) print(out io.Writer) {
	fmt.Fprintf(out, "url          %s\n", r.URL)
	fmt.Fprintf(out, "connections  %d (dialled %d)\n", r.Connections, r.Dialled)
	fmt.Fprintf(out, "duration     %.2fs after %.2fs warmup\n", r.Seconds, r.WarmupSeconds)
	fmt.Fprintf(out, "requests     %d\n", r.Requests)
	fmt.Fprintf(out, "errors       non-2xx %d, transport %d\n", r.Non2xx, r.TransportErrors)
	if r.FirstError != "" {
		fmt.Fprintf(out, "first error  %s\n", r.FirstError)
	}
	fmt.Fprintf(out, "throughput   %.0f req/s\n", r.RPS)
	fmt.Fprintf(out, "latency      p50 %.3fms  p90 %.3fms  p99 %.3fms  p99.9 %.3fms  max %.3fms  (mean %.3fms)\n",
		r.P50, r.P90, r.P99, r.P999, r.Max, r.Mean)
}

var ms = loadgen.MS
