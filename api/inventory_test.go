package api_test

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/musterhq/muster/domain/auth"
	"github.com/musterhq/muster/domain/catalog"
	"github.com/musterhq/muster/domain/economytest"
	"github.com/musterhq/muster/domain/inventory"
	"github.com/musterhq/muster/domain/ledger"
	"github.com/musterhq/muster/domain/session"
)

// gamer is a player of the economy tests, with an access token.
type gamer struct {
	id     int64
	public string
	token  string
}

func (n *node) gamer(t *testing.T) gamer {
	t.Helper()
	ctx := context.Background()
	id := economytest.Player(t, n.db)
	a, err := n.accounts.ByID(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	issued, err := n.sessions.Start(ctx, id, a.PublicID, session.Meta{IP: "192.0.2.1", UserAgent: "muster-test/1.0", Method: "steam"})
	if err != nil {
		t.Fatal(err)
	}
	return gamer{id: id, public: a.PublicID, token: issued.AccessToken}
}

// give grants items to g in one operation.
func (n *node) give(t *testing.T, g gamer, items ...inventory.Line) {
	t.Helper()
	_, err := n.inv.Grant(context.Background(), inventory.Grant{Key: economytest.Name("grant:"), AccountID: g.id, Source: "reward", Items: items})
	if err != nil {
		t.Fatal(err)
	}
}

// pay credits g's wallet from the rewards account.
func (n *node) pay(t *testing.T, g gamer, currency string, amount int64) {
	t.Helper()
	_, err := n.ledger.Transfer(context.Background(), ledger.Transfer{Key: economytest.Name("pay:"), Source: "reward",
		From: ledger.System(ledger.Rewards), To: ledger.Player(g.id), Currency: currency, Amount: amount})
	if err != nil {
		t.Fatal(err)
	}
}

func (n *node) held(t *testing.T, g gamer) map[string]int {
	t.Helper()
	all, err := n.inv.Reader().All(context.Background(), g.id)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, e := range all {
		out[e.ItemID] = e.Quantity
	}
	return out
}

func (n *node) balance(t *testing.T, g gamer, currency string) int64 {
	t.Helper()
	list, err := n.ledger.Balances(context.Background(), g.id)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range list {
		if b.Currency == currency {
			return b.Balance
		}
	}
	return 0
}

// write posts body as g with an Idempotency-Key (none when key is empty).
func (n *node) write(t *testing.T, g gamer, path, key, body string) reply {
	t.Helper()
	c := call{method: http.MethodPost, path: path, token: g.token, body: body}
	if key != "" {
		c.header = map[string]string{"Idempotency-Key": key}
	}
	return n.do(t, c)
}

func line(item string, n int) inventory.Line { return inventory.Line{ItemID: item, Quantity: n} }

// list returns the objects of a JSON array in r's body.
func (r reply) list(path ...string) []map[string]any {
	var v any = r.body
	for _, p := range path {
		m, _ := v.(map[string]any)
		v = m[p]
	}
	arr, _ := v.([]any)
	out := make([]map[string]any, 0, len(arr))
	for _, e := range arr {
		m, _ := e.(map[string]any)
		out = append(out, m)
	}
	return out
}

func (r reply) num(path ...string) float64 {
	var v any = r.body
	for _, p := range path {
		m, _ := v.(map[string]any)
		v = m[p]
	}
	f, _ := v.(float64)
	return f
}

func fields(list []map[string]any, key string) []string {
	out := []string{}
	for _, m := range list {
		out = append(out, fmt.Sprint(m[key]))
	}
	return out
}

func TestInventoryPagesFullFetchAndKind(t *testing.T) {
	n := newCluster(t).node(t, defaultConfig(), session.Config{})
	g := n.gamer(t)
	base := economytest.Name("inv.")
	var ids []string
	for i, suffix := range []string{"a", "b", "c", "d", "e"} {
		kind := "charm"
		if i >= 3 {
			kind = "skin"
		}
		it := economytest.Item(t, n.db, func(it *catalog.Item) { it.ID, it.Kind = base+"."+suffix, kind })
		ids = append(ids, it.ID)
		n.give(t, g, line(it.ID, i+1))
	}

	get := func(query string) reply {
		t.Helper()
		return n.get(t, "/v1/me/inventory"+query, g.token)
	}
	var seen []string
	after := ""
	for page := 0; ; page++ {
		r := get("?limit=2&after=" + after)
		expect(t, r, http.StatusOK, "")
		got := fields(r.list("items"), "item_id")
		seen = append(seen, got...)
		next, more := r.body["next"].(string)
		if page == 2 {
			if more || len(got) != 1 {
				t.Fatalf("last page: %s", r.raw)
			}
			break
		}
		if !more || len(got) != 2 || next != got[1] {
			t.Fatalf("page %d: %s", page, r.raw)
		}
		after = next
	}
	if !slices.Equal(seen, ids) {
		t.Fatalf("paged %v, want %v", seen, ids)
	}

	r := get("?all=true")
	expect(t, r, http.StatusOK, "")
	if got := fields(r.list("items"), "item_id"); !slices.Equal(got, ids) || r.body["next"] != nil {
		t.Fatalf("all=true: %s", r.raw)
	}
	if q := r.list("items")[4]["quantity"]; q != float64(5) {
		t.Fatalf("quantity of %s = %v, want 5", ids[4], q)
	}

	r = get("?kind=skin")
	expect(t, r, http.StatusOK, "")
	if got := fields(r.list("items"), "item_id"); !slices.Equal(got, ids[3:]) || r.body["next"] != nil {
		t.Fatalf("kind=skin: %s", r.raw)
	}

	for _, bad := range []string{"?kind=sword", "?limit=0", "?limit=501", "?limit=ten", "?all=maybe", "?all=true&limit=2", "?all=true&kind=skin"} {
		expect(t, get(bad), http.StatusBadRequest, "bad_request")
	}
	expect(t, n.get(t, "/v1/me/inventory", ""), http.StatusUnauthorized, "unauthorized")
	expect(t, n.get(t, "/v1/me/inventory", "not-a-token"), http.StatusUnauthorized, "invalid_token")
}

func TestCatalogIsCachedByETag(t *testing.T) {
	n := newCluster(t).node(t, defaultConfig(), session.Config{})
	g := n.gamer(t)
	coin := economytest.Currency(t, n.db, "soft")
	item := economytest.Item(t, n.db, nil)
	retired := economytest.Item(t, n.db, func(it *catalog.Item) { it.Retired = true })
	rec, err := catalog.NewStore(n.db).SaveRecipe(context.Background(), catalog.Recipe{ID: economytest.Name("r."), OutputItem: item.ID,
		OutputQuantity: 1, CostCurrency: &coin, CostAmount: 5}, catalog.Edit{Editor: "test"})
	if err != nil {
		t.Fatal(err)
	}

	r := n.get(t, "/v1/catalog", g.token)
	expect(t, r, http.StatusOK, "")
	if cc := r.header.Get("Cache-Control"); cc != "private, max-age=60" {
		t.Errorf("Cache-Control = %q", cc)
	}
	etag := r.header.Get("ETag")
	if !strings.HasPrefix(etag, `"`) || len(etag) < 10 {
		t.Fatalf("ETag = %q", etag)
	}
	if !slices.Contains(fields(r.list("currencies"), "code"), coin) {
		t.Errorf("currency %s missing: %s", coin, r.raw)
	}
	items := fields(r.list("items"), "id")
	if !slices.Contains(items, item.ID) || slices.Contains(items, retired.ID) {
		t.Errorf("items: want %s and not the retired %s: %v", item.ID, retired.ID, items)
	}
	if !slices.Contains(fields(r.list("recipes"), "id"), rec.ID) {
		t.Errorf("recipe %s missing: %s", rec.ID, r.raw)
	}

	conditional := func(tag string) reply {
		return n.do(t, call{method: http.MethodGet, path: "/v1/catalog", token: g.token, header: map[string]string{"If-None-Match": tag}})
	}
	for _, tag := range []string{etag, "W/" + etag, `"other", ` + etag} {
		r := conditional(tag)
		if r.status != http.StatusNotModified || r.raw != "" || r.header.Get("ETag") != etag {
			t.Fatalf("If-None-Match %s: %d %q", tag, r.status, r.raw)
		}
	}
	expect(t, conditional(`"other"`), http.StatusOK, "")

	economytest.Item(t, n.db, nil)
	r = conditional(etag)
	expect(t, r, http.StatusOK, "")
	if r.header.Get("ETag") == etag {
		t.Fatal("the ETag did not change with the content")
	}
	expect(t, n.get(t, "/v1/catalog", ""), http.StatusUnauthorized, "unauthorized")
}

func TestCraftIsIdempotentAndAllOrNothing(t *testing.T) {
	n := newCluster(t).node(t, defaultConfig(), session.Config{})
	ctx := context.Background()
	coin := economytest.Currency(t, n.db, "soft")
	input := economytest.Item(t, n.db, nil)
	output := economytest.Item(t, n.db, nil)
	cat := catalog.NewStore(n.db)
	rec, err := cat.SaveRecipe(ctx, catalog.Recipe{ID: economytest.Name("r."), OutputItem: output.ID, OutputQuantity: 1,
		Inputs: []catalog.Ingredient{{ItemID: input.ID, Quantity: 2}}, CostCurrency: &coin, CostAmount: 50}, catalog.Edit{Editor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	other, err := cat.SaveRecipe(ctx, catalog.Recipe{ID: economytest.Name("r."), OutputItem: output.ID, OutputQuantity: 1,
		Inputs: []catalog.Ingredient{{ItemID: input.ID, Quantity: 1}}}, catalog.Edit{Editor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	body := `{"recipe_id":"` + rec.ID + `"}`

	g := n.gamer(t)
	n.give(t, g, line(input.ID, 2))
	n.pay(t, g, coin, 100)

	expect(t, n.write(t, g, "/v1/me/craft", "", body), http.StatusBadRequest, "idempotency_key_required")
	expect(t, n.write(t, g, "/v1/me/craft", strings.Repeat("k", 201), body), http.StatusBadRequest, "idempotency_key_required")
	expect(t, n.write(t, g, "/v1/me/craft", "tab\tkey", body), http.StatusBadRequest, "idempotency_key_required")

	first := n.write(t, g, "/v1/me/craft", "craft-1", body)
	expect(t, first, http.StatusOK, "")
	if first.body["replayed"] != false || first.num("operation_id") == 0 || len(first.list("changes")) != 2 {
		t.Fatalf("craft: %s", first.raw)
	}
	if !strings.Contains(first.raw, `"balances":[{"currency":"`+coin+`","balance":50}]`) {
		t.Errorf("balances after the craft: %s", first.raw)
	}
	check := func() {
		t.Helper()
		if h := n.held(t, g); h[input.ID] != 0 || h[output.ID] != 1 {
			t.Fatalf("held %v, want no %s and one %s", h, input.ID, output.ID)
		}
		if b := n.balance(t, g, coin); b != 50 {
			t.Fatalf("balance %d, want 50", b)
		}
	}
	check()

	again := n.write(t, g, "/v1/me/craft", "craft-1", body)
	expect(t, again, http.StatusOK, "")
	if again.body["replayed"] != true || again.num("operation_id") != first.num("operation_id") ||
		fmt.Sprint(again.body["changes"]) != fmt.Sprint(first.body["changes"]) || again.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay:\n%s\nfirst:\n%s", again.raw, first.raw)
	}
	check()
	expect(t, n.write(t, g, "/v1/me/craft", "craft-1", `{"recipe_id":"`+other.ID+`"}`), http.StatusConflict, "idempotency_key_reused")

	// Not enough currency: 409, and neither the items nor the coins go.
	poor := n.gamer(t)
	n.give(t, poor, line(input.ID, 2))
	n.pay(t, poor, coin, 10)
	r := n.write(t, poor, "/v1/me/craft", "craft-1", body)
	expect(t, r, http.StatusConflict, "insufficient_funds")
	if h := n.held(t, poor); h[input.ID] != 2 || h[output.ID] != 0 || n.balance(t, poor, coin) != 10 {
		t.Fatalf("after a refused craft: held %v, balance %d", h, n.balance(t, poor, coin))
	}
	expect(t, n.write(t, poor, "/v1/me/craft", "craft-2", `{"recipe_id":"`+other.ID+`"}`), http.StatusOK, "")

	// A key longer than the domain keeps literally works and replays too.
	long := strings.Repeat("x", 200)
	n.give(t, g, line(input.ID, 1))
	if output.MaxStack < 2 {
		t.Fatal("the output must stack")
	}
	expect(t, n.write(t, g, "/v1/me/craft", long, `{"recipe_id":"`+other.ID+`"}`), http.StatusOK, "")
	r = n.write(t, g, "/v1/me/craft", long, `{"recipe_id":"`+other.ID+`"}`)
	expect(t, r, http.StatusOK, "")
	if r.body["replayed"] != true || n.held(t, g)[output.ID] != 2 {
		t.Fatalf("long key replay: %s, held %v", r.raw, n.held(t, g))
	}

	expect(t, n.write(t, g, "/v1/me/craft", "craft-9", `{"recipe_id":"no.such.recipe"}`), http.StatusNotFound, "unknown_recipe")
	expect(t, n.write(t, g, "/v1/me/craft", "craft-9", `{"recipe_id":"`+rec.ID+`"}`), http.StatusConflict, "not_enough_items")
	expect(t, n.write(t, g, "/v1/me/craft", "craft-9", `{"recipe_id":`), http.StatusBadRequest, "invalid_json")
	expect(t, n.write(t, g, "/v1/me/craft", "craft-9", `{"recipe":"x"}`), http.StatusBadRequest, "unknown_field")
	expect(t, n.write(t, g, "/v1/me/craft", "craft-9", `{"recipe_id":" "}`), http.StatusBadRequest, "bad_request")
	expect(t, n.do(t, call{method: http.MethodPost, path: "/v1/me/craft", body: body}), http.StatusUnauthorized, "unauthorized")
}

func TestDisenchantCreditsTheWallet(t *testing.T) {
	n := newCluster(t).node(t, defaultConfig(), session.Config{})
	coin := economytest.Currency(t, n.db, "soft")
	dust := economytest.Item(t, n.db, func(it *catalog.Item) { it.DisenchantCurrency, it.DisenchantYield = &coin, 30 })
	plain := economytest.Item(t, n.db, nil)
	g := n.gamer(t)
	n.give(t, g, line(dust.ID, 3), line(plain.ID, 1))

	r := n.write(t, g, "/v1/me/disenchant", "d-1", `{"item_id":"`+dust.ID+`","quantity":2}`)
	expect(t, r, http.StatusOK, "")
	if !strings.Contains(r.raw, `{"currency":"`+coin+`","balance":60}`) {
		t.Fatalf("disenchant: %s", r.raw)
	}
	if h := n.held(t, g); h[dust.ID] != 1 || n.balance(t, g, coin) != 60 {
		t.Fatalf("held %v, balance %d", h, n.balance(t, g, coin))
	}
	expect(t, n.write(t, g, "/v1/me/disenchant", "d-1", `{"item_id":"`+dust.ID+`","quantity":2}`), http.StatusOK, "")
	if b := n.balance(t, g, coin); b != 60 {
		t.Fatalf("a replay credited again: balance %d", b)
	}

	w := n.get(t, "/v1/me/wallets", g.token)
	expect(t, w, http.StatusOK, "")
	var wallet map[string]any
	for _, m := range w.list("wallets") {
		if m["currency"] == coin {
			wallet = m
		}
	}
	hist, _ := wallet["history"].([]any)
	if wallet == nil || wallet["balance"] != float64(60) || len(hist) != 1 {
		t.Fatalf("wallets: %s", w.raw)
	}
	if l := hist[0].(map[string]any); l["amount"] != float64(60) || l["source"] != "disenchant" || l["counterparty"] != "system:crafting" {
		t.Fatalf("ledger line: %v", l)
	}

	expect(t, n.write(t, g, "/v1/me/disenchant", "d-2", `{"item_id":"`+plain.ID+`","quantity":1}`), http.StatusBadRequest, "not_disenchantable")
	expect(t, n.write(t, g, "/v1/me/disenchant", "d-3", `{"item_id":"`+dust.ID+`","quantity":5}`), http.StatusConflict, "not_enough_items")
	expect(t, n.write(t, g, "/v1/me/disenchant", "d-4", `{"item_id":"`+dust.ID+`","quantity":0}`), http.StatusBadRequest, "bad_request")
	expect(t, n.write(t, g, "/v1/me/disenchant", "d-5", `{"item_id":"no.such.item","quantity":1}`), http.StatusNotFound, "unknown_item")
	expect(t, n.write(t, g, "/v1/me/disenchant", "", `{"item_id":"`+dust.ID+`","quantity":1}`), http.StatusBadRequest, "idempotency_key_required")
	if h := n.held(t, g); h[dust.ID] != 1 || h[plain.ID] != 1 {
		t.Fatalf("refused disenchants took items: %v", h)
	}
}

func TestGiftsMoveItemsBetweenPlayers(t *testing.T) {
	n := newCluster(t).node(t, defaultConfig(), session.Config{})
	gift := economytest.Item(t, n.db, func(it *catalog.Item) { it.Giftable = true })
	bound := economytest.Item(t, n.db, nil)
	a, b := n.gamer(t), n.gamer(t)
	n.give(t, a, line(gift.ID, 3), line(bound.ID, 1))

	send := func(key, body string) reply {
		t.Helper()
		return n.write(t, a, "/v1/me/gifts", key, body)
	}
	body := `{"to":"` + b.public + `","items":[{"item_id":"` + gift.ID + `","quantity":2}],"message":"gg"}`
	r := send("gift-1", body)
	expect(t, r, http.StatusCreated, "")
	giftID := int64(r.num("id"))
	if r.str("from", "id") != a.public || r.str("to", "id") != b.public || r.str("status") != "pending" || r.str("message") != "gg" {
		t.Fatalf("sent gift: %s", r.raw)
	}
	// Players appear by public id only: no field holds an internal id.
	keys := slices.Sorted(maps.Keys(r.body))
	if want := []string{"created_at", "expires_at", "from", "id", "items", "message", "status", "to"}; !slices.Equal(keys, want) {
		t.Errorf("gift fields %v, want %v", keys, want)
	}
	if h := n.held(t, a); h[gift.ID] != 1 {
		t.Fatalf("sender holds %v after sending 2 of 3", h)
	}
	if again := send("gift-1", body); again.status != http.StatusCreated || int64(again.num("id")) != giftID || n.held(t, a)[gift.ID] != 1 {
		t.Fatalf("a retried send: %s, held %v", again.raw, n.held(t, a))
	}

	in := n.get(t, "/v1/me/gifts", b.token)
	expect(t, in, http.StatusOK, "")
	incoming := in.list("incoming")
	if len(incoming) != 1 || incoming[0]["id"] != float64(giftID) {
		t.Fatalf("recipient's gifts: %s", in.raw)
	}
	if from, _ := incoming[0]["from"].(map[string]any); from["id"] != a.public || from["display_name"] == "" {
		t.Fatalf("from: %v", incoming[0]["from"])
	}
	out := n.get(t, "/v1/me/gifts", a.token)
	if sent := out.list("sent"); len(sent) != 1 || sent[0]["to"].(map[string]any)["id"] != b.public || len(out.list("incoming")) != 0 {
		t.Fatalf("sender's gifts: %s", out.raw)
	}

	path := "/v1/me/gifts/" + strconv.FormatInt(giftID, 10)
	expect(t, n.write(t, a, path+"/accept", "", ""), http.StatusNotFound, "gift_not_found")
	r = n.write(t, b, path+"/accept", "", "")
	expect(t, r, http.StatusOK, "")
	if r.str("status") != "accepted" || n.held(t, b)[gift.ID] != 2 {
		t.Fatalf("accept: %s, recipient holds %v", r.raw, n.held(t, b))
	}
	expect(t, n.write(t, b, path+"/accept", "", ""), http.StatusOK, "")
	expect(t, n.write(t, b, path+"/decline", "", ""), http.StatusConflict, "gift_closed")
	if n.held(t, b)[gift.ID] != 2 {
		t.Fatal("accepting twice gave twice")
	}

	// A declined gift goes back to the sender.
	r = send("gift-2", `{"to":"`+b.public+`","items":[{"item_id":"`+gift.ID+`","quantity":1}]}`)
	expect(t, r, http.StatusCreated, "")
	if n.held(t, a)[gift.ID] != 0 {
		t.Fatal("the second gift did not leave the sender")
	}
	r = n.write(t, b, "/v1/me/gifts/"+strconv.FormatInt(int64(r.num("id")), 10)+"/decline", "", "")
	expect(t, r, http.StatusOK, "")
	if r.str("status") != "declined" || n.held(t, a)[gift.ID] != 1 || n.held(t, b)[gift.ID] != 2 {
		t.Fatalf("decline: %s; sender %v, recipient %v", r.raw, n.held(t, a), n.held(t, b))
	}

	expect(t, send("gift-3", `{"to":"`+b.public+`","items":[{"item_id":"`+bound.ID+`","quantity":1}]}`), http.StatusBadRequest, "not_giftable")
	expect(t, send("gift-4", `{"to":"p_nobody","items":[{"item_id":"`+gift.ID+`","quantity":1}]}`), http.StatusNotFound, "recipient_not_found")
	expect(t, send("gift-5", `{"to":"`+a.public+`","items":[{"item_id":"`+gift.ID+`","quantity":1}]}`), http.StatusBadRequest, "invalid_operation")
	expect(t, send("gift-6", `{"to":"`+b.public+`","items":[]}`), http.StatusBadRequest, "invalid_operation")
	expect(t, send("gift-7", `{"to":"`+b.public+`","items":[{"item_id":"`+gift.ID+`","quantity":5}]}`), http.StatusConflict, "not_enough_items")
	expect(t, send("gift-1", `{"to":"`+b.public+`","items":[{"item_id":"`+gift.ID+`","quantity":1}]}`), http.StatusConflict, "idempotency_key_reused")
	expect(t, send("gift-8", `{"to":"`+b.public+`","items":[{"item_id":"`+gift.ID+`","quantity":"one"}]}`), http.StatusBadRequest, "invalid_json")
	expect(t, send("gift-8", `not json`), http.StatusBadRequest, "invalid_json")
	expect(t, send("", body), http.StatusBadRequest, "idempotency_key_required")
	expect(t, n.write(t, b, "/v1/me/gifts/abc/accept", "", ""), http.StatusNotFound, "gift_not_found")
	expect(t, n.write(t, b, "/v1/me/gifts/999999999/decline", "", ""), http.StatusNotFound, "gift_not_found")
	if h := n.held(t, a); h[gift.ID] != 1 || h[bound.ID] != 1 {
		t.Fatalf("refused gifts took items: %v", h)
	}
}

func TestTradesAreRefusedWhenDisabled(t *testing.T) {
	n := newCluster(t).node(t, defaultConfig(), session.Config{})
	a, b := n.gamer(t), n.gamer(t)
	expect(t, n.get(t, "/v1/me/trades", a.token), http.StatusForbidden, "trades_disabled")
	expect(t, n.write(t, a, "/v1/me/trades", "t-1", `{"to":"`+b.public+`","offered":[],"requested":[]}`), http.StatusForbidden, "trades_disabled")
	expect(t, n.write(t, b, "/v1/me/trades/1/accept", "", ""), http.StatusForbidden, "trades_disabled")
	expect(t, n.write(t, a, "/v1/me/trades/1/cancel", "", ""), http.StatusForbidden, "trades_disabled")
	expect(t, n.get(t, "/v1/me/trades", ""), http.StatusUnauthorized, "unauthorized")
}

func TestTradesSwapItems(t *testing.T) {
	cl := newCluster(t)
	cl.trades = true
	n := cl.node(t, defaultConfig(), session.Config{})
	sword := economytest.Item(t, n.db, func(it *catalog.Item) { it.Tradable = true })
	shield := economytest.Item(t, n.db, func(it *catalog.Item) { it.Tradable = true })
	a, b := n.gamer(t), n.gamer(t)
	n.give(t, a, line(sword.ID, 2))
	n.give(t, b, line(shield.ID, 1))

	propose := `{"to":"` + b.public + `","offered":[{"item_id":"` + sword.ID + `","quantity":1}],"requested":[{"item_id":"` + shield.ID + `","quantity":1}]}`
	r := n.write(t, a, "/v1/me/trades", "t-1", propose)
	expect(t, r, http.StatusCreated, "")
	id := strconv.FormatInt(int64(r.num("id")), 10)
	if r.str("proposer", "id") != a.public || r.str("counterparty", "id") != b.public || r.str("status") != "open" {
		t.Fatalf("proposed: %s", r.raw)
	}
	list := n.get(t, "/v1/me/trades", b.token)
	if trades := list.list("trades"); len(trades) != 1 || fmt.Sprint(trades[0]["id"]) != id {
		t.Fatalf("counterparty's trades: %s", list.raw)
	}
	expect(t, n.write(t, a, "/v1/me/trades/"+id+"/accept", "", ""), http.StatusNotFound, "trade_not_found")
	r = n.write(t, b, "/v1/me/trades/"+id+"/accept", "", "")
	expect(t, r, http.StatusOK, "")
	if ha, hb := n.held(t, a), n.held(t, b); r.str("status") != "completed" || ha[sword.ID] != 1 || ha[shield.ID] != 1 || hb[sword.ID] != 1 || hb[shield.ID] != 0 {
		t.Fatalf("after the swap: %s; a %v, b %v", r.raw, ha, hb)
	}
	expect(t, n.write(t, a, "/v1/me/trades/"+id+"/cancel", "", ""), http.StatusConflict, "trade_closed")

	// A cancelled trade returns the escrow.
	r = n.write(t, a, "/v1/me/trades", "t-2", `{"to":"`+b.public+`","offered":[{"item_id":"`+sword.ID+`","quantity":1}],"requested":[{"item_id":"`+sword.ID+`","quantity":1}]}`)
	expect(t, r, http.StatusCreated, "")
	if n.held(t, a)[sword.ID] != 0 {
		t.Fatal("the offered item is not in escrow")
	}
	r = n.write(t, b, "/v1/me/trades/"+strconv.FormatInt(int64(r.num("id")), 10)+"/cancel", "", "")
	expect(t, r, http.StatusOK, "")
	if r.str("status") != "cancelled" || n.held(t, a)[sword.ID] != 1 {
		t.Fatalf("cancel: %s, proposer holds %v", r.raw, n.held(t, a))
	}
	expect(t, n.write(t, a, "/v1/me/trades", "t-3", `{"to":"p_nobody","offered":[{"item_id":"`+sword.ID+`","quantity":1}],"requested":[{"item_id":"`+shield.ID+`","quantity":1}]}`),
		http.StatusNotFound, "recipient_not_found")
	expect(t, n.write(t, a, "/v1/me/trades", "", propose), http.StatusBadRequest, "idempotency_key_required")
}

func TestEconomyWritesAreRateLimited(t *testing.T) {
	cl := newCluster(t)
	cl.writeLimit = auth.Rule{N: 2, Per: time.Minute}
	n := cl.node(t, defaultConfig(), session.Config{})
	g, other := n.gamer(t), n.gamer(t)
	for i := range 2 {
		expect(t, n.write(t, g, "/v1/me/craft", "k"+strconv.Itoa(i), `{"recipe_id":"no.such.recipe"}`), http.StatusNotFound, "unknown_recipe")
	}
	r := n.write(t, g, "/v1/me/gifts/1/accept", "", "")
	expect(t, r, http.StatusTooManyRequests, "rate_limited")
	if s, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || s < 1 {
		t.Fatalf("Retry-After = %q", r.header.Get("Retry-After"))
	}
	expect(t, n.get(t, "/v1/me/inventory", g.token), http.StatusOK, "")
	expect(t, n.write(t, other, "/v1/me/craft", "k", `{"recipe_id":"no.such.recipe"}`), http.StatusNotFound, "unknown_recipe")
}

func TestHistoriesPage(t *testing.T) {
	n := newCluster(t).node(t, defaultConfig(), session.Config{})
	coin := economytest.Currency(t, n.db, "soft")
	g := n.gamer(t)
	for amount := int64(1); amount <= 5; amount++ {
		n.pay(t, g, coin, amount)
	}
	w := n.get(t, "/v1/me/wallets", g.token)
	expect(t, w, http.StatusOK, "")
	found := false
	for _, m := range w.list("wallets") {
		if m["currency"] == coin {
			found = true
			if h, _ := m["history"].([]any); m["balance"] != float64(15) || len(h) != 5 || m["next"] != nil {
				t.Fatalf("wallet: %v", m)
			}
		}
	}
	if !found {
		t.Fatalf("no %s wallet: %s", coin, w.raw)
	}

	var amounts []string
	before := ""
	for page := 0; page < 3; page++ {
		r := n.get(t, "/v1/me/wallets/"+coin+"/history?limit=2"+before, g.token)
		expect(t, r, http.StatusOK, "")
		amounts = append(amounts, fields(r.list("history"), "amount")...)
		next, more := r.body["next"].(float64)
		if more != (page < 2) {
			t.Fatalf("page %d: %s", page, r.raw)
		}
		before = "&before=" + strconv.FormatInt(int64(next), 10)
	}
	if want := []string{"5", "4", "3", "2", "1"}; !slices.Equal(amounts, want) {
		t.Fatalf("amounts %v, want %v", amounts, want)
	}
	expect(t, n.get(t, "/v1/me/wallets/nosuchcoin/history", g.token), http.StatusNotFound, "unknown_currency")
	expect(t, n.get(t, "/v1/me/wallets/"+coin+"/history?limit=101", g.token), http.StatusBadRequest, "bad_request")
	expect(t, n.get(t, "/v1/me/wallets/"+coin+"/history?before=-1", g.token), http.StatusBadRequest, "bad_request")

	// One operation of three items, then one of one: a page of two records
	// stops before the split operation, and the next holds all of it.
	x, y, z := economytest.Item(t, n.db, nil), economytest.Item(t, n.db, nil), economytest.Item(t, n.db, nil)
	n.give(t, g, line(x.ID, 1), line(y.ID, 1), line(z.ID, 1))
	n.give(t, g, line(x.ID, 1))
	r := n.get(t, "/v1/me/inventory/history?limit=2", g.token)
	expect(t, r, http.StatusOK, "")
	recs := r.list("records")
	if len(recs) != 1 || recs[0]["item_id"] != x.ID || recs[0]["quantity"] != float64(2) || r.num("next") != recs[0]["operation_id"] {
		t.Fatalf("first page: %s", r.raw)
	}
	r = n.get(t, "/v1/me/inventory/history?limit=2&before="+strconv.FormatInt(int64(r.num("next")), 10), g.token)
	expect(t, r, http.StatusOK, "")
	recs = r.list("records")
	if len(recs) != 3 || r.body["next"] != nil || recs[0]["operation_id"] != recs[2]["operation_id"] || recs[0]["kind"] != "grant" {
		t.Fatalf("second page: %s", r.raw)
	}
	expect(t, n.get(t, "/v1/me/inventory/history?limit=0", g.token), http.StatusBadRequest, "bad_request")
}
