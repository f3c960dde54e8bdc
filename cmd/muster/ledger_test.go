package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/musterhq/muster/domain/economytest"
	"github.com/musterhq/muster/domain/ledger"
	"github.com/musterhq/muster/test/testenv"
)

func TestLedgerVerifyReportsBalancedAndBrokenLedgers(t *testing.T) {
	conn := testenv.DB(t)
	dbURL := testenv.DBURL(t)
	ctx := context.Background()
	l := ledger.New(conn)
	cur := economytest.Currency(t, conn, "soft")
	p := economytest.Player(t, conn)
	if _, err := l.Transfer(ctx, ledger.Transfer{Key: economytest.Name("k"), Source: "reward", From: ledger.System(ledger.Rewards), To: ledger.Player(p), Currency: cur, Amount: 30}); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if code := run(ctx, registerModules(), []string{"ledger", "verify", "--database-url=" + dbURL}, envOf(nil), &out, &errOut); code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut.String())
	}
	if !strings.HasPrefix(out.String(), "ledger balances: ") {
		t.Fatalf("stdout %q", out.String())
	}

	// A balance edited behind the ledger's back no longer matches its entries.
	if _, err := conn.Exec(`UPDATE ledger_accounts SET balance = balance + 1 WHERE holder = $1`, string(ledger.Player(p))); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Exec(`UPDATE ledger_accounts SET balance = balance - 1 WHERE holder = $1`, string(ledger.Player(p)))
	})
	out.Reset()
	errOut.Reset()
	code := run(ctx, registerModules(), []string{"ledger", "verify"}, envOf(map[string]string{"MUSTER_DATABASE_URL": dbURL}), &out, &errOut)
	want := fmt.Sprintf("(player:%d %s): balance 31, entries sum to 30", p, cur)
	if code == 0 || !strings.Contains(errOut.String(), want) || out.Len() != 0 {
		t.Fatalf("exit %d, stdout %q, stderr %q; want non-zero and %q", code, out.String(), errOut.String(), want)
	}
}
