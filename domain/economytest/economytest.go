// Package economytest sets up what economy tests share against a real,
// migrated PostgreSQL database: players, currencies and catalog items made
// through the domain packages that own them.
package economytest

import (
	"context"
	"fmt"
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
