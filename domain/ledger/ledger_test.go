package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/domain/db"
	"github.com/musterhq/muster/domain/economytest"
	"github.com/musterhq/muster/domain/ledger"
	"github.com/musterhq/muster/test/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func mint(t *testing.T, l *ledger.Ledger, player int64, currency string, amount int64) {
	t.Helper()
	_, err := l.Transfer(context.Background(), ledger.Transfer{
		Key: economytest.Name("mint"), Source: "reward", From: ledger.System(ledger.Rewards), To: ledger.Player(player),
		Currency: currency, Amount: amount,
	})
	if err != nil {
		t.Fatalf("mint: %v", err)
	}
}

func balance(t *testing.T, l *ledger.Ledger, player int64, currency string) int64 {
	t.Helper()
	bs, err := l.Balances(context.Background(), player)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bs {
		if b.Currency == currency {
			return b.Balance
		}
	}
	return 0
}

func TestConcurrentSpendsNeverOverdraw(t *testing.T) {
	conn := testenv.DB(t)
	l := ledger.New(conn)
	cur := economytest.Currency(t, conn, "soft")
	p := economytest.Player(t, conn)
	mint(t, l, p, cur, 1000)

	var accepted, refused atomic.Int64
	var wg sync.WaitGroup
	for g := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 5 {
				_, err := l.Transfer(context.Background(), ledger.Transfer{
					Key: fmt.Sprintf("spend-%s-%d-%d", cur, g, i), Source: "purchase",
					From: ledger.Player(p), To: ledger.System(ledger.StoreRevenue), Currency: cur, Amount: 7,
				})
				switch {
				case err == nil:
					accepted.Add(1)
				case errors.Is(err, ledger.ErrInsufficientFunds):
					refused.Add(1)
				default:
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if accepted.Load()+refused.Load() != 320 {
		t.Fatalf("accepted %d + refused %d != 320", accepted.Load(), refused.Load())
	}
	if accepted.Load() != 1000/7 {
		t.Errorf("accepted %d spends of 7 from 1000, want %d", accepted.Load(), 1000/7)
	}
	if got, want := balance(t, l, p, cur), 1000-7*accepted.Load(); got != want {
		t.Errorf("balance %d, want %d", got, want)
	}
	if _, err := ledger.Verify(context.Background(), conn); err != nil {
		t.Fatal(err)
	}
}

func TestRetriedTransferLandsOnce(t *testing.T) {
	conn := testenv.DB(t)
	l := ledger.New(conn)
	cur := economytest.Currency(t, conn, "premium")
	p := economytest.Player(t, conn)
	tr := ledger.Transfer{Key: economytest.Name("pack"), Source: "fulfilment", From: ledger.System(ledger.Minted), To: ledger.Player(p), Currency: cur, Amount: 500}

	var wg sync.WaitGroup
	receipts := make([]ledger.Receipt, 10)
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := l.Transfer(context.Background(), tr)
			if err != nil {
				t.Error(err)
			}
			receipts[i] = r
		}()
	}
	wg.Wait()
	fresh := 0
	for _, r := range receipts {
		if !r.Replayed {
			fresh++
		}
		if r.TransferID != receipts[0].TransferID || r.ToBalance != 500 {
			t.Errorf("receipt %+v differs from %+v", r, receipts[0])
		}
	}
	if fresh != 1 {
		t.Errorf("%d transfers were not replays, want 1", fresh)
	}
	if got := balance(t, l, p, cur); got != 500 {
		t.Errorf("balance %d, want 500", got)
	}

	other := tr
	other.Amount = 5000
	if _, err := l.Transfer(context.Background(), other); !errors.Is(err, ledger.ErrKeyReused) {
		t.Errorf("same key, other amount: %v, want ErrKeyReused", err)
	}
}

func TestRejectedTransfers(t *testing.T) {
	conn := testenv.DB(t)
	l := ledger.New(conn)
	cur := economytest.Currency(t, conn, "soft")
	p, q := economytest.Player(t, conn), economytest.Player(t, conn)
	ok := ledger.Transfer{Key: "k", Source: "gift", From: ledger.Player(p), To: ledger.Player(q), Currency: cur, Amount: 1}
	cases := []struct {
		name string
		edit func(*ledger.Transfer)
		want error
	}{
		{"no key", func(t *ledger.Transfer) { t.Key = "" }, ledger.ErrInvalidTransfer},
		{"zero", func(t *ledger.Transfer) { t.Amount = 0 }, ledger.ErrInvalidTransfer},
		{"negative", func(t *ledger.Transfer) { t.Amount = -5 }, ledger.ErrInvalidTransfer},
		{"self", func(t *ledger.Transfer) { t.To = t.From }, ledger.ErrInvalidTransfer},
		{"unknown source", func(t *ledger.Transfer) { t.Source = "magic" }, ledger.ErrInvalidTransfer},
		{"unknown system account", func(t *ledger.Transfer) { t.From = "system:printer" }, ledger.ErrInvalidTransfer},
		{"empty wallet", func(t *ledger.Transfer) { t.Key = economytest.Name("k") }, ledger.ErrInsufficientFunds},
		{"unknown currency", func(t *ledger.Transfer) {
			t.Key, t.From, t.Currency = economytest.Name("k"), ledger.System(ledger.Rewards), "nosuchcoin"
		}, ledger.ErrUnknownCurrency},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr := ok
			c.edit(&tr)
			if _, err := l.Transfer(context.Background(), tr); !errors.Is(err, c.want) {
				t.Errorf("got %v, want %v", err, c.want)
			}
		})
	}
	if got := balance(t, l, q, cur); got != 0 {
		t.Errorf("a refused transfer credited %d", got)
	}
}

