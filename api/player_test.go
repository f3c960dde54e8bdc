package api_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/musterhq/muster/api"
	"github.com/musterhq/muster/domain/auth"
	"github.com/musterhq/muster/domain/catalog"
	"github.com/musterhq/muster/domain/economytest"
	"github.com/musterhq/muster/domain/match"
	playerdata "github.com/musterhq/muster/domain/player"
	"github.com/musterhq/muster/domain/session"
	"github.com/musterhq/muster/domain/state"
)

// playerNode is a node that also serves the player data routes, with its
// own player store over the cluster's database and Redis.
func (cl *cluster) playerNode(t *testing.T, cfg playerdata.Config, writeLimit auth.Rule) *node {
	t.Helper()
	n := cl.node(t, defaultConfig(), session.Config{})
	cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	shared := state.NewRedis(cl.redis, cl.prefix)
	api.MountPlayer(n.app, api.Player{Players: playerdata.New(cl.db, shared, n.inv, cfg), Verifier: n.tokens,
		Limiter: shared, WriteLimit: writeLimit, Log: cfg.Log})
	return n
}

// items of the default slot rules (playerdata.DefaultLoadoutRules and
// DefaultProfileRules), which apply while none are published.
type kit struct {
	rifle, pistol, operator, banner, title, charm catalog.Item
}

func newKit(t *testing.T, n *node) kit {
	item := func(kind string, tags ...string) catalog.Item {
		return economytest.Item(t, n.db, func(it *catalog.Item) { it.Kind, it.Tags, it.MaxStack = kind, tags, 1 })
	}
	return kit{rifle: item("weapon"), pistol: item("weapon"), operator: item("operator"), banner: item("banner"),
		title: item("charm", "title"), charm: item("charm")}
}

func (n *node) put(t *testing.T, g gamer, path, body string) reply {
	t.Helper()
	return n.do(t, call{method: http.MethodPut, path: path, token: g.token, body: body})
}

func (r reply) obj(path ...string) map[string]any {
	var v any = r.body
	for _, p := range path {
		m, _ := v.(map[string]any)
		v = m[p]
	}
	m, _ := v.(map[string]any)
	return m
}

