package main

import (
	"context"
	"encoding/json"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/musterhq/muster/domain/content"
	"github.com/musterhq/muster/domain/db"
	"github.com/musterhq/muster/domain/match"
	"github.com/musterhq/muster/domain/matchmaking"
	"github.com/musterhq/muster/test/testenv"
)

// TestMatchmakerReplicaKilled runs two matchmaking processes (and one for
// logins); the one that
// holds the queue's lease is killed with SIGKILL while players keep
// queueing. The other takes the queue over, and every player ends in
// exactly one match.
func TestMatchmakerReplicaKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two muster processes")
	}
	dbURL := testenv.DBURL(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	conn, err := db.Open(ctx, dbURL, db.Pool{MaxOpen: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	queue := unique("duel")
	cs := content.New(conn)
	cs.Register(match.ModeKind())
	cs.Register(matchmaking.QueueKind())
	for _, d := range []struct {
		kind string
		body any
	}{
		{match.KindMode, match.Mode{Name: "duel", Teams: 2, TeamSize: 1, MaxDurationSeconds: 600,
			Bounds: map[string]int64{match.StatKills: 50, match.StatSecondsPlayed: 600}, XP: match.XPRules{PerKill: 1, Max: 100}}},
		{matchmaking.KindQueue, matchmaking.Queue{Name: "duel", Mode: queue, TeamSize: 1, Teams: 2, Regions: []string{"eu-west"},
			PartyMin: 1, PartyMax: 1, Skill: matchmaking.Widening{Start: 100, Max: 100}, MaxWaitSeconds: 600, Fallback: matchmaking.FallbackNone}},
	} {
		b, _ := json.Marshal(d.body)
		doc, err := cs.SaveDraft(ctx, d.kind, queue, "", b, content.Edit{Editor: "test"})
		if err == nil {
			_, err = cs.Publish(ctx, d.kind, queue, content.Edit{Expected: doc.DraftRevision, Editor: "test"})
		}
		if err != nil {
			t.Fatal(err)
		}
	}

	prefix := unique("mm") + ":"
	extra := []string{"MUSTER_MATCHMAKING_TICK=200ms", "MUSTER_MATCHMAKING_LEASE=1s"}
	a := startNode(t, "auth", dbURL, prefix, extra...)
	b := startNode(t, "matchmaking", dbURL, prefix, extra...)
	c := startNode(t, "matchmaking", dbURL, prefix, extra...)
	nodes := map[string]*gatewayNode{}
	api := "http://" + a.http
	queued := 0
	via := b // the matchmaking node players queue through
	join := func(n int) {
		for range n {
			p := registerPlayer(t, api)
			restCall(t, http.MethodPost, "http://"+via.http+"/v1/me/matchmaking", p.token, `{"queue":"`+queue+`","latency_ms":{"eu-west":30}}`, http.StatusCreated)
			queued++
		}
	}
	holder := func() (string, int64) {
		var h struct {
			Holder string `db:"holder"`
			Token  int64  `db:"token"`
		}
		_ = conn.GetContext(ctx, &h, `SELECT holder, token FROM mm_leases WHERE queue = $1 AND expires_at > now()`, queue)
		return h.Holder, h.Token
	}
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for end := time.Now().Add(20 * time.Second); !ok(); time.Sleep(100 * time.Millisecond) {
			if time.Now().After(end) {
				t.Fatalf("timed out waiting for %s", what)
			}
		}
	}
	matchedPlayers := func() (players int, dup bool) {
		var raws []json.RawMessage
		_ = conn.SelectContext(ctx, &raws, `SELECT payload FROM outbox_events WHERE topic = $1 AND payload->>'queue' = $2`, matchmaking.TopicFormed, queue)
		seen := map[string]bool{}
		for _, raw := range raws {
			var f matchmaking.Formed
			_ = json.Unmarshal(raw, &f)
			for _, team := range f.Teams {
				for _, p := range team.Players {
					dup = dup || seen[p.PlayerID]
					seen[p.PlayerID] = true
				}
			}
		}
		return len(seen), dup
	}

	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("node b:\n%s\nnode c:\n%s", b.out.String(), c.out.String())
		}
	})
	join(6)
	waitFor("the first matches", func() bool { n, _ := matchedPlayers(); return n == 6 })
	first, token := holder()
	if first == "" {
		t.Fatal("nobody holds the queue's lease")
	}
	// Which process holds it: both holder names start with the host name;
	// only the holder reports the queue's depth in its metrics.
	for _, n := range []*gatewayNode{b, c} {
		if n.reports(t, queue) {
			nodes["holder"] = n
		} else {
			nodes["standby"] = n
		}
	}
	if nodes["holder"] == nil || nodes["standby"] == nil {
		t.Fatal("could not tell the lease holder from the standby")
	}
	if err := nodes["holder"].cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	via = nodes["standby"]
	join(4)
	waitFor("the standby to take over", func() bool { h, tok := holder(); return h != "" && h != first && tok > token })
	t.Logf("lease taken over %s after SIGKILL", time.Since(killed).Round(10*time.Millisecond))
	waitFor("every player matched", func() bool { n, _ := matchedPlayers(); return n == queued })
	if _, dup := matchedPlayers(); dup {
		t.Fatal("a player was matched twice")
	}
	var waiting int
	_ = conn.GetContext(ctx, &waiting, `SELECT count(*) FROM mm_tickets WHERE queue = $1 AND state = 'waiting'`, queue)
	if waiting != 0 {
		t.Fatalf("%d tickets left waiting", waiting)
	}
}
