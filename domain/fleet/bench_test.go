package fleet_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/musterhq/muster/domain/economytest"
	"github.com/musterhq/muster/domain/fleet"
	"github.com/musterhq/muster/domain/matchmaking"
	"github.com/musterhq/muster/domain/outbox"
)

// benchFleet registers enough instances in a fresh region for n matches.
func benchFleet(b *testing.B, e *env, n int) {
	b.Helper()
	e.region = economytest.Name("bench")
	for i := range n/fleet.MaxCapacity + 4 {
		_, err := e.registry.Register(context.Background(), e.server, fleet.Registration{
			Fleet: "main", Region: e.region, Address: fmt.Sprintf("%s.example:%d", e.region, 7000+i), Capacity: fleet.MaxCapacity})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRegistryAllocate is the registry allocator alone: one
// transaction per allocation that takes a slot (SELECT ... FOR UPDATE SKIP
// LOCKED, UPDATE) and commits, from 8 clients at once.
func BenchmarkRegistryAllocate(b *testing.B) {
	e := newEnv(b, options{config: fleet.Config{HeartbeatTimeout: time.Hour}})
	benchFleet(b, e, b.N+40)
	ctx := context.Background()
	economytest.Drive(b, 8, 0, func(_ int, n int64) error {
		tx, err := e.conn.BeginTxx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		if _, err := e.registry.Allocate(ctx, tx, fleet.Request{MatchID: fmt.Sprint(n), Region: e.region, Mode: e.mode, Players: 2}); err != nil {
			return err
		}
		return tx.Commit()
	})
}

// BenchmarkAllocateFormedMatch is formed matches all the way to their
// servers, as the sessions consumer does it: b.N matchmaker events wait in
// the outbox (written before the timer starts), and 8 relay workers
// deliver them to sessions.allocate, which for each takes a registry slot,
// opens the match for the server's credential, records the allocation and
// its two players and asks for their match.found notifications, all in the
// delivery's transaction. matches/s is what the relay sustains.
func BenchmarkAllocateFormedMatch(b *testing.B) {
	for _, batch := range []int{1, 50} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) { benchFormed(b, batch) })
	}
}

func benchFormed(b *testing.B, batch int) {
	e := newEnv(b, options{config: fleet.Config{HeartbeatTimeout: time.Hour}, scfg: fleet.SessionsConfig{Batch: batch}})
	benchFleet(b, e, b.N)
	ctx := context.Background()
	relay := outbox.NewRelay(e.conn, "", nil, nil, outbox.Config{})
	for _, c := range e.sessions.Consumers() {
		if err := relay.Register(ctx, c); err != nil {
			b.Fatal(err)
		}
	}
	ps := e.gamers(b, 2)
	prefix := economytest.Name("bm")
	for start := 0; start < b.N; start += 1000 {
		var batch []matchmaking.Formed
		for n := start; n < min(b.N, start+1000); n++ {
			batch = append(batch, e.formed(fmt.Sprintf("%s-%d", prefix, n), ps))
		}
		tx, err := e.conn.BeginTxx(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := outbox.EnqueueMany(ctx, tx, matchmaking.TopicFormed, batch); err != nil {
			b.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := relay.DeliverDue(ctx); err != nil {
				b.Error(err)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "matches/s")
	var allocated int
	if err := e.conn.Get(&allocated, `SELECT count(*) FROM fleet_allocations WHERE region = $1 AND state = 'allocated'`, e.region); err != nil {
		b.Fatal(err)
	}
	if allocated != b.N {
		var states []string
		_ = e.conn.Select(&states, `SELECT state || ' ' || count(*) || ' ' || max(last_error) FROM fleet_allocations WHERE region = $1 GROUP BY state`, e.region)
		var pend []string
		_ = e.conn.Select(&pend, `SELECT state || ' ' || count(*) || ' ' || max(last_error) FROM outbox_deliveries WHERE consumer = $1 GROUP BY state`, fleet.ConsumerAllocate)
		b.Fatalf("%d of %d matches allocated %q %q", allocated, b.N, states, pend)
	}
}
