package db

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/jmoiron/sqlx"
)

// maxAttempts bounds how often a transaction is retried after a
// serialization failure or deadlock.
const maxAttempts = 5

// InTx runs fn in a transaction and commits it when fn returns nil. A
// serialization failure or deadlock reruns fn from the start, so fn must not
// have effects outside the transaction. Domain packages that must act
// atomically together accept the *sqlx.Tx that fn receives.
func InTx(ctx context.Context, conn *sqlx.DB, opts *sql.TxOptions, fn func(tx *sqlx.Tx) error) error {
	var err error
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		err = runTx(ctx, conn, opts, fn)
		if err == nil || !isRetryable(err) || ctx.Err() != nil {
			return err
		}
	}
	return fmt.Errorf("gave up after %d attempts: %w", maxAttempts, err)
}

func runTx(ctx context.Context, conn *sqlx.DB, opts *sql.TxOptions, fn func(tx *sqlx.Tx) error) error {
	tx, err := conn.BeginTxx(ctx, opts)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}
