package ledger

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/domain/db"
)

// Ledger posts transfers and reads balances.
type Ledger struct {
	conn    *sqlx.DB
	ensured sync.Map // holder+"/"+currency of system accounts known to exist
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
// both entries. An empty debit means insufficient funds; the caller's
// transaction then rolls back the transfer row with everything else.
const postSQL = `
WITH t AS (
	INSERT INTO ledger_transfers (idem_key, request_hash, source, currency, amount, memo)
	VALUES ($1, $2, $3, $4, $5::bigint, $6)
	ON CONFLICT (idem_key) DO NOTHING
	RETURNING id, at
), d AS (
	UPDATE ledger_accounts SET balance = balance - $5::bigint
	WHERE holder = $7 AND currency = $4 AND EXISTS (SELECT 1 FROM t) AND (balance >= $5::bigint OR $9::boolean)
	RETURNING id, balance
), c AS (
	INSERT INTO ledger_accounts AS a (holder, account_id, currency, balance)
	SELECT $8, $10::bigint, $4, $5::bigint FROM d
	ON CONFLICT (holder, currency) DO UPDATE SET balance = a.balance + EXCLUDED.balance
	RETURNING id, balance
), e AS (
	INSERT INTO ledger_entries (transfer_id, account_id, amount, balance_after, at)
	SELECT t.id, d.id, -$5::bigint, d.balance, t.at FROM t, d
	UNION ALL
	SELECT t.id, c.id, $5::bigint, c.balance, t.at FROM t, c
)
SELECT (SELECT id FROM t) AS transfer_id, (SELECT at FROM t) AS at,
	(SELECT balance FROM d) AS from_balance, (SELECT balance FROM c) AS to_balance`

// Post appends t inside tx, which the caller commits with the rest of its
// use case (a purchase debits, grants and records its order together).
// Errors: ErrInvalidTransfer, ErrInsufficientFunds, ErrKeyReused,
// ErrUnknownCurrency. After an error the caller must roll tx back.
func (l *Ledger) Post(ctx context.Context, tx *sqlx.Tx, t Transfer) (Receipt, error) {
	if err := t.validate(); err != nil {
		return Receipt{}, err
	}
	_, fromPlayer := t.From.AccountID()
	mayGoNegative := !fromPlayer || t.AllowDebt
	if mayGoNegative {
		if err := l.ensure(ctx, t.From, t.Currency); err != nil {
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
		FromBalance sql.NullInt64 `db:"from_balance"`
		ToBalance   sql.NullInt64 `db:"to_balance"`
	}
	err := tx.GetContext(ctx, &row, postSQL, t.Key, t.hash(), t.Source, t.Currency, t.Amount, t.Memo,
		string(t.From), string(t.To), mayGoNegative, toAccount)
	if err != nil {
		if db.IsForeignKeyViolation(err) {
			return Receipt{}, fmt.Errorf("%w: %s", ErrUnknownCurrency, t.Currency)
		}
		return Receipt{}, fmt.Errorf("post transfer: %w", err)
	}
	if !row.TransferID.Valid {
		return l.replay(ctx, tx, t)
	}
	if !row.FromBalance.Valid || !row.ToBalance.Valid {
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
		ID          int64     `db:"id"`
		At          time.Time `db:"at"`
		Hash        []byte    `db:"request_hash"`
		FromBalance int64     `db:"from_balance"`
		ToBalance   int64     `db:"to_balance"`
	}
	if err := tx.GetContext(ctx, &row, q, t.Key); err != nil {
		return Receipt{}, fmt.Errorf("load transfer %q: %w", t.Key, err)
	}
	if !bytes.Equal(row.Hash, t.hash()) {
		return Receipt{}, ErrKeyReused
	}
	return Receipt{TransferID: row.ID, At: row.At, FromBalance: row.FromBalance, ToBalance: row.ToBalance, Replayed: true}, nil
}

// ensure creates the account of a holder that may be debited before it was
// ever credited: a system account, or a player's wallet under a clawback.
// It commits on its own (an empty account changes no balance), so a system
// account remembered here exists whatever becomes of the caller's
// transaction.
func (l *Ledger) ensure(ctx context.Context, h Holder, currency string) error {
	key := string(h) + "/" + currency
	if _, ok := l.ensured.Load(key); ok {
		return nil
	}
	var account *int64
	if id, ok := h.AccountID(); ok {
		account = &id
	}
	const q = `INSERT INTO ledger_accounts (holder, account_id, currency) VALUES ($1, $2, $3) ON CONFLICT (holder, currency) DO NOTHING`
	if _, err := l.conn.ExecContext(ctx, q, string(h), account, currency); err != nil {
		if db.IsForeignKeyViolation(err) {
			return fmt.Errorf("%w: %s", ErrUnknownCurrency, currency)
		}
		return fmt.Errorf("open account %s: %w", key, err)
	}
	if account == nil {
		l.ensured.Store(key, true)
	}
	return nil
}
