package api_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/musterhq/muster/api"
	"github.com/musterhq/muster/domain/auth"
	"github.com/musterhq/muster/domain/catalog"
	"github.com/musterhq/muster/domain/economytest"
	"github.com/musterhq/muster/domain/inventory"
	"github.com/musterhq/muster/domain/session"
	"github.com/musterhq/muster/domain/state"
	"github.com/musterhq/muster/domain/store"
	"github.com/musterhq/muster/domain/storetest"
)

// rotatedSecret is a second webhook signing secret, as during a rotation.
const rotatedSecret = "whsec_test_rotated"

// countryHeader is the header the tests' ingress sets.
const countryHeader = "X-Country-Code"

// shop is a node that also serves the store routes, over a storetest
// fixture whose pack has its own price in the enabled region DE.
type shop struct {
	*node
	fx *storetest.Fixture
}

// newShop builds a shop; edit adjusts the store routes' settings.
func newShop(t *testing.T, edit func(*api.Store, *storetest.Fixture)) *shop {
	t.Helper()
	cl := newCluster(t)
	n := cl.node(t, defaultConfig(), session.Config{})
	fx := storetest.New(t, cl.db, store.PolicyDebt)
	err := fx.Store.EnableRegion(context.Background(), store.Region{Country: "DE", Name: "Germany"}, catalog.Edit{Editor: "test"})
	if err != nil && !errors.Is(err, catalog.ErrExists) {
		t.Fatal(err)
	}
	s := api.Store{Store: fx.Store, Verifier: n.tokens, CountryHeader: countryHeader,
		Webhooks: store.Webhooks{Secrets: []string{storetest.Secret, rotatedSecret}, Tolerance: 5 * time.Minute},
		Limiter:  state.NewRedis(cl.redis, cl.prefix), WriteLimit: auth.Rule{N: 1000, Per: time.Minute},
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if edit != nil {
		edit(&s, fx)
	}
	api.MountStore(n.app, s)
	return &shop{node: n, fx: fx}
}

// storefront reads the store as g with the query and the ingress country.
func (s *shop) storefront(t *testing.T, g gamer, query, fromAddress string) reply {
	t.Helper()
	c := call{method: http.MethodGet, path: "/v1/store" + query, token: g.token}
	if fromAddress != "" {
		c.header = map[string]string{countryHeader: fromAddress}
	}
	return s.do(t, c)
}

// listing returns the storefront's listing of product id, nil when absent.
func listing(r reply, id string) map[string]any {
	for _, l := range r.list("products") {
		if l["id"] == id {
			return l
		}
	}
	return nil
}

func (s *shop) setCountry(t *testing.T, g gamer, body string) reply {
	t.Helper()
	return s.do(t, call{method: http.MethodPut, path: "/v1/me/store/country", token: g.token, body: body})
}

func TestStorefrontPricesByCountry(t *testing.T) {
	s := newShop(t, nil)
	g := s.gamer(t)

	tests := []struct {
		name, query, fromAddress, setting string
		country, region, currency         string
		amount                            float64
	}{
		{"query in a region", "?country=DE", "", "", "DE", "DE", "eur", 899},
		{"query in lower case", "?country=de", "", "", "DE", "DE", "eur", 899},
		{"query outside the regions", "?country=FR", "", "", "FR", "*", "usd", 999},
		{"no country at all", "", "", "", "", "*", "usd", 999},
		{"the ingress country", "", "DE", "", "DE", "DE", "eur", 899},
		{"the setting beats the ingress", "", "DE", "FR", "FR", "*", "usd", 999},
		{"the query beats the setting", "?country=DE", "FR", "FR", "DE", "DE", "eur", 899},
		{"a cleared setting leaves the ingress", "", "DE", "", "DE", "DE", "eur", 899},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.setCountry(t, g, `{"country":"`+tt.setting+`"}`)
			expect(t, r, http.StatusOK, "")
			if r.str("country") != tt.setting {
				t.Fatalf("set country: %s", r.raw)
			}
			r = s.storefront(t, g, tt.query, tt.fromAddress)
			expect(t, r, http.StatusOK, "")
			if r.str("country") != tt.country || r.str("region") != tt.region {
				t.Fatalf("country %q region %q, want %q %q", r.str("country"), r.str("region"), tt.country, tt.region)
			}
			pack := listing(r, s.fx.Pack.ID)
			if pack == nil || pack["kind"] != "pack" || pack["currency"] != tt.currency || pack["amount"] != tt.amount ||
				pack["grant_currency"] != s.fx.Premium || pack["grant_amount"] != float64(1000) || pack["bonus_amount"] != float64(100) {
				t.Fatalf("pack: %v", pack)
			}
			offer := listing(r, s.fx.Offer.ID)
			if offer == nil || offer["kind"] != "offer" || offer["currency"] != s.fx.Soft || offer["amount"] != float64(100) {
				t.Fatalf("offer: %v", offer)
			}
			if b := listing(r, s.fx.Bundle.ID); b == nil || b["amount"] != float64(150) || b["value"] != float64(190) || len(b["items"].([]any)) != 2 {
				t.Fatalf("bundle: %v", b)
			}
		})
	}

	for _, bad := range []string{"?country=DEU", "?country=D", "?country=1A", "?country=D%C3%A9"} {
		expect(t, s.storefront(t, g, bad, ""), http.StatusBadRequest, "bad_request")
	}
	for _, bad := range []string{`{"country":"Germany"}`, `{"country":"D1"}`, `{}`} {
		expect(t, s.setCountry(t, g, bad), http.StatusBadRequest, "bad_request")
	}
	expect(t, s.setCountry(t, g, `{"country":"DE","x":1}`), http.StatusBadRequest, "unknown_field")
	r := s.setCountry(t, g, `{"country":" de "}`)
	expect(t, r, http.StatusOK, "")
	if r.str("country") != "DE" {
		t.Fatalf("set country: %s", r.raw)
	}
	expect(t, s.get(t, "/v1/store", ""), http.StatusUnauthorized, "unauthorized")
}

