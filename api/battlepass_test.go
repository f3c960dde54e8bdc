package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/musterhq/muster/api"
	"github.com/musterhq/muster/domain/battlepass"
	"github.com/musterhq/muster/domain/content"
	"github.com/musterhq/muster/domain/economytest"
	"github.com/musterhq/muster/domain/inventory"
	"github.com/musterhq/muster/domain/ledger"
	"github.com/musterhq/muster/domain/reward"
	"github.com/musterhq/muster/domain/season"
	"github.com/musterhq/muster/domain/session"
)

// passClock is the battle pass's clock in these tests: seasons live far in
// the future, where no other test of the package puts one.
type passClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *passClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *passClock) set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

func publishContent(t *testing.T, cs *content.Store, kind, id string, body any) {
	t.Helper()
	raw, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	d, err := cs.SaveDraft(context.Background(), kind, id, id, raw, content.Edit{Editor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.Publish(context.Background(), kind, id, content.Edit{Expected: d.DraftRevision, Editor: "test"}); err != nil {
		t.Fatal(err)
	}
}

func TestBattlePassRoutes(t *testing.T) {
	cl := newCluster(t)
	n := cl.node(t, defaultConfig(), session.Config{})
	ctx := context.Background()
	cs := content.New(cl.db)
	cs.Register(season.ContentKind())
	cs.Register(battlepass.ContentKind())

	soft := economytest.Currency(t, cl.db, "soft")
	gems := economytest.Currency(t, cl.db, "premium")
	token := economytest.Item(t, cl.db, nil)
	start := time.Date(2400, 1, 1, 0, 0, 0, 0, time.UTC)
	s := season.Season{ID: economytest.Name("s"), Name: "Season 400", StartsAt: start, EndsAt: start.Add(30 * 24 * time.Hour)}
	publishContent(t, cs, season.Kind, s.ID, s)
	doc := battlepass.Doc{XPPerTier: 100, PremiumPrice: &battlepass.Price{Currency: gems, Amount: 500},
		TierSkipPrice: &battlepass.Price{Currency: soft, Amount: 50}}
	for range 5 {
		doc.Tiers = append(doc.Tiers, battlepass.DocTier{
			Free:    reward.Reward{Currencies: []reward.Amount{{Currency: soft, Amount: 10}}},
			Premium: reward.Reward{Items: []inventory.Line{{ItemID: token.ID, Quantity: 1}}},
		})
	}
	publishContent(t, cs, battlepass.Kind, s.ID, doc)

	clock := &passClock{now: start.Add(time.Hour)}
	bp := battlepass.New(cl.db, reward.NewPayer(n.inv, n.ledger), n.ledger, battlepass.Config{Now: clock.Now})
	api.MountBattlePass(n.app, api.BattlePass{BattlePass: bp, Verifier: n.tokens})
	g := n.gamer(t)
	fund := func(currency string, amount int64) {
		t.Helper()
		_, err := n.ledger.Transfer(ctx, ledger.Transfer{Key: economytest.Name("fund:"), Source: "support",
			From: ledger.System(ledger.Minted), To: ledger.Player(g.id), Currency: currency, Amount: amount})
		if err != nil {
			t.Fatal(err)
		}
	}
	post := func(path, key, body string) reply {
		t.Helper()
		c := call{method: http.MethodPost, path: path, token: g.token, body: body}
		if key != "" {
			c.header = map[string]string{"Idempotency-Key": key}
		}
		return n.do(t, c)
	}

	expect(t, n.get(t, "/v1/me/battlepass", ""), http.StatusUnauthorized, "unauthorized")
	r := n.get(t, "/v1/me/battlepass", g.token)
	expect(t, r, http.StatusOK, "")
	if r.str("season", "id") != s.ID || r.body["tier"] != float64(0) || r.body["open"] != true || len(r.body["tiers"].([]any)) != 5 ||
		r.body["next_tier_xp"] != float64(100) {
		t.Fatalf("state: %s", r.raw)
	}
	expect(t, n.get(t, "/v1/me/battlepass?season="+s.ID, g.token), http.StatusOK, "")
	expect(t, n.get(t, "/v1/me/battlepass?season=Bad%20Id", g.token), http.StatusBadRequest, "bad_request")
	expect(t, n.get(t, "/v1/me/battlepass?season=no-such-season", g.token), http.StatusNotFound, "season_not_found")

	tests := []struct {
		name, path, key, body string
		fund                  func()
		status                int
		code                  string
		check                 func(r reply)
	}{
		{name: "premium without a key", path: "/v1/me/battlepass/premium", status: http.StatusBadRequest, code: "idempotency_key_required"},
		{name: "premium without the gems", path: "/v1/me/battlepass/premium", key: "p1", status: http.StatusConflict, code: "insufficient_funds"},
		{name: "tiers", path: "/v1/me/battlepass/skips", key: "s1", body: `{"tiers":2}`, fund: func() { fund(soft, 200) },
			status: http.StatusCreated, check: func(r reply) {
				bp := r.body["battlepass"].(map[string]any)
				if r.body["tiers"] != float64(2) || bp["tier"] != float64(2) || r.body["operation"] != "skip" ||
					r.body["price"].(map[string]any)["amount"] != float64(100) || r.body["replayed"] != false {
					t.Fatalf("receipt: %s", r.raw)
				}
			}},
		{name: "premium", path: "/v1/me/battlepass/premium", key: "p1", fund: func() { fund(gems, 500) }, status: http.StatusCreated,
			check: func(r reply) {
				bp := r.body["battlepass"].(map[string]any)
				tiers := bp["tiers"].([]any)
				if bp["premium"] != true || tiers[1].(map[string]any)["premium_claimed"] != true || tiers[2].(map[string]any)["premium_claimed"] != false {
					t.Fatalf("receipt: %s", r.raw)
				}
			}},
		{name: "premium retried", path: "/v1/me/battlepass/premium", key: "p1", status: http.StatusOK, check: func(r reply) {
			if r.header.Get("Idempotent-Replayed") != "true" || r.body["replayed"] != true {
				t.Fatalf("replay: %v %s", r.header, r.raw)
			}
		}},
		{name: "premium again", path: "/v1/me/battlepass/premium", key: "p2", status: http.StatusConflict, code: "already_premium"},
		{name: "a key used for premium", path: "/v1/me/battlepass/skips", key: "p1", body: `{"tiers":1}`, status: http.StatusConflict, code: "idempotency_key_reused"},
		{name: "no tiers", path: "/v1/me/battlepass/skips", key: "s2", body: `{"tiers":0}`, status: http.StatusBadRequest, code: "bad_request"},
		{name: "too many tiers", path: "/v1/me/battlepass/skips", key: "s2", body: `{"tiers":201}`, status: http.StatusBadRequest, code: "bad_request"},
		{name: "unknown field", path: "/v1/me/battlepass/skips", key: "s2", body: `{"tiers":1,"x":1}`, status: http.StatusBadRequest, code: "unknown_field"},
		{name: "past the last tier", path: "/v1/me/battlepass/skips", key: "s3", body: `{"tiers":9}`, fund: func() { fund(soft, 1000) },
			status: http.StatusCreated, check: func(r reply) {
				if r.body["tiers"] != float64(3) || r.body["price"].(map[string]any)["amount"] != float64(150) {
					t.Fatalf("receipt: %s", r.raw)
				}
			}},
		{name: "at the last tier", path: "/v1/me/battlepass/skips", key: "s4", body: `{"tiers":1}`, status: http.StatusConflict, code: "max_tier_reached"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.fund != nil {
				tt.fund()
			}
			r := post(tt.path, tt.key, tt.body)
			expect(t, r, tt.status, tt.code)
			if tt.check != nil {
				tt.check(r)
			}
		})
	}

	items, err := n.inv.Reader().All(ctx, g.id)
	if err != nil || len(items) != 1 || items[0].ItemID != token.ID || items[0].Quantity != 5 {
		t.Fatalf("premium rewards of 5 tiers, once each: %+v, %v", items, err)
	}
	clock.set(s.EndsAt)
	expect(t, post("/v1/me/battlepass/skips", "s5", `{"tiers":1}`), http.StatusConflict, "season_over")
	r = n.get(t, "/v1/me/battlepass", g.token)
	expect(t, r, http.StatusOK, "")
	if r.body["tier"] != float64(5) || r.body["premium"] != true || r.body["open"] != false {
		t.Fatalf("after the season: %s", r.raw)
	}
}