func TestProfileVersionsAndPublicView(t *testing.T) {
	cl := newCluster(t)
	n := cl.playerNode(t, playerdata.Config{}, auth.Rule{})
	k := newKit(t, n)
	me, other := n.gamer(t), n.gamer(t)
	n.give(t, me, line(k.banner.ID, 1), line(k.title.ID, 1), line(k.charm.ID, 1))

	r := n.get(t, "/v1/me/profile", me.token)
	expect(t, r, http.StatusOK, "")
	if r.num("version") != 0 || r.num("level") != 1 || r.str("id") != me.public || len(r.list("slots")) != 3 {
		t.Fatalf("new profile: %s", r.raw)
	}

	tests := []struct {
		name   string
		body   string
		status int
		code   string
	}{
		{"no version", `{"cosmetics":{}}`, http.StatusBadRequest, "bad_request"},
		{"unknown field", `{"version":0,"badge":"x"}`, http.StatusBadRequest, "unknown_field"},
		{"unknown slot", `{"version":0,"cosmetics":{"hat":"` + k.charm.ID + `"}}`, http.StatusBadRequest, "unknown_slot"},
		{"untagged title", `{"version":0,"cosmetics":{"title":"` + k.charm.ID + `"}}`, http.StatusBadRequest, "item_not_allowed"},
		{"weapon as banner", `{"version":0,"cosmetics":{"banner":"` + k.rifle.ID + `"}}`, http.StatusBadRequest, "item_not_allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { expect(t, n.put(t, me, "/v1/me/profile", tt.body), tt.status, tt.code) })
	}
	r = n.put(t, other, "/v1/me/profile", `{"version":0,"cosmetics":{"banner":"`+k.banner.ID+`"}}`)
	expect(t, r, http.StatusConflict, "item_not_owned")
	if !strings.Contains(r.str("error", "message"), k.banner.ID) {
		t.Fatalf("the message does not name the item: %s", r.raw)
	}

	r = n.put(t, me, "/v1/me/profile", `{"version":0,"cosmetics":{"banner":"`+k.banner.ID+`","title":"`+k.title.ID+`"}}`)
	expect(t, r, http.StatusOK, "")
	if r.num("version") != 1 || r.str("cosmetics", "title") != k.title.ID {
		t.Fatalf("saved: %s", r.raw)
	}

	// A second client still at version 0 is told what is there now.
	r = n.put(t, me, "/v1/me/profile", `{"version":0,"cosmetics":{"banner":null}}`)
	expect(t, r, http.StatusConflict, "stale_version")
	if r.num("current", "version") != 1 || r.str("current", "cosmetics", "banner") != k.banner.ID {
		t.Fatalf("stale answer: %s", r.raw)
	}

	r = n.get(t, "/v1/players/"+me.public+"/profile", other.token)
	expect(t, r, http.StatusOK, "")
	if r.str("cosmetics", "banner") != k.banner.ID || r.str("id") != me.public || r.body["version"] != nil || r.body["account_id"] != nil {
		t.Fatalf("public profile: %s", r.raw)
	}
	expect(t, n.get(t, "/v1/players/nobody/profile", other.token), http.StatusNotFound, "player_not_found")
	expect(t, n.get(t, "/v1/me/profile", ""), http.StatusUnauthorized, "unauthorized")
}

func TestLoadoutsOverHTTP(t *testing.T) {
	cl := newCluster(t)
	n := cl.playerNode(t, playerdata.Config{}, auth.Rule{})
	k := newKit(t, n)
	me := n.gamer(t)
	n.give(t, me, line(k.rifle.ID, 1), line(k.operator.ID, 1), line(k.charm.ID, 1))

	r := n.get(t, "/v1/me/loadouts", me.token)
	expect(t, r, http.StatusOK, "")
	if r.num("max_loadouts") != 10 || len(r.list("loadouts")) != 0 || len(r.list("slots")) == 0 {
		t.Fatalf("no loadouts yet: %s", r.raw)
	}

	tests := []struct {
		name, path, body string
		status           int
		code             string
	}{
		{"saved", "/v1/me/loadouts/assault", `{"version":0,"name":"Assault","slots":{"primary":"` + k.rifle.ID + `","operator":"` + k.operator.ID + `"}}`, http.StatusOK, ""},
		{"not owned", "/v1/me/loadouts/b", `{"version":0,"name":"B","slots":{"primary":"` + k.pistol.ID + `"}}`, http.StatusConflict, "item_not_owned"},
		{"wrong kind for the slot", "/v1/me/loadouts/b", `{"version":0,"name":"B","slots":{"primary":"` + k.charm.ID + `"}}`, http.StatusBadRequest, "item_not_allowed"},
		{"unknown slot", "/v1/me/loadouts/b", `{"version":0,"name":"B","slots":{"primary":"` + k.rifle.ID + `","melee":"` + k.charm.ID + `"}}`, http.StatusBadRequest, "unknown_slot"},
		{"required slot empty", "/v1/me/loadouts/b", `{"version":0,"name":"B","slots":{"primary":null}}`, http.StatusBadRequest, "slot_required"},
		{"no version", "/v1/me/loadouts/b", `{"name":"B","slots":{}}`, http.StatusBadRequest, "bad_request"},
		{"no name", "/v1/me/loadouts/b", `{"version":0,"slots":{}}`, http.StatusBadRequest, "bad_request"},
		{"bad id", "/v1/me/loadouts/Bad%20Id", `{"version":0,"name":"B","slots":{"primary":"` + k.rifle.ID + `"}}`, http.StatusBadRequest, "invalid_player_data"},
		{"name too long", "/v1/me/loadouts/b", `{"version":0,"name":"` + strings.Repeat("n", 33) + `","slots":{"primary":"` + k.rifle.ID + `"}}`, http.StatusBadRequest, "invalid_player_data"},
		{"malformed", "/v1/me/loadouts/b", `{"version":0,`, http.StatusBadRequest, "invalid_json"},
		{"stale", "/v1/me/loadouts/assault", `{"version":0,"name":"Again","slots":{"primary":"` + k.rifle.ID + `"}}`, http.StatusConflict, "stale_version"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := n.put(t, me, tt.path, tt.body)
			expect(t, r, tt.status, tt.code)
			if tt.code == "stale_version" && (r.num("current", "version") != 1 || r.str("current", "name") != "Assault") {
				t.Fatalf("stale answer: %s", r.raw)
			}
		})
	}

	r = n.get(t, "/v1/me/loadouts", me.token)
	if l := r.list("loadouts"); len(l) != 1 || l[0]["id"] != "assault" || l[0]["version"] != 1.0 {
		t.Fatalf("loadouts: %s", r.raw)
	}
	r = n.put(t, me, "/v1/me/loadouts/assault", `{"version":1,"name":"Assault 2","slots":{"primary":"`+k.rifle.ID+`"}}`)
	expect(t, r, http.StatusOK, "")
	if r.num("version") != 2 || r.obj("slots")["operator"] != nil {
		t.Fatalf("replaced: %s", r.raw)
	}

	del := func(path string) reply { return n.do(t, call{method: http.MethodDelete, path: path, token: me.token}) }
	r = del("/v1/me/loadouts/assault?version=1")
	expect(t, r, http.StatusConflict, "stale_version")
	if r.num("current", "version") != 2 {
		t.Fatalf("stale delete: %s", r.raw)
	}
	expect(t, del("/v1/me/loadouts/assault?version=x"), http.StatusBadRequest, "bad_request")
	expect(t, del("/v1/me/loadouts/assault?version=2"), http.StatusNoContent, "")
	expect(t, del("/v1/me/loadouts/assault"), http.StatusNotFound, "loadout_not_found")
	r = n.put(t, me, "/v1/me/loadouts/assault", `{"version":2,"name":"Gone","slots":{"primary":"`+k.rifle.ID+`"}}`)
	expect(t, r, http.StatusConflict, "stale_version")
	if c, ok := r.body["current"]; !ok || c != nil {
		t.Fatalf("a deleted loadout's current should be null: %s", r.raw)
	}
}

