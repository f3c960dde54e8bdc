package ledger

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/musterhq/muster/domain/db"
)

// batchRow is what a batch statement answers per transfer.
type batchRow struct {
	Key         string        `db:"key"`
	TransferID  int64         `db:"transfer_id"`
	At          time.Time     `db:"at"`
	FromBalance sql.NullInt64 `db:"from_balance"`
	ToBalance   sql.NullInt64 `db:"to_balance"`
}

// ErrBatchRefused means a batch could not be posted as a whole: a debit was
// refused, a key was used before, or an account does not exist. Nothing of
// the batch is written (the caller's transaction must roll back); post each
// on its own to learn which and why.
var ErrBatchRefused = errors.New("the batch was refused as a whole")

// postBatchSQL posts many transfers, each from a player's wallet to a
// system account, in one statement: the transfers, the debits (each only
// when the wallet holds enough) and both entries of each. A refused debit
// (or a missing account) writes an entry of 0, which the
// ledger_entries_refused constraint rejects; a reused key violates the
// transfers' unique key. Either fails the whole statement.
const postBatchSQL = `
WITH r AS (
	SELECT * FROM unnest($1::text[], $2::bytea[], $3::text[], $4::text[], $5::bigint[], $6::text[], $7::text[], $8::text[])
		AS r (key, hash, source, currency, amount, memo, from_holder, to_holder)
), t AS (
	INSERT INTO ledger_transfers (idem_key, request_hash, source, currency, amount, memo)
	SELECT key, hash, source, currency, amount, memo FROM r
	RETURNING id, idem_key, at
), d AS (
	UPDATE ledger_accounts a SET balance = a.balance - r.amount
	FROM r WHERE a.holder = r.from_holder AND a.currency = r.currency AND a.account_id IS NOT NULL AND a.balance >= r.amount
	RETURNING a.id, a.balance, r.key
), c AS (
	SELECT a.id, r.key FROM r JOIN ledger_accounts a ON a.holder = r.to_holder AND a.currency = r.currency AND a.account_id IS NULL
), e AS (
	INSERT INTO ledger_entries (transfer_id, account_id, amount, balance_after, at)
	SELECT t.id, coalesce(d.id, 0), CASE WHEN d.id IS NULL OR c.id IS NULL THEN 0 ELSE -r.amount END, d.balance, t.at
	FROM r JOIN t ON t.idem_key = r.key LEFT JOIN d ON d.key = r.key LEFT JOIN c ON c.key = r.key
	UNION ALL
	SELECT t.id, c.id, r.amount, NULL, t.at FROM r JOIN t ON t.idem_key = r.key JOIN c ON c.key = r.key
)
SELECT t.idem_key AS key, t.id AS transfer_id, t.at, d.balance AS from_balance, NULL::bigint AS to_balance
FROM t LEFT JOIN d ON d.key = t.idem_key`

// creditBatchSQL posts many transfers, each from a system account to a
// player's wallet, in one statement: the transfers, the credits (creating a
// wallet on its first credit) and both entries of each. A missing system
// account writes an entry of 0, which the ledger_entries_refused
// constraint rejects; a reused key violates the transfers' unique key.
const creditBatchSQL = `
WITH r AS (
	SELECT * FROM unnest($1::text[], $2::bytea[], $3::text[], $4::text[], $5::bigint[], $6::text[], $7::text[], $8::text[], $9::bigint[])
		AS r (key, hash, source, currency, amount, memo, from_holder, to_holder, to_account)
), t AS (
	INSERT INTO ledger_transfers (idem_key, request_hash, source, currency, amount, memo)
	SELECT key, hash, source, currency, amount, memo FROM r
	RETURNING id, idem_key, at
), s AS (
	SELECT a.id, r.key FROM r JOIN ledger_accounts a ON a.holder = r.from_holder AND a.currency = r.currency AND a.account_id IS NULL
), c AS (
	INSERT INTO ledger_accounts AS a (holder, account_id, currency, balance)
	SELECT to_holder, to_account, currency, amount FROM r
	ON CONFLICT (holder, currency) DO UPDATE SET balance = a.balance + EXCLUDED.balance
	RETURNING a.id, a.balance, a.holder, a.currency
), e AS (
	INSERT INTO ledger_entries (transfer_id, account_id, amount, balance_after, at)
	SELECT t.id, coalesce(s.id, 0), CASE WHEN s.id IS NULL THEN 0 ELSE -r.amount END, NULL, t.at
	FROM r JOIN t ON t.idem_key = r.key LEFT JOIN s ON s.key = r.key
	UNION ALL
	SELECT t.id, c.id, r.amount, c.balance, t.at
	FROM r JOIN t ON t.idem_key = r.key JOIN c ON c.holder = r.to_holder AND c.currency = r.currency
)
SELECT t.idem_key AS key, t.id AS transfer_id, t.at, NULL::bigint AS from_balance, c.balance AS to_balance
FROM t JOIN r ON r.key = t.idem_key LEFT JOIN c ON c.holder = r.to_holder AND c.currency = r.currency`

