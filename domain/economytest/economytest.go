// Package economytest sets up what economy tests share against a real,
// migrated PostgreSQL database: players, currencies and catalog items made
// through the domain packages that own them.
package economytest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/domain/account"
	"github.com/musterhq/muster/domain/catalog"
)

var seq atomic.Int64

// Player creates a player account and returns its id.
func Player(t testing.TB, conn *sqlx.DB) int64 {
	t.Helper()
	steamID := fmt.Sprintf("7656%013d", time.Now().UnixNano()%1e13+seq.Add(1))
	a, _, err := account.NewStore(conn).FindOrCreateSteam(context.Background(), steamID, steamID)
	if err != nil {
		t.Fatalf("create player: %v", err)
	}
	return a.ID
}

// Name returns a catalog id unique within the test run.
func Name(prefix string) string {
	return fmt.Sprintf("%s%d_%d", prefix, time.Now().UnixNano()%1e9, seq.Add(1))
}

// Currency defines a currency of kind ("soft" or "premium") and returns its code.
func Currency(t testing.TB, conn *sqlx.DB, kind string) string {
	t.Helper()
	c, err := catalog.NewStore(conn).SaveCurrency(context.Background(), catalog.Currency{Code: Name("c"), Name: "Test coins", Kind: kind}, catalog.Edit{Editor: "test"})
	if err != nil {
		t.Fatalf("create currency: %v", err)
	}
	return c.Code
}

// Item defines an item; edit adjusts the defaults (a common, stackable
// charm of up to 1,000) before it is saved.
func Item(t testing.TB, conn *sqlx.DB, edit func(*catalog.Item)) catalog.Item {
	t.Helper()
	it := catalog.Item{ID: Name("item."), Name: "Test item", Kind: "charm", Rarity: "common", MaxStack: 1000}
	if edit != nil {
		edit(&it)
	}
	saved, err := catalog.NewStore(conn).SaveItem(context.Background(), it, catalog.Edit{Editor: "test"})
	if err != nil {
		t.Fatalf("create item: %v", err)
	}
	return saved
}

// Latencies collects the durations of a benchmark's operations from many
// goroutines and reports throughput and percentiles as benchmark metrics.
type Latencies struct {
	mu    sync.Mutex
	all   []time.Duration
	start time.Time
}

// Start marks the beginning of the measured run.
func (l *Latencies) Start() { l.start = time.Now() }

// Record adds one operation's duration.
func (l *Latencies) Record(d time.Duration) {
	l.mu.Lock()
	l.all = append(l.all, d)
	l.mu.Unlock()
}

// Report sets ops/s (when Start was called), p10-ms, p50-ms and p99-ms on b.
func (l *Latencies) Report(b *testing.B) {
	elapsed := time.Since(l.start)
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.all) == 0 {
		return
	}
	slices.Sort(l.all)
	q := func(p float64) float64 {
		return float64(l.all[min(len(l.all)-1, int(p*float64(len(l.all))))].Microseconds()) / 1000
	}
	if !l.start.IsZero() {
		b.ReportMetric(float64(len(l.all))/elapsed.Seconds(), "ops/s")
	}
	b.ReportMetric(q(0.10), "p10-ms")
	b.ReportMetric(q(0.50), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
}

// Drive runs b.N operations (numbered from 1) from clients goroutines and reports their
// throughput and latency. With rate 0 each client runs the next operation
// when its last one ends (closed loop: the most the system does). With a
// rate, the clients together start rate operations per second on a fixed
// schedule and each latency counts from the operation's scheduled start,
// so a stall is not hidden by the operations it delayed (open loop).
//
// Before measuring, every client runs warmUp operations (numbered below
// zero) so that the pool's connections are open and statements prepared.
func Drive(b *testing.B, clients int, rate float64, op func(client int, n int64) error) {
	const warmUp = 5
	var next atomic.Int64
	var lat Latencies
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			for i := range warmUp {
				if err := op(c, -int64(c*warmUp+i+1)); err != nil {
					b.Error(err)
				}
			}
		})
	}
	wg.Wait()
	b.ResetTimer()
	lat.Start()
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			interval := time.Duration(0)
			if rate > 0 {
				interval = time.Duration(float64(time.Second) * float64(clients) / rate)
			}
			due := lat.start.Add(time.Duration(c) * interval / time.Duration(clients))
			for {
				n := next.Add(1)
				if n > int64(b.N) {
					return
				}
				start := time.Now()
				if interval > 0 {
					time.Sleep(time.Until(due))
					start = due
					due = due.Add(interval)
				}
				if err := op(c, n); err != nil {
					b.Error(err)
					return
				}
				lat.Record(time.Since(start))
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	lat.Report(b)
}
