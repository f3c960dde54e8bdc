package console_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/musterhq/muster/domain/account"
	"github.com/musterhq/muster/domain/catalog"
	"github.com/musterhq/muster/domain/economytest"
	"github.com/musterhq/muster/domain/rbac"
	"github.com/musterhq/muster/domain/store"
	"github.com/musterhq/muster/domain/storetest"
)

// shop returns store content to sell (through the site's store, which pays
// through stripe-mock). Regions and packs are shared by every test of the
// package, so when the test ends every region is disabled and every pack
// retired, and the next test starts with a store that sells in no region.
func (s *site) shop(t *testing.T) *storetest.Fixture {
	t.Helper()
	f := storetest.New(t, s.db, store.PolicyDebt)
	t.Cleanup(func() {
		ctx := context.Background()
		regions, err := s.store.Regions(ctx)
		if err != nil {
			t.Error(err)
		}
		for _, r := range regions {
			if err := s.store.DisableRegion(ctx, r.Country, catalog.Edit{}); err != nil {
				t.Error(err)
			}
		}
		products, err := s.store.Products(ctx, false)
		if err != nil {
			t.Error(err)
		}
		for _, p := range products {
			if p.Kind == store.KindPack {
				p.Retired = true
				if _, err := s.store.SaveProduct(ctx, p, catalog.Edit{Expected: p.Version, Editor: "test cleanup"}); err != nil {
					t.Error(err)
				}
			}
		}
	})
	return f
}

// paidOrder buys the fixture's pack for a player from country, paid as
// Stripe's webhook reports it, and returns the order and its payment
// intent.
func (s *site) paidOrder(t *testing.T, f *storetest.Fixture, a account.Account, country string) (store.Order, string) {
	t.Helper()
	ctx := context.Background()
	o, err := s.store.Checkout(ctx, a.ID, a.PublicID, f.Pack.ID, economytest.Name("checkout"), country)
	if err != nil {
		t.Fatalf("checkout: %v", err)
	}
	pi := storetest.ID("pi")
	if rec, err := s.store.RecordEvent(ctx, storetest.SessionCompleted(o, pi, true), "webhook"); err != nil || !rec.Applied {
		t.Fatalf("payment event: %+v %v", rec, err)
	}
	if o, err = s.store.Order(ctx, o.PublicID); err != nil || o.Status != store.StatusPaid {
		t.Fatalf("paid order: %+v %v", o, err)
	}
	return o, pi
}

// sendAndFollow posts form and loads the page its redirect leads to, which shows
// the flash.
func (s *site) sendAndFollow(t *testing.T, c *http.Client, path string, form url.Values) (int, string) {
	t.Helper()
	form.Set("_csrf", s.csrfFrom(t, c, "/account"))
	resp, err := c.PostForm(s.url+path, form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		return resp.StatusCode, ""
	}
	_, body := s.page(t, c, resp.Header.Get("Location"))
	return resp.StatusCode, body
}

var (
	refundKey      = regexp.MustCompile(`id="refund-form"[\s\S]*?name="key" value="([^"]+)"[\s\S]*?name="refunded" value="([^"]*)"`)
	offerFormBasis = func(id, currency, price, items string) url.Values {
		return url.Values{"kind": {store.KindOffer}, "id": {id}, "name": {"Test bundle"}, "price_currency": {currency},
			"price_amount": {price}, "items": {items}, "purchase_limit": {"0"}, "position": {"5"}}
	}
)

// packForm is a pack's form with price rows of country, currency, amount.
func packForm(id, currency string, rows ...[3]string) url.Values {
	v := url.Values{"kind": {store.KindPack}, "id": {id}, "name": {"Test pack"}, "grant_currency": {currency},
		"grant_amount": {"500"}, "bonus_amount": {"50"}, "purchase_limit": {"0"}, "position": {"1"}}
	v.Set("price_rows", strconv.Itoa(len(rows)+1)) // and one empty row, as the page sends it
	for i, r := range rows {
		v.Set("price_country_"+strconv.Itoa(i), r[0])
		v.Set("price_currency_"+strconv.Itoa(i), r[1])
		v.Set("price_amount_"+strconv.Itoa(i), r[2])
	}
	return v
}

