//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/musterhq/muster/bench/loadgen"
)

// phase is one scenario run with a fixed number of connections.
type phase struct {
	name    string
	conns   int
	warmup  time.Duration // unmeasured requests first
	dur     time.Duration // then measure this long
	total   int64         // > 0: stop after this many measured requests
	client  *http.Client
	dialled *atomic.Int64
	procs   procSet
	flow    func(worker int, sh *shared) flow
}

// shared is what the connections of a phase share.
type shared struct {
	next atomic.Int64 // next player (ticket) index, cycling
}

// player returns the next player index below n.
func (s *shared) player(n int) int { return int((s.next.Add(1) - 1) % int64(n)) }

// flow is what one connection does.
type flow interface {
	// prepare runs before the clock starts, e.g. a first login.
	prepare(ctx context.Context, c *http.Client, st *stats)
	// step sends one request and returns its status (0 when no answer
	// was read), its latency and an error for anything but a usable 2xx.
	step(ctx context.Context, c *http.Client, measured bool, st *stats) (int, time.Duration, error)
}

// stats are one connection's counters.
type stats struct {
	hist      loadgen.Histogram
	non2xx    map[int]int64
	transport int64
	created   int64
	relogins  int64
	firstErr  string
}

func (s *stats) count(status int, err error) {
	switch {
	case status == 0:
		s.transport++
	case status < 200 || status > 299:
		if s.non2xx == nil {
			s.non2xx = map[int]int64{}
		}
		s.non2xx[status]++
	case status == http.StatusCreated:
		s.created++
	}
	if err != nil && s.firstErr == "" {
		s.firstErr = err.Error()
	}
}

// result is what a phase reports; latencies are in milliseconds.
type result struct {
	Scenario        string           `json:"scenario"`
	Connections     int              `json:"connections"`
	Dialled         int64            `json:"connections_dialled"`
	WarmupSeconds   float64          `json:"warmup_seconds"`
	Seconds         float64          `json:"seconds"`
	Requests        int64            `json:"requests"`
	Created         int64            `json:"created"`
	Non2xx          map[string]int64 `json:"non_2xx"`
	TransportErrors int64            `json:"transport_errors"`
	Relogins        int64            `json:"relogins"`
	FirstError      string           `json:"first_error,omitempty"`
	RPS             float64          `json:"requests_per_second"`
	P50             float64          `json:"p50_ms"`
	P90             float64          `json:"p90_ms"`
	P99             float64          `json:"p99_ms"`
	P999            float64          `json:"p99_9_ms"`
	Max             float64          `json:"max_ms"`
	Mean            float64          `json:"mean_ms"`
	CPU             cpuUse           `json:"cpu"`
}

func (r result) errors() int64 {
	n := r.TransportErrors
	for _, c := range r.Non2xx {
		n += c
	}
	return n
}

