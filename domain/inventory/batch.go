package inventory

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/musterhq/muster/domain/db"
)

// ErrBatchRefused means a batch could not be applied as a whole: a key was
// used before, or an item was unknown or did not fit. Nothing of the batch
// is written (the caller's transaction must roll back); grant each on its
// own to learn which and why.
var ErrBatchRefused = errors.New("the batch was refused as a whole")

// grantBatchSQL grants many players their items in one statement, each
// under an operation of its own: $1..$5 are the operations (key, hash,
// account, source, memo), $6..$8 the items (account, item, quantity). An
// item that does not fit is journaled with quantity -1, which the
// inventory_changes_refused constraint rejects (so does an unknown or
// retired item); a reused key violates the operation's unique key.
var grantBatchSQL = `WITH req AS (
	SELECT * FROM unnest($6::bigint[], $7::text[], $8::int[]) AS r (account_id, item_id, qty)
), op AS (
	INSERT INTO inventory_ops (idem_key, request_hash, account_id, kind, source, memo)
	SELECT * FROM unnest($1::text[], $2::bytea[], $3::bigint[], $9::text[], $4::text[], $5::text[])
	RETURNING id, account_id
), ` + fmt.Sprintf(grantCTE, "coalesce(u.quantity, -1)", "LEFT JOIN") + `
SELECT op.account_id, op.id AS op_id, r.item_id, r.qty AS delta, u.quantity AS quantity_after, u.expires_at AS expires_after
FROM op JOIN req r ON r.account_id = op.account_id LEFT JOIN up u ON u.account_id = r.account_id AND u.item_id = r.item_id`

// GrantBatchTx gives each grant of gs inside tx in one statement, for use
// cases that batch many players' operations (the store's purchases, Grant
// calls that arrive together). Each grant must be to a different player,
// with a key never used, and every item must fit as it is: otherwise the
// whole batch fails with ErrBatchRefused, the caller rolls tx back, and
// each grant's Duplicates policy applies when it is granted on its own. It
// returns each grant's result by player.
func (s *Store) GrantBatchTx(ctx context.Context, tx *sqlx.Tx, gs []Grant) (map[int64]Result, error) {
	// In player order, so that batches touching the same players lock their
	// rows in the same order.
	gs = slices.Clone(gs)
	slices.SortFunc(gs, func(a, b Grant) int { return cmp.Compare(a.AccountID, b.AccountID) })
	n := len(gs)
	keys, accounts := make(pq.StringArray, n), make(pq.Int64Array, n)
	hashes, sources, memos, kinds := make(pq.ByteaArray, n), make(pq.StringArray, n), make(pq.StringArray, n), make(pq.StringArray, n)
	var lineAccounts pq.Int64Array
	var lineItems pq.StringArray
	var lineQty pq.Int64Array
	seen := make(map[int64]bool, n)
	for i, g := range gs {
		if err := checkOp(g.Key, g.Source, g.AccountID, g.Memo); err != nil {
			return nil, err
		}
		if err := checkLines(g.Items); err != nil {
			return nil, err
		}
		if seen[g.AccountID] {
			return nil, fmt.Errorf("%w: one grant per player", ErrInvalid)
		}
		seen[g.AccountID] = true
		keys[i], accounts[i], sources[i], memos[i], kinds[i] = g.Key, g.AccountID, g.Source, g.Memo, "grant"
		hashes[i] = opHash("grant", g.AccountID, g.Source, g.Memo, g.Items, fmt.Sprint(g.Duplicates))
		for _, l := range g.Items {
			lineAccounts = append(lineAccounts, g.AccountID)
			lineItems = append(lineItems, l.ItemID)
			lineQty = append(lineQty, int64(l.Quantity))
		}
	}
	var rows []struct {
		AccountID int64 `db:"account_id"`
		OpID      int64 `db:"op_id"`
		Change
	}
	err := s.stmts.TxSelect(ctx, tx, &rows, grantBatchSQL, keys, hashes, accounts, sources, memos, lineAccounts, lineItems, lineQty, kinds)
	switch {
	case db.IsConstraint(err, "inventory_changes_refused") || db.IsUniqueViolation(err) || db.IsForeignKeyViolation(err):
		return nil, fmt.Errorf("%w: %v", ErrBatchRefused, err)
	case err != nil:
		return nil, fmt.Errorf("grant batch: %w", err)
	case len(rows) != len(lineItems):
		return nil, fmt.Errorf("grant batch: %d items granted for %d", len(rows), len(lineItems))
	}
	out := make(map[int64]Result, n)
	for _, r := range rows {
		res := out[r.AccountID]
		res.OpID = r.OpID
		res.Changes = append(res.Changes, r.Change)
		out[r.AccountID] = res
	}
	return out, nil
}

// Grants that arrive together are written together.
const (
	maxGrantBatch = 100
	grantBatchers = 2
)

// writeGrants writes one batch of Grant calls and answers each; a batch
// that fails sends each to the one-by-one path.
func (s *Store) writeGrants(batch []*db.Job[Grant, Result]) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	gs := make([]Grant, len(batch))
	for i, j := range batch {
		gs[i] = j.In
	}
	var results map[int64]Result
	err := db.InTx(ctx, s.conn, nil, func(tx *sqlx.Tx) (err error) {
		results, err = s.GrantBatchTx(ctx, tx, gs)
		return err
	})
	for _, j := range batch {
		r, ok := results[j.In.AccountID]
		if err != nil || !ok {
			j.Answer(Result{}, db.ErrAlone)
			continue
		}
		j.Answer(r, nil)
	}
}
