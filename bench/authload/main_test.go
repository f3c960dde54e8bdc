//go:build linux

package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/musterhq/muster/bench/loadgen"
)

func okOptions() options {
	return options{
		pgURL: "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", redisURL: "redis://127.0.0.1:6379/0",
		conns: 64, dur: 10 * time.Second, warmup: 2 * time.Second, players: 10000, ticketBytes: 234,
		scenarios: []string{"steam", "refresh"}, clientIP: "one",
	}
}

func TestCheck(t *testing.T) {
	if err := check(okOptions()); err != nil {
		t.Fatalf("defaults refused: %v", err)
	}
	bad := map[string]func(*options){
		"remote pg":      func(o *options) { o.pgURL = "postgres://postgres@10.0.0.5:5432/postgres" },
		"named pg":       func(o *options) { o.pgURL = "postgres://postgres@db.example.com/postgres" },
		"remote redis":   func(o *options) { o.redisURL = "redis://192.168.1.2:6379/0" },
		"any redis":      func(o *options) { o.redisURL = "redis://0.0.0.0:6379/0" },
		"not postgres":   func(o *options) { o.pgURL = "mysql://127.0.0.1/x" },
		"too long":       func(o *options) { o.dur = 3 * time.Minute },
		"no conns":       func(o *options) { o.conns = 0 },
		"few players":    func(o *options) { o.players = 10 },
		"bad scenario":   func(o *options) { o.scenarios = []string{"steam", "nope"} },
		"bad client ip":  func(o *options) { o.clientIP = "random" },
		"long warmup":    func(o *options) { o.warmup = time.Hour },
		"tiny tickets":   func(o *options) { o.ticketBytes = 1 },
		"socket pg host": func(o *options) { o.pgURL = "postgres:///postgres?host=/var/run/postgresql" },
	}
	for name, mutate := range bad {
		o := okOptions()
		mutate(&o)
		if err := check(o); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestCleanupsRunInReverseWhenDeferred(t *testing.T) {
	var got []int
	func() {
		var undo cleanups
		defer undo.run()
		undo.add(func() { got = append(got, 1) })
		undo.add(func() { got = append(got, 2) })
	}()
	if len(got) != 2 || got[0] != 2 || got[1] != 1 {
		t.Fatalf("cleanups ran %v, want [2 1]", got)
	}
}

func TestTickets(t *testing.T) {
	tickets, err := newTickets(100, 16)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "tickets")
	if err := writeTickets(path, tickets); err != nil {
		t.Fatal(err)
	}
	back, err := readTickets(path)
	if err != nil || len(back) != 100 || back[7] != tickets[7] || len(back[0]) != 32 {
		t.Fatalf("read back %d tickets (%v)", len(back), err)
	}
	ips := playerIPs(70000)
	if ips[0] != "10.0.0.0" || ips[257] != "10.0.1.1" || ips[65537] != "10.1.0.1" {
		t.Fatalf("ips %s %s %s", ips[0], ips[257], ips[65537])
	}
}

// TestFlows runs both flows against a stand-in for muster and checks the
// refresh chain, the relogin after a broken chain and the error counts.
func TestFlows(t *testing.T) {
	var logins, refreshes, seq atomic.Int64
	var fail atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Header.Get("Content-Type") != "application/json" || r.Header.Get("X-Forwarded-For") == "" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		switch r.URL.Path {
		case "/v1/auth/steam":
			logins.Add(1)
			w.WriteHeader(http.StatusCreated)
			_ = json.NewEncoder(w).Encode(map[string]any{"tokens": map[string]string{"refresh_token": "r" + itoa(seq.Add(1))}})
		case "/v1/auth/refresh":
			refreshes.Add(1)
			var in struct {
				RefreshToken string `json:"refresh_token"`
			}
			if json.Unmarshal(body, &in) != nil || !strings.HasPrefix(in.RefreshToken, "r") {
				http.Error(w, "bad token", http.StatusUnauthorized)
				return
			}
			if fail.CompareAndSwap(true, false) {
				http.Error(w, `{"error":{"code":"refresh_token_reused"}}`, http.StatusUnauthorized)
				return
			}
			_ = json.NewEncoder(w).Encode(map[string]string{"refresh_token": "r" + itoa(seq.Add(1))})
		}
	}))
	defer srv.Close()

	var dialled atomic.Int64
	client := loadgen.NewClient(2, 5*time.Second, &dialled)
	pl := &players{bodies: steamBodies([]string{"aa", "bb", "cc"}), ips: playerIPs(3)}
	ctx := context.Background()

	steam := runPhase(ctx, phase{
		name: "steam-first", conns: 2, total: 3, dur: time.Minute, client: client, dialled: &dialled,
		flow: func(_ int, sh *shared) flow { return &steamFlow{url: srv.URL + "/v1/auth/steam", pl: pl, sh: sh} },
	})
	if steam.Requests != 3 || steam.Created != 3 || steam.errors() != 0 {
		t.Fatalf("steam-first: %+v", steam)
	}

	fail.Store(true)
	refresh := runPhase(ctx, phase{
		name: "refresh", conns: 2, dur: 300 * time.Millisecond, client: client, dialled: &dialled,
		flow: func(_ int, sh *shared) flow {
			return &refreshFlow{loginURL: srv.URL + "/v1/auth/steam", refreshURL: srv.URL + "/v1/auth/refresh", pl: pl, sh: sh}
		},
	})
	if refresh.Non2xx["401"] != 1 || refresh.Relogins != 1 || refresh.TransportErrors != 0 {
		t.Fatalf("refresh: want one 401 and one relogin, got %+v", refresh)
	}
	if refresh.Requests < 10 || !strings.Contains(refresh.FirstError, "refresh_token_reused") {
		t.Fatalf("refresh: %+v", refresh)
	}
	if logins.Load() != 3+2+1 {
		t.Errorf("logins %d, want 6 (3 first, 2 prepares, 1 relogin)", logins.Load())
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