func TestSettingsOverHTTP(t *testing.T) {
	cl := newCluster(t)
	n := cl.playerNode(t, playerdata.Config{SettingsMaxBytes: 1024}, auth.Rule{})
	me := n.gamer(t)

	r := n.get(t, "/v1/me/settings", me.token)
	expect(t, r, http.StatusOK, "")
	if r.num("version") != 0 || len(r.obj("settings")) != 0 {
		t.Fatalf("settings before a save: %s", r.raw)
	}
	tests := []struct {
		name, body string
		status     int
		code       string
	}{
		{"too large", `{"version":0,"settings":{"blob":"` + strings.Repeat("x", 1100) + `"}}`, http.StatusRequestEntityTooLarge, "settings_too_large"},
		{"not an object", `{"version":0,"settings":[1,2]}`, http.StatusBadRequest, "invalid_player_data"},
		{"no settings", `{"version":0}`, http.StatusBadRequest, "bad_request"},
		{"saved", `{"version":0,"settings":{"fov":90, "binds":{"jump":"space"}}}`, http.StatusOK, ""},
		{"stale", `{"version":0,"settings":{"fov":70}}`, http.StatusConflict, "stale_version"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := n.put(t, me, "/v1/me/settings", tt.body)
			expect(t, r, tt.status, tt.code)
			if tt.code == "stale_version" && r.num("current", "settings", "fov") != 90 {
				t.Fatalf("stale answer: %s", r.raw)
			}
		})
	}
	r = n.get(t, "/v1/me/settings", me.token)
	if !strings.Contains(r.raw, `"settings":{"fov":90,"binds":{"jump":"space"}}`) || r.num("version") != 1 {
		t.Fatalf("settings are not kept as sent: %s", r.raw)
	}
}

