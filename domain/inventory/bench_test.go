package inventory_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/domain/catalog"
	"github.com/musterhq/muster/domain/economytest"
	"github.com/musterhq/muster/domain/inventory"
	"github.com/musterhq/muster/domain/ledger"
	"github.com/musterhq/muster/test/testenv"
)

// benchClients is the number of concurrent clients of the throughput
// benchmarks.
const benchClients = 64

// benchPool is the connection pool of the throughput benchmarks: muster's
// default MUSTER_DB_MAX_OPEN.
const benchPool = 20

// BenchmarkFullInventoryFetch loads every item of a player who owns 10,000.
func BenchmarkFullInventoryFetch(b *testing.B) {
	conn := testenv.DB(b)
	ctx := context.Background()
	p := economytest.Player(b, conn)
	const owned = 10_000
	var items []inventory.Line
	for i := range owned {
		id := fmt.Sprintf("bench.fetch.%05d", i)
		_, err := catalog.NewStore(conn).SaveItem(ctx, catalog.Item{ID: id, Name: id, Kind: "charm", Rarity: "common", MaxStack: 100}, catalog.Edit{Editor: "bench"})
		if err != nil && !errors.Is(err, catalog.ErrExists) {
			b.Fatal(err)
		}
		items = append(items, inventory.Line{ItemID: id, Quantity: 1 + i%5})
	}
	inv := inventory.NewStore(conn, ledger.New(conn), inventory.Config{})
	for i := 0; i < owned; i += inventory.MaxLines {
		if _, err := inv.Grant(ctx, inventory.Grant{Key: fmt.Sprintf("bench-fetch-%d-%d", p, i), AccountID: p, Source: "reward", Items: items[i : i+inventory.MaxLines]}); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := conn.Exec(`ANALYZE inventory_items`); err != nil {
		b.Fatal(err)
	}
	fetch := func(b *testing.B, r *inventory.Reader, lat *economytest.Latencies) {
		t0 := time.Now()
		all, err := r.All(ctx, p)
		if err != nil || len(all) != owned {
			b.Fatalf("fetched %d, %v", len(all), err)
		}
		lat.Record(time.Since(t0))
	}
	// Unchanged since the last fetch: the version check and the cached copy.
	b.Run("unchanged", func(b *testing.B) {
		r := inv.Reader()
		var lat economytest.Latencies
		lat.Start()
		for b.Loop() {
			fetch(b, r, &lat)
		}
		lat.Report(b)
	})
	// Changed since the last fetch (a match's rewards): the touched items
	// are read again and patched in. The grant is not timed.
	b.Run("after-a-grant", func(b *testing.B) {
		r := inv.Reader()
		var lat economytest.Latencies
		n := 0
		for b.Loop() {
			b.StopTimer()
			n++
			_, err := inv.Grant(ctx, inventory.Grant{Key: fmt.Sprintf("bench-fetch-%d-g%d-%d", p, n, time.Now().UnixNano()), AccountID: p, Source: "reward",
				Items: []inventory.Line{{ItemID: items[n%owned].ItemID, Quantity: 1}}})
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			fetch(b, r, &lat)
		}
		lat.Report(b)
	})
	// First fetch on a new process, which starts from the player's
	// snapshot (written in the background by the fetches above).
	time.Sleep(500 * time.Millisecond)
	b.Run("new-process", func(b *testing.B) {
		var lat economytest.Latencies
		lat.Start()
		for b.Loop() {
			fetch(b, inventory.NewStore(conn, ledger.New(conn), inventory.Config{}).Reader(), &lat)
		}
		lat.Report(b)
	})
	// Every row read and decoded, as the very first fetch of a player who
	// has no snapshot yet.
	b.Run("every-row", func(b *testing.B) {
		var lat economytest.Latencies
		lat.Start()
		for b.Loop() {
			t0 := time.Now()
			all, err := inventory.ReadEveryRow(ctx, conn, p)
			if err != nil || len(all) != owned {
				b.Fatalf("fetched %d, %v", len(all), err)
			}
			lat.Record(time.Since(t0))
		}
		lat.Report(b)
	})
}

// benchRate is the open-loop rate of BenchmarkGrant and BenchmarkTransfer:
// go test -bench 'Grant|Transfer' -args -rate=3000. 0 runs closed-loop.
var benchRate = flag.Float64("rate", 0, "operations per second the economy benchmarks offer; 0: as fast as they complete")

// benchPlayers makes a player per client.
func benchPlayers(b *testing.B, conn *sqlx.DB) []int64 {
	players := make([]int64, benchClients)
	for i := range players {
		players[i] = economytest.Player(b, conn)
	}
	return players
}

// BenchmarkGrant grants one item per operation from 64 concurrent clients,
// each its own player, every grant atomic with its own key.
func BenchmarkGrant(b *testing.B) {
	conn := testenv.DB(b)
	conn.SetMaxOpenConns(benchPool)
	conn.SetMaxIdleConns(benchPool)
	inv := inventory.NewStore(conn, ledger.New(conn), inventory.Config{})
	item := economytest.Item(b, conn, func(it *catalog.Item) { it.MaxStack = catalog.MaxStackLimit })
	players := benchPlayers(b, conn)
	run := time.Now().UnixNano()
	economytest.Drive(b, benchClients, *benchRate, func(c int, n int64) error {
		_, err := inv.Grant(context.Background(), inventory.Grant{
			Key: fmt.Sprintf("bench-grant-%d-%d", run, n), AccountID: players[c], Source: "reward",
			Items: []inventory.Line{{ItemID: item.ID, Quantity: 1}},
		})
		return err
	})
}

// BenchmarkTransfer credits currency to players from the rewards account
// from 64 concurrent clients, each transfer atomic with its own key.
func BenchmarkTransfer(b *testing.B) {
	conn := testenv.DB(b)
	conn.SetMaxOpenConns(benchPool)
	conn.SetMaxIdleConns(benchPool)
	l := ledger.New(conn)
	cur := economytest.Currency(b, conn, "soft")
	players := benchPlayers(b, conn)
	run := time.Now().UnixNano()
	economytest.Drive(b, benchClients, *benchRate, func(c int, n int64) error {
		_, err := l.Transfer(context.Background(), ledger.Transfer{
			Key: fmt.Sprintf("bench-transfer-%d-%d", run, n), Source: "reward",
			From: ledger.System(ledger.Rewards), To: ledger.Player(players[c]), Currency: cur, Amount: 5,
		})
		return err
	})
}