// runPhase runs p's flow on p.conns connections: prepare on all, then
// -warmup unmeasured, then -d (or p.total requests) measured.
func runPhase(ctx context.Context, p phase) result {
	sh := &shared{}
	flows := make([]flow, p.conns)
	sts := make([]*stats, p.conns)
	var wg sync.WaitGroup
	for i := range flows {
		flows[i], sts[i] = p.flow(i, sh), &stats{}
		wg.Go(func() { flows[i].prepare(ctx, p.client, sts[i]) })
	}
	wg.Wait()

	var budget *atomic.Int64
	if p.total > 0 {
		budget = new(atomic.Int64)
		budget.Store(p.total)
	}
	dialledBefore := p.dialled.Load()
	begin := time.Now()
	measureFrom := begin.Add(p.warmup)
	until := measureFrom.Add(p.dur)
	startCPU := make(chan cpuSample, 1)
	if p.warmup == 0 {
		startCPU <- sampleCPU(p.procs)
	} else {
		t := time.AfterFunc(p.warmup, func() { startCPU <- sampleCPU(p.procs) })
		defer t.Stop()
	}
	for i := range flows {
		wg.Go(func() { loop(ctx, p.client, flows[i], sts[i], measureFrom, until, budget) })
	}
	wg.Wait()
	end := time.Now()
	var cpu cpuUse
	select {
	case s := <-startCPU:
		cpu = sampleCPU(p.procs).since(s)
	default: // stopped during the warmup
	}

	r := result{
		Scenario: p.name, Connections: p.conns, Dialled: p.dialled.Load() - dialledBefore,
		WarmupSeconds: p.warmup.Seconds(), Non2xx: map[string]int64{}, CPU: cpu,
	}
	var all loadgen.Histogram
	for _, s := range sts {
		all.Merge(&s.hist)
		for code, n := range s.non2xx {
			r.Non2xx[strconv.Itoa(code)] += n
		}
		r.TransportErrors += s.transport
		r.Created += s.created
		r.Relogins += s.relogins
		if r.FirstError == "" {
			r.FirstError = s.firstErr
		}
	}
	elapsed := max(end.Sub(measureFrom), 0)
	r.Seconds = elapsed.Seconds()
	r.Requests = all.Count
	if elapsed > 0 {
		r.RPS = float64(all.Count) / elapsed.Seconds()
	}
	ms := loadgen.MS
	r.P50, r.P90, r.P99, r.P999 = ms(all.Quantile(0.50)), ms(all.Quantile(0.90)), ms(all.Quantile(0.99)), ms(all.Quantile(0.999))
	r.Max, r.Mean = ms(all.Max), ms(all.Mean())
	return r
}

// loop sends requests back to back until the phase ends, the budget is
// spent or ctx is cancelled; only requests started after measureFrom count.
func loop(ctx context.Context, c *http.Client, f flow, st *stats, measureFrom, until time.Time, budget *atomic.Int64) {
	for ctx.Err() == nil {
		now := time.Now()
		if !now.Before(until) {
			return
		}
		measured := !now.Before(measureFrom)
		if measured && budget != nil && budget.Add(-1) < 0 {
			return
		}
		status, latency, err := f.step(ctx, c, measured, st)
		if ctx.Err() != nil || !measured {
			continue
		}
		st.hist.Record(latency)
		st.count(status, err)
	}
}

// players are what the load tool knows of the fake's players.
type players struct {
	bodies [][]byte // POST /v1/auth/steam bodies
	ips    []string // X-Forwarded-For of each, or nil: send none
}

func (p *players) ip(i int) string {
	if p.ips == nil {
		return ""
	}
	return p.ips[i]
}

// steamFlow logs in with Steam, cycling over the players.
type steamFlow struct {
	url string
	pl  *players
	sh  *shared
}

func (f *steamFlow) prepare(context.Context, *http.Client, *stats) {}

func (f *steamFlow) step(ctx context.Context, c *http.Client, _ bool, _ *stats) (int, time.Duration, error) {
	i := f.sh.player(len(f.pl.bodies))
	start := time.Now()
	status, err := post(ctx, c, f.url, f.pl.ip(i), f.pl.bodies[i], nil)
	return status, time.Since(start), err
}

// refreshFlow logs in once, then rotates its refresh token for ever.
type refreshFlow struct {
	loginURL   string
	refreshURL string
	pl         *players
	sh         *shared
	token      string // current refresh token; empty: log in first
	ip         string // the player's X-Forwarded-For
}

func (f *refreshFlow) prepare(ctx context.Context, c *http.Client, st *stats) {
	if status, err := f.login(ctx, c); err != nil {
		st.count(status, fmt.Errorf("first login: %w", err))
	}
}

func (f *refreshFlow) login(ctx context.Context, c *http.Client) (int, error) {
	var out struct {
		Tokens struct {
			RefreshToken string `json:"refresh_token"`
		} `json:"tokens"`
	}
	i := f.sh.player(len(f.pl.bodies))
	f.ip = f.pl.ip(i)
	status, err := post(ctx, c, f.loginURL, f.ip, f.pl.bodies[i], &out)
	if err == nil && out.Tokens.RefreshToken == "" {
		status, err = 0, errors.New("steam login answer has no tokens.refresh_token")
	}
	f.token = out.Tokens.RefreshToken
	return status, err
}