// TestPlayerWritesReachOtherNodes writes on one node and reads on another
// that had the documents cached.
func TestPlayerWritesReachOtherNodes(t *testing.T) {
	cl := newCluster(t)
	a, b := cl.playerNode(t, playerdata.Config{}, auth.Rule{}), cl.playerNode(t, playerdata.Config{}, auth.Rule{})
	k := newKit(t, a)
	me := a.gamer(t)
	a.give(t, me, line(k.banner.ID, 1), line(k.rifle.ID, 1))
	for _, path := range []string{"/v1/me/profile", "/v1/me/loadouts", "/v1/me/settings"} {
		expect(t, b.get(t, path, me.token), http.StatusOK, "") // cached on b
	}
	expect(t, a.put(t, me, "/v1/me/profile", `{"version":0,"cosmetics":{"banner":"`+k.banner.ID+`"}}`), http.StatusOK, "")
	expect(t, a.put(t, me, "/v1/me/loadouts/one", `{"version":0,"name":"One","slots":{"primary":"`+k.rifle.ID+`"}}`), http.StatusOK, "")
	expect(t, a.put(t, me, "/v1/me/settings", `{"version":0,"settings":{"hud":"min"}}`), http.StatusOK, "")

	if r := b.get(t, "/v1/me/profile", me.token); r.str("cosmetics", "banner") != k.banner.ID {
		t.Fatalf("profile on b: %s", r.raw)
	}
	if r := b.get(t, "/v1/me/loadouts", me.token); len(r.list("loadouts")) != 1 {
		t.Fatalf("loadouts on b: %s", r.raw)
	}
	if r := b.get(t, "/v1/me/settings", me.token); r.str("settings", "hud") != "min" {
		t.Fatalf("settings on b: %s", r.raw)
	}
}

func TestStatsOverHTTP(t *testing.T) {
	cl := newCluster(t)
	n := cl.playerNode(t, playerdata.Config{}, auth.Rule{})
	me := n.gamer(t)

	r := n.get(t, "/v1/me/stats", me.token)
	expect(t, r, http.StatusOK, "")
	if r.num("lifetime", "matches") != 0 || r.obj("lifetime", "totals") == nil || r.body["season"] != nil {
		t.Fatalf("stats of a new player: %s", r.raw)
	}
	expect(t, n.get(t, "/v1/me/stats?season=nope", me.token), http.StatusNotFound, "season_not_found")

	matchID := economytest.Name("api-stats")
	if _, err := cl.db.Exec(`INSERT INTO game_servers (name, secret_hash) VALUES ('api-player-tests', '\x00') ON CONFLICT (name) DO NOTHING`); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.db.Exec(`INSERT INTO matches (id, server_id, mode, roster) SELECT $1, id, 'test', '{}' FROM game_servers WHERE name = 'api-player-tests'`, matchID); err != nil {
		t.Fatal(err)
	}
	tx := cl.db.MustBegin()
	err := playerdata.ApplyMatch(context.Background(), tx, match.Accepted{MatchID: matchID, StartedAt: time.Now(), EndedAt: time.Now(),
		Players: []match.AcceptedPlayer{{PlayerResult: match.PlayerResult{AccountID: me.id, Placement: 2,
			Stats: map[string]int64{match.StatKills: 4}, KillsByClass: map[string]int64{"smg": 4}}}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	r = n.get(t, "/v1/me/stats", me.token)
	if r.num("lifetime", "matches") != 1 || r.num("lifetime", "totals", "kills") != 4 || r.num("lifetime", "best_placement") != 2 ||
		r.num("lifetime", "kills_by_class", "smg") != 4 {
		t.Fatalf("stats after a match: %s", r.raw)
	}
}

func TestPlayerWritesAreRateLimited(t *testing.T) {
	cl := newCluster(t)
	n := cl.playerNode(t, playerdata.Config{}, auth.Rule{N: 2, Per: time.Minute})
	me := n.gamer(t)
	for i := range 2 {
		expect(t, n.put(t, me, "/v1/me/settings", fmt.Sprintf(`{"version":%d,"settings":{}}`, i)), http.StatusOK, "")
	}
	r := n.put(t, me, "/v1/me/settings", `{"version":2,"settings":{}}`)
	expect(t, r, http.StatusTooManyRequests, "rate_limited")
	if r.header.Get("Retry-After") == "" {
		t.Fatal("no Retry-After")
	}
	expect(t, n.get(t, "/v1/me/settings", me.token), http.StatusOK, "") // reads are not limited
}
