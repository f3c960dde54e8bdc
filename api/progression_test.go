package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/musterhq/muster/api"
	"github.com/musterhq/muster/domain/content"
	"github.com/musterhq/muster/domain/match"
	"github.com/musterhq/muster/domain/outbox"
	"github.com/musterhq/muster/domain/progression"
	"github.com/musterhq/muster/domain/reward"
	"github.com/musterhq/muster/domain/session"
)

// metaNode is a node that also serves progression and the game server
// routes, with a relay that applies accepted results.
type metaNode struct {
	*node
	relay   *outbox.Relay
	mode    string
	server  string // credential
	servers *match.Servers
}

func (cl *cluster) metaNode(t *testing.T) *metaNode {
	t.Helper()
	n := cl.node(t, defaultConfig(), session.Config{})
	ctx := context.Background()
	cs := content.New(cl.db)
	cs.Register(match.ModeKind())
	prog := progression.New(cl.db, reward.NewPayer(n.inv, n.ledger), n.ledger)
	servers := match.NewServers(cl.db, time.Millisecond)
	api.MountProgression(n.app, api.Progression{Progression: prog, Verifier: n.tokens})
	api.MountMatches(n.app, api.Matches{Matches: match.New(cl.db, nil), Servers: servers})
	mode := unique("tdm")
	body, _ := json.Marshal(match.Mode{Name: "TDM", Teams: 2, TeamSize: 2, MaxDurationSeconds: 600,
		Bounds: map[string]int64{match.StatKills: 40, match.StatSecondsPlayed: 600}, XP: match.XPRules{PerKill: 100, Win: 300, Max: 5000}})
	d, err := cs.SaveDraft(ctx, match.KindMode, mode, "", body, content.Edit{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.Publish(ctx, match.KindMode, mode, content.Edit{Expected: d.DraftRevision}); err != nil {
		t.Fatal(err)
	}
	_, cred, err := servers.Create(ctx, unique("srv"), "test", nil)
	if err != nil {
		t.Fatal(err)
	}
	relay := outbox.NewRelay(cl.db, "", nil, nil, outbox.Config{})
	if err := relay.Register(ctx, prog.Consumer()); err != nil {
		t.Fatal(err)
	}
	return &metaNode{node: n, relay: relay, mode: mode, server: cred, servers: servers}
}

func (m *metaNode) asServer(t *testing.T, path, body string) reply {
	t.Helper()
	return m.do(t, call{method: http.MethodPost, path: path, body: body, token: m.server})
}

func TestMatchResultsReachProgression(t *testing.T) {
	cl := newCluster(t)
	m := cl.metaNode(t)
	a, b, outsider := m.gamer(t), m.gamer(t), m.gamer(t)
	id := unique("match-")

	open := fmt.Sprintf(`{"match_id":%q,"mode":%q,"players":[%q,%q]}`, id, m.mode, a.public, b.public)
	expect(t, m.asServer(t, "/v1/server/matches", open), http.StatusCreated, "")
	// A player's token is never a server credential.
	r := m.do(t, call{method: http.MethodPost, path: "/v1/server/matches", body: open, token: a.token})
	expect(t, r, http.StatusUnauthorized, "invalid_server_credential")
	expect(t, m.post(t, "/v1/server/matches", open), http.StatusUnauthorized, "invalid_server_credential")

	result := func(p1, p2 string, kills int) string {
		return fmt.Sprintf(`{"players":[{"player_id":%q,"team":1,"placement":1,"stats":{"kills":%d,"seconds_played":60}},`+
			`{"player_id":%q,"team":2,"placement":2,"stats":{"kills":1,"seconds_played":60}}]}`, p1, kills, p2)
	}
	path := "/v1/server/matches/" + id + "/result"
	expect(t, m.asServer(t, path, result(a.public, outsider.public, 3)), http.StatusUnprocessableEntity, "player_not_in_match")
	expect(t, m.asServer(t, path, `{"players":[{"player_id":"x","team":1}],"extra":1}`), http.StatusBadRequest, "unknown_field")
	first := m.asServer(t, path, result(a.public, b.public, 3))
	expect(t, first, http.StatusOK, "")
	if first.str("status") != "accepted" {
		t.Fatalf("report = %s", first.raw)
	}
	again := m.asServer(t, path, result(a.public, b.public, 3))
	expect(t, again, http.StatusOK, "")
	if again.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("repeated report not marked replayed: %s", again.raw)
	}
	expect(t, m.asServer(t, path, result(a.public, b.public, 4)), http.StatusConflict, "result_already_reported")

	if _, err := m.relay.DeliverDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		g  gamer
		xp float64
	}{{a, 600}, {b, 100}} {
		r := m.get(t, "/v1/me/progression", c.g.token)
		expect(t, r, http.StatusOK, "")
		if r.body["xp"] != c.xp || r.body["level"] != 1.0 {
			t.Errorf("progression = %s, want %v XP", r.raw, c.xp)
		}
	}

	// Out of bounds: held for review, nobody's XP moves.
	id2 := unique("match-")
	expect(t, m.asServer(t, "/v1/server/matches", fmt.Sprintf(`{"match_id":%q,"mode":%q,"players":[%q,%q]}`, id2, m.mode, a.public, b.public)), http.StatusCreated, "")
	held := m.asServer(t, "/v1/server/matches/"+id2+"/result", result(a.public, b.public, 41))
	expect(t, held, http.StatusAccepted, "")
	if held.str("status") != "quarantined" || held.str("reason") == "" {
		t.Fatalf("out-of-bounds report = %s", held.raw)
	}
	if _, err := m.relay.DeliverDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	if r := m.get(t, "/v1/me/progression", a.token); r.body["xp"] != 600.0 {
		t.Fatalf("a quarantined result moved XP: %s", r.raw)
	}
}

func TestUnlockAndPrestigeRoutes(t *testing.T) {
	cl := newCluster(t)
	m := cl.metaNode(t)
	g := m.gamer(t)
	write := func(path, key, body string) reply {
		h := map[string]string{}
		if key != "" {
			h["Idempotency-Key"] = key
		}
		return m.do(t, call{method: http.MethodPost, path: path, body: body, token: g.token, header: h})
	}
	expect(t, write("/v1/me/progression/prestige", "", ""), http.StatusBadRequest, "idempotency_key_required")
	expect(t, write("/v1/me/progression/prestige", "k1", ""), http.StatusConflict, "not_max_level")
	expect(t, write("/v1/me/unlocks", "k2", `{"tree":"","node":"x"}`), http.StatusBadRequest, "bad_request")
	expect(t, write("/v1/me/unlocks", "k3", `{"tree":"no-such-tree","node":"x"}`), http.StatusNotFound, "unknown_unlock_tree")
	r := m.get(t, "/v1/me/unlocks", g.token)
	expect(t, r, http.StatusOK, "")
	if _, ok := r.body["trees"].([]any); !ok {
		t.Fatalf("unlocks = %s", r.raw)
	}
	r = m.get(t, "/v1/me/progression/history?limit=0", g.token)
	expect(t, r, http.StatusBadRequest, "bad_request")
}