// player is the player account a transfer moves, 0 when none.
func (t Transfer) player() int64 {
	if id, ok := t.From.AccountID(); ok {
		return id
	}
	id, _ := t.To.AccountID()
	return id
}

// PostBatch posts ts inside tx in one statement. Either every transfer
// debits a player's wallet into a system account, or every one credits a
// player's wallet from a system account; each player's wallet appears
// once, and every key is new. Any refusal fails the whole batch with
// ErrBatchRefused, and the caller rolls tx back and posts them one by one.
// It returns each transfer's receipt by key.
func (l *Ledger) PostBatch(ctx context.Context, tx *sqlx.Tx, ts []Transfer) (map[string]Receipt, error) {
	// In wallet order, so that batches touching the same players lock them
	// in the same order.
	ts = slices.Clone(ts)
	slices.SortFunc(ts, func(a, b Transfer) int { return cmp.Compare(a.player(), b.player()) })
	n := len(ts)
	keys, sources, currencies, memos := make(pq.StringArray, n), make(pq.StringArray, n), make(pq.StringArray, n), make(pq.StringArray, n)
	froms, tos := make(pq.StringArray, n), make(pq.StringArray, n)
	hashes, amounts, players := make(pq.ByteaArray, n), make(pq.Int64Array, n), make(pq.Int64Array, n)
	seen := make(map[int64]bool, n)
	credits := 0
	for i, t := range ts {
		if err := t.validate(); err != nil {
			return nil, err
		}
		from, fromPlayer := t.From.AccountID()
		to, toPlayer := t.To.AccountID()
		player := from
		if toPlayer {
			player = to
			credits++
		}
		if fromPlayer == toPlayer || t.AllowDebt || seen[player] {
			return nil, fmt.Errorf("%w: a batch moves each player's wallet once, to or from system accounts", ErrInvalidTransfer)
		}
		seen[player] = true
		keys[i], hashes[i], sources[i], currencies[i], amounts[i], memos[i] = t.Key, t.hash(), t.Source, t.Currency, t.Amount, t.Memo
		froms[i], tos[i], players[i] = string(t.From), string(t.To), player
	}
	if credits != 0 && credits != n {
		return nil, fmt.Errorf("%w: a batch is all debits or all credits", ErrInvalidTransfer)
	}
	var rows []batchRow
	var err error
	if credits == 0 {
		err = l.stmts.TxSelect(ctx, tx, &rows, postBatchSQL, keys, hashes, sources, currencies, amounts, memos, froms, tos)
	} else {
		err = l.stmts.TxSelect(ctx, tx, &rows, creditBatchSQL, keys, hashes, sources, currencies, amounts, memos, froms, tos, players)
	}
	switch {
	case db.IsConstraint(err, "ledger_entries_refused") || db.IsUniqueViolation(err) || db.IsForeignKeyViolation(err):
		return nil, fmt.Errorf("%w: %v", ErrBatchRefused, err)
	case err != nil:
		return nil, fmt.Errorf("post batch: %w", err)
	case len(rows) != n:
		return nil, fmt.Errorf("post batch: %d transfers written for %d", len(rows), n)
	}
	out := make(map[string]Receipt, n)
	for _, r := range rows {
		out[r.Key] = Receipt{TransferID: r.TransferID, At: r.At, FromBalance: r.FromBalance.Int64, ToBalance: r.ToBalance.Int64}
	}
	return out, nil
}

// Transfers that arrive together are posted together.
const (
	maxTransferBatch = 100
	transferBatchers = 2
)

// batchable reports whether t may be posted in a batch: one side a
// player's wallet, the other a system account, no debt.
func (t Transfer) batchable() bool {
	_, fromPlayer := t.From.AccountID()
	_, toPlayer := t.To.AccountID()
	return fromPlayer != toPlayer && !t.AllowDebt
}

// writeTransfers posts one batch of Transfer calls and answers each; a
// batch that fails sends each to the one-by-one statement.
func (l *Ledger) writeTransfers(batch []*db.Job[Transfer, Receipt]) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	credits, debits := []Transfer{}, []Transfer{}
	for _, j := range batch {
		if _, ok := j.In.To.AccountID(); ok {
			credits = append(credits, j.In)
		} else {
			debits = append(debits, j.In)
		}
	}
	receipts := map[string]Receipt{}
	err := db.InTx(ctx, l.conn, nil, func(tx *sqlx.Tx) error {
		clear(receipts)
		for _, part := range [][]Transfer{credits, debits} {
			if len(part) == 0 {
				continue
			}
			got, err := l.PostBatch(ctx, tx, part)
			if err != nil {
				return err
			}
			maps.Copy(receipts, got)
		}
		return nil
	})
	for _, j := range batch {
		r, ok := receipts[j.In.Key]
		if err != nil || !ok {
			j.Answer(Receipt{}, db.ErrAlone)
			continue
		}
		j.Answer(r, nil)
	}
}
