package inventory

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"
)

// Whole inventories of players who hold many items are kept decoded in
// process, because decoding 10,000 rows costs far more than PostgreSQL
// takes to find them. Every read first asks PostgreSQL for the player's
// inventory version, the newest operation id and the number of
// operations, and uses the cached copy only when that is unchanged. Every
// change to an inventory is an operation and operations are never
// deleted, so an unchanged version means an unchanged inventory (the
// count also catches an operation with a lower id committing late). When
// the version moved on and every new operation has a higher id than the
// cached version's, only the items those operations touched are read again
// and patched in; anything else reloads the whole inventory. Items that
// expired since are left out at read time, as the query would. Each
// process keeps its own cache and starts from the player's snapshot in
// PostgreSQL (shared.go); all of them check the version on every read.

// cacheMinItems is the smallest inventory worth caching.
const cacheMinItems = 500

// cacheMaxItems bounds the entitlements cached in one process (about 100
// bytes each).
const cacheMaxItems = 500_000

type version struct {
	MaxOp int64 `db:"max_op"`
	Ops   int64 `db:"ops"`
}

type cached struct {
	v     version
	items []Entitlement
}

type fullCache struct {
	mu      sync.Mutex
	players map[int64]cached
	size    int
}

func newFullCache() *fullCache { return &fullCache{players: map[int64]cached{}} }

// get returns a player's cached inventory and the version it is of.
func (c *fullCache) get(id int64) (cached, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.players[id]
	return e, ok
}

func (c *fullCache) put(id int64, v version, items []Entitlement) {
	if len(items) < cacheMinItems || len(items) > cacheMaxItems/4 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.players[id]; ok {
		c.size -= len(old.items)
	}
	for other, e := range c.players { // evict arbitrary players until it fits
		if c.size+len(items) <= cacheMaxItems {
			break
		}
		delete(c.players, other)
		c.size -= len(e.items)
	}
	c.players[id] = cached{v: v, items: items}
	c.size += len(items)
}

const versionSQL = `SELECT coalesce(max(id), 0) AS max_op, count(*) AS ops FROM inventory_ops WHERE account_id = $1`

// All returns everything a player holds now, by item id. It is the login
// path of clients that load the whole inventory. The result is shared with
// later calls: callers must not modify it.
func (r *Reader) All(ctx context.Context, accountID int64) ([]Entitlement, error) {
	var v version
	if err := r.stmts.Get(ctx, &v, versionSQL, accountID); err != nil {
		return nil, fmt.Errorf("load inventory version: %w", err)
	}
	c, ok := r.cache.get(accountID)
	if ok && c.v == v {
		return unexpired(c.items, time.Now()), nil
	}
	fromSnapshot := false
	if !ok {
		if c, ok = r.snapshot(ctx, accountID); ok {
			fromSnapshot = true
			if c.v == v {
				r.cache.put(accountID, v, c.items)
				return unexpired(c.items, time.Now()), nil
			}
		}
	}
	var items []Entitlement
	if ok && v.MaxOp > c.v.MaxOp && v.Ops > c.v.Ops {
		patched, complete, err := r.patch(ctx, accountID, c, v.Ops-c.v.Ops)
		if err != nil {
			return nil, err
		}
		if complete {
			items = patched
		}
	}
	switch {
	case items == nil:
		var err error
		if items, err = r.load(ctx, accountID); err != nil {
			return nil, err
		}
		r.keepSnapshot(accountID, v, items)
	case fromSnapshot && v.Ops-c.v.Ops >= snapshotLag:
		r.keepSnapshot(accountID, v, items)
	}
	r.cache.put(accountID, v, items)
	return unexpired(items, time.Now()), nil
}

// deltaSQL reads the current rows of the items that operations newer than
// $2 touched (NULL quantity: no longer held), and how many such operations
// there are, in at least one row.
const deltaSQL = `WITH newops AS (
	SELECT id FROM inventory_ops WHERE account_id = $1 AND id > $2
), touched AS (
	SELECT DISTINCT c.item_id FROM inventory_changes c WHERE c.op_id IN (SELECT id FROM newops)
)
SELECT n.ops, t.item_id, i.quantity, (extract(epoch FROM i.acquired_at) * 1e6)::bigint,
	coalesce((extract(epoch FROM i.expires_at) * 1e6)::bigint, 0)
FROM (SELECT count(*) AS ops FROM newops) n
LEFT JOIN touched t ON true
LEFT JOIN inventory_items i ON i.account_id = $1 AND i.item_id = t.item_id
ORDER BY t.item_id`

// patch applies the items touched since the cached version to a copy of
// the cached inventory. complete is false when the operations newer than
// the cached version are not all the new operations (one with a lower id
// committed late): then only a whole reload is right.
func (r *Reader) patch(ctx context.Context, accountID int64, c cached, newOps int64) (items []Entitlement, complete bool, err error) {
	stmt, err := r.stmts.Stmt(ctx, deltaSQL)
	if err != nil {
		return nil, false, fmt.Errorf("load inventory changes: %w", err)
	}
	rows, err := stmt.QueryContext(ctx, accountID, c.v.MaxOp)
	if err != nil {
		return nil, false, fmt.Errorf("load inventory changes: %w", err)
	}
	defer rows.Close()
	var ops int64
	var touched []string
	now := map[string]*Entitlement{} // nil: no longer held
	for rows.Next() {
		var id sql.NullString
		var qty, acquired, expires sql.NullInt64
		if err := rows.Scan(&ops, &id, &qty, &acquired, &expires); err != nil {
			return nil, false, fmt.Errorf("load inventory changes: %w", err)
		}
		if !id.Valid {
			continue
		}
		touched = append(touched, id.String)
		now[id.String] = nil
		if qty.Valid {
			e := Entitlement{ItemID: id.String, Quantity: int(qty.Int64), AcquiredAt: time.UnixMicro(acquired.Int64).UTC()}
			if expires.Int64 != 0 {
				t := time.UnixMicro(expires.Int64).UTC()
				e.ExpiresAt = &t
			}
			now[id.String] = &e
		}
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("load inventory changes: %w", err)
	}
	if ops != newOps {
		return nil, false, nil
	}
	// Merge the cached list and the touched ids, both sorted by item id.
	out := make([]Entitlement, 0, len(c.items)+len(touched))
	i := 0
	for _, id := range touched {
		for i < len(c.items) && c.items[i].ItemID < id {
			out = append(out, c.items[i])
			i++
		}
		if i < len(c.items) && c.items[i].ItemID == id {
			i++ // replaced below, or gone
		}
		if e := now[id]; e != nil {
			out = append(out, *e)
		}
	}
	return append(out, c.items[i:]...), true, nil
}

// unexpired returns items without those expired by now, sharing items when
// none has.
func unexpired(items []Entitlement, now time.Time) []Entitlement {
	for i, e := range items {
		if e.ExpiresAt != nil && !e.ExpiresAt.After(now) {
			out := append(make([]Entitlement, 0, len(items)-1), items[:i]...)
			for _, e := range items[i+1:] {
				if e.ExpiresAt == nil || e.ExpiresAt.After(now) {
					out = append(out, e)
				}
			}
			return out
		}
	}
	return items
}
