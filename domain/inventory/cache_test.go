package inventory_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/musterhq/muster/domain/catalog"
	"github.com/musterhq/muster/domain/economytest"
	"github.com/musterhq/muster/domain/inventory"
	"github.com/musterhq/muster/domain/ledger"
	"github.com/musterhq/muster/test/testenv"
)

// TestWholeInventoryNeverStale reads a large inventory through one store's
// reader while it changes through that store, another store (another
// node) and the clock, and compares every read, and every read of a new
// process that starts from the player's snapshot, with an uncached
// reader's (one that reads every row).
func TestWholeInventoryNeverStale(t *testing.T) {
	conn := testenv.DB(t)
	ctx := context.Background()
	p := economytest.Player(t, conn)
	here := inventory.NewStore(conn, ledger.New(conn), inventory.Config{})
	there := inventory.NewStore(conn, ledger.New(conn), inventory.Config{})
	lifetime := 3 // long enough that it cannot expire between the two reads of one check
	boost := economytest.Item(t, conn, func(it *catalog.Item) { it.Kind, it.LifetimeSeconds, it.MaxStack = "boost", &lifetime, 5 })
	var lines []inventory.Line
	for i := range 600 {
		id := fmt.Sprintf("cache.item.%03d", i)
		if _, err := catalog.NewStore(conn).SaveItem(ctx, catalog.Item{ID: id, Name: id, Kind: "charm", Rarity: "common", MaxStack: 50}, catalog.Edit{Editor: "test"}); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, inventory.Line{ItemID: id, Quantity: 1})
	}
	for i := 0; i < len(lines); i += inventory.MaxLines {
		if _, err := here.Grant(ctx, inventory.Grant{Key: economytest.Name("fill"), AccountID: p, Source: "reward", Items: lines[i : i+inventory.MaxLines]}); err != nil {
			t.Fatal(err)
		}
	}
	cachedReader := here.Reader()
	check := func(step string) {
		t.Helper()
		got, err := cachedReader.All(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		cold, err := inventory.NewStore(conn, ledger.New(conn), inventory.Config{}).Reader().All(ctx, p) // a new process
		if err != nil {
			t.Fatal(err)
		}
		want, err := inventory.ReadEveryRow(ctx, conn, p)
		if err != nil {
			t.Fatal(err)
		}
		for name, read := range map[string][]inventory.Entitlement{"cached": got, "new process": cold} {
			if len(read) != len(want) {
				t.Fatalf("%s, %s read: %d items, want %d", step, name, len(read), len(want))
			}
			for i := range read {
				if read[i].ItemID != want[i].ItemID || read[i].Quantity != want[i].Quantity || !read[i].AcquiredAt.Equal(want[i].AcquiredAt) {
					t.Fatalf("%s, %s read: item %d is %+v, want %+v", step, name, i, read[i], want[i])
				}
			}
		}
	}
	check("first read")
	check("cached read")
	if _, err := here.Grant(ctx, inventory.Grant{Key: economytest.Name("g"), AccountID: p, Source: "reward", Items: []inventory.Line{{ItemID: "cache.item.007", Quantity: 3}}}); err != nil {
		t.Fatal(err)
	}
	check("after a grant on this node")
	if _, err := there.Consume(ctx, inventory.Consume{Key: economytest.Name("c"), AccountID: p, Source: "craft", Items: []inventory.Line{{ItemID: "cache.item.008", Quantity: 1}}}); err != nil {
		t.Fatal(err)
	}
	check("after a consume on another node")
	if _, err := there.Grant(ctx, inventory.Grant{Key: economytest.Name("b"), AccountID: p, Source: "reward", Items: []inventory.Line{{ItemID: boost.ID, Quantity: 1}}}); err != nil {
		t.Fatal(err)
	}
	check("with a boost")
	all, _ := cachedReader.All(ctx, p)
	var expires time.Time
	for _, e := range all {
		if e.ItemID == boost.ID {
			expires = *e.ExpiresAt
		}
	}
	time.Sleep(time.Until(expires.Add(20 * time.Millisecond)))
	check("after the boost expired, before any sweep")
}
