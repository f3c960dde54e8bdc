package inventory_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/domain/catalog"
	"github.com/musterhq/muster/domain/db"
	"github.com/musterhq/muster/domain/economytest"
	"github.com/musterhq/muster/domain/inventory"
	"github.com/musterhq/muster/test/testenv"
)

func TestGrantBatchIsAllOrNothing(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, inventory.Config{})
	conn := testenv.DB(t)
	unique := economytest.Item(t, conn, func(it *catalog.Item) { it.MaxStack = 1 })
	stack := economytest.Item(t, conn, func(it *catalog.Item) { it.MaxStack = 10 })
	a, b := economytest.Player(t, conn), economytest.Player(t, conn)
	if _, err := f.grant(b, unique.ID, 1); err != nil {
		t.Fatal(err)
	}
	grant := func(p int64, lines ...inventory.Line) inventory.Grant {
		return inventory.Grant{Key: economytest.Name("gb"), AccountID: p, Source: "purchase", Items: lines, Duplicates: inventory.DuplicatesRefuse}
	}
	run := func(gs ...inventory.Grant) error {
		return db.InTx(ctx, conn, nil, func(tx *sqlx.Tx) error { _, err := f.inv.GrantBatchTx(ctx, tx, gs); return err })
	}
	// b owns the unique item already: the whole batch is refused.
	err := run(grant(a, inventory.Line{ItemID: unique.ID, Quantity: 1}, inventory.Line{ItemID: stack.ID, Quantity: 3}),
		grant(b, inventory.Line{ItemID: unique.ID, Quantity: 1}))
	if !errors.Is(err, inventory.ErrBatchRefused) {
		t.Fatalf("batch with a duplicate: %v", err)
	}
	if len(f.held(a)) != 0 {
		t.Fatal("a refused batch granted items")
	}
	if err := run(grant(a, inventory.Line{ItemID: unique.ID, Quantity: 1}, inventory.Line{ItemID: stack.ID, Quantity: 3}),
		grant(b, inventory.Line{ItemID: stack.ID, Quantity: 10})); err != nil {
		t.Fatal(err)
	}
	if h := f.held(a); h[unique.ID] != 1 || h[stack.ID] != 3 {
		t.Fatalf("a holds %v", h)
	}
	if h := f.held(b); h[unique.ID] != 1 || h[stack.ID] != 10 {
		t.Fatalf("b holds %v", h)
	}
	// Over the stack limit, or an unknown item: refused.
	if err := run(grant(b, inventory.Line{ItemID: stack.ID, Quantity: 1})); !errors.Is(err, inventory.ErrBatchRefused) {
		t.Fatalf("over the stack: %v", err)
	}
	if err := run(grant(a, inventory.Line{ItemID: "no.such.item", Quantity: 1})); !errors.Is(err, inventory.ErrBatchRefused) {
		t.Fatalf("unknown item: %v", err)
	}
	history, err := f.r.History(ctx, a, 0, 10)
	if err != nil || len(history) != 2 {
		t.Fatalf("history = %d lines, %v", len(history), err)
	}
}
