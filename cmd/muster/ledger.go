package main

import (
	"context"
	"fmt"
	"io"

	"github.com/musterhq/muster/domain/ledger"
)

// cmdLedger checks the currency ledger: `muster ledger verify` proves that
// every transfer balances and every cached balance equals the sum of its
// entries, and exits non-zero naming the first break.
func cmdLedger(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	_, cfg, err := parseVerb("ledger", args, getenv, stderr, "verify")
	if err != nil {
		return err
	}
	conn, err := openCurrent(ctx, cfg)
	if err != nil {
		return err
	}
	defer conn.Close()
	sum, err := ledger.Verify(ctx, conn)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "ledger balances: %d transfers, %d entries, %d accounts\n", sum.Transfers, sum.Entries, sum.Accounts)
	return nil
}
