package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/musterhq/muster/domain/catalog"
	"github.com/musterhq/muster/domain/economytest"
	"github.com/musterhq/muster/domain/inventory"
	"github.com/musterhq/muster/domain/ledger"
	"github.com/musterhq/muster/domain/store"
	"github.com/musterhq/muster/domain/storetest"
	"github.com/musterhq/muster/test/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func held(t *testing.T, f *storetest.Fixture, accountID int64, itemID string) int {
	t.Helper()
	items, err := f.Inventory.Reader().All(context.Background(), accountID)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if it.ItemID == itemID {
			return it.Quantity
		}
	}
	return 0
}

func TestBuyDebitsGrantsAndRecordsOnce(t *testing.T) {
	ctx := context.Background()
	f := storetest.New(t, testenv.DB(t), store.PolicyDebt)
	player := economytest.Player(t, f.Conn)
	f.Fund(t, player, 500)

	o, err := f.Store.Buy(ctx, player, f.Bundle.ID, "k1", "DE")
	if err != nil {
		t.Fatal(err)
	}
	if o.Status != store.StatusCompleted || o.PriceAmount != 150 || o.Replayed {
		t.Fatalf("order = %+v", o)
	}
	if b := f.Balance(t, player, f.Soft); b != 350 {
		t.Fatalf("balance = %d, want 350", b)
	}
	if held(t, f, player, f.Sword.ID) != 1 || held(t, f, player, f.Charm.ID) != 3 {
		t.Fatal("bundle items not granted")
	}
	again, err := f.Store.Buy(ctx, player, f.Bundle.ID, "k1", "DE")
	if err != nil || !again.Replayed || again.PublicID != o.PublicID {
		t.Fatalf("retry = %+v, %v", again, err)
	}
	if b := f.Balance(t, player, f.Soft); b != 350 {
		t.Fatalf("balance after retry = %d", b)
	}
	if _, err := f.Store.Buy(ctx, player, f.CharmOne.ID, "k1", "DE"); !errors.Is(err, store.ErrKeyReused) {
		t.Fatalf("same key, other product: %v", err)
	}
	// The sword is unique: buying it again is refused and charges nothing.
	if _, err := f.Store.Buy(ctx, player, f.Offer.ID, "k2", "DE"); !errors.Is(err, inventory.ErrAlreadyOwned) {
		t.Fatalf("owned unique item: %v", err)
	}
	if b := f.Balance(t, player, f.Soft); b != 350 {
		t.Fatalf("balance after refused purchase = %d", b)
	}
	orders, err := f.Store.Orders(ctx, player, 0, 10)
	if err != nil || len(orders) != 1 {
		t.Fatalf("orders = %d, %v", len(orders), err)
	}
	f.Verify(t)
}