func (f *refreshFlow) step(ctx context.Context, c *http.Client, measured bool, st *stats) (int, time.Duration, error) {
	if f.token == "" { // the chain broke: start a new session
		if measured {
			st.relogins++
		}
		start := time.Now()
		if status, err := f.login(ctx, c); err != nil {
			return status, time.Since(start), fmt.Errorf("login again: %w", err)
		}
	}
	body, _ := json.Marshal(struct {
		RefreshToken string `json:"refresh_token"`
	}{f.token})
	var out struct {
		RefreshToken string `json:"refresh_token"`
	}
	start := time.Now()
	status, err := post(ctx, c, f.refreshURL, f.ip, body, &out)
	latency := time.Since(start)
	if err == nil && out.RefreshToken == "" {
		status, err = 0, errors.New("refresh answer has no refresh_token")
	}
	f.token = out.RefreshToken // empty after a failure: log in again
	return status, latency, err
}

// post sends a JSON body, with X-Forwarded-For: forIP unless that is
// empty, and decodes a 2xx answer into out (nil: discard it). A transport
// error or an unreadable answer gives status 0.
func post(ctx context.Context, c *http.Client, url, forIP string, body []byte, out any) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	if forIP != "" {
		req.Header.Set("X-Forwarded-For", forIP)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, fmt.Errorf("%s: HTTP %d: %s", pathOf(url), resp.StatusCode, strings.TrimSpace(string(b)))
	}
	if out == nil {
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			return 0, err
		}
		return resp.StatusCode, nil
	}
	err = json.NewDecoder(resp.Body).Decode(out)
	_, _ = io.Copy(io.Discard, resp.Body)
	if err != nil {
		return 0, fmt.Errorf("%s: unreadable answer: %w", pathOf(url), err)
	}
	return resp.StatusCode, nil
}

func pathOf(u string) string {
	if i := strings.Index(u, "/v1/"); i >= 0 {
		return u[i:]
	}
	return u
}

func (r result) print(out io.Writer) {
	fmt.Fprintf(out, "scenario     %s\n", r.Scenario)
	fmt.Fprintf(out, "connections  %d (dialled %d)\n", r.Connections, r.Dialled)
	fmt.Fprintf(out, "duration     %.2fs after %.2fs warmup\n", r.Seconds, r.WarmupSeconds)
	fmt.Fprintf(out, "requests     %d", r.Requests)
	if r.Created > 0 {
		fmt.Fprintf(out, " (%d created an account)", r.Created)
	}
	if r.Relogins > 0 {
		fmt.Fprintf(out, " (%d new logins after a broken chain)", r.Relogins)
	}
	fmt.Fprintln(out)
	codes := make([]string, 0, len(r.Non2xx))
	for code, n := range r.Non2xx {
		codes = append(codes, fmt.Sprintf("%s×%d", code, n))
	}
	slices.Sort(codes)
	non2xx := "0"
	if len(codes) > 0 {
		non2xx = strings.Join(codes, " ")
	}
	fmt.Fprintf(out, "errors       non-2xx %s, transport %d\n", non2xx, r.TransportErrors)
	if r.FirstError != "" {
		fmt.Fprintf(out, "first error  %s\n", r.FirstError)
	}
	fmt.Fprintf(out, "throughput   %.0f req/s\n", r.RPS)
	fmt.Fprintf(out, "latency      p50 %.3fms  p90 %.3fms  p99 %.3fms  p99.9 %.3fms  max %.3fms  (mean %.3fms)\n",
		r.P50, r.P90, r.P99, r.P999, r.Max, r.Mean)
	r.CPU.print(out, r.Requests)
}
