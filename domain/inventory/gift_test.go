package inventory_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/musterhq/muster/domain/catalog"
	"github.com/musterhq/muster/domain/economytest"
	"github.com/musterhq/muster/domain/inventory"
	"github.com/musterhq/muster/domain/ledger"
	"github.com/musterhq/muster/test/testenv"
)

func TestUnclaimedGiftReturnsToSender(t *testing.T) {
	// The gift would wait an hour; the test expires it in the database, so
	// that a slow machine cannot expire it early.
	const ttl = time.Hour
	f := newFixture(t, inventory.Config{GiftTTL: ttl})
	conn := testenv.DB(t)
	ctx := context.Background()
	from, to := economytest.Player(t, conn), economytest.Player(t, conn)
	charm := economytest.Item(t, conn, func(it *catalog.Item) { it.Giftable = true })
	if _, err := f.grant(from, charm.ID, 5); err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	g, err := f.inv.SendGift(ctx, from, to, []inventory.Line{{ItemID: charm.ID, Quantity: 3}}, "gg", "gift-1")
	if err != nil {
		t.Fatal(err)
	}
	if g.ExpiresAt.Before(before.Add(ttl-time.Second)) || g.ExpiresAt.After(time.Now().Add(ttl+time.Second)) {
		t.Fatalf("the gift expires at %s, want GiftTTL (%s) after it was sent", g.ExpiresAt, ttl)
	}
	if again, err := f.inv.SendGift(ctx, from, to, []inventory.Line{{ItemID: charm.ID, Quantity: 3}}, "gg", "gift-1"); err != nil || again.ID != g.ID {
		t.Fatalf("retried send: %+v %v", again, err)
	}
	if got := f.held(from)[charm.ID]; got != 2 {
		t.Fatalf("sender holds %d while the gift is in escrow, want 2", got)
	}
	if n, err := f.inv.ReturnExpiredGifts(ctx, 10); err != nil || n != 0 {
		t.Fatalf("returned %d before the gift expired, %v", n, err)
	}
	if _, err := conn.Exec(`UPDATE gifts SET expires_at = now() WHERE id = $1`, g.ID); err != nil {
		t.Fatal(err)
	}
	if n, err := f.inv.ReturnExpiredGifts(ctx, 10); err != nil || n != 1 {
		t.Fatalf("returned %d, %v; want the expired gift", n, err)
	}
	if got := f.held(from)[charm.ID]; got != 5 {
		t.Errorf("sender holds %d after the return, want 5", got)
	}
	if _, err := f.inv.AcceptGift(ctx, to, g.ID); !errors.Is(err, inventory.ErrGiftClosed) {
		t.Errorf("accepting a returned gift: %v", err)
	}
	if _, ok := f.held(to)[charm.ID]; ok {
		t.Error("the recipient got a returned gift")
	}
}

func TestCraftIsAllOrNothing(t *testing.T) {
	f := newFixture(t, inventory.Config{})
	conn := testenv.DB(t)
	ctx := context.Background()
	p := economytest.Player(t, conn)
	coin := economytest.Currency(t, conn, "soft")
	scrap := economytest.Item(t, conn, nil)
	out := economytest.Item(t, conn, func(it *catalog.Item) { it.MaxStack, it.Kind = 1, "skin" })
	rec, err := catalog.NewStore(conn).SaveRecipe(ctx, catalog.Recipe{ID: economytest.Name("r."), OutputItem: out.ID, OutputQuantity: 1,
		Inputs: []catalog.Ingredient{{ItemID: scrap.ID, Quantity: 10}}, CostCurrency: &coin, CostAmount: 100}, catalog.Edit{Editor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.grant(p, scrap.ID, 25); err != nil {
		t.Fatal(err)
	}
	// Not enough currency: the inputs stay.
	if _, err := f.inv.Craft(ctx, p, rec.ID, "c1"); !errors.Is(err, ledger.ErrInsufficientFunds) {
		t.Fatalf("craft without currency: %v", err)
	}
	if got := f.held(p)[scrap.ID]; got != 25 {
		t.Fatalf("a refused craft consumed inputs: %d left", got)
	}
	if _, err := f.l.Transfer(ctx, ledger.Transfer{Key: economytest.Name("k"), Source: "reward", From: ledger.System(ledger.Rewards), To: ledger.Player(p), Currency: coin, Amount: 250}); err != nil {
		t.Fatal(err)
	}
	r, err := f.inv.Craft(ctx, p, rec.ID, "c2")
	if err != nil || r.Replayed {
		t.Fatalf("craft: %+v %v", r, err)
	}
	if again, err := f.inv.Craft(ctx, p, rec.ID, "c2"); err != nil || !again.Replayed || again.OpID != r.OpID {
		t.Fatalf("retried craft: %+v %v", again, err)
	}
	// The output is unique and owned now: crafting it again is refused whole.
	if _, err := f.inv.Craft(ctx, p, rec.ID, "c3"); !errors.Is(err, inventory.ErrAlreadyOwned) {
		t.Fatalf("crafting an owned unique item: %v", err)
	}
	held := f.held(p)
	bs, _ := f.l.Balances(ctx, p)
	if held[scrap.ID] != 15 || held[out.ID] != 1 || len(bs) != 1 || bs[0].Balance != 150 {
		t.Errorf("after one craft: %v, %v; want 15 scrap, the output and 150 coins", held, bs)
	}
	if _, err := ledger.Verify(ctx, conn); err != nil {
		t.Fatal(err)
	}
}