func TestBuyRefusesWithoutFundsAndOutsideSchedule(t *testing.T) {
	ctx := context.Background()
	f := storetest.New(t, testenv.DB(t), store.PolicyDebt)
	player := economytest.Player(t, f.Conn)
	f.Fund(t, player, 20)
	if _, err := f.Store.Buy(ctx, player, f.CharmOne.ID, "poor", ""); !errors.Is(err, ledger.ErrInsufficientFunds) {
		t.Fatalf("without funds: %v", err)
	}
	if n := held(t, f, player, f.Charm.ID); n != 0 {
		t.Fatalf("granted %d charms without payment", n)
	}
	f.Fund(t, player, 1000)
	if _, err := f.Store.Buy(ctx, player, f.CharmOne.ID, "poor", ""); err != nil {
		t.Fatalf("the same key works once the player can pay: %v", err)
	}

	// A schedule is checked when buying, not only when listing.
	p := f.CharmOne
	ended := time.Now().Add(-time.Minute)
	started := ended.Add(-time.Hour)
	p.StartsAt, p.EndsAt = &started, &ended
	if _, err := f.Store.SaveProduct(ctx, p, catalog.Edit{Expected: p.Version, Editor: "test"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Store.Buy(ctx, player, p.ID, "late", ""); !errors.Is(err, store.ErrNotOnSale) {
		t.Fatalf("ended offer: %v", err)
	}
	if _, err := f.Store.Buy(ctx, player, "no.such.offer", "x", ""); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown offer: %v", err)
	}
	if _, err := f.Store.Buy(ctx, player, f.Pack.ID, "x", ""); !errors.Is(err, store.ErrWrongKind) {
		t.Fatalf("a pack bought with currency: %v", err)
	}
}

func TestPurchaseLimitHoldsUnderConcurrency(t *testing.T) {
	ctx := context.Background()
	f := storetest.New(t, testenv.DB(t), store.PolicyDebt)
	p := f.CharmOne
	p.PurchaseLimit = 2
	p, err := f.Store.SaveProduct(ctx, p, catalog.Edit{Expected: p.Version, Editor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	player := economytest.Player(t, f.Conn)
	f.Fund(t, player, 10_000)
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, limited := 0, 0
	for i := range 10 {
		wg.Go(func() {
			_, err := f.Store.Buy(ctx, player, p.ID, fmt.Sprint("limit-", i), "")
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case errors.Is(err, store.ErrLimitReached):
				limited++
			default:
				t.Errorf("buy: %v", err)
			}
		})
	}
	wg.Wait()
	if ok != 2 || limited != 8 {
		t.Fatalf("ok %d, limited %d; want 2 and 8", ok, limited)
	}
	if n := held(t, f, player, f.Charm.ID); n != 2 {
		t.Fatalf("held %d charms, want 2", n)
	}
	if b := f.Balance(t, player, f.Soft); b != 10_000-60 {
		t.Fatalf("balance %d", b)
	}
	_, list, err := f.Store.Storefront(ctx, player, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range list {
		if l.ID == p.ID {
			t.Fatal("the storefront still lists an offer the player may not buy again")
		}
	}
}

func TestContentRules(t *testing.T) {
	ctx := context.Background()
	f := storetest.New(t, testenv.DB(t), store.PolicyDebt)
	edit := catalog.Edit{Editor: "test"}
	var fe *catalog.FieldError

	// Parts: sword 100 + 3 charms at 30 = 190.
	b := f.Bundle
	b.PriceAmount = 190
	_, err := f.Store.SaveProduct(ctx, b, catalog.Edit{Expected: b.Version, Editor: "test"})
	if !errors.As(err, &fe) || fe.Field != "price_amount" {
		t.Fatalf("bundle at the price of its parts: %v", err)
	}
	if _, err := f.Store.SaveProduct(ctx, b, catalog.Edit{Expected: b.Version + 1, Editor: "test"}); !errors.Is(err, catalog.ErrStaleVersion) {
		t.Fatalf("stale version: %v", err)
	}

	pack := store.Product{ID: economytest.Name("pack"), Kind: store.KindPack, Name: "Gems", GrantCurrency: f.Premium, GrantAmount: 100,
		Prices: []store.Price{{Country: "*", Currency: "usd", Amount: 0}}}
	if _, err := f.Store.SaveProduct(ctx, pack, edit); !errors.As(err, &fe) || fe.Field != "prices" {
		t.Fatalf("zero price: %v", err)
	}
	pack.Prices = []store.Price{{Country: "DE", Currency: "eur", Amount: 99}}
	if _, err := f.Store.SaveProduct(ctx, pack, edit); !errors.As(err, &fe) || fe.Field != "prices" {
		t.Fatalf("no default price: %v", err)
	}

	// Enabling a region needs every pack priced there first.
	err = f.Store.EnableRegion(ctx, store.Region{Country: "JP", Name: "Japan"}, edit)
	if !errors.As(err, &fe) {
		t.Fatalf("region with unpriced packs: %v", err)
	}
	pack.Prices = []store.Price{{Country: "*", Currency: "usd", Amount: 99}, {Country: "DE", Currency: "eur", Amount: 99}, {Country: "JP", Currency: "jpy", Amount: 150}}
	if _, err := f.Store.SaveProduct(ctx, pack, edit); err != nil {
		t.Fatal(err)
	}
	// Every other pack in the database must be priced in JP too.
	products, err := f.Store.Products(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range products {
		if _, ok := p.PriceFor("JP"); p.Kind == store.KindPack && !hasCountry(p, "JP") && ok {
			p.Prices = append(p.Prices, store.Price{Country: "JP", Currency: "jpy", Amount: 1500})
			if _, err := f.Store.SaveProduct(ctx, p, catalog.Edit{Expected: p.Version, Editor: "test"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := f.Store.EnableRegion(ctx, store.Region{Country: "JP", Name: "Japan"}, edit); err != nil {
		t.Fatal(err)
	}
	// Now a pack without a JP price is refused.
	other := store.Product{ID: economytest.Name("pack"), Kind: store.KindPack, Name: "Gems", GrantCurrency: f.Premium, GrantAmount: 100,
		Prices: []store.Price{{Country: "*", Currency: "usd", Amount: 99}}}
	if _, err := f.Store.SaveProduct(ctx, other, edit); !errors.As(err, &fe) || fe.Field != "prices" {
		t.Fatalf("pack without a price for an enabled region: %v", err)
	}
	if err := f.Store.DisableRegion(ctx, "JP", edit); err != nil {
		t.Fatal(err)
	}
	revs, err := f.Catalog.Revisions(ctx, "product", f.Bundle.ID)
	if err != nil || len(revs) != 1 {
		t.Fatalf("revisions = %d, %v", len(revs), err)
	}
}

func hasCountry(p store.Product, country string) bool {
	for _, pr := range p.Prices {
		if pr.Country == country {
			return true
		}
	}
	return false
}

func TestStorefrontPricesByRegion(t *testing.T) {
	ctx := context.Background()
	f := storetest.New(t, testenv.DB(t), store.PolicyDebt)
	if err := f.Store.EnableRegion(ctx, store.Region{Country: "DE", Name: "Germany"}, catalog.Edit{Editor: "test"}); err != nil && !errors.Is(err, catalog.ErrExists) {
		t.Fatal(err)
	}
	player := economytest.Player(t, f.Conn)
	find := func(list []store.Listing, id string) store.Listing {
		for _, l := range list {
			if l.ID == id {
				return l
			}
		}
		t.Fatalf("%s not listed", id)
		return store.Listing{}
	}
	reg, list, err := f.Store.Storefront(ctx, player, "DE")
	if err != nil || reg != "DE" {
		t.Fatalf("region %q, %v", reg, err)
	}
	if l := find(list, f.Pack.ID); l.Currency != "eur" || l.Amount != 899 || l.GrantAmount != 1000 || l.BonusAmount != 100 {
		t.Fatalf("DE pack = %+v", l)
	}
	if l := find(list, f.Bundle.ID); l.Value != 190 || l.Amount != 150 {
		t.Fatalf("bundle = %+v", l)
	}
	reg, list, err = f.Store.Storefront(ctx, player, "FR")
	if err != nil || reg != "*" {
		t.Fatalf("FR region %q, %v", reg, err)
	}
	if l := find(list, f.Pack.ID); l.Currency != "usd" || l.Amount != 999 {
		t.Fatalf("default pack = %+v", l)
	}
	if c := store.Country("", "de", "US"); c != "DE" {
		t.Fatalf("setting before address: %q", c)
	}
	if c := store.Country("gb", "DE", "US"); c != "GB" {
		t.Fatalf("request first: %q", c)
	}
}

// Purchases arriving together are written in batches; whatever a batch
// cannot do as a whole is bought one by one, with the same outcome.
func TestConcurrentPurchasesBatchWithTheSameOutcomes(t *testing.T) {
	ctx := context.Background()
	f := storetest.New(t, testenv.DB(t), store.PolicyDebt)
	const n = 40
	players := make([]int64, n)
	for i := range players {
		players[i] = economytest.Player(t, f.Conn)
		f.Fund(t, players[i], 1000)
	}
	poor := economytest.Player(t, f.Conn)
	f.Fund(t, poor, 10)
	owner := players[0]
	if _, err := f.Store.Buy(ctx, owner, f.Offer.ID, "first-sword", ""); err != nil {
		t.Fatal(err)
	}
	type result struct {
		who int64
		err error
		o   store.Order
	}
	results := make(chan result, 3*n)
	var wg sync.WaitGroup
	for round := range 2 {
		for _, p := range players {
			wg.Go(func() {
				o, err := f.Store.Buy(ctx, p, f.CharmOne.ID, fmt.Sprint("batch-", round), "")
				results <- result{p, err, o}
			})
		}
	}
	wg.Go(func() {
		_, err := f.Store.Buy(ctx, poor, f.CharmOne.ID, "poor", "")
		results <- result{poor, err, store.Order{}}
	})
	wg.Go(func() {
		_, err := f.Store.Buy(ctx, owner, f.Offer.ID, "second-sword", "")
		results <- result{owner, err, store.Order{}}
	})
	wg.Wait()
	close(results)
	ids := map[string]bool{}
	for r := range results {
		switch {
		case r.who == poor:
			if !errors.Is(r.err, ledger.ErrInsufficientFunds) {
				t.Errorf("poor player: %v", r.err)
			}
		case r.o.PublicID == "" && r.who == owner:
			if !errors.Is(r.err, inventory.ErrAlreadyOwned) {
				t.Errorf("second sword: %v", r.err)
			}
		case r.err != nil:
			t.Errorf("player %d: %v", r.who, r.err)
		default:
			if ids[r.o.PublicID] || r.o.Status != store.StatusCompleted || r.o.PriceAmount != 30 {
				t.Errorf("order %+v", r.o)
			}
			ids[r.o.PublicID] = true
		}
	}
	if len(ids) != 2*n {
		t.Fatalf("%d orders, want %d", len(ids), 2*n)
	}
	for _, p := range players[1:] {
		if b := f.Balance(t, p, f.Soft); b != 1000-60 {
			t.Fatalf("player %d balance %d, want 940", p, b)
		}
		if held(t, f, p, f.Charm.ID) != 2 {
			t.Fatalf("player %d holds %d charms, want 2", p, held(t, f, p, f.Charm.ID))
		}
	}
	if b := f.Balance(t, poor, f.Soft); b != 10 {
		t.Fatalf("poor balance %d", b)
	}
	// A retry of a batched purchase answers its order.
	again, err := f.Store.Buy(ctx, players[3], f.CharmOne.ID, "batch-0", "")
	if err != nil || !again.Replayed {
		t.Fatalf("retry = %+v, %v", again, err)
	}
	f.Verify(t)
}
