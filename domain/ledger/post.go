package ledger

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/domain/db"
)

// Ledger posts transfers and reads balances.
type Ledger struct {
	conn *sqlx.DB
}

// New returns a Ledger over conn.
func New(conn *sqlx.DB) *Ledger { return &Ledger{conn: conn} }

// Transfer posts t in its own transaction.
func (l *Ledger) Transfer(ctx context.Context, t Transfer) (Receipt, error) {
	var r Receipt
	err := db.InTx(ctx, l.conn, nil, func(tx *sqlx.Tx) (err error) {
		r, err = l.Post(ctx, tx, t)
		return err
	})
	return r, err
}

// postSQL appends the transfer and, only if its key is new, debits the
// source (when it holds enough or may go below zero), credits the
// destination (creating a player's wallet on its first credit) and appends
// both entries. System accounts keep no cached balance: they are unbounded
// by design, and one hot row would serialize every grant in the game, so
// their side only looks up the account and its entry has no balance_after.
// An empty debit means insufficient funds; the caller's transaction then
// rolls back the transfer row with everything else.
const postSQL = `
WITH t AS (
	INSERT INTO ledger_transfers (idem_key, request_hash, source, currency, amount, memo)
	VALUES ($1, $2, $3, $4, $5::bigint, $6)
	ON CONFLICT (idem_key) DO NOTHING
	RETURNING id, at
), dp AS (
	UPDATE ledger_accounts SET balance = balance - $5::bigint
	WHERE holder = $7 AND currency = $4 AND account_id IS NOT NULL AND EXISTS (SELECT 1 FROM t)
		AND (balance >= $5::bigint OR $9::boolean)
	RETURNING id, balance
), d AS (
	SELECT id, balance FROM dp
	UNION ALL
	SELECT id, NULL FROM ledger_accounts WHERE holder = $7 AND currency = $4 AND account_id IS NULL AND EXISTS (SELECT 1 FROM t)
), cp AS (
	INSERT INTO ledger_accounts AS a (holder, account_id, currency, balance)
	SELECT $8, $10::bigint, $4, $5::bigint FROM d WHERE $10::bigint IS NOT NULL
	ON CONFLICT (holder, currency) DO UPDATE SET balance = a.balance + EXCLUDED.balance
	RETURNING id, balance
), c AS (
	SELECT id, balance FROM cp
	UNION ALL
	SELECT a.id, NULL FROM ledger_accounts a, d WHERE a.holder = $8 AND a.currency = $4 AND $10::bigint IS NULL
), e AS (
	INSERT INTO ledger_entries (transfer_id, account_id, amount, balance_after, at)
	SELECT t.id, d.id, -$5::bigint, d.balance, t.at FROM t, d
	UNION ALL
	SELECT t.id, c.id, $5::bigint, c.balance, t.at FROM t, c
)
SELECT (SELECT id FROM t) AS transfer_id, (SELECT at FROM t) AS at,
	(SELECT id FROM d) AS from_id, (SELECT balance FROM d) AS from_balance,
	(SELECT id FROM c) AS to_id, (SELECT balance FROM c) AS to_balance`

// Post appends t inside tx, which the caller commits with the rest of its
// use case (a purchase debits, grants and records its order together).
// Errors: ErrInvalidTransfer, ErrInsufficientFunds, ErrKeyReused,
// ErrUnknownCurrency. After an error the caller must roll tx back.
func (l *Ledger) Post(ctx context.Context, tx *sqlx.Tx, t Transfer) (Receipt, error) {
	if err := t.validate(); err != nil {
		return Receipt{}, err
	}
	if _, fromPlayer := t.From.AccountID(); fromPlayer && t.AllowDebt {
		if err := openWallet(ctx, tx, t.From, t.Currency); err != nil {
			return Receipt{}, err
		}
	}
	var toAccount *int64
	if id, ok := t.To.AccountID(); ok {
		toAccount = &id
	}
	var row struct {
		TransferID  sql.NullInt64 `db:"transfer_id"`
		At          sql.NullTime  `db:"at"`
		FromID      sql.NullInt64 `db:"from_id"`
		FromBalance sql.NullInt64 `db:"from_balance"`
		ToID        sql.NullInt64 `db:"to_id"`
		ToBalance   sql.NullInt64 `db:"to_balance"`
	}
	err := tx.GetContext(ctx, &row, postSQL, t.Key, t.hash(), t.Source, t.Currency, t.Amount, t.Memo,
		string(t.From), string(t.To), t.AllowDebt, toAccount)
	if err != nil {
		if db.IsForeignKeyViolation(err) {
			return Receipt{}, fmt.Errorf("%w: %s", ErrUnknownCurrency, t.Currency)
		}
		return Receipt{}, fmt.Errorf("post transfer: %w", err)
	}
	if !row.TransferID.Valid {
		return l.replay(ctx, tx, t)
	}
	if !row.FromID.Valid || !row.ToID.Valid {
		return Receipt{}, ErrInsufficientFunds
	}
	return Receipt{TransferID: row.TransferID.Int64, At: row.At.Time, FromBalance: row.FromBalance.Int64, ToBalance: row.ToBalance.Int64}, nil
}

// replay answers a key posted before: the first result when the transfer is
// the same, ErrKeyReused when it is not.
func (l *Ledger) replay(ctx context.Context, tx *sqlx.Tx, t Transfer) (Receipt, error) {
	const q = `SELECT t.id, t.at, t.request_hash,
			(SELECT e.balance_after FROM ledger_entries e WHERE e.transfer_id = t.id AND e.amount < 0) AS from_balance,
			(SELECT e.balance_after FROM ledger_entries e WHERE e.transfer_id = t.id AND e.amount > 0) AS to_balance
		FROM ledger_transfers t WHERE t.idem_key = $1`
	var row struct {
		ID          int64         `db:"id"`
		At          time.Time     `db:"at"`
		Hash        []byte        `db:"request_hash"`
		FromBalance sql.NullInt64 `db:"from_balance"`
		ToBalance   sql.NullInt64 `db:"to_balance"`
	}
	if err := tx.GetContext(ctx, &row, q, t.Key); err != nil {
		return Receipt{}, fmt.Errorf("load transfer %q: %w", t.Key, err)
	}
	if !bytes.Equal(row.Hash, t.hash()) {
		return Receipt{}, ErrKeyReused
	}
	return Receipt{TransferID: row.ID, At: row.At, FromBalance: row.FromBalance.Int64, ToBalance: row.ToBalance.Int64, Replayed: true}, nil
}

// openWallet creates a player's wallet that a clawback may debit before it
// was ever credited. System accounts exist from their currency's creation.
func openWallet(ctx context.Context, tx *sqlx.Tx, h Holder, currency string) error {
	id, _ := h.AccountID()
	const q = `INSERT INTO ledger_accounts (holder, account_id, currency) VALUES ($1, $2, $3) ON CONFLICT (holder, currency) DO NOTHING`
	if _, err := tx.ExecContext(ctx, q, string(h), id, currency); err != nil {
		if db.IsForeignKeyViolation(err) {
			return fmt.Errorf("%w: %s", ErrUnknownCurrency, currency)
		}
		return fmt.Errorf("open wallet %s %s: %w", h, currency, err)
	}
	return nil
}
