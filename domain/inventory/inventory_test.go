package inventory_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/musterhq/muster/domain/catalog"
	"github.com/musterhq/muster/domain/economytest"
	"github.com/musterhq/muster/domain/inventory"
	"github.com/musterhq/muster/domain/ledger"
	"github.com/musterhq/muster/test/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

type fixture struct {
	t   *testing.T
	inv *inventory.Store
	l   *ledger.Ledger
	r   *inventory.Reader
}

func newFixture(t *testing.T, cfg inventory.Config) fixture {
	conn := testenv.DB(t)
	l := ledger.New(conn)
	inv := inventory.NewStore(conn, l, cfg)
	return fixture{t: t, inv: inv, l: l, r: inv.Reader()}
}

func (f fixture) held(player int64) map[string]int {
	f.t.Helper()
	all, err := f.r.All(context.Background(), player)
	if err != nil {
		f.t.Fatal(err)
	}
	out := map[string]int{}
	for _, e := range all {
		out[e.ItemID] = e.Quantity
	}
	return out
}

func (f fixture) grant(player int64, item string, n int) (inventory.Result, error) {
	return f.inv.Grant(context.Background(), inventory.Grant{Key: economytest.Name("g"), AccountID: player, Source: "reward", Items: []inventory.Line{{ItemID: item, Quantity: n}}})
}

func TestGrantAndConsumeFollowStackingRules(t *testing.T) {
	f := newFixture(t, inventory.Config{})
	conn := testenv.DB(t)
	p := economytest.Player(t, conn)
	stack := economytest.Item(t, conn, func(it *catalog.Item) { it.MaxStack = 10 })
	unique := economytest.Item(t, conn, func(it *catalog.Item) { it.MaxStack = 1; it.Kind = "skin" })
	coin := economytest.Currency(t, conn, "soft")
	convertible := economytest.Item(t, conn, func(it *catalog.Item) {
		it.MaxStack, it.Kind, it.DisenchantCurrency, it.DisenchantYield = 1, "skin", &coin, 25
	})
	retired := economytest.Item(t, conn, func(it *catalog.Item) { it.Retired = true })

	if _, err := f.grant(p, stack.ID, 4); err != nil {
		t.Fatal(err)
	}
	if _, err := f.grant(p, stack.ID, 6); err != nil {
		t.Fatal(err)
	}
	if _, err := f.grant(p, stack.ID, 1); !errors.Is(err, inventory.ErrStackFull) {
		t.Errorf("11th of a stack of 10: %v", err)
	}
	if _, err := f.grant(p, unique.ID, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := f.grant(p, unique.ID, 1); !errors.Is(err, inventory.ErrAlreadyOwned) {
		t.Errorf("duplicate unique without a yield: %v", err)
	}
	if _, err := f.grant(p, convertible.ID, 1); err != nil {
		t.Fatal(err)
	}
	r, err := f.grant(p, convertible.ID, 1)
	if err != nil || len(r.Changes) != 1 || r.Changes[0].ConvertedAmount != 25 {
		t.Fatalf("duplicate unique with a yield: %+v %v", r, err)
	}
	if _, err := f.grant(p, retired.ID, 1); !errors.Is(err, inventory.ErrUnknownItem) {
		t.Errorf("retired item: %v", err)
	}
	if _, err := f.grant(p, "no.such.item", 1); !errors.Is(err, inventory.ErrUnknownItem) {
		t.Errorf("unknown item: %v", err)
	}
	// A bundle is all or nothing.
	_, err = f.inv.Grant(context.Background(), inventory.Grant{Key: economytest.Name("b"), AccountID: p, Source: "purchase",
		Items: []inventory.Line{{ItemID: stack.ID, Quantity: 0 + 1}, {ItemID: unique.ID, Quantity: 1}}, Duplicates: inventory.DuplicatesRefuse})
	if err == nil {
		t.Fatal("a bundle with a full stack was granted")
	}
	want := map[string]int{stack.ID: 10, unique.ID: 1, convertible.ID: 1}
	if got := f.held(p); !equal(got, want) {
		t.Errorf("inventory %v, want %v", got, want)
	}
	bs, _ := f.l.Balances(context.Background(), p)
	if len(bs) != 1 || bs[0].Balance != 25 {
		t.Errorf("balances %v, want 25 %s", bs, coin)
	}

	c := inventory.Consume{Key: economytest.Name("c"), AccountID: p, Source: "reward", Items: []inventory.Line{{ItemID: stack.ID, Quantity: 11}}}
	if _, err := f.inv.Consume(context.Background(), c); !errors.Is(err, inventory.ErrNotEnoughItems) {
		t.Errorf("consume more than held: %v", err)
	}
	c.Key, c.Items[0].Quantity = economytest.Name("c"), 10
	if _, err := f.inv.Consume(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.held(p)[stack.ID]; ok {
		t.Error("an emptied stack is still listed")
	}
	if _, err := ledger.Verify(context.Background(), conn); err != nil {
		t.Fatal(err)
	}
}

func TestRetriedGrantLandsOnce(t *testing.T) {
	f := newFixture(t, inventory.Config{})
	conn := testenv.DB(t)
	p := economytest.Player(t, conn)
	item := economytest.Item(t, conn, nil)
	g := inventory.Grant{Key: economytest.Name("retry"), AccountID: p, Source: "purchase", Items: []inventory.Line{{ItemID: item.ID, Quantity: 3}}}
	var wg sync.WaitGroup
	results := make([]inventory.Result, 10)
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := f.inv.Grant(context.Background(), g)
			if err != nil {
				t.Error(err)
			}
			results[i] = r
		}()
	}
	wg.Wait()
	fresh := 0
	for _, r := range results {
		if !r.Replayed {
			fresh++
		}
		if r.OpID != results[0].OpID || len(r.Changes) != 1 || r.Changes[0].Quantity != 3 {
			t.Errorf("result %+v differs from %+v", r, results[0])
		}
	}
	if fresh != 1 {
		t.Errorf("%d grants were not replays, want 1", fresh)
	}
	if got := f.held(p)[item.ID]; got != 3 {
		t.Errorf("holds %d, want 3", got)
	}
	g.Items[0].Quantity = 4
	if _, err := f.inv.Grant(context.Background(), g); !errors.Is(err, inventory.ErrKeyReused) {
		t.Errorf("same key, other grant: %v", err)
	}
}

