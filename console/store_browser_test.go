package console_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/musterhq/muster/domain/rbac"
)

// A designer builds store content and a region, support refunds part of a
// player's real-money order, an analyst may do neither, and the audit log
// holds every change.
func TestStoreScreensInTheBrowser(t *testing.T) {
	s := newSite(t)
	f := s.shop(t)
	bundle := "bundle.browser" + s.suffix
	pack := "pack.browser" + s.suffix

	// The designer's bundle costs its parts (100 + 2 × 30) at first, then less.
	designer := browser(t)
	s.signIn(t, designer, rbac.RoleDesigner)
	var priceErr, offerSaved string
	err := chromedp.Run(designer,
		chromedp.Navigate(s.url+"/store"),
		chromedp.WaitVisible("#new-offer", chromedp.ByID),
		follow("#new-offer", chromedp.ByID),
		chromedp.WaitVisible("#product-form", chromedp.ByID),
		chromedp.SendKeys("#id", bundle, chromedp.ByID),
		chromedp.SendKeys("#name", "Browser bundle", chromedp.ByID),
		chromedp.SetValue("#price_currency", f.Soft, chromedp.ByID),
		chromedp.SetValue("#price_amount", "160", chromedp.ByID),
		chromedp.SetValue("#items", f.Sword.ID+" x 1\n"+f.Charm.ID+" x 2", chromedp.ByID),
		follow("#save", chromedp.ByID),
		chromedp.WaitVisible("#price_amount-error", chromedp.ByID),
		chromedp.Text("#price_amount-error", &priceErr, chromedp.ByID),
		chromedp.SetValue("#price_amount", "150", chromedp.ByID),
		follow("#save", chromedp.ByID),
		chromedp.WaitVisible(".flash.ok", chromedp.ByQuery),
		chromedp.Text(".flash.ok", &offerSaved, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatalf("designer creates a bundle: %v", err)
	}
	if !strings.Contains(priceErr, "less than its parts") || !strings.Contains(offerSaved, "Saved Browser bundle") {
		t.Fatalf("bundle: error %q, then %q", priceErr, offerSaved)
	}

	// DE is enabled; a pack without a price there is refused until it has one.
	var regions, pricesErr, packSaved string
	err = chromedp.Run(designer,
		chromedp.Navigate(s.url+"/store/regions"),
		chromedp.WaitVisible("#region-form", chromedp.ByID),
		chromedp.SendKeys("#country", "DE", chromedp.ByID),
		chromedp.SendKeys("#name", "Germany", chromedp.ByID),
		follow("#enable", chromedp.ByID),
		chromedp.WaitVisible(".flash.ok", chromedp.ByQuery),
		chromedp.Text("#regions tbody", &regions, chromedp.ByQuery),
		chromedp.Navigate(s.url+"/store/new/pack"),
		chromedp.WaitVisible("#product-form", chromedp.ByID),
		chromedp.SendKeys("#id", pack, chromedp.ByID),
		chromedp.SendKeys("#name", "Browser gems", chromedp.ByID),
		chromedp.SetValue("#grant_currency", f.Premium, chromedp.ByID),
		chromedp.SetValue("#grant_amount", "1000", chromedp.ByID),
		chromedp.SendKeys("#price-currency-0", "usd", chromedp.ByID),
		chromedp.SendKeys("#price-amount-0", "9.99", chromedp.ByID),
		follow("#save", chromedp.ByID),
		chromedp.WaitVisible("#prices-error", chromedp.ByID),
		chromedp.Text("#prices-error", &pricesErr, chromedp.ByID),
		chromedp.SendKeys("#price-country-1", "DE", chromedp.ByID),
		chromedp.SendKeys("#price-currency-1", "eur", chromedp.ByID),
		chromedp.SendKeys("#price-amount-1", "8.49", chromedp.ByID),
		follow("#save", chromedp.ByID),
		chromedp.WaitVisible(".flash.ok", chromedp.ByQuery),
		chromedp.Text(".flash.ok", &packSaved, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatalf("designer enables DE and creates a pack: %v", err)
	}
	if !strings.Contains(regions, "DE") || !strings.Contains(pricesErr, "enabled region DE") || !strings.Contains(packSaved, "Saved Browser gems") {
		t.Fatalf("regions %q, pack error %q, then %q", regions, pricesErr, packSaved)
	}

	// The storefront as a player from Germany sees it.
	var region, packPrice, bundleRow string
	err = chromedp.Run(designer,
		chromedp.Navigate(s.url+"/store/preview"),
		chromedp.WaitVisible("#preview-form", chromedp.ByID),
		chromedp.SendKeys("#country", "de", chromedp.ByID),
		follow("#show-preview", chromedp.ByID),
		chromedp.WaitVisible("#listings", chromedp.ByID),
		chromedp.Text("#preview-region", &region, chromedp.ByID),
		chromedp.Text("#listing-"+strings.ReplaceAll(pack, ".", `\.`)+" .price", &packPrice, chromedp.ByQuery),
		chromedp.Text("#listing-"+strings.ReplaceAll(bundle, ".", `\.`), &bundleRow, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatalf("preview for DE: %v", err)
	}
	if !strings.Contains(region, "Region DE") || packPrice != "8.49 EUR" || !strings.Contains(bundleRow, "160 "+f.Soft+" (saves 10)") {
		t.Fatalf("preview: region %q, pack %q, bundle %q", region, packPrice, bundleRow)
	}

	// Support refunds part of a player's order, paid in Germany.
	player := s.player(t, "Spender"+s.suffix)
	o, _ := s.paidOrder(t, f, player, "DE")
	support := browser(t)
	s.signIn(t, support, rbac.RoleSupport)
	var price, refunded, trail string
	err = chromedp.Run(support,
		chromedp.Navigate(s.url+"/players/"+player.PublicID),
		chromedp.WaitVisible("#purchases", chromedp.ByID),
		follow(`#orders a[href="/orders/`+o.PublicID+`"]`, chromedp.ByQuery),
		chromedp.WaitVisible("#refund-form", chromedp.ByID),
		chromedp.Text("#order-price", &price, chromedp.ByID),
		chromedp.SendKeys("#refund-amount", "3.00", chromedp.ByID),
		follow("#refund", chromedp.ByID),
		chromedp.WaitVisible("#refund-reason-error", chromedp.ByID),
		chromedp.SendKeys("#refund-reason", "ticket 12: refund the unused part", chromedp.ByID),
		follow("#refund", chromedp.ByID),
		chromedp.WaitVisible(".flash.ok", chromedp.ByQuery),
		chromedp.Text(".flash.ok", &refunded, chromedp.ByQuery),
		chromedp.Text("#order-trail tbody", &trail, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatalf("support refunds: %v", err)
	}
	if price != "8.99 EUR" || !strings.Contains(refunded, "refund 3.00 EUR") || !strings.Contains(trail, "refund_requested") {
		t.Fatalf("refund: price %q, flash %q, trail %q", price, refunded, trail)
	}

	// An analyst may neither refund nor edit the store, even with a valid token.
	analyst := browser(t)
	s.signIn(t, analyst, rbac.RoleAnalyst)
	for path, body := range map[string]string{
		"/orders/" + o.PublicID + "/refund": "key=console:aaaaaaaaaaaaaaaaaaaaaaaa&refunded=0&amount=1.00&reason=because",
		"/store/products/" + bundle:         "version=1&kind=offer&name=Cheap&price_currency=" + f.Soft + "&price_amount=1&items=" + f.Charm.ID,
		"/store/products":                   "kind=offer&id=offer.analyst&name=Free&price_currency=" + f.Soft + "&price_amount=1&items=" + f.Charm.ID,
		"/store/regions":                    "country=FR&name=France",
	} {
		if got := post(t, analyst, path, body, true); got != 403 {
			t.Errorf("analyst posts %s: %d, want 403", path, got)
		}
	}

	// The audit log names who changed the store and who refunded, and why.
	var storeAudit, refundAudit string
	err = chromedp.Run(support,
		chromedp.Navigate(s.url+"/audit?action=store."),
		chromedp.WaitVisible("#audit", chromedp.ByID),
		chromedp.Text("#audit tbody", &storeAudit, chromedp.ByQuery),
		chromedp.Navigate(s.url+"/audit?action=purchase.refund&player="+player.PublicID),
		chromedp.WaitVisible("#audit", chromedp.ByID),
		chromedp.Text("#audit tbody", &refundAudit, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"store.product.save", "store.region.enable", bundle, pack, s.email(rbac.RoleDesigner)} {
		if !strings.Contains(storeAudit, want) {
			t.Errorf("store audit lacks %q", want)
		}
	}
	for _, want := range []string{"purchase.refund", o.PublicID, "ticket 12: refund the unused part", s.email(rbac.RoleSupport)} {
		if !strings.Contains(refundAudit, want) {
			t.Errorf("refund audit lacks %q: %s", want, refundAudit)
		}
	}
}
