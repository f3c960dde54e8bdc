package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/musterhq/muster/api"
	"github.com/musterhq/muster/domain/fleet"
	"github.com/musterhq/muster/domain/match"
	"github.com/musterhq/muster/domain/matchmaking"
	"github.com/musterhq/muster/domain/notify"
	"github.com/musterhq/muster/domain/outbox"
)

// TestSessionsRoutes drives a match through the server routes: a process
// registers and heartbeats, a formed match is allocated to it, the server
// reads the roster and reports players, a player who dropped asks where to
// get back in, another credential's result is refused, and the match ends.
func TestSessionsRoutes(t *testing.T) {
	cl := newCluster(t)
	m := cl.metaNode(t) // the mode, a server credential, the match routes
	ctx := context.Background()
	matches := match.New(cl.db, nil)
	registry := fleet.NewRegistry(cl.db, fleet.Config{HeartbeatEvery: 2 * time.Second, HeartbeatTimeout: 6 * time.Second})
	sessions := fleet.NewSessions(cl.db, registry, matches, fleet.SessionsConfig{}, nil, nil)
	api.MountSessions(m.app, api.Sessions{Registry: registry, Sessions: sessions, Servers: m.servers, Verifier: m.tokens})
	notes := notify.NewStore(cl.db, notify.Config{})
	relay := outbox.NewRelay(cl.db, "", nil, nil, outbox.Config{})
	for _, c := range append(sessions.Consumers(), notes.Consumer()) {
		if err := relay.Register(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	_, otherCred, err := m.servers.Create(ctx, unique("srv"), "test", nil)
	if err != nil {
		t.Fatal(err)
	}
	as := func(cred, method, path, body string) reply {
		return m.do(t, call{method: method, path: path, body: body, token: cred})
	}
	a, b := m.gamer(t), m.gamer(t)
	region := unique("eu")

	// Registration.
	expect(t, as(m.server, http.MethodPost, "/v1/server/instances", `{"fleet":"main","region":"EU","address":"198.51.100.4:7777"}`),
		http.StatusUnprocessableEntity, "invalid_registration")
	expect(t, as(a.token, http.MethodPost, "/v1/server/instances", `{"fleet":"main","region":"eu","address":"198.51.100.4:7777"}`),
		http.StatusUnauthorized, "invalid_server_credential")
	reg := as(m.server, http.MethodPost, "/v1/server/instances",
		fmt.Sprintf(`{"fleet":"main","region":%q,"address":"198.51.100.4:7777","capacity":2,"version":"1.4.0","labels":{"map":"dust"}}`, region))
	expect(t, reg, http.StatusCreated, "")
	if reg.body["state"] != "ready" || reg.body["heartbeat_every_seconds"] != 2.0 || reg.body["heartbeat_timeout_seconds"] != 6.0 {
		t.Fatalf("register = %s", reg.raw)
	}
	id := int64(reg.body["id"].(float64))
	hb := fmt.Sprintf("/v1/server/instances/%d/heartbeat", id)
	expect(t, as(otherCred, http.MethodPost, hb, ""), http.StatusNotFound, "instance_not_found")
	expect(t, as(m.server, http.MethodPost, "/v1/server/instances/x/heartbeat", ""), http.StatusNotFound, "instance_not_found")
	beat := as(m.server, http.MethodPost, hb, "")
	expect(t, beat, http.StatusOK, "")
	if beat.body["drain"] != false || len(beat.body["matches"].([]any)) != 0 {
		t.Fatalf("heartbeat = %s", beat.raw)
	}

	// A formed match reaches the server.
	matchID := unique("match-")
	f := matchmaking.Formed{MatchID: matchID, Queue: "duos", Mode: m.mode, Region: region, Teams: []matchmaking.Team{
		{Players: []matchmaking.Player{{AccountID: a.id, PlayerID: a.public}}},
		{Players: []matchmaking.Player{{AccountID: b.id, PlayerID: b.public}}}}}
	tx, err := cl.db.BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := outbox.Enqueue(ctx, tx, matchmaking.TopicFormed, f); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	for range 2 { // allocate, then store the notifications
		if _, err := relay.DeliverDue(ctx); err != nil {
			t.Fatal(err)
		}
	}
	beat = as(m.server, http.MethodPost, hb, "")
	if ms := beat.body["matches"].([]any); len(ms) != 1 || ms[0].(map[string]any)["match_id"] != matchID {
		t.Fatalf("heartbeat after the allocation = %s", beat.raw)
	}
	alloc := "/v1/server/allocations/" + matchID
	got := as(m.server, http.MethodGet, alloc, "")
	expect(t, got, http.StatusOK, "")
	if got.body["address"] != "198.51.100.4" || got.body["port"] != 7777.0 || len(got.body["players"].([]any)) != 2 {
		t.Fatalf("allocation = %s", got.raw)
	}
	expect(t, as(otherCred, http.MethodGet, alloc, ""), http.StatusForbidden, "not_your_match")
	expect(t, as(m.server, http.MethodGet, "/v1/server/allocations/nope", ""), http.StatusNotFound, "allocation_not_found")

	// The player was told over the notification path, and can ask again.
	r := m.get(t, "/v1/me/match", a.token)
	expect(t, r, http.StatusOK, "")
	if r.body["match_id"] != matchID || r.body["address"] != "198.51.100.4" || r.body["port"] != 7777.0 || r.body["team"] != 1.0 || r.body["connected"] != false {
		t.Fatalf("my match = %s", r.raw)
	}
	expect(t, as(m.server, http.MethodGet, "/v1/me/match", ""), http.StatusUnauthorized, "")
	ns, err := notes.List(ctx, b.id, 0, 10, false)
	if err != nil || len(ns) == 0 || ns[0].Kind != fleet.KindMatchFound {
		t.Fatalf("b's notifications = %+v, %v", ns, err)
	}
	var found fleet.FoundPayload
	if err := json.Unmarshal(ns[0].Payload, &found); err != nil || found.MatchID != matchID || found.Team != 2 || found.Port != 7777 {
		t.Fatalf("match.found = %s", ns[0].Payload)
	}

	// Players join, one drops and reconnects.
	players := alloc + "/players"
	expect(t, as(m.server, http.MethodPost, players, fmt.Sprintf(`{"joined":[%q]}`, m.gamer(t).public)), http.StatusUnprocessableEntity, "player_not_in_match")
	expect(t, as(m.server, http.MethodPost, players, `{"joined":[],"extra":1}`), http.StatusBadRequest, "unknown_field")
	expect(t, as(m.server, http.MethodPost, players, fmt.Sprintf(`{"joined":[%q,%q],"left":[%q]}`, a.public, b.public, a.public)), http.StatusOK, "")
	if r := m.get(t, "/v1/me/match", a.token); r.body["connected"] != false {
		t.Fatalf("a dropped player's match = %s", r.raw)
	}
	if r := m.get(t, "/v1/me/match", b.token); r.body["connected"] != true {
		t.Fatalf("a connected player's match = %s", r.raw)
	}

	// Results: only from the server the match was allocated to.
	result := fmt.Sprintf(`{"players":[{"player_id":%q,"team":1,"placement":1,"stats":{"kills":2,"seconds_played":60}},`+
		`{"player_id":%q,"team":2,"placement":2,"stats":{"kills":1,"seconds_played":60}}]}`, a.public, b.public)
	expect(t, as(otherCred, http.MethodPost, "/v1/server/matches/"+matchID+"/result", result), http.StatusForbidden, "not_your_match")
	expect(t, as(m.server, http.MethodPost, "/v1/server/matches/"+matchID+"/result", result), http.StatusOK, "")

	end := as(m.server, http.MethodPost, alloc+"/end", "")
	expect(t, end, http.StatusOK, "")
	if end.body["state"] != "ended" || end.body["end_reason"] != "server_ended" {
		t.Fatalf("end = %s", end.raw)
	}
	expect(t, as(m.server, http.MethodPost, players, fmt.Sprintf(`{"left":[%q]}`, b.public)), http.StatusConflict, "allocation_over")
	expect(t, m.get(t, "/v1/me/match", a.token), http.StatusNotFound, "no_live_match")
	beat = as(m.server, http.MethodPost, hb, "")
	if beat.body["allocated"] != 0.0 || len(beat.body["matches"].([]any)) != 0 {
		t.Fatalf("heartbeat after the end = %s", beat.raw)
	}

	// Shutting down.
	expect(t, as(otherCred, http.MethodDelete, fmt.Sprintf("/v1/server/instances/%d", id), ""), http.StatusNotFound, "instance_not_found")
	expect(t, as(m.server, http.MethodDelete, fmt.Sprintf("/v1/server/instances/%d", id), ""), http.StatusNoContent, "")
	expect(t, as(m.server, http.MethodPost, hb, ""), http.StatusGone, "instance_gone")
}