func TestExpiryAtTheSecond(t *testing.T) {
	f := newFixture(t, inventory.Config{})
	conn := testenv.DB(t)
	p := economytest.Player(t, conn)
	// Long enough that the boost cannot lapse between the grant and the
	// first read on a loaded machine.
	const lifetime = 5 * time.Second
	secs := int(lifetime / time.Second)
	boost := economytest.Item(t, conn, func(it *catalog.Item) { it.Kind, it.LifetimeSeconds, it.MaxStack = "boost", &secs, 5 })
	before := time.Now()
	if _, err := f.grant(p, boost.ID, 1); err != nil {
		t.Fatal(err)
	}
	after := time.Now()
	all, _ := f.r.All(context.Background(), p)
	if len(all) != 1 || all[0].ExpiresAt == nil {
		t.Fatalf("inventory %+v, want one expiring boost", all)
	}
	deadline := *all[0].ExpiresAt
	if deadline.Before(before.Add(lifetime-10*time.Millisecond)) || deadline.After(after.Add(lifetime+10*time.Millisecond)) {
		t.Fatalf("the boost expires at %s, want %s after its grant (between %s and %s)", deadline, lifetime, before, after)
	}
	// Read the inventory again and again across the deadline: a read that
	// ended before it lists the boost, one that began after it does not.
	// Reads that straddle it may go either way, so a slow machine makes
	// fewer reads count, never a wrong one.
	time.Sleep(time.Until(deadline.Add(-time.Second)))
	var early, late int
	for late == 0 {
		began := time.Now()
		_, ok := f.held(p)[boost.ID]
		ended := time.Now()
		switch {
		case ended.Before(deadline):
			early++
			if !ok {
				t.Fatalf("the boost vanished %s before its time", deadline.Sub(ended))
			}
		case began.After(deadline):
			late++
			if ok {
				t.Fatalf("the boost is listed %s after it expired", began.Sub(deadline))
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("%d reads in the last second before the deadline", early)
	n, err := f.inv.Sweep(context.Background(), 100)
	if err != nil || n < 1 {
		t.Fatalf("sweep removed %d, %v", n, err)
	}
	h, _ := f.r.History(context.Background(), p, 0, 10)
	if len(h) != 2 || h[0].Kind != "expire" || h[0].Delta != -1 {
		t.Errorf("history %+v, want the expiry on top of the grant", h)
	}
}

func equal(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
