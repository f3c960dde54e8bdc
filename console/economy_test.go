package console_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/musterhq/muster/domain/catalog"
	"github.com/musterhq/muster/domain/economytest"
	"github.com/musterhq/muster/domain/inventory"
	"github.com/musterhq/muster/domain/rbac"
)

// send posts form (with the session's CSRF token) and returns the status
// and the page.
func (s *site) send(t *testing.T, c *http.Client, path string, form url.Values) (int, string) {
	t.Helper()
	form.Set("_csrf", s.csrfFrom(t, c, "/account"))
	resp, err := c.PostForm(s.url+path, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func (s *site) page(t *testing.T, c *http.Client, path string) (int, string) {
	t.Helper()
	resp, err := c.Get(s.url + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

var (
	pageForm = regexp.MustCompile(`<form[^>]*id="([a-z]+)-form"[^>]*>([\s\S]*?)</form>`)
	formKey  = regexp.MustCompile(`name="key" value="([^"]+)"`)
)

// formKeys loads a player page and returns the idempotency key of each of
// its change forms, by form ("grant", "credit", ...).
func (s *site) formKeys(t *testing.T, c *http.Client, publicID string) map[string]string {
	t.Helper()
	status, body := s.page(t, c, "/players/"+publicID)
	if status != http.StatusOK {
		t.Fatalf("player page: %d", status)
	}
	keys := map[string]string{}
	for _, m := range pageForm.FindAllStringSubmatch(body, -1) {
		if k := formKey.FindStringSubmatch(m[2]); k != nil {
			keys[m[1]] = k[1]
		}
	}
	return keys
}

func (s *site) auditCount(t *testing.T, where string, args ...any) int {
	t.Helper()
	var n int
	if err := s.db.Get(&n, `SELECT count(*) FROM audit_log WHERE `+where, args...); err != nil {
		t.Fatal(err)
	}
	return n
}

func (s *site) held(t *testing.T, accountID int64, itemID string) int {
	t.Helper()
	all, err := s.items.Reader().All(context.Background(), accountID)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range all {
		if e.ItemID == itemID {
			return e.Quantity
		}
	}
	return 0
}

func (s *site) balanceOf(t *testing.T, accountID int64, currency string) int64 {
	t.Helper()
	bs, err := s.ledger.Balances(context.Background(), accountID)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bs {
		if b.Currency == currency {
			return b.Balance
		}
	}
	return 0
}

func TestDesignerEditsItemsAndStaleFormsAreRefused(t *testing.T) {
	s := newSite(t)
	ctx := context.Background()
	designer := s.signInHTTP(t, s.email(rbac.RoleDesigner))
	id := economytest.Name("skin.test.")
	item := url.Values{"id": {id}, "name": {"Test Skin"}, "kind": {"skin"}, "rarity": {"epic"}, "tags": {"event, winter"},
		"max_stack": {"1"}, "craft_value": {"0"}, "disenchant_yield": {"0"}, "giftable": {"1"}}
	if status, body := s.send(t, designer, "/catalog/items", item); status != http.StatusSeeOther {
		t.Fatalf("create item: %d %s", status, body)
	}
	it, err := s.catalog.Item(ctx, id)
	if err != nil || it.Version != 1 || it.Rarity != "epic" || !it.Giftable || strings.Join(it.Tags, ",") != "event,winter" {
		t.Fatalf("created item: %+v %v", it, err)
	}
	if status, _ := s.send(t, designer, "/catalog/items", item); status != http.StatusConflict {
		t.Errorf("create the same id again: %d, want 409", status)
	}

	// Two designers open version 1; the first save wins, the second is refused.
	edit := url.Values{"version": {"1"}, "name": {"Test Skin Deluxe"}, "kind": {"skin"}, "rarity": {"legendary"},
		"max_stack": {"1"}, "craft_value": {"10"}, "disenchant_yield": {"0"}, "retired": {"1"}}
	if status, body := s.send(t, designer, "/catalog/items/"+id, edit); status != http.StatusSeeOther {
		t.Fatalf("edit item: %d %s", status, body)
	}
	edit.Set("name", "Overwrites the colleague")
	status, body := s.send(t, designer, "/catalog/items/"+id, edit)
	if status != http.StatusConflict || !strings.Contains(body, "changed this item since you opened it") {
		t.Fatalf("stale edit: %d, want 409 with the reason", status)
	}
	it, _ = s.catalog.Item(ctx, id)
	if it.Version != 2 || it.Name != "Test Skin Deluxe" || !it.Retired || it.Giftable {
		t.Fatalf("after the stale edit: %+v", it)
	}
	// The kind is fixed; the domain's refusal is shown beside the field.
	edit.Set("version", "2")
	edit.Set("kind", "charm")
	if status, body := s.send(t, designer, "/catalog/items/"+id, edit); status != http.StatusBadRequest || !strings.Contains(body, `id="kind-error"`) {
		t.Errorf("change kind: %d", status)
	}
	if n := s.auditCount(t, `action = 'catalog.item.save' AND target_id = $1 AND staff_email = $2`, id, s.email(rbac.RoleDesigner)); n != 2 {
		t.Errorf("audit rows of the item's saves: %d, want 2", n)
	}
	if n := s.auditCount(t, `action = 'catalog.item.save' AND target_id = $1 AND before IS NULL AND after->>'name' = 'Test Skin'`, id); n != 1 {
		t.Errorf("the creation's audit row: %d", n)
	}
	if status, body := s.page(t, designer, "/catalog/items/"+id); status != http.StatusOK || !strings.Contains(body, `id="revisions"`) ||
		!strings.Contains(body, "Test Skin Deluxe") {
		t.Errorf("item page with revisions: %d", status)
	}

	// Owned items cannot be deleted; the editor says to retire them.
	player := s.player(t, "Owner"+s.suffix)
	if _, err := s.items.Grant(ctx, inventory.Grant{Key: "test-" + id, AccountID: player.ID, Source: "support",
		Items: []inventory.Line{{ItemID: id, Quantity: 1}}}); err == nil {
		t.Fatal("granted a retired item")
	}
	it.Retired = false
	if it, err = s.catalog.SaveItem(ctx, it, catalog.Edit{Expected: it.Version, Editor: "test"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.items.Grant(ctx, inventory.Grant{Key: "test-" + id, AccountID: player.ID, Source: "support",
		Items: []inventory.Line{{ItemID: id, Quantity: 1}}}); err != nil {
		t.Fatal(err)
	}
	status, body = s.send(t, designer, "/catalog/items/"+id+"/delete", url.Values{"version": {"3"}})
	if status != http.StatusConflict || !strings.Contains(body, "Retire it instead") {
		t.Fatalf("delete an owned item: %d", status)
	}
	free := economytest.Item(t, s.db, nil)
	if status, _ := s.send(t, designer, "/catalog/items/"+free.ID+"/delete", url.Values{"version": {"1"}}); status != http.StatusSeeOther {
		t.Fatalf("delete an unowned item: %d", status)
	}
	if _, err := s.catalog.Item(ctx, free.ID); err == nil {
		t.Error("the deleted item is still there")
	}

	// Support may neither see nor edit the catalog; admins may only look.
	// (Another test changes the analyst's permissions in the shared database.)
	support := s.signInHTTP(t, s.email(rbac.RoleSupport))
	if status, _ := s.send(t, support, "/catalog/items/"+id, edit); status != http.StatusForbidden {
		t.Errorf("support edits an item: %d, want 403", status)
	}
	if status, _ := s.page(t, support, "/catalog"); status != http.StatusForbidden {
		t.Errorf("support lists the catalog: %d, want 403", status)
	}
	admin := s.signInHTTP(t, s.email(rbac.RoleAdmin))
	if status, body := s.page(t, admin, "/catalog?q="+id); status != http.StatusOK || !strings.Contains(body, id) || strings.Contains(body, "new-item") {
		t.Errorf("admin lists the catalog: %d", status)
	}
	if status, _ := s.send(t, admin, "/catalog/items", item); status != http.StatusForbidden {
		t.Errorf("admin creates an item: %d, want 403", status)
	}
}

func TestDesignerEditsCurrenciesAndRecipes(t *testing.T) {
	s := newSite(t)
	ctx := context.Background()
	designer := s.signInHTTP(t, s.email(rbac.RoleDesigner))
	code := economytest.Name("gems")
	if status, body := s.send(t, designer, "/catalog/currencies", url.Values{"code": {code}, "name": {"Gems"}, "kind": {"premium"}}); status != http.StatusSeeOther {
		t.Fatalf("create currency: %d %s", status, body)
	}
	if status, body := s.send(t, designer, "/catalog/currencies/"+code, url.Values{"version": {"1"}, "name": {"Shiny gems"}, "kind": {"premium"}}); status != http.StatusSeeOther {
		t.Fatalf("rename currency: %d %s", status, body)
	}
	if status, _ := s.send(t, designer, "/catalog/currencies/"+code, url.Values{"version": {"1"}, "name": {"Late"}, "kind": {"premium"}}); status != http.StatusConflict {
		t.Errorf("stale currency edit: %d, want 409", status)
	}
	if cur, err := s.catalog.Currency(ctx, code); err != nil || cur.Name != "Shiny gems" || cur.Kind != "premium" {
		t.Fatalf("currency: %+v %v", cur, err)
	}
	if n := s.auditCount(t, `action = 'catalog.currency.save' AND target_id = $1`, code); n != 2 {
		t.Errorf("currency audit rows: %d, want 2", n)
	}

	scrap := economytest.Item(t, s.db, nil)
	out := economytest.Item(t, s.db, func(it *catalog.Item) { it.MaxStack = 1 })
	id := economytest.Name("craft.")
	recipe := url.Values{"id": {id}, "output_item": {out.ID}, "output_quantity": {"1"}, "inputs": {"nonsense line"},
		"cost_currency": {code}, "cost_amount": {"5"}}
	if status, body := s.send(t, designer, "/catalog/recipes", recipe); status != http.StatusBadRequest || !strings.Contains(body, `id="inputs-error"`) {
		t.Fatalf("recipe with a bad input line: %d", status)
	}
	recipe.Set("inputs", scrap.ID+" x 3\n")
	if status, body := s.send(t, designer, "/catalog/recipes", recipe); status != http.StatusSeeOther {
		t.Fatalf("create recipe: %d %s", status, body)
	}
	r, err := s.catalog.Recipe(ctx, id)
	if err != nil || len(r.Inputs) != 1 || r.Inputs[0] != (catalog.Ingredient{ItemID: scrap.ID, Quantity: 3}) || r.CostAmount != 5 {
		t.Fatalf("recipe: %+v %v", r, err)
	}
	if status, body := s.page(t, designer, "/catalog/recipes/"+id); status != http.StatusOK || !strings.Contains(body, scrap.ID+" x 3") {
		t.Errorf("recipe page shows its inputs as lines: %d", status)
	}
	if n := s.auditCount(t, `action = 'catalog.recipe.save' AND target_id = $1`, id); n != 1 {
		t.Errorf("recipe audit rows: %d, want 1", n)
	}
}

func TestSupportMovesItemsAndCurrencyWithinLimits(t *testing.T) {
	s := newSite(t)
	player := s.player(t, "Ticket"+s.suffix)
	skin := economytest.Item(t, s.db, nil)
	soft := economytest.Currency(t, s.db, "soft")
	premium := economytest.Currency(t, s.db, "premium")
	support := s.signInHTTP(t, s.email(rbac.RoleSupport))
	path := "/players/" + player.PublicID

	keys := s.formKeys(t, support, player.PublicID)
	for _, f := range []string{"grant", "revoke", "credit", "debit"} {
		if !strings.HasPrefix(keys[f], "console:") {
			t.Fatalf("form %s has no key: %v", f, keys)
		}
	}

	// A reason is required; the error is beside the field, and nothing moves.
	status, body := s.send(t, support, path+"/inventory/grant", url.Values{"key": {keys["grant"]}, "item_id": {skin.ID}, "quantity": {"2"}})
	if status != http.StatusBadRequest || !strings.Contains(body, `id="grant-reason-error"`) {
		t.Fatalf("grant without a reason: %d", status)
	}
	status, body = s.send(t, support, path+"/wallet/credit", url.Values{"key": {keys["credit"]}, "currency": {soft}, "amount": {"10"}, "reason": {"  "}})
	if status != http.StatusBadRequest || !strings.Contains(body, `id="credit-reason-error"`) {
		t.Fatalf("credit without a reason: %d", status)
	}

	// Over the support limits: refused with the limit named, nothing moves.
	status, body = s.send(t, support, path+"/inventory/grant", url.Values{"key": {keys["grant"]}, "item_id": {skin.ID}, "quantity": {"11"}, "reason": {"ticket 1"}})
	if status != http.StatusBadRequest || !strings.Contains(body, "at most 10 items") {
		t.Fatalf("grant over the limit: %d", status)
	}
	status, body = s.send(t, support, path+"/wallet/credit", url.Values{"key": {keys["credit"]}, "currency": {premium}, "amount": {"501"}, "reason": {"ticket 1"}})
	if status != http.StatusBadRequest || !strings.Contains(body, "at most 500") {
		t.Fatalf("premium credit over the limit: %d", status)
	}
	if s.held(t, player.ID, skin.ID) != 0 || s.balanceOf(t, player.ID, premium) != 0 {
		t.Fatal("a refused change moved something")
	}

	// Within the limits, each change lands with its audit row.
	grant := url.Values{"key": {keys["grant"]}, "item_id": {skin.ID}, "quantity": {"2"}, "reason": {"ticket 1: lost in a crash"}}
	if status, body := s.send(t, support, path+"/inventory/grant", grant); status != http.StatusSeeOther {
		t.Fatalf("grant: %d %s", status, body)
	}
	credit := url.Values{"key": {keys["credit"]}, "currency": {soft}, "amount": {"3000"}, "reason": {"ticket 1: compensation"}}
	if status, body := s.send(t, support, path+"/wallet/credit", credit); status != http.StatusSeeOther {
		t.Fatalf("credit: %d %s", status, body)
	}
	// The same forms sent again (a double click) change nothing more.
	if status, _ := s.send(t, support, path+"/inventory/grant", grant); status != http.StatusSeeOther {
		t.Fatalf("grant again: %d", status)
	}
	if status, _ := s.send(t, support, path+"/wallet/credit", credit); status != http.StatusSeeOther {
		t.Fatalf("credit again: %d", status)
	}
	if got := s.held(t, player.ID, skin.ID); got != 2 {
		t.Errorf("held after a double grant: %d, want 2", got)
	}
	if got := s.balanceOf(t, player.ID, soft); got != 3000 {
		t.Errorf("balance after a double credit: %d, want 3000", got)
	}
	// A reused key with a different request is refused, not applied.
	grant.Set("quantity", "1")
	if status, _ := s.send(t, support, path+"/inventory/grant", grant); status != http.StatusConflict {
		t.Errorf("reused key, other quantity: %d, want 409", status)
	}
	if n := s.auditCount(t, `action = 'inventory.grant' AND account_id = $1 AND reason = 'ticket 1: lost in a crash'
		AND after->'items'->0->>'item_id' = $2 AND staff_email = $3`, player.ID, skin.ID, s.email(rbac.RoleSupport)); n != 1 {
		t.Errorf("grant audit rows: %d, want 1", n)
	}
	if n := s.auditCount(t, `action = 'wallet.credit' AND account_id = $1 AND reason = 'ticket 1: compensation'
		AND (after->>'amount')::int = 3000 AND (after->>'balance')::int = 3000`, player.ID); n != 1 {
		t.Errorf("credit audit rows: %d, want 1", n)
	}

	// Taking back: never more than the player holds.
	keys = s.formKeys(t, support, player.PublicID)
	status, body = s.send(t, support, path+"/wallet/debit", url.Values{"key": {keys["debit"]}, "currency": {soft}, "amount": {"3001"}, "reason": {"ticket 2"}})
	if status != http.StatusBadRequest || !strings.Contains(body, "holds only 3000") {
		t.Fatalf("debit past zero: %d %s", status, body)
	}
	if status, body := s.send(t, support, path+"/wallet/debit", url.Values{"key": {keys["debit"]}, "currency": {soft}, "amount": {"1200"}, "reason": {"ticket 2: duplicate compensation"}}); status != http.StatusSeeOther {
		t.Fatalf("debit: %d %s", status, body)
	}
	status, body = s.send(t, support, path+"/inventory/revoke", url.Values{"key": {keys["revoke"]}, "item_id": {skin.ID}, "quantity": {"3"}, "reason": {"ticket 2"}})
	if status != http.StatusBadRequest || !strings.Contains(body, "does not hold that many") {
		t.Fatalf("revoke more than held: %d", status)
	}
	if status, body := s.send(t, support, path+"/inventory/revoke", url.Values{"key": {keys["revoke"]}, "item_id": {skin.ID}, "quantity": {"1"}, "reason": {"ticket 2"}}); status != http.StatusSeeOther {
		t.Fatalf("revoke: %d %s", status, body)
	}
	if s.held(t, player.ID, skin.ID) != 1 || s.balanceOf(t, player.ID, soft) != 1800 {
		t.Fatalf("after debit and revoke: %d items, balance %d", s.held(t, player.ID, skin.ID), s.balanceOf(t, player.ID, soft))
	}
	if n := s.auditCount(t, `account_id = $1 AND action IN ('wallet.debit', 'inventory.revoke') AND reason LIKE 'ticket 2%'`, player.ID); n != 2 {
		t.Errorf("debit and revoke audit rows: %d, want 2", n)
	}
	status, body = s.page(t, support, path)
	if status != http.StatusOK || !strings.Contains(body, `id="balance-`+soft+`">1800<`) || !strings.Contains(body, "ticket 2: duplicate compensation") {
		t.Errorf("player page shows the wallet and its ledger lines: %d", status)
	}

	// An admin's limit is higher; a designer may look but not grant, and
	// neither may an analyst.
	admin := s.signInHTTP(t, s.email(rbac.RoleAdmin))
	keys = s.formKeys(t, admin, player.PublicID)
	if status, body := s.send(t, admin, path+"/wallet/credit", url.Values{"key": {keys["credit"]}, "currency": {premium}, "amount": {"501"}, "reason": {"goodwill"}}); status != http.StatusSeeOther {
		t.Fatalf("admin credits 501 premium: %d %s", status, body)
	}
	designer := s.signInHTTP(t, s.email(rbac.RoleDesigner))
	status, body = s.page(t, designer, path)
	if status != http.StatusOK || !strings.Contains(body, `id="inventory-items"`) || strings.Contains(body, "grant-form") {
		t.Errorf("designer's player page: %d, grant form shown = %v", status, strings.Contains(body, "grant-form"))
	}
	analyst := s.signInHTTP(t, s.email(rbac.RoleAnalyst))
	if status, _ := s.send(t, analyst, path+"/inventory/grant", url.Values{"key": {"console:aaaaaaaaaaaaaaaaaaaaaaaa"}, "item_id": {skin.ID}, "quantity": {"1"}, "reason": {"x"}}); status != http.StatusForbidden {
		t.Errorf("analyst grants: %d, want 403", status)
	}
	if status, _ := s.send(t, analyst, path+"/wallet/credit", url.Values{"key": {"console:aaaaaaaaaaaaaaaaaaaaaaaa"}, "currency": {soft}, "amount": {"1"}, "reason": {"x"}}); status != http.StatusForbidden {
		t.Errorf("analyst credits: %d, want 403", status)
	}
	if s.held(t, player.ID, skin.ID) != 1 || s.balanceOf(t, player.ID, soft) != 1800 {
		t.Error("the analyst's attempts moved something")
	}
}
