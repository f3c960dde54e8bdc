package ledger

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/domain/db"
)

// Ledger posts transfers and reads balances.
type Ledger struct {
	conn      *sqlx.DB
	stmts     *db.Prepared
	transfers *db.Group[Transfer, Receipt] // Transfer calls posted together
}

// New returns a Ledger over conn.
func New(conn *sqlx.DB) *Ledger {
	l := &Ledger{conn: conn, stmts: db.NewPrepared(conn)}
	l.transfers = db.NewGroup(maxTransferBatch, transferBatchers, Transfer.player, l.writeTransfers)
	return l
}

// postSQL is a whole transfer in one statement, so that on its own it is
// one round trip and atomic. It appends the transfer unless its key exists,
// debits the source when it holds enough (or may go below zero), credits
// the destination (creating a player's wallet on its first credit) and
// appends both entries. A refused debit (or an account that does not exist)
// writes an entry of 0, which the ledger_entries_refused constraint rejects:
// the statement then fails and writes nothing. System accounts keep no
// cached balance: they are unbounded by design, and one hot row would
// serialize every grant in the game, so their side only looks the account
// up and its entry has no balance_after.
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
	SELECT t.id, coalesce(d.id, 0), CASE WHEN d.id IS NULL OR c.id IS NULL THEN 0 ELSE -$5::bigint END, d.balance, t.at
	FROM t LEFT JOIN d ON true LEFT JOIN c ON true
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
	return l.post(ctx, tx, t)
}

// Transfer posts t on its own, atomic without a transaction of the
// caller's: transfers between a player's wallet and a system account that
// arrive together are posted in one batch (PostBatch); anything a batch
// cannot take (a replayed key, a refused debit, a transfer between players
// or into debt) is one statement of its own, with the same outcome.
func (l *Ledger) Transfer(ctx context.Context, t Transfer) (Receipt, error) {
	if err := t.validate(); err != nil {
		return Receipt{}, err
	}
	if t.batchable() {
		if r, err := l.transfers.Do(ctx, t); !errors.Is(err, db.ErrAlone) {
			return r, err
		}
	}
	return l.post(ctx, nil, t)
}

// get runs q in tx, or on its own (retried after a deadlock) when tx is nil.
func (l *Ledger) get(ctx context.Context, tx *sqlx.Tx, dest any, q string, args ...any) error {
	if tx != nil {
		return l.stmts.TxGet(ctx, tx, dest, q, args...)
	}
	return db.Retry(ctx, func() error { return l.stmts.Get(ctx, dest, q, args...) })
}

func (l *Ledger) post(ctx context.Context, tx *sqlx.Tx, t Transfer) (Receipt, error) {
	if err := t.validate(); err != nil {
		return Receipt{}, err
	}
	if _, fromPlayer := t.From.AccountID(); fromPlayer && t.AllowDebt {
		if err := l.openWallet(ctx, tx, t.From, t.Currency); err != nil {
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
	err := l.get(ctx, tx, &row, postSQL, t.Key, t.hash(), t.Source, t.Currency, t.Amount, t.Memo,
		string(t.From), string(t.To), t.AllowDebt, toAccount)
	if db.IsConstraint(err, "ledger_entries_refused") {
		return Receipt{}, l.refused(ctx, tx, t.Currency)
	}
	if err != nil {
		if db.IsForeignKeyViolation(err) {
			return Receipt{}, fmt.Errorf("%w: %s", ErrUnknownCurrency, t.Currency)
		}
		return Receipt{}, fmt.Errorf("post transfer: %w", err)
	}
	if !row.TransferID.Valid {
		return l.replay(ctx, tx, t)
	}
	return Receipt{TransferID: row.TransferID.Int64, At: row.At.Time, FromBalance: row.FromBalance.Int64, ToBalance: row.ToBalance.Int64}, nil
}

// refused explains a refused debit: the currency does not exist (so neither
// do its accounts), or the wallet holds too little. Inside a transaction,
// which the failed statement aborted, it cannot look: a currency is checked
// before use by every caller that runs in one, so it answers insufficient
// funds.
func (l *Ledger) refused(ctx context.Context, tx *sqlx.Tx, currency string) error {
	if tx == nil {
		var known bool
		if err := l.stmts.Get(ctx, &known, `SELECT EXISTS (SELECT 1 FROM currencies WHERE code = $1)`, currency); err != nil {
			return fmt.Errorf("check currency: %w", err)
		}
		if !known {
			return fmt.Errorf("%w: %s", ErrUnknownCurrency, currency)
		}
	}
	return ErrInsufficientFunds
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
	if err := l.get(ctx, tx, &row, q, t.Key); err != nil {
		return Receipt{}, fmt.Errorf("load transfer %q: %w", t.Key, err)
	}
	if !bytes.Equal(row.Hash, t.hash()) {
		return Receipt{}, ErrKeyReused
	}
	return Receipt{TransferID: row.ID, At: row.At, FromBalance: row.FromBalance.Int64, ToBalance: row.ToBalance.Int64, Replayed: true}, nil
}

// openWallet creates a player's wallet that a clawback may debit before it
// was ever credited. System accounts exist from their currency's creation.
func (l *Ledger) openWallet(ctx context.Context, tx *sqlx.Tx, h Holder, currency string) error {
	id, _ := h.AccountID()
	const q = `INSERT INTO ledger_accounts (holder, account_id, currency) VALUES ($1, $2, $3) ON CONFLICT (holder, currency) DO NOTHING`
	var err error
	if tx != nil {
		_, err = tx.ExecContext(ctx, q, string(h), id, currency)
	} else {
		_, err = l.conn.ExecContext(ctx, q, string(h), id, currency)
	}
	if err != nil {
		if db.IsForeignKeyViolation(err) {
			return fmt.Errorf("%w: %s", ErrUnknownCurrency, currency)
		}
		return fmt.Errorf("open wallet %s %s: %w", h, currency, err)
	}
	return nil
}
