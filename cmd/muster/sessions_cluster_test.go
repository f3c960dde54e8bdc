package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/musterhq/muster/domain/content"
	"github.com/musterhq/muster/domain/db"
	"github.com/musterhq/muster/domain/fleet"
	"github.com/musterhq/muster/domain/match"
	"github.com/musterhq/muster/domain/matchmaking"
	"github.com/musterhq/muster/domain/notify"
	"github.com/musterhq/muster/test/testenv"
)

// TestQueueToDedicatedServer runs the path of a match across processes:
// players queue on a matchmaking node, the sessions node (with the worker)
// allocates the formed match to the game server process registered with
// it and the players are told where to connect; the server reads its
// roster from its heartbeat. Then the server stops heart-beating: it is
// swept as gone, its match lost, and the next formed match gets no server
// and goes back to the matchmaker.
func TestQueueToDedicatedServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three muster processes")
	}
	dbURL := testenv.DBURL(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	conn, err := db.Open(ctx, dbURL, db.Pool{MaxOpen: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	id := unique("duel")
	region := unique("r")
	cs := content.New(conn)
	cs.Register(match.ModeKind())
	cs.Register(matchmaking.QueueKind())
	for _, d := range []struct {
		kind string
		body any
	}{
		{match.KindMode, match.Mode{Name: "duel", Teams: 2, TeamSize: 1, MaxDurationSeconds: 600,
			Bounds: map[string]int64{match.StatKills: 50, match.StatSecondsPlayed: 600}, XP: match.XPRules{PerKill: 1, Max: 100}}},
		{matchmaking.KindQueue, matchmaking.Queue{Name: "duel", Mode: id, TeamSize: 1, Teams: 2, Regions: []string{region},
			PartyMin: 1, PartyMax: 1, Skill: matchmaking.Widening{Start: 100, Max: 100}, MaxWaitSeconds: 600, Fallback: matchmaking.FallbackNone}},
	} {
		b, _ := json.Marshal(d.body)
		doc, err := cs.SaveDraft(ctx, d.kind, id, "", b, content.Edit{Editor: "test"})
		if err == nil {
			_, err = cs.Publish(ctx, d.kind, id, content.Edit{Expected: doc.DraftRevision, Editor: "test"})
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	_, cred, err := match.NewServers(conn, 0).Create(ctx, unique("fleet-"), "test", nil)
	if err != nil {
		t.Fatal(err)
	}

	prefix := unique("se") + ":"
	extra := []string{"MUSTER_MATCHMAKING_TICK=200ms", "MUSTER_MATCHMAKING_LEASE=1s", "MUSTER_SESSIONS_HEARTBEAT=500ms",
		"MUSTER_SESSIONS_HEARTBEAT_TIMEOUT=3s", "MUSTER_SESSIONS_SWEEP_EVERY=300ms", "MUSTER_SESSIONS_ALLOCATE_WITHIN=1s"}
	a := startNode(t, "auth", dbURL, prefix, extra...)
	mm := startNode(t, "matchmaking", dbURL, prefix, extra...)
	se := startNode(t, "sessions,worker", dbURL, prefix, extra...)
	sessions := "http://" + se.http
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for end := time.Now().Add(20 * time.Second); !ok(); time.Sleep(100 * time.Millisecond) {
			if time.Now().After(end) {
				t.Fatalf("timed out waiting for %s", what)
			}
		}
	}

	reg := restCall(t, http.MethodPost, sessions+"/v1/server/instances", cred,
		fmt.Sprintf(`{"fleet":"main","region":%q,"address":"203.0.113.50:7777"}`, region), http.StatusCreated)
	hb := fmt.Sprintf("%s/v1/server/instances/%d/heartbeat", sessions, int64(reg["id"].(float64)))
	// The game server heartbeats in the background, as a real one does,
	// until it goes silent.
	var mu sync.Mutex
	var hosted []string
	silent := make(chan struct{})
	beating := make(chan struct{})
	go func() {
		defer close(beating)
		for {
			select {
			case <-silent:
				return
			case <-time.After(200 * time.Millisecond):
			}
			req, _ := http.NewRequest(http.MethodPost, hb, nil)
			req.Header.Set("Authorization", "Bearer "+cred)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				continue
			}
			var beat struct {
				Matches []struct {
					MatchID string `json:"match_id"`
				} `json:"matches"`
			}
			_ = json.NewDecoder(resp.Body).Decode(&beat)
			resp.Body.Close()
			mu.Lock()
			hosted = hosted[:0]
			for _, m := range beat.Matches {
				hosted = append(hosted, m.MatchID)
			}
			mu.Unlock()
		}
	}()
	defer func() {
		select {
		case <-silent:
		default:
			close(silent)
		}
		<-beating
	}()

	queue := func() []restPlayer {
		ps := []restPlayer{registerPlayer(t, "http://"+a.http), registerPlayer(t, "http://"+a.http)}
		for _, p := range ps {
			restCall(t, http.MethodPost, "http://"+mm.http+"/v1/me/matchmaking", p.token,
				fmt.Sprintf(`{"queue":%q,"latency_ms":{%q:30}}`, id, region), http.StatusCreated)
		}
		return ps
	}
	ps := queue()
	var matchID string
	waitFor("the match on the server's heartbeat", func() bool {
		mu.Lock()
		defer mu.Unlock()
		if len(hosted) == 1 {
			matchID = hosted[0]
		}
		return matchID != ""
	})
	roster := restCall(t, http.MethodGet, sessions+"/v1/server/allocations/"+matchID, cred, "", http.StatusOK)
	if players, _ := roster["players"].([]any); len(players) != 2 {
		t.Fatalf("roster = %v", roster)
	}
	for _, p := range ps {
		live := restCall(t, http.MethodGet, sessions+"/v1/me/match", p.token, "", http.StatusOK)
		if live["match_id"] != matchID || live["address"] != "203.0.113.50" || live["port"] != 7777.0 {
			t.Fatalf("the player's live match = %v", live)
		}
	}
	notes := notify.NewStore(conn, notify.Config{})
	for _, p := range ps {
		var account int64
		if err := conn.GetContext(ctx, &account, `SELECT id FROM accounts WHERE public_id = $1`, p.id); err != nil {
			t.Fatal(err)
		}
		waitFor("match.found stored for the player", func() bool {
			ns, _ := notes.List(ctx, account, 0, 10, false)
			return len(ns) > 0 && ns[0].Kind == fleet.KindMatchFound
		})
	}

	// The server stops heart-beating: gone, its match lost; the next match
	// finds no server and goes back to the matchmaker.
	close(silent)
	<-beating
	waitFor("the silent server swept as gone", func() bool {
		var state string
		_ = conn.GetContext(ctx, &state, `SELECT state FROM fleet_allocations WHERE match_id = $1`, matchID)
		return state == fleet.AllocLost
	})
	restCall(t, http.MethodPost, hb, cred, "", http.StatusGone)
	restCall(t, http.MethodGet, sessions+"/v1/me/match", ps[0].token, "", http.StatusNotFound)
	queue()
	waitFor("a match given back to the matchmaker", func() bool {
		var n int
		_ = conn.GetContext(ctx, &n, `SELECT count(*) FROM outbox_events WHERE topic = $1 AND payload->>'queue' = $2`,
			matchmaking.TopicAllocationFailed, id)
		return n > 0
	})
	var allocated int
	if err := conn.GetContext(ctx, &allocated, `SELECT count(*) FROM fleet_allocations WHERE queue = $1 AND state = 'allocated'`, id); err != nil {
		t.Fatal(err)
	}
	if allocated != 0 {
		t.Fatalf("%d matches allocated with the only server silent", allocated)
	}
}