// buy posts a purchase of product as g with key.
func (s *shop) buy(t *testing.T, g gamer, key, product string) reply {
	t.Helper()
	return s.write(t, g, "/v1/store/purchases", key, `{"product_id":"`+product+`"}`)
}

func TestPurchaseIsIdempotentAndAllOrNothing(t *testing.T) {
	s := newShop(t, nil)
	g := s.gamer(t)
	s.fx.Fund(t, g.id, 250)

	expect(t, s.buy(t, g, "", s.fx.Offer.ID), http.StatusBadRequest, "idempotency_key_required")
	expect(t, s.write(t, g, "/v1/store/purchases", "k", `{}`), http.StatusBadRequest, "bad_request")
	expect(t, s.buy(t, g, "k", "no.such.product"), http.StatusNotFound, "product_not_found")
	expect(t, s.buy(t, g, "k", s.fx.Pack.ID), http.StatusBadRequest, "wrong_product_kind")

	first := s.buy(t, g, "buy-1", s.fx.Offer.ID)
	expect(t, first, http.StatusCreated, "")
	if first.str("status") != store.StatusCompleted || first.str("kind") != "virtual" || first.str("product_id") != s.fx.Offer.ID ||
		first.num("price_amount") != 100 || first.body["replayed"] != false || first.str("id") == "" {
		t.Fatalf("purchase: %s", first.raw)
	}
	check := func() {
		t.Helper()
		if b := s.fx.Balance(t, g.id, s.fx.Soft); b != 150 {
			t.Fatalf("balance %d, want 150", b)
		}
		inv := s.get(t, "/v1/me/inventory", g.token)
		expect(t, inv, http.StatusOK, "")
		if items := inv.list("items"); len(items) != 1 || items[0]["item_id"] != s.fx.Sword.ID || items[0]["quantity"] != float64(1) {
			t.Fatalf("inventory: %s", inv.raw)
		}
	}
	check()

	again := s.buy(t, g, "buy-1", s.fx.Offer.ID)
	expect(t, again, http.StatusOK, "")
	if again.str("id") != first.str("id") || again.body["replayed"] != true || again.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay: %s\nfirst: %s", again.raw, first.raw)
	}
	check()
	expect(t, s.buy(t, g, "buy-1", s.fx.CharmOne.ID), http.StatusConflict, "idempotency_key_reused")
	expect(t, s.buy(t, g, "buy-2", s.fx.Offer.ID), http.StatusConflict, "already_owned")
	check()

	// Not enough currency: nothing is charged, granted or recorded.
	poor := s.gamer(t)
	s.fx.Fund(t, poor.id, 10)
	expect(t, s.buy(t, poor, "buy-1", s.fx.Offer.ID), http.StatusConflict, "insufficient_funds")
	if b := s.fx.Balance(t, poor.id, s.fx.Soft); b != 10 || len(s.held(t, poor)) != 0 {
		t.Fatalf("after a refused purchase: balance %d, held %v", b, s.held(t, poor))
	}
	if r := s.get(t, "/v1/me/orders", poor.token); len(r.list("orders")) != 0 {
		t.Fatalf("orders after a refused purchase: %s", r.raw)
	}
	s.fx.Fund(t, poor.id, 90)
	expect(t, s.buy(t, poor, "buy-1", s.fx.Offer.ID), http.StatusCreated, "")
}

