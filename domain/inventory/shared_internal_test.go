package inventory

import (
	"testing"
	"time"
)

func TestSharedCopyRoundTripsAndRefusesDamage(t *testing.T) {
	exp := time.UnixMicro(1_800_000_000_123_456).UTC()
	items := []Entitlement{
		{ItemID: "a.item", Quantity: 3, AcquiredAt: time.UnixMicro(1_700_000_000_000_001).UTC()},
		{ItemID: "b.boost", Quantity: 1, AcquiredAt: time.UnixMicro(1_700_000_000_000_002).UTC(), ExpiresAt: &exp},
	}
	b := encodeCopy(version{MaxOp: 42, Ops: 7}, items)
	v, got, err := decodeCopy(b)
	if err != nil || v != (version{MaxOp: 42, Ops: 7}) || len(got) != 2 {
		t.Fatalf("decode = %v %d items, %v", v, len(got), err)
	}
	for i := range items {
		g, w := got[i], items[i]
		if g.ItemID != w.ItemID || g.Quantity != w.Quantity || !g.AcquiredAt.Equal(w.AcquiredAt) || (g.ExpiresAt == nil) != (w.ExpiresAt == nil) ||
			(g.ExpiresAt != nil && !g.ExpiresAt.Equal(*w.ExpiresAt)) {
			t.Fatalf("item %d = %+v, want %+v", i, g, w)
		}
	}
	for _, damaged := range [][]byte{b[:len(b)-1], append(append([]byte{}, b...), 0), b[:3], nil} {
		if _, _, err := decodeCopy(damaged); err == nil {
			t.Fatalf("a damaged copy of %d bytes decoded", len(damaged))
		}
	}
}
