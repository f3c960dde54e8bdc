package inventory

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/domain/db"
)

// Entitlement is an item a player holds now.
type Entitlement struct {
	ItemID     string     `db:"item_id" json:"item_id"`
	Quantity   int        `db:"quantity" json:"quantity"`
	AcquiredAt time.Time  `db:"acquired_at" json:"acquired_at"`
	ExpiresAt  *time.Time `db:"expires_at" json:"expires_at,omitempty"`
}

// Page selects part of an inventory: items of one kind (or all), with ids
// after After, at most Limit (1 to 500, default 100).
type Page struct {
	Kind  string
	After string
	Limit int
}

// Reader reads inventories with prepared statements.
type Reader struct {
	stmts *db.Prepared
	cache *fullCache
}

// Reader returns the store's reader; readers of one store share its cache
// of whole inventories.
func (s *Store) Reader() *Reader { return &Reader{stmts: db.NewPrepared(s.conn), cache: s.cache} }

// List returns a page of what a player holds now, by item id; expired items
// are left out at once, before the sweep removes them.
func (r *Reader) List(ctx context.Context, accountID int64, p Page) ([]Entitlement, error) {
	if p.Limit <= 0 || p.Limit > 500 {
		p.Limit = 100
	}
	out := []Entitlement{}
	const q = `SELECT i.item_id, i.quantity, i.acquired_at, i.expires_at FROM inventory_items i
		WHERE i.account_id = $1 AND i.item_id > $2 AND (i.expires_at IS NULL OR i.expires_at > now())
			AND ($3 = '' OR EXISTS (SELECT 1 FROM catalog_items c WHERE c.id = i.item_id AND c.kind = $3))
		ORDER BY i.item_id LIMIT $4`
	if err := r.stmts.Select(ctx, &out, q, accountID, p.After, p.Kind, p.Limit); err != nil {
		return nil, fmt.Errorf("list inventory: %w", err)
	}
	return out, nil
}

// allSQL reads a whole inventory with times as microseconds since the
// epoch: for 10,000 items, decoding timestamps as text is most of the cost.
const allSQL = `SELECT item_id, quantity, (extract(epoch FROM acquired_at) * 1e6)::bigint,
		coalesce((extract(epoch FROM expires_at) * 1e6)::bigint, 0)
	FROM inventory_items WHERE account_id = $1 AND (expires_at IS NULL OR expires_at > now())
	ORDER BY item_id`

// load reads everything a player holds now, by item id, scanning rows by
// hand.
func (r *Reader) load(ctx context.Context, accountID int64) ([]Entitlement, error) {
	stmt, err := r.stmts.Stmt(ctx, allSQL)
	if err != nil {
		return nil, fmt.Errorf("load inventory: %w", err)
	}
	rows, err := stmt.QueryContext(ctx, accountID)
	if err != nil {
		return nil, fmt.Errorf("load inventory: %w", err)
	}
	defer rows.Close()
	out := make([]Entitlement, 0, 64)
	for rows.Next() {
		var e Entitlement
		var acquired, expires int64
		if err := rows.Scan(&e.ItemID, &e.Quantity, &acquired, &expires); err != nil {
			return nil, fmt.Errorf("load inventory: %w", err)
		}
		e.AcquiredAt = time.UnixMicro(acquired).UTC()
		if expires != 0 {
			t := time.UnixMicro(expires).UTC()
			e.ExpiresAt = &t
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load inventory: %w", err)
	}
	return out, nil
}

// Record is a journal line of a player's inventory.
type Record struct {
	OpID   int64     `db:"op_id" json:"operation_id"`
	At     time.Time `db:"at" json:"at"`
	Kind   string    `db:"kind" json:"kind"`
	Source string    `db:"source" json:"source"`
	Memo   string    `db:"memo" json:"memo"`
	Change
}

// History returns a player's inventory journal, newest first, from
// operations older than before (0: the newest), at most limit (1 to 200).
func (r *Reader) History(ctx context.Context, accountID, before int64, limit int) ([]Record, error) {
	if limit <= 0 || limit > 200 {
		limit = 200
	}
	if before <= 0 {
		before = 1<<63 - 1
	}
	out := []Record{}
	const q = `SELECT c.op_id, o.at, o.kind, o.source, o.memo, c.item_id, c.delta, c.quantity_after, c.expires_after,
			c.converted_currency, c.converted_amount
		FROM inventory_changes c JOIN inventory_ops o ON o.id = c.op_id
		WHERE c.account_id = $1 AND c.op_id < $2 ORDER BY c.op_id DESC, c.item_id LIMIT $3`
	if err := r.stmts.Select(ctx, &out, q, accountID, before, limit); err != nil {
		return nil, fmt.Errorf("load inventory history: %w", err)
	}
	return out, nil
}

// sweepSQL deletes up to $1 expired rows and journals each as an operation
// of its own, keyed by the row and its expiry, so a sweep that runs twice
// or on two workers removes each row once.
const sweepSQL = `
WITH gone AS (
	DELETE FROM inventory_items WHERE (account_id, item_id) IN (
		SELECT account_id, item_id FROM inventory_items WHERE expires_at <= now()
		ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED)
	RETURNING account_id, item_id, quantity, expires_at
), keyed AS (
	SELECT g.*, format('expire:%s:%s:%s', g.account_id, g.item_id, (extract(epoch FROM g.expires_at) * 1e6)::bigint) AS idem_key FROM gone g
), ops AS (
	INSERT INTO inventory_ops (idem_key, request_hash, account_id, kind, source)
	SELECT idem_key, '\x'::bytea, account_id, 'expire', 'expire' FROM keyed
	ON CONFLICT (idem_key) DO NOTHING
	RETURNING id, idem_key
)
INSERT INTO inventory_changes (op_id, account_id, item_id, delta, quantity_after, expires_after)
SELECT o.id, k.account_id, k.item_id, -k.quantity, 0, k.expires_at FROM keyed k JOIN ops o USING (idem_key)`

// Sweep removes up to batch expired items and reports how many it removed.
// Readers already leave expired items out; the sweep keeps the table small
// and the journal complete.
func (s *Store) Sweep(ctx context.Context, batch int) (int, error) {
	res, err := s.conn.ExecContext(ctx, sweepSQL, batch)
	if err != nil {
		return 0, fmt.Errorf("sweep expired items: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// HoldsTx reports whether the player holds every line (unexpired), inside
// tx, locking the rows it read until tx ends.
func (s *Store) HoldsTx(ctx context.Context, tx *sqlx.Tx, accountID int64, lines []Line) (bool, error) {
	ids, qty := unzip(lines)
	var n int
	const q = `SELECT count(*) FROM (SELECT 1 FROM inventory_items i
		JOIN unnest($2::text[], $3::bigint[]) AS want (item_id, quantity) ON want.item_id = i.item_id
		WHERE i.account_id = $1 AND i.quantity >= want.quantity AND (i.expires_at IS NULL OR i.expires_at > now())
		FOR UPDATE OF i) held`
	if err := tx.GetContext(ctx, &n, q, accountID, ids, qty); err != nil {
		return false, fmt.Errorf("check holdings: %w", err)
	}
	return n == len(lines), nil
}