func TestPurchaseLimit(t *testing.T) {
	s := newShop(t, nil)
	limited, err := s.fx.Store.SaveProduct(context.Background(), store.Product{ID: economytest.Name("limited"), Kind: store.KindOffer,
		Name: "One charm per player", PriceCurrency: s.fx.Soft, PriceAmount: 30, PurchaseLimit: 1,
		Items: []inventory.Line{{ItemID: s.fx.Charm.ID, Quantity: 1}}}, catalog.Edit{Editor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	g := s.gamer(t)
	s.fx.Fund(t, g.id, 100)

	if l := listing(s.storefront(t, g, "", ""), limited.ID); l == nil || l["remaining"] != float64(1) {
		t.Fatalf("limited product before buying: %v", l)
	}
	expect(t, s.buy(t, g, "one", limited.ID), http.StatusCreated, "")
	if l := listing(s.storefront(t, g, "", ""), limited.ID); l != nil {
		t.Fatalf("a bought-up product is still listed: %v", l)
	}
	expect(t, s.buy(t, g, "two", limited.ID), http.StatusConflict, "purchase_limit_reached")
	if b := s.fx.Balance(t, g.id, s.fx.Soft); b != 70 {
		t.Fatalf("balance %d, want 70", b)
	}
	expect(t, s.buy(t, s.gamer(t), "one", limited.ID), http.StatusConflict, "insufficient_funds")
}

func TestStoreWritesAreRateLimited(t *testing.T) {
	s := newShop(t, func(st *api.Store, _ *storetest.Fixture) { st.WriteLimit = auth.Rule{N: 2, Per: time.Minute} })
	g, other := s.gamer(t), s.gamer(t)
	for i := range 2 {
		expect(t, s.buy(t, g, "k"+strconv.Itoa(i), "no.such.product"), http.StatusNotFound, "product_not_found")
	}
	r := s.write(t, g, "/v1/store/checkouts", "k3", `{"product_id":"`+s.fx.Pack.ID+`"}`)
	expect(t, r, http.StatusTooManyRequests, "rate_limited")
	if n, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || n < 1 {
		t.Fatalf("Retry-After = %q", r.header.Get("Retry-After"))
	}
	expect(t, s.buy(t, other, "k", "no.such.product"), http.StatusNotFound, "product_not_found")
	expect(t, s.get(t, "/v1/store", g.token), http.StatusOK, "")
}

func TestOrderHistory(t *testing.T) {
	s := newShop(t, nil)
	g, other := s.gamer(t), s.gamer(t)
	s.fx.Fund(t, g.id, 1000)
	var ids []string
	for i := range 3 {
		r := s.buy(t, g, "charm-"+strconv.Itoa(i), s.fx.CharmOne.ID)
		expect(t, r, http.StatusCreated, "")
		ids = append([]string{r.str("id")}, ids...) // newest first
	}

	var seen []string
	before := ""
	for page := 0; page < 3; page++ {
		r := s.get(t, "/v1/me/orders?limit=2"+before, g.token)
		expect(t, r, http.StatusOK, "")
		seen = append(seen, fields(r.list("orders"), "id")...)
		next, more := r.body["next"].(float64)
		if !more {
			break
		}
		before = "&before=" + strconv.FormatInt(int64(next), 10)
	}
	if strings.Join(seen, ",") != strings.Join(ids, ",") {
		t.Fatalf("paged %v, want %v", seen, ids)
	}

	r := s.get(t, "/v1/me/orders/"+ids[0], g.token)
	expect(t, r, http.StatusOK, "")
	if r.str("id") != ids[0] || r.str("status") != store.StatusCompleted || len(r.list("items")) != 1 {
		t.Fatalf("order: %s", r.raw)
	}
	expect(t, s.get(t, "/v1/me/orders/"+strings.ToUpper(ids[0]), g.token), http.StatusOK, "")
	expect(t, s.get(t, "/v1/me/orders/"+ids[0], other.token), http.StatusNotFound, "order_not_found")
	expect(t, s.get(t, "/v1/me/orders/not-an-order", g.token), http.StatusNotFound, "order_not_found")
	expect(t, s.get(t, "/v1/me/orders/"+ids[0], ""), http.StatusUnauthorized, "unauthorized")
	if r := s.get(t, "/v1/me/orders", other.token); len(r.list("orders")) != 0 || r.body["next"] != nil {
		t.Fatalf("another player's orders: %s", r.raw)
	}
	for _, bad := range []string{"?limit=0", "?limit=101", "?before=x"} {
		expect(t, s.get(t, "/v1/me/orders"+bad, g.token), http.StatusBadRequest, "bad_request")
	}
}
