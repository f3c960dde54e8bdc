package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/musterhq/muster/domain/db"
	"github.com/musterhq/muster/domain/economytest"
	"github.com/musterhq/muster/domain/match"
	"github.com/musterhq/muster/test/testenv"
)

// syncBuffer is a bytes.Buffer safe for the process writing and the test
// reading.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestDevServesDemoMetagame runs `muster dev` on a fresh database and plays
// the demo player's first steps: their progression, battle pass, challenges
// and unlock trees come from the seeded content; then a game server's
// result reaches the players' ratings through the worker.
func TestDevServesDemoMetagame(t *testing.T) {
	httpAddr, opsAddr, consoleAddr, realtimeAddr := freeAddr(t), freeAddr(t), freeAddr(t), freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	exited := make(chan int, 1)
	dbURL := testenv.EmptyDBURL(t)
	env := envOf(map[string]string{"MUSTER_DATABASE_URL": dbURL})
	go func() {
		exited <- run(ctx, registerModules(), []string{"dev", "--http-addr=" + httpAddr, "--ops-addr=" + opsAddr,
			"--console-addr=" + consoleAddr, "--realtime-addr=" + realtimeAddr, "--log-level=warn"}, env, &out, &out)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			t.Error("muster dev did not stop")
		}
	})
	client := &http.Client{Timeout: 30 * time.Second} // a login under -race on a loaded machine took over 10 s
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := client.Get("http://" + opsAddr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case code := <-exited:
			t.Fatalf("muster dev exited %d:\n%s", code, out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready in 60 s:\n%s", out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	call := func(method, path, token, body string) map[string]any {
		t.Helper()
		req, _ := http.NewRequest(method, "http://"+httpAddr+path, strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, raw)
		}
		var m map[string]any
		_ = json.Unmarshal(raw, &m)
		return m
	}
	login := call(http.MethodPost, "/v1/auth/login", "", `{"email":"`+demoEmail+`","password":"`+demoPassword+`"}`)
	tokens, _ := login["tokens"].(map[string]any)
	token, _ := tokens["access_token"].(string)
	if token == "" {
		t.Fatalf("login answered %v", login)
	}
	if p := call(http.MethodGet, "/v1/me/progression", token, ""); p["max_level"] != 50.0 {
		t.Errorf("progression %v: want the demo curve's 50 levels", p)
	}
	if bp := call(http.MethodGet, "/v1/me/battlepass", token, ""); !strings.Contains(strings.ToLower(jsonOf(bp)), "s1") {
		t.Errorf("battle pass %v: want season s1", bp)
	}
	if ch := call(http.MethodGet, "/v1/me/challenges", token, ""); !strings.Contains(jsonOf(ch), "daily") {
		t.Errorf("challenges %v: want the daily set", ch)
	}
	if u := call(http.MethodGet, "/v1/me/unlocks", token, ""); !strings.Contains(jsonOf(u), "kestrel") {
		t.Errorf("unlocks %v: want the demo trees", u)
	}
	if f := call(http.MethodGet, "/v1/me/friends", token, ""); f["friends"] == nil || f["blocked"] == nil {
		t.Errorf("friends %v: want the demo player's list", f)
	}
	checkMatchIsRated(t, dbURL)
}

// checkMatchIsRated has a game server report a duel in the demo's 6v6 mode
// and waits for the worker to rate it: in the mode's pool (rating.ModePool)
// and the demo season it started in.
func checkMatchIsRated(t *testing.T, dbURL string) {
	t.Helper()
	ctx := context.Background()
	conn, err := db.Open(ctx, dbURL, db.Pool{MaxOpen: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var players []struct {
		ID       int64  `db:"id"`
		PublicID string `db:"public_id"`
	}
	for range 2 {
		economytest.Player(t, conn)
	}
	if err := conn.Select(&players, `SELECT id, public_id FROM accounts ORDER BY id DESC LIMIT 2`); err != nil || len(players) != 2 {
		t.Fatalf("players: %v", err)
	}
	server, _, err := match.NewServers(conn, 0).Create(ctx, "ratings-check", "test", nil)
	if err != nil {
		t.Fatal(err)
	}
	matches := match.New(conn, nil)
	if _, err := matches.Open(ctx, server, "duel-1", "tdm_6v6", []string{players[0].PublicID, players[1].PublicID}); err != nil {
		t.Fatal(err)
	}
	res := match.Result{Players: []match.PlayerResult{{AccountID: players[0].ID, Team: 1, Placement: 1}, {AccountID: players[1].ID, Team: 2, Placement: 2}}}
	if rc, err := matches.Report(ctx, server, "duel-1", res); err != nil || rc.Status != match.StatusAccepted {
		t.Fatalf("report: %+v %v", rc, err)
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		var rows []struct {
			AccountID int64   `db:"account_id"`
			Mu        float64 `db:"mu"`
		}
		const q = `SELECT account_id, mu FROM ratings WHERE pool = 'tdm_6v6' AND season = 's1' ORDER BY mu DESC`
		if err := conn.Select(&rows, q); err != nil {
			t.Fatal(err)
		}
		if len(rows) == 2 {
			if rows[0].AccountID != players[0].ID || rows[0].Mu <= 25 || rows[1].Mu >= 25 {
				t.Fatalf("ratings after the duel: %+v, want player %d up and %d down", rows, players[0].ID, players[1].ID)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the worker did not rate the match in 20 s (%d ratings)", len(rows))
		}
	}
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
