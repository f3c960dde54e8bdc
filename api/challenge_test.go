package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/musterhq/muster/api"
	"github.com/musterhq/muster/domain/challenge"
	"github.com/musterhq/muster/domain/economytest"
	"github.com/musterhq/muster/domain/match"
	"github.com/musterhq/muster/domain/reward"
	"github.com/musterhq/muster/domain/session"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// publishContent checks body with its kind's Check and writes it as the
// next published version, as content.Store.Publish would.
func (n *node) publishContent(t *testing.T, kind, id string, body any) {
	t.Helper()
	raw, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	kinds := append(challenge.ContentKinds(), match.ModeKind())
	for _, k := range kinds {
		if k.Name == kind {
			if err := k.Check(t.Context(), n.db, id, raw); err != nil {
				t.Fatalf("check %s/%s: %v", kind, id, err)
			}
		}
	}
	const up = `
INSERT INTO content_documents (kind, id, name, published_version, published, published_at) VALUES ($1, $2, $2, 1, $3, now())
ON CONFLICT (kind, id) DO UPDATE SET published_version = content_documents.published_version + 1, published = EXCLUDED.published, published_at = now()`
	if _, err := n.db.Exec(up, kind, id, raw); err != nil {
		t.Fatal(err)
	}
}

func TestChallengesRoutes(t *testing.T) {
	cl := newCluster(t)
	n := cl.node(t, defaultConfig(), session.Config{})
	clock := &fakeClock{t: time.Date(2026, 1, 15, 2, 30, 0, 0, time.UTC)} // 03:30 in Berlin
	store := challenge.New(n.db, reward.NewPayer(n.inv, n.ledger), challenge.Config{Now: clock.Now})
	api.MountChallenges(n.app, api.Challenges{Challenges: store, Verifier: n.tokens})
	g := n.gamer(t)
	if _, err := n.db.Exec(`UPDATE accounts SET store_country = 'DE' WHERE id = $1`, g.id); err != nil {
		t.Fatal(err)
	}

	expect(t, n.get(t, "/v1/me/challenges", ""), http.StatusUnauthorized, "unauthorized")
	if _, err := n.db.Exec(`DELETE FROM content_documents WHERE kind = $1`, challenge.KindRotation); err != nil {
		t.Fatal(err)
	}
	expect(t, n.get(t, "/v1/me/challenges", g.token), http.StatusNotFound, "challenges_not_configured")

	coin := economytest.Currency(t, n.db, "soft")
	var daily []challenge.Challenge
	for i := range 5 {
		daily = append(daily, challenge.Challenge{ID: fmt.Sprintf("play_%d", i+1), Name: fmt.Sprintf("Play %d", i+1),
			Goal:   challenge.Goal{Metric: challenge.MetricMatches, Target: 1},
			Reward: reward.Reward{Currencies: []reward.Amount{{Currency: coin, Amount: 10}}}, Weight: 1})
	}
	n.publishContent(t, challenge.KindPool, "api_daily", challenge.Pool{Challenges: daily})
	n.publishContent(t, challenge.KindRotation, challenge.RotationID, challenge.Rotation{
		Regions: map[string]challenge.Region{
			"na": {Timezone: "America/New_York", ResetAt: "04:00", Countries: []string{"US"}},
			"eu": {Timezone: "Europe/Berlin", ResetAt: "04:00", Countries: []string{"DE"}},
		},
		DefaultRegion: "na", WeeklyDay: "monday",
		Daily: challenge.Slate{Pool: "api_daily", Count: 3, Rerolls: 1},
	})

	r := n.get(t, "/v1/me/challenges", g.token)
	expect(t, r, http.StatusOK, "")
	set, _ := r.body["daily"].(map[string]any)
	if set == nil || set["period"] != "daily:2026-01-14" || set["ends_at"] != "2026-01-15T03:00:00Z" || set["rerolls_left"] != float64(1) {
		t.Fatalf("daily = %s", r.raw)
	}
	if r.body["weekly"] != nil {
		t.Fatalf("weekly = %v, want null (no weekly challenges)", r.body["weekly"])
	}
	list := r.list("daily", "challenges")
	if len(list) != 3 || list[0]["progress"] != float64(0) || list[0]["completed"] != false || list[0]["metric"] != "matches" {
		t.Fatalf("challenges = %v", list)
	}
	if cur := r.list("daily", "challenges")[0]["reward"].(map[string]any)["currencies"].([]any); len(cur) != 1 {
		t.Fatalf("reward = %v", list[0]["reward"])
	}

	// 04:00 in Berlin: a new day and a new set.
	clock.Set(time.Date(2026, 1, 15, 3, 0, 0, 0, time.UTC))
	r = n.get(t, "/v1/me/challenges", g.token)
	if r.str("daily", "period") != "daily:2026-01-15" || r.str("daily", "ends_at") != "2026-01-16T03:00:00Z" {
		t.Fatalf("after 04:00 in Berlin: %s", r.raw)
	}
	first := r.list("daily", "challenges")[0]["id"].(string)
	second := r.list("daily", "challenges")[1]["id"].(string)

	path := "/v1/me/challenges/" + first + "/reroll"
	expect(t, n.write(t, g, path, "", ""), http.StatusBadRequest, "idempotency_key_required")
	expect(t, n.write(t, g, "/v1/me/challenges/nope/reroll", "k0", ""), http.StatusNotFound, "challenge_not_found")

	r = n.write(t, g, path, "k1", "")
	expect(t, r, http.StatusOK, "")
	with := r.str("with")
	if r.str("replaced") != first || with == "" || with == first || r.num("challenges", "daily", "rerolls_left") != 0 || r.header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("reroll = %s", r.raw)
	}
	if got := r.list("challenges", "daily", "challenges")[0]["id"]; got != with {
		t.Fatalf("first challenge after the reroll = %v, want %s", got, with)
	}

	r = n.write(t, g, path, "k1", "")
	expect(t, r, http.StatusOK, "")
	if r.header.Get("Idempotent-Replayed") != "true" || r.str("with") != with {
		t.Fatalf("retry = %v %s", r.header, r.raw)
	}
	expect(t, n.write(t, g, "/v1/me/challenges/"+second+"/reroll", "k1", ""), http.StatusConflict, "idempotency_key_reused")
	expect(t, n.write(t, g, "/v1/me/challenges/"+second+"/reroll", "k2", ""), http.StatusConflict, "no_rerolls_left")

	// Completing a challenge from a match: it pays once, and cannot be rerolled.
	var server int64
	if err := n.db.Get(&server, `INSERT INTO game_servers (name, secret_hash) VALUES ($1, '\x00') RETURNING id`, unique("gs")); err != nil {
		t.Fatal(err)
	}
	matchID := unique("m")
	if _, err := n.db.Exec(`INSERT INTO matches (id, server_id, mode, roster) VALUES ($1, $2, 'br', '{}')`, matchID, server); err != nil {
		t.Fatal(err)
	}
	tx, err := n.db.Beginx()
	if err != nil {
		t.Fatal(err)
	}
	m := match.Accepted{MatchID: matchID, Mode: "br", EndedAt: clock.Now(), Players: []match.AcceptedPlayer{{PlayerResult: match.PlayerResult{AccountID: g.id, Placement: 2}}}}
	if err := store.Apply(t.Context(), tx, m); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	r = n.get(t, "/v1/me/challenges", g.token)
	for _, c := range r.list("daily", "challenges") {
		if c["completed"] != true || c["completed_at"] == nil || c["progress"] != float64(1) {
			t.Fatalf("after a match: %v", c)
		}
	}
	if got := n.balance(t, g, coin); got != 30 {
		t.Fatalf("balance = %d, want 30 (three challenges of 10)", got)
	}
	expect(t, n.write(t, g, "/v1/me/challenges/"+second+"/reroll", "k3", ""), http.StatusConflict, "challenge_completed")
}