func TestDesignerEditsStoreContent(t *testing.T) {
	s := newSite(t)
	f := s.shop(t)
	ctx := context.Background()
	designer := s.signInHTTP(t, s.email(rbac.RoleDesigner))

	// A bundle must cost less than its parts bought one by one (100 + 2 × 30).
	id := economytest.Name("bundle.console.")
	offer := offerFormBasis(id, f.Soft, "160", f.Sword.ID+" x 1\n"+f.Charm.ID+" x 2")
	status, body := s.send(t, designer, "/store/products", offer)
	if status != http.StatusBadRequest || !strings.Contains(body, `id="price_amount-error"`) || !strings.Contains(body, "less than its parts") {
		t.Fatalf("bundle priced at its parts: %d", status)
	}
	offer.Set("price_amount", "0")
	if status, body := s.send(t, designer, "/store/products", offer); status != http.StatusBadRequest || !strings.Contains(body, `id="price_amount-error"`) {
		t.Fatalf("offer priced at zero: %d", status)
	}
	offer.Set("price_amount", "140")
	if status, body := s.send(t, designer, "/store/products", offer); status != http.StatusSeeOther {
		t.Fatalf("create bundle: %d %s", status, body)
	}
	p, err := s.store.Product(ctx, id)
	if err != nil || !p.IsBundle() || p.PriceAmount != 140 || p.Version != 1 || p.Position != 5 || len(p.Items) != 2 {
		t.Fatalf("saved bundle: %+v %v", p, err)
	}
	// Two designers open version 1; the second save is refused.
	offer.Set("version", "1")
	offer.Set("purchase_limit", "2")
	if status, body := s.send(t, designer, "/store/products/"+id, offer); status != http.StatusSeeOther {
		t.Fatalf("edit bundle: %d %s", status, body)
	}
	offer.Set("name", "Late edit")
	if status, body := s.send(t, designer, "/store/products/"+id, offer); status != http.StatusConflict || !strings.Contains(body, "changed this product since you opened it") {
		t.Fatalf("stale edit: %d", status)
	}
	if status, body := s.page(t, designer, "/store/products/"+id); status != http.StatusOK || !strings.Contains(body, `id="revisions"`) || !strings.Contains(body, s.email(rbac.RoleDesigner)) {
		t.Errorf("product page with revisions: %d", status)
	}
	if n := s.auditCount(t, `action = 'store.product.save' AND target_id = $1 AND staff_email = $2`, id, s.email(rbac.RoleDesigner)); n != 2 {
		t.Errorf("audit rows of the bundle's saves: %d, want 2", n)
	}

	// A region can be enabled once every pack has a price there.
	if status, body := s.send(t, designer, "/store/regions", url.Values{"country": {"de"}, "name": {"Germany"}}); status != http.StatusSeeOther {
		t.Fatalf("enable DE: %d %s", status, body)
	}
	pack := economytest.Name("pack.console.")
	form := packForm(pack, f.Premium, [3]string{"*", "usd", "4.99"})
	status, body = s.send(t, designer, "/store/products", form)
	if status != http.StatusBadRequest || !strings.Contains(body, `id="prices-error"`) || !strings.Contains(body, "enabled region DE") {
		t.Fatalf("pack without a price for DE: %d", status)
	}
	form = packForm(pack, f.Premium, [3]string{"*", "usd", "4.99"}, [3]string{"DE", "eur", "0"})
	if status, body := s.send(t, designer, "/store/products", form); status != http.StatusBadRequest || !strings.Contains(body, `id="prices-error"`) {
		t.Fatalf("pack priced at zero in DE: %d", status)
	}
	form = packForm(pack, f.Premium, [3]string{"*", "usd", "4.99"}, [3]string{"de", "EUR", "4.49"})
	if status, body := s.send(t, designer, "/store/products", form); status != http.StatusSeeOther {
		t.Fatalf("create pack: %d %s", status, body)
	}
	p, err = s.store.Product(ctx, pack)
	if err != nil || len(p.Prices) != 2 || p.Prices[0] != (store.Price{Country: "*", Currency: "usd", Amount: 499}) ||
		p.Prices[1] != (store.Price{Country: "DE", Currency: "eur", Amount: 449}) || p.Total() != 550 {
		t.Fatalf("saved pack: %+v %v", p, err)
	}
	status, body = s.send(t, designer, "/store/regions", url.Values{"country": {"FR"}, "name": {"France"}})
	if status != http.StatusBadRequest || !strings.Contains(body, `id="country-error"`) || !strings.Contains(body, pack) || !strings.Contains(body, f.Pack.ID) {
		t.Fatalf("enable FR with unpriced packs: %d", status)
	}

	// The preview shows DE's prices and the bundle's value.
	status, body = s.page(t, designer, "/store/preview?country=de")
	if status != http.StatusOK || !strings.Contains(body, "Region DE") || !strings.Contains(body, "4.49 EUR") ||
		!strings.Contains(body, "160 "+f.Soft+" (saves 20)") {
		t.Fatalf("preview for DE: %d", status)
	}
	if status, body := s.page(t, designer, "/store/preview?country=US"); status != http.StatusOK || !strings.Contains(body, "4.99 USD") {
		t.Errorf("preview for US: %d", status)
	}
	if status, _ := s.page(t, designer, "/store/preview?country=DE&player=p_nobody"); status != http.StatusBadRequest {
		t.Errorf("preview for an unknown player: %d, want 400", status)
	}
	if status, _ := s.send(t, designer, "/store/regions/DE/disable", url.Values{}); status != http.StatusSeeOther {
		t.Fatalf("disable DE: %d", status)
	}
	if rs, err := s.store.Regions(ctx); err != nil || len(rs) != 0 {
		t.Fatalf("regions after disabling DE: %+v %v", rs, err)
	}
	if n := s.auditCount(t, `action LIKE 'store.region.%' AND target_id = 'DE' AND staff_email = $1`, s.email(rbac.RoleDesigner)); n != 2 {
		t.Errorf("audit rows of DE: %d, want 2", n)
	}

	// Support and admins look; support and analysts do not edit.
	support := s.signInHTTP(t, s.email(rbac.RoleSupport))
	if status, body := s.page(t, support, "/store"); status != http.StatusOK || !strings.Contains(body, id) || strings.Contains(body, `id="new-offer"`) {
		t.Errorf("support lists the store: %d", status)
	}
	if status, _ := s.page(t, support, "/store/new/pack"); status != http.StatusForbidden {
		t.Errorf("support opens a new pack: %d, want 403", status)
	}
	if status, _ := s.send(t, support, "/store/regions", url.Values{"country": {"AT"}, "name": {"Austria"}}); status != http.StatusForbidden {
		t.Errorf("support enables a region: %d, want 403", status)
	}
	analyst := s.signInHTTP(t, s.email(rbac.RoleAnalyst))
	offer.Set("version", "2")
	if status, _ := s.send(t, analyst, "/store/products/"+id, offer); status != http.StatusForbidden {
		t.Errorf("analyst edits an offer: %d, want 403", status)
	}
	if status, _ := s.send(t, analyst, "/store/products", packForm("pack.analyst", f.Premium, [3]string{"*", "usd", "1.00"})); status != http.StatusForbidden {
		t.Errorf("analyst creates a pack: %d, want 403", status)
	}
	if p, _ := s.store.Product(ctx, id); p.Version != 2 {
		t.Errorf("the refused edits changed the offer: version %d", p.Version)
	}
}