func TestCancelledTransactionLeavesNothing(t *testing.T) {
	conn := testenv.DB(t)
	l := ledger.New(conn)
	cur := economytest.Currency(t, conn, "soft")
	p := economytest.Player(t, conn)
	mint(t, l, p, cur, 100)
	before, _ := ledger.Verify(context.Background(), conn)

	ctx, cancel := context.WithCancel(context.Background())
	err := db.InTx(ctx, conn, nil, func(tx *sqlx.Tx) error {
		if _, err := l.Post(ctx, tx, ledger.Transfer{Key: economytest.Name("a"), Source: "purchase", From: ledger.Player(p), To: ledger.System(ledger.StoreRevenue), Currency: cur, Amount: 60}); err != nil {
			return err
		}
		cancel() // the process dies between the two steps of a use case
		_, err := l.Post(ctx, tx, ledger.Transfer{Key: economytest.Name("b"), Source: "purchase", From: ledger.Player(p), To: ledger.System(ledger.StoreRevenue), Currency: cur, Amount: 10})
		return err
	})
	if err == nil {
		t.Fatal("the cancelled transaction committed")
	}
	if got := balance(t, l, p, cur); got != 100 {
		t.Errorf("balance %d after a cancelled transaction, want 100", got)
	}
	after, err := ledger.Verify(context.Background(), conn)
	if err != nil {
		t.Fatal(err)
	}
	if after.Transfers != before.Transfers {
		t.Errorf("transfers %d -> %d after a cancelled transaction", before.Transfers, after.Transfers)
	}
}

func TestDebtOnlyWhenAllowed(t *testing.T) {
	conn := testenv.DB(t)
	l := ledger.New(conn)
	cur := economytest.Currency(t, conn, "premium")
	p := economytest.Player(t, conn)
	mint(t, l, p, cur, 100)
	claw := ledger.Transfer{Key: economytest.Name("claw"), Source: "chargeback", From: ledger.Player(p), To: ledger.System(ledger.ChargebackDebt), Currency: cur, Amount: 250}
	if _, err := l.Transfer(context.Background(), claw); !errors.Is(err, ledger.ErrInsufficientFunds) {
		t.Fatalf("clawback without debt policy: %v", err)
	}
	claw.AllowDebt = true
	r, err := l.Transfer(context.Background(), claw)
	if err != nil {
		t.Fatal(err)
	}
	if r.FromBalance != -150 {
		t.Errorf("balance after clawback %d, want -150", r.FromBalance)
	}
	if _, err := ledger.Verify(context.Background(), conn); err != nil {
		t.Fatal(err)
	}
	h, err := l.History(context.Background(), ledger.Player(p), cur, 0, 10)
	if err != nil || len(h) != 2 || h[0].Amount != -250 || h[0].Counterparty != "system:chargeback_debt" || h[1].Amount != 100 {
		t.Errorf("history %+v, %v", h, err)
	}
}

func TestVerifyFindsACorruptEntry(t *testing.T) {
	conn := testenv.DB(t)
	l := ledger.New(conn)
	cur := economytest.Currency(t, conn, "soft")
	p := economytest.Player(t, conn)
	mint(t, l, p, cur, 40)
	if _, err := ledger.Verify(context.Background(), conn); err != nil {
		t.Fatal(err)
	}
	// Entries are append-only; only a superuser bypassing triggers can do this.
	_, err := conn.Exec(`BEGIN; SET LOCAL session_replication_role = replica;
		UPDATE ledger_entries SET amount = amount + 1 WHERE account_id = (SELECT id FROM ledger_accounts WHERE holder = $$player:` + fmt.Sprint(p) + `$$);
		COMMIT`)
	if err != nil {
		t.Fatal(err)
	}
	_, err = ledger.Verify(context.Background(), conn)
	var be *ledger.BreakError
	if !errors.As(err, &be) || !errors.Is(err, ledger.ErrBroken) || be.Check != "transfer" {
		t.Fatalf("verify after corruption: %v", err)
	}
	t.Log(err)
	for _, q := range []string{`DELETE FROM ledger_entries`, `UPDATE ledger_entries SET amount = amount`, `DELETE FROM ledger_transfers`} {
		if _, err := conn.Exec(q); err == nil {
			t.Errorf("%s was allowed", q)
		}
	}
}

func TestEveryCurrencyHasEverySystemAccount(t *testing.T) {
	conn := testenv.DB(t)
	cur := economytest.Currency(t, conn, "soft")
	var holders []string
	if err := conn.Select(&holders, `SELECT holder FROM ledger_accounts WHERE currency = $1 ORDER BY holder`, cur); err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, name := range ledger.SystemAccounts {
		want = append(want, string(ledger.System(name)))
	}
	slices.Sort(want)
	if !slices.Equal(holders, want) {
		t.Fatalf("system accounts of a new currency %v, want %v (migration trigger and ledger.SystemAccounts differ)", holders, want)
	}
}
