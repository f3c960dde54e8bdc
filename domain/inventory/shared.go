package inventory

import (
	"context"
	"encoding/binary"
	"errors"
	"strconv"
	"time"
)

// A process that has not read a big inventory yet (just started, or it
// evicted it) first looks for a copy another process left in the shared
// state (Redis), kept for sharedTTL under the player's key with the version
// it is of. A copy of the current version is used as it is; an older one is
// patched like the process's own; anything else reads PostgreSQL. Copies
// are written after a process read or patched a big inventory, in the
// background and best effort: a missing or stale copy only costs a read.

// sharedTTL is how long a shared copy is kept after it was last written.
const sharedTTL = 24 * time.Hour

func sharedKey(accountID int64) string { return "inventory:full:" + strconv.FormatInt(accountID, 10) }

// errBadCopy means a shared copy does not decode.
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

// sharedCopy reads the shared copy of a player's inventory, if any.
func (r *Reader) sharedCopy(ctx context.Context, accountID int64) (cached, bool) {
	if r.shared == nil {
		return cached{}, false
	}
	b, err := r.shared.Get(ctx, sharedKey(accountID))
	if err != nil {
		return cached{}, false
	}
	v, items, err := decodeCopy(b)
	if err != nil {
		return cached{}, false
	}
	return cached{v: v, items: items}, true
}

// share writes a copy of a player's inventory for other processes, in the
// background.
func (r *Reader) share(accountID int64, v version, items []Entitlement) {
	if r.shared == nil || len(items) < cacheMinItems {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = r.shared.Set(ctx, sharedKey(accountID), encodeCopy(v, items), sharedTTL)
	}()
}
