package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/musterhq/muster/api"
	"github.com/musterhq/muster/domain/store"
	"github.com/musterhq/muster/domain/storetest"
)

// checkout starts a checkout of the fixture's pack as g from country.
func (s *shop) checkout(t *testing.T, g gamer, key, fromAddress string) reply {
	t.Helper()
	return s.do(t, call{method: http.MethodPost, path: "/v1/store/checkouts", token: g.token,
		body: `{"product_id":"` + s.fx.Pack.ID + `"}`, header: map[string]string{"Idempotency-Key": key, countryHeader: fromAddress}})
}

func TestCheckoutOpensAStripePage(t *testing.T) {
	s := newShop(t, nil)
	g := s.gamer(t)

	first := s.checkout(t, g, "gems-1", "DE")
	expect(t, first, http.StatusCreated, "")
	url := first.str("checkout_url")
	if !strings.HasPrefix(url, "https://") || first.str("order", "checkout_url") != url {
		t.Fatalf("checkout url: %s", first.raw)
	}
	if first.str("order", "status") != store.StatusPending || first.str("order", "kind") != "real" ||
		first.str("order", "country") != "DE" || first.str("order", "price_currency") != "eur" ||
		first.num("order", "price_amount") != 899 || first.str("order", "grant_currency") != s.fx.Premium ||
		first.num("order", "grant_amount") != 1100 {
		t.Fatalf("order: %s", first.raw)
	}

	again := s.checkout(t, g, "gems-1", "DE")
	expect(t, again, http.StatusOK, "")
	if again.str("order", "id") != first.str("order", "id") || again.str("checkout_url") != url ||
		again.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay: %s\nfirst: %s", again.raw, first.raw)
	}
	expect(t, s.checkout(t, g, "gems-1", "FR"), http.StatusConflict, "idempotency_key_reused")

	other := s.do(t, call{method: http.MethodPost, path: "/v1/store/checkouts", token: g.token,
		body: `{"product_id":"` + s.fx.Pack.ID + `","country":"fr"}`, header: map[string]string{"Idempotency-Key": "gems-2", countryHeader: "DE"}})
	expect(t, other, http.StatusCreated, "")
	if other.str("order", "country") != "*" || other.str("order", "price_currency") != "usd" || other.num("order", "price_amount") != 999 {
		t.Fatalf("checkout for the storefront's country: %s", other.raw)
	}

	expect(t, s.checkout(t, g, "", "DE"), http.StatusBadRequest, "idempotency_key_required")
	expect(t, s.write(t, g, "/v1/store/checkouts", "gems-3", `{"product_id":"`+s.fx.Offer.ID+`"}`), http.StatusBadRequest, "wrong_product_kind")
	r := s.get(t, "/v1/me/orders/"+first.str("order", "id"), g.token)
	expect(t, r, http.StatusOK, "")
	if r.str("status") != store.StatusPending || r.str("checkout_url") != url {
		t.Fatalf("order after checkout: %s", r.raw)
	}
}

func TestRealMoneyRoutesWithoutPayments(t *testing.T) {
	s := newShop(t, func(st *api.Store, fx *storetest.Fixture) {
		st.Store = store.New(fx.Conn, fx.Catalog, fx.Ledger, fx.Inventory, nil, store.Config{}, nil)
	})
	g := s.gamer(t)
	expect(t, s.checkout(t, g, "gems-1", "DE"), http.StatusNotImplemented, "payments_not_configured")
	ev := storetest.Event("customer.created", map[string]any{"id": storetest.ID("cus"), "object": "customer"})
	payload := storetest.Payload(ev)
	status, raw, err := s.deliver(payload, storetest.Sign(payload, storetest.Secret, time.Now()))
	if err != nil || status != http.StatusNotImplemented || !strings.Contains(raw, "payments_not_configured") {
		t.Fatalf("webhook without payments: %d %s %v", status, raw, err)
	}
	r := s.storefront(t, g, "?country=DE", "")
	expect(t, r, http.StatusOK, "")
	if listing(r, s.fx.Pack.ID) != nil || listing(r, s.fx.Offer.ID) == nil {
		t.Fatalf("storefront without payments lists packs, or no offers: %s", r.raw)
	}
	s.fx.Fund(t, g.id, 100)
	expect(t, s.buy(t, g, "sword", s.fx.Offer.ID), http.StatusCreated, "")
}

func TestCheckoutRetriedAfterStripeFailed(t *testing.T) {
	s := newShop(t, nil)
	// The same store routes under /down, over a Stripe that cannot be reached.
	down := store.New(s.fx.Conn, s.fx.Catalog, s.fx.Ledger, s.fx.Inventory,
		store.NewStripe("sk_test_muster", "http://127.0.0.1:1", time.Second), store.Config{}, nil)
	api.MountStore(s.app.Group("/down"), api.Store{Store: down, Verifier: s.tokens, CountryHeader: countryHeader})
	g := s.gamer(t)

	r := s.do(t, call{method: http.MethodPost, path: "/down/v1/store/checkouts", token: g.token,
		body: `{"product_id":"` + s.fx.Pack.ID + `"}`, header: map[string]string{"Idempotency-Key": "gems-1"}})
	expect(t, r, http.StatusBadGateway, "payment_provider_unavailable")
	orders := s.get(t, "/v1/me/orders", g.token).list("orders")
	if len(orders) != 1 || orders[0]["status"] != store.StatusPending || orders[0]["checkout_url"] != nil {
		t.Fatalf("orders after Stripe failed: %v", orders)
	}

	// The retry opens the page for the order recorded the first time. (It
	// is answered 201 and replayed false: store.Checkout reloads the order
	// after opening the page and drops Replayed.)
	r = s.checkout(t, g, "gems-1", "")
	if r.status != http.StatusOK && r.status != http.StatusCreated {
		t.Fatalf("retry: %d %s", r.status, r.raw)
	}
	if r.str("order", "id") != orders[0]["id"] || !strings.HasPrefix(r.str("checkout_url"), "https://") {
		t.Fatalf("retry: %s\nfirst order: %v", r.raw, orders[0])
	}
	if n := len(s.get(t, "/v1/me/orders", g.token).list("orders")); n != 1 {
		t.Fatalf("%d orders after the retry, want 1", n)
	}
}
