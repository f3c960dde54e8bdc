package ledger_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/domain/db"
	"github.com/musterhq/muster/domain/economytest"
	"github.com/musterhq/muster/domain/ledger"
	"github.com/musterhq/muster/test/testenv"
)

func TestPostBatchIsAllOrNothing(t *testing.T) {
	ctx := context.Background()
	conn := testenv.DB(t)
	l := ledger.New(conn)
	cur := economytest.Currency(t, conn, "soft")
	a, b, c := economytest.Player(t, conn), economytest.Player(t, conn), economytest.Player(t, conn)
	mint(t, l, a, cur, 100)
	mint(t, l, b, cur, 100)
	mint(t, l, c, cur, 10)
	spend := func(p int64, amount int64) ledger.Transfer {
		return ledger.Transfer{Key: economytest.Name("batch"), Source: "purchase", From: ledger.Player(p),
			To: ledger.System(ledger.StoreRevenue), Currency: cur, Amount: amount}
	}
	post := func(ts ...ledger.Transfer) error {
		return db.InTx(ctx, conn, nil, func(tx *sqlx.Tx) error { _, err := l.PostBatch(ctx, tx, ts); return err })
	}
	// c cannot pay: nothing of the batch is written.
	if err := post(spend(a, 60), spend(b, 60), spend(c, 60)); !errors.Is(err, ledger.ErrBatchRefused) {
		t.Fatalf("batch with a short wallet: %v", err)
	}
	if balance(t, l, a, cur) != 100 || balance(t, l, b, cur) != 100 {
		t.Fatal("a refused batch changed balances")
	}
	first := spend(a, 60)
	if err := post(first, spend(b, 70)); err != nil {
		t.Fatal(err)
	}
	if balance(t, l, a, cur) != 40 || balance(t, l, b, cur) != 30 {
		t.Fatalf("balances %d %d", balance(t, l, a, cur), balance(t, l, b, cur))
	}
	// A used key refuses the batch; one player twice is not a batch.
	if err := post(first); !errors.Is(err, ledger.ErrBatchRefused) {
		t.Fatalf("reused key: %v", err)
	}
	if err := post(spend(a, 1), spend(a, 1)); !errors.Is(err, ledger.ErrInvalidTransfer) {
		t.Fatalf("one wallet twice: %v", err)
	}
	if _, err := ledger.Verify(ctx, conn); err != nil {
		t.Fatal(err)
	}
}

func TestCreditBatchOpensWallets(t *testing.T) {
	ctx := context.Background()
	conn := testenv.DB(t)
	l := ledger.New(conn)
	cur := economytest.Currency(t, conn, "premium")
	a, b := economytest.Player(t, conn), economytest.Player(t, conn)
	mint(t, l, a, cur, 5)
	credit := func(p int64, amount int64) ledger.Transfer {
		return ledger.Transfer{Key: economytest.Name("credit"), Source: "purchase", From: ledger.System(ledger.Minted),
			To: ledger.Player(p), Currency: cur, Amount: amount}
	}
	post := func(ts ...ledger.Transfer) error {
		return db.InTx(ctx, conn, nil, func(tx *sqlx.Tx) error { _, err := l.PostBatch(ctx, tx, ts); return err })
	}
	first := credit(a, 100)
	if err := post(first, credit(b, 200)); err != nil {
		t.Fatal(err)
	}
	if balance(t, l, a, cur) != 105 || balance(t, l, b, cur) != 200 {
		t.Fatalf("balances %d %d", balance(t, l, a, cur), balance(t, l, b, cur))
	}
	if err := post(first, credit(b, 1)); !errors.Is(err, ledger.ErrBatchRefused) {
		t.Fatalf("reused key: %v", err)
	}
	if balance(t, l, b, cur) != 200 {
		t.Fatal("a refused batch credited")
	}
	if err := post(credit(a, 1), ledger.Transfer{Key: economytest.Name("x"), Source: "purchase", From: ledger.Player(b),
		To: ledger.System(ledger.StoreRevenue), Currency: cur, Amount: 1}); !errors.Is(err, ledger.ErrInvalidTransfer) {
		t.Fatalf("credits and debits mixed: %v", err)
	}
	if _, err := ledger.Verify(ctx, conn); err != nil {
		t.Fatal(err)
	}
}