func TestSupportRefundsAnOrderOnce(t *testing.T) {
	s := newSite(t)
	f := s.shop(t)
	ctx := context.Background()
	player := s.player(t, "Buyer"+s.suffix)
	o, pi := s.paidOrder(t, f, player, "")
	support := s.signInHTTP(t, s.email(rbac.RoleSupport))

	status, body := s.page(t, support, "/players/"+player.PublicID)
	if status != http.StatusOK || !strings.Contains(body, `id="purchases"`) || !strings.Contains(body, `href="/orders/`+o.PublicID+`"`) ||
		!strings.Contains(body, "9.99 USD") {
		t.Fatalf("purchases on the player page: %d", status)
	}
	status, body = s.page(t, support, "/orders/"+o.PublicID)
	m := refundKey.FindStringSubmatch(body)
	if status != http.StatusOK || m == nil || m[2] != "0" || !strings.Contains(body, "checkout_created") {
		t.Fatalf("order page with its trail and refund form: %d", status)
	}
	path := "/orders/" + o.PublicID + "/refund"
	form := url.Values{"key": {m[1]}, "refunded": {m[2]}, "amount": {"3.00"}}
	if status, body := s.send(t, support, path, form); status != http.StatusBadRequest || !strings.Contains(body, `id="refund-reason-error"`) {
		t.Fatalf("refund without a reason: %d", status)
	}
	form.Set("reason", "ticket 7: charged twice")
	form.Set("amount", "12.00")
	if status, body := s.send(t, support, path, form); status != http.StatusBadRequest || !strings.Contains(body, "At most 9.99 USD") {
		t.Fatalf("refund above the price: %d", status)
	}
	form.Set("amount", "3.001")
	if status, body := s.send(t, support, path, form); status != http.StatusBadRequest || !strings.Contains(body, `id="refund-amount-error"`) {
		t.Fatalf("refund with three decimals: %d", status)
	}
	form.Set("amount", "3.00")
	if status, body := s.sendAndFollow(t, support, path, form); status != http.StatusSeeOther || !strings.Contains(body, "Asked Stripe to refund 3.00 USD") {
		t.Fatalf("refund: %d %s", status, body)
	}
	// The same form again (a double click) asks nothing more.
	if status, body := s.sendAndFollow(t, support, path, form); status != http.StatusSeeOther || !strings.Contains(body, "already sent") {
		t.Fatalf("refund sent twice: %d", status)
	}
	trail, err := s.store.OrderEvents(ctx, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	requested := 0
	for _, e := range trail {
		if e.Kind == "refund_requested" {
			requested++
		}
	}
	if requested != 1 {
		t.Errorf("refund requests in the trail: %d, want 1", requested)
	}
	if n := s.auditCount(t, `action = 'purchase.refund' AND target_id = $1 AND account_id = $2 AND reason = 'ticket 7: charged twice'
		AND (after->>'amount')::int = 300 AND staff_email = $3`, o.PublicID, player.ID, s.email(rbac.RoleSupport)); n != 1 {
		t.Errorf("refund audit rows: %d, want 1", n)
	}

	// Stripe confirms; the order shows the refund and the currency taken back.
	if _, err := s.store.RecordEvent(ctx, storetest.ChargeRefunded(pi, storetest.ID("ch"), 999, 300), "webhook"); err != nil {
		t.Fatal(err)
	}
	status, body = s.page(t, support, "/orders/"+o.PublicID)
	if status != http.StatusOK || !strings.Contains(body, `id="order-refunded">3.00 USD<`) || !strings.Contains(body, `id="order-clawed-back">330<`) ||
		!strings.Contains(body, "6.99 USD") {
		t.Fatalf("order after Stripe's refund event: %d", status)
	}
	// The first form, sent once more after the order moved, is known; a
	// fresh key on the old figures is sent back to be checked.
	if status, body := s.sendAndFollow(t, support, path, form); status != http.StatusSeeOther || !strings.Contains(body, "already sent") {
		t.Errorf("old form after the refund event: %d", status)
	}
	form.Set("key", "console:a-key-nobody-used-before")
	if status, body := s.send(t, support, path, form); status != http.StatusConflict || !strings.Contains(body, "changed since you opened this form") {
		t.Errorf("stale form: %d", status)
	}

	// A virtual order is not refunded through Stripe.
	f.Fund(t, player.ID, 500)
	vo, err := s.store.Buy(ctx, player.ID, f.CharmOne.ID, "buy-charm", "")
	if err != nil {
		t.Fatal(err)
	}
	status, body = s.page(t, support, "/orders/"+vo.PublicID)
	if status != http.StatusOK || strings.Contains(body, `id="refund-form"`) {
		t.Errorf("virtual order page: %d, refund form shown = %v", status, strings.Contains(body, `id="refund-form"`))
	}
	status, body = s.send(t, support, "/orders/"+vo.PublicID+"/refund", url.Values{"key": {"console:another-key-nobody-used"}, "refunded": {"0"}, "reason": {"try"}})
	if status != http.StatusConflict || !strings.Contains(body, "cannot be refunded") {
		t.Errorf("refund a virtual order: %d %s", status, body)
	}
	if status, _ := s.page(t, support, "/orders/not-an-order"); status != http.StatusNotFound {
		t.Errorf("unknown order: %d, want 404", status)
	}

	// Designers see no orders; designers and analysts refund nothing.
	designer := s.signInHTTP(t, s.email(rbac.RoleDesigner))
	if status, _ := s.page(t, designer, "/orders/"+o.PublicID); status != http.StatusForbidden {
		t.Errorf("designer opens an order: %d, want 403", status)
	}
	if status, body := s.page(t, designer, "/players/"+player.PublicID); status != http.StatusOK || strings.Contains(body, `id="purchases"`) {
		t.Errorf("designer's player page: %d, purchases shown = %v", status, strings.Contains(body, `id="purchases"`))
	}
	form.Set("key", "console:yet-another-key-nobody-used")
	form.Set("refunded", "300")
	for _, c := range []*http.Client{designer, s.signInHTTP(t, s.email(rbac.RoleAnalyst))} {
		if status, _ := s.send(t, c, path, form); status != http.StatusForbidden {
			t.Errorf("refund without orders:refund: %d, want 403", status)
		}
	}
	if n := s.auditCount(t, `action = 'purchase.refund' AND target_id = $1`, o.PublicID); n != 1 {
		t.Errorf("refund audit rows at the end: %d, want 1", n)
	}

	// The dashboard shows revenue to staff who may see the store or orders.
	if status, body := s.page(t, support, "/"); status != http.StatusOK || !strings.Contains(body, `id="revenue-usd"`) || !strings.Contains(body, `id="revenue-products"`) {
		t.Errorf("support's dashboard: %d, revenue shown = %v", status, strings.Contains(body, `id="revenue"`))
	}
	if status, body := s.page(t, designer, "/"); status != http.StatusOK || !strings.Contains(body, `id="revenue"`) {
		t.Errorf("designer's dashboard: %d", status)
	}
}

// Each store route carries the permission its screen needs, and signed-out
// visitors are sent to sign in.
func TestStoreRoutesHaveTheirRules(t *testing.T) {
	s := newSite(t)
	for _, tc := range []struct{ method, path, rule string }{
		{http.MethodGet, "/store", rbac.PermStoreView},
		{http.MethodGet, "/store/new/offer", rbac.PermStoreEdit},
		{http.MethodGet, "/store/new/pack", rbac.PermStoreEdit},
		{http.MethodPost, "/store/products", rbac.PermStoreEdit},
		{http.MethodGet, "/store/products/:id", rbac.PermStoreView},
		{http.MethodPost, "/store/products/:id", rbac.PermStoreEdit},
		{http.MethodGet, "/store/regions", rbac.PermStoreView},
		{http.MethodPost, "/store/regions", rbac.PermStoreEdit},
		{http.MethodPost, "/store/regions/:country/disable", rbac.PermStoreEdit},
		{http.MethodGet, "/store/preview", rbac.PermStoreView},
		{http.MethodGet, "/orders/:id", rbac.PermOrdersView},
		{http.MethodPost, "/orders/:id/refund", rbac.PermOrdersRefund},
	} {
		if got := s.frame.Rule(tc.method, tc.path); got != tc.rule {
			t.Errorf("%s %s: rule %q, want %q", tc.method, tc.path, got, tc.rule)
		}
	}
	for _, path := range []string{"/store", "/store/regions", "/store/preview?country=DE", "/orders/00000000-0000-0000-0000-000000000000"} {
		resp, err := httpClient.Get(s.url + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login?next=") {
			t.Errorf("GET %s signed out: %d %s", path, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	resp, err := httpClient.PostForm(s.url+"/orders/00000000-0000-0000-0000-000000000000/refund", url.Values{"reason": {"x"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("POST refund signed out: %d, want 401", resp.StatusCode)
	}
}
