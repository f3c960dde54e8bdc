package inventory

import (
	"context"
	"encoding/binary"
	"errors"
	"time"
)

// A process that has not read a big inventory yet (just started, or it
// evicted it) starts from the player's snapshot in PostgreSQL
// (inventory_snapshots): the encoded items with the version they are of. A
// snapshot of the current version is used as it is; an older one is patched
// like the process's own cache; anything else reads every row. Snapshots
// are written in the background, best effort, after a process read every
// row or patched a snapshot that had fallen snapshotLag operations behind:
// a missing or old snapshot only costs a slower read, never a wrong one.

// snapshotLag is how many operations a snapshot may fall behind before a
// reader that patched it writes a new one.
const snapshotLag = 50

// errBadCopy means a snapshot does not decode.
var errBadCopy = errors.New("inventory copy does not decode")

// encodeCopy writes a version and its items compactly: the version, the
// count, then per item its id, quantity, acquired and expiry times (micro-
// seconds since the epoch, 0 for none), as varints and length-prefixed ids.
func encodeCopy(v version, items []Entitlement) []byte {
	b := make([]byte, 0, 16+len(items)*32)
	b = binary.AppendVarint(b, v.MaxOp)
	b = binary.AppendVarint(b, v.Ops)
	b = binary.AppendUvarint(b, uint64(len(items)))
	for _, e := range items {
		b = binary.AppendUvarint(b, uint64(len(e.ItemID)))
		b = append(b, e.ItemID...)
		b = binary.AppendVarint(b, int64(e.Quantity))
		b = binary.AppendVarint(b, e.AcquiredAt.UnixMicro())
		var exp int64
		if e.ExpiresAt != nil {
			exp = e.ExpiresAt.UnixMicro()
		}
		b = binary.AppendVarint(b, exp)
	}
	return b
}

// decodeCopy reads what encodeCopy wrote. The item ids share one string.
func decodeCopy(b []byte) (version, []Entitlement, error) {
	s := string(b)
	pos := 0
	next := func() (int64, bool) {
		n, k := binary.Varint(b[pos:])
		pos += k
		return n, k > 0
	}
	var v version
	var ok1, ok2 bool
	v.MaxOp, ok1 = next()
	v.Ops, ok2 = next()
	count, k := binary.Uvarint(b[pos:])
	pos += k
	if !ok1 || !ok2 || k <= 0 || count > cacheMaxItems {
		return v, nil, errBadCopy
	}
	items := make([]Entitlement, count)
	for i := range items {
		n, k := binary.Uvarint(b[pos:])
		pos += k
		if k <= 0 || pos+int(n) > len(b) {
			return v, nil, errBadCopy
		}
		items[i].ItemID = s[pos : pos+int(n)]
		pos += int(n)
		qty, ok1 := next()
		acquired, ok2 := next()
		expires, ok3 := next()
		if !ok1 || !ok2 || !ok3 {
			return v, nil, errBadCopy
		}
		items[i].Quantity = int(qty)
		items[i].AcquiredAt = time.UnixMicro(acquired).UTC()
		if expires != 0 {
			t := time.UnixMicro(expires).UTC()
			items[i].ExpiresAt = &t
		}
	}
	if pos != len(b) {
		return v, nil, errBadCopy
	}
	return v, items, nil
}

// snapshot reads the player's snapshot, if any.
func (r *Reader) snapshot(ctx context.Context, accountID int64) (cached, bool) {
	var row struct {
		MaxOp int64  `db:"max_op"`
		Ops   int64  `db:"ops"`
		Items []byte `db:"items"`
	}
	err := r.stmts.Get(ctx, &row, `SELECT max_op, ops, items FROM inventory_snapshots WHERE account_id = $1`, accountID)
	if err != nil {
		return cached{}, false
	}
	v, items, err := decodeCopy(row.Items)
	if err != nil || v != (version{MaxOp: row.MaxOp, Ops: row.Ops}) {
		return cached{}, false
	}
	return cached{v: v, items: items}, true
}

// keepSnapshot writes the player's snapshot in the background, unless a
// newer one is there.
func (r *Reader) keepSnapshot(accountID int64, v version, items []Entitlement) {
	if len(items) < cacheMinItems {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		const q = `INSERT INTO inventory_snapshots AS s (account_id, max_op, ops, items) VALUES ($1, $2, $3, $4)
			ON CONFLICT (account_id) DO UPDATE SET max_op = EXCLUDED.max_op, ops = EXCLUDED.ops, items = EXCLUDED.items,
				written_at = now()
			WHERE s.ops < EXCLUDED.ops`
		if stmt, err := r.stmts.Stmt(ctx, q); err == nil {
			_, _ = stmt.ExecContext(ctx, accountID, v.MaxOp, v.Ops, encodeCopy(v, items))
		}
	}()
}
