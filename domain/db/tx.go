package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/jmoiron/sqlx"
)

// maxAttempts bounds how often a transaction is retried after a
// serialization failure or deadlock.
const maxAttempts = 8

// InTx runs fn in a transaction and commits it when fn returns nil. A
// serialization failure or deadlock reruns fn from the start, so fn must not
// have effects outside the transaction. Domain packages that must act
// atomically together accept the *sqlx.Tx that fn receives.
func InTx(ctx context.Context, conn *sqlx.DB, opts *sql.TxOptions, fn func(tx *sqlx.Tx) error) error {
	return Retry(ctx, func() error { return runTx(ctx, conn, opts, fn) })
}

// Retry runs fn, an atomic unit of work (a transaction, or one statement
// outside any), again after a serialization failure or deadlock.
func Retry(ctx context.Context, fn func() error) error {
	var err error
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		err = fn()
		if err == nil || !isRetryable(err) || ctx.Err() != nil {
			return err
		}
		// Contenders that deadlocked together would meet again at once:
		// wait a random, growing while.
		pause := time.Duration(rand.Int64N(int64(attempt) * int64(5*time.Millisecond)))
		select {
		case <-ctx.Done():
			return err
		case <-time.After(pause):
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

// Savepoint runs fn in a savepoint of tx and rolls tx back to it when fn
// fails, so that tx stays usable and the rows fn locked are let go. name
// is an SQL identifier chosen by the caller, never input.
func Savepoint(ctx context.Context, tx *sqlx.Tx, name string, fn func() error) error {
	if _, err := tx.ExecContext(ctx, "SAVEPOINT "+name); err != nil {
		return fmt.Errorf("savepoint %s: %w", name, err)
	}
	if err := fn(); err != nil {
		if _, rbErr := tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT "+name); rbErr != nil {
			return errors.Join(err, fmt.Errorf("roll back to savepoint %s: %w", name, rbErr))
		}
		return err
	}
	if _, err := tx.ExecContext(ctx, "RELEASE SAVEPOINT "+name); err != nil {
		return fmt.Errorf("release savepoint %s: %w", name, err)
	}
	return nil
}
