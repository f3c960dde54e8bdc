package bots

import (
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/musterhq/muster/bench/loadgen"
)

// metrics gathers what the bots measured; every method is safe for
// concurrent use.
type metrics struct {
	mu  sync.Mutex
	ops map[string]*opStats
	// errors by operation and code; expected ones (a login of an unknown
	// account before registering it) are kept apart.
	errs map[errKey]int64

	delivery  map[string]*loadgen.Histogram // notification kind -> created_at to receipt
	matchWait loadgen.Histogram             // queue join to match.found
	gettingIn loadgen.Histogram             // arrival to logged in
	roundTrip loadgen.Histogram             // friend request sent to friend.request received

	calls         atomic.Int64 // every request made
	failed        atomic.Int64 // unexpected errors
	online        atomic.Int64 // players with a live socket
	arrived       atomic.Int64 // players started
	ready         atomic.Int64 // players logged in and connected
	queued        atomic.Int64 // tickets waiting
	inMatch       atomic.Int64 // players in a running match
	matches       atomic.Int64 // matches that started on a server
	finished      atomic.Int64 // matches whose results were accepted
	registered    atomic.Int64 // accounts the run created
	resumed       atomic.Int64 // sockets dropped and resumed
	notes         atomic.Int64 // notifications received
	duplicates    atomic.Int64 // notifications received twice (by seq)
	matchesLost   atomic.Int64 // match.lost notifications
	requeued      atomic.Int64 // party tickets cancelled because the party changed
	giftsSent     atomic.Int64
	giftsAccepted atomic.Int64
}

type errKey struct {
	Op, Code string
	Expected bool
}

type opStats struct {
	h      loadgen.Histogram
	errors int64
}

func newMetrics() *metrics {
	return &metrics{ops: map[string]*opStats{}, errs: map[errKey]int64{}, delivery: map[string]*loadgen.Histogram{}}
}

// done records one call of op that took d; err is nil, an expected error
// (the flow goes on), or an unexpected one.
func (m *metrics) done(op string, d time.Duration, code string, expected bool) {
	m.calls.Add(1)
	if code != "" && !expected {
		m.failed.Add(1)
	}
	m.mu.Lock()
	s := m.ops[op]
	if s == nil {
		s = &opStats{}
		m.ops[op] = s
	}
	s.h.Record(d)
	if code != "" {
		s.errors++
		m.errs[errKey{op, code, expected}]++
	}
	m.mu.Unlock()
}

// fail records an unexpected failure that is not a call (a match that
// never came, a check that did not hold).
func (m *metrics) fail(op, code string) {
	m.failed.Add(1)
	m.mu.Lock()
	m.errs[errKey{op, code, false}]++
	m.mu.Unlock()
}

func (m *metrics) delivered(kind string, d time.Duration) {
	m.notes.Add(1)
	m.mu.Lock()
	h := m.delivery[kind]
	if h == nil {
		h = &loadgen.Histogram{}
		m.delivery[kind] = h
	}
	h.Record(max(d, 0))
	m.mu.Unlock()
}

func (m *metrics) gotIn(d time.Duration) {
	m.mu.Lock()
	m.gettingIn.Record(d)
	m.mu.Unlock()
}

func (m *metrics) waited(d time.Duration) {
	m.mu.Lock()
	m.matchWait.Record(d)
	m.mu.Unlock()
}

func (m *metrics) roundTripped(d time.Duration) {
	m.mu.Lock()
	m.roundTrip.Record(d)
	m.mu.Unlock()
}

// snapshot is what the progress line shows.
type snapshot struct {
	calls, failed, online, arrived, ready, queued, inMatch, matches, finished int64
}

func (m *metrics) snap() snapshot {
	return snapshot{m.calls.Load(), m.failed.Load(), m.online.Load(), m.arrived.Load(), m.ready.Load(),
		m.queued.Load(), m.inMatch.Load(), m.matches.Load(), m.finished.Load()}
}

// OpReport is one operation's figures.
type OpReport struct {
	Op     string  `json:"op"`
	Calls  int64   `json:"calls"`
	Errors int64   `json:"errors"`
	PerSec float64 `json:"per_second"`
	P50    float64 `json:"p50_ms"`
	P95    float64 `json:"p95_ms"`
	P99    float64 `json:"p99_ms"`
	Max    float64 `json:"max_ms"`
}

// ErrorCount is how often op failed with code.
type ErrorCount struct {
	Op       string `json:"op"`
	Code     string `json:"code"`
	Expected bool   `json:"expected"`
	Count    int64  `json:"count"`
}

// Latency is a histogram's summary.
type Latency struct {
	Count int64   `json:"count"`
	P50   float64 `json:"p50_ms"`
	P95   float64 `json:"p95_ms"`
	P99   float64 `json:"p99_ms"`
	Max   float64 `json:"max_ms"`
}

func latencyOf(h *loadgen.Histogram) Latency {
	return Latency{Count: h.Count, P50: loadgen.MS(h.Quantile(0.5)), P95: loadgen.MS(h.Quantile(0.95)),
		P99: loadgen.MS(h.Quantile(0.99)), Max: loadgen.MS(h.Max)}
}

func (m *metrics) opReports(elapsed time.Duration) []OpReport {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]OpReport, 0, len(m.ops))
	for op, s := range m.ops {
		l := latencyOf(&s.h)
		out = append(out, OpReport{Op: op, Calls: s.h.Count, Errors: s.errors, PerSec: float64(s.h.Count) / max(elapsed.Seconds(), 1e-9),
			P50: l.P50, P95: l.P95, P99: l.P99, Max: l.Max})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Op < out[j].Op })
	return out
}

func (m *metrics) errorCounts() []ErrorCount {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]ErrorCount, 0, len(m.errs))
	for k, n := range m.errs {
		out = append(out, ErrorCount{Op: k.Op, Code: k.Code, Expected: k.Expected, Count: n})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Expected != out[j].Expected {
			return !out[i].Expected
		}
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Op+out[i].Code < out[j].Op+out[j].Code
	})
	return out
}

func (m *metrics) deliveries() map[string]Latency {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]Latency{}
	var all loadgen.Histogram
	for kind, h := range m.delivery {
		out[kind] = latencyOf(h)
		if !strings.HasPrefix(kind, endOp) && !strings.HasPrefix(kind, offlineKind) {
			all.Merge(h)
		}
	}
	if all.Count > 0 {
		out["all"] = latencyOf(&all)
	}
	return out
}
