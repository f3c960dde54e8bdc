package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/musterhq/muster/bench/bots"
	"github.com/musterhq/muster/test/testenv"
)

// botsScenario is a short, busy mix: every player in one region so that
// matches fill, short matches, frequent purchases and socket drops.
const botsScenario = `
ramp: 20
think: {min: 500ms, max: 1500ms}
reconnect: {min: 100ms, max: 400ms}
mix: {play: 4, buy_offer: 1, buy_pack: 2, gift: 2, progression: 1, reconnect: 2, storefront: 1, friends: 1, chat: 1}
parties: {share: 0.6, min_size: 2, max_size: 3}
match:
  latency_ms: {eu-west: 30, us-east: 250}
  jitter_ms: 0
  length: {min: 3s, max: 6s}
  connect: 5s
servers: {per_region: 2, capacity: 4}
store: {replay: 0.5}
drain: 40s
`

// TestBotsPlayAgainstDevThenASplitPlatform runs `muster bots` twice: 20
// players for 15 s against `muster dev` (registering them), then the same
// players against the platform split in two processes as the issue's
// acceptance run does (logging them in), each with zero unexpected
// errors, matches played and accepted, packs paid through stripe-mock and a
// signed webhook, socket drops resumed, and the economy and ledger checks
// clean.
func TestBotsPlayAgainstDevThenASplitPlatform(t *testing.T) {
	if testing.Short() {
		t.Skip("runs muster dev and two muster processes under load")
	}
	// A database of its own, migrated first: dev migrates within its 5 s
	// start-up bound, which a loaded machine under -race can exceed.
	dbURL := testenv.EmptyDBURL(t)
	var migOut bytes.Buffer
	if code := run(context.Background(), registerModules(), []string{"migrate", "up", "--database-url=" + dbURL}, envOf(nil), &migOut, &migOut); code != 0 {
		t.Fatalf("migrate: %d %s", code, migOut.String())
	}
	stripe := testenv.StripeMock(t)
	const secret = "whsec_bots_test"
	scenario := filepath.Join(t.TempDir(), "bots.yaml")
	if err := os.WriteFile(scenario, []byte(botsScenario), 0o600); err != nil {
		t.Fatal(err)
	}
	stripeEnv := map[string]string{"MUSTER_STRIPE_SECRET_KEY": "sk_test_bots", "MUSTER_STRIPE_API_URL": stripe,
		"MUSTER_STRIPE_WEBHOOK_SECRETS": secret, "MUSTER_SESSIONS_HEARTBEAT": "1s", "MUSTER_SESSIONS_HEARTBEAT_TIMEOUT": "10s",
		"MUSTER_OUTBOX_POLL": "100ms", "MUSTER_MATCHMAKING_TICK": "300ms", "MUSTER_MATCHMAKING_LEASE": "1s"}

	// The platform runs without the race detector, whatever the test
	// runs under: bcrypt under -race takes seconds a password.
	bin := filepath.Join(t.TempDir(), "muster")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/muster: %v\n%s", err, out)
	}
	prefix := unique("bots") + ":"
	var env []string
	for k, v := range stripeEnv {
		env = append(env, k+"="+v)
	}

	// 1. Against muster dev: every player registers.
	dev := startBinary(t, bin, "dev", "all", dbURL, prefix, env...)
	sessions := filepath.Join(t.TempDir(), "sessions.json")
	rep := runBots(t, secret, dbURL, scenario, []string{"--target=http://" + dev.http, "--realtime=" + dev.realtime, "--sessions=" + sessions})
	if rep.Players.Registered != 20 {
		t.Errorf("registered %d players, want 20 on a fresh database", rep.Players.Registered)
	}
	// Half the players keep their session for the next run; the others
	// log in with their password.
	var kept map[string]string
	raw, err := os.ReadFile(sessions)
	if err == nil {
		err = json.Unmarshal(raw, &kept)
	}
	if err != nil || len(kept) != 20 {
		t.Fatalf("sessions file: %d sessions, %v", len(kept), err)
	}
	n := 0
	for email := range kept {
		if n++; n%2 == 0 {
			delete(kept, email)
		}
	}
	raw, _ = json.Marshal(kept)
	if err := os.WriteFile(sessions, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	// Stopped cleanly: its listeners close once it drained.
	_ = dev.cmd.Process.Signal(syscall.SIGTERM)
	for end := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		c, err := net.Dial("tcp", dev.ops)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(end) {
			t.Fatal("muster dev did not stop within 30 s of SIGTERM")
		}
	}

	// 2. Against two processes, as in production: the players log in.
	front := startBinary(t, bin, "serve", "auth,player,progression,inventory,store", dbURL, prefix, env...)
	back := startBinary(t, bin, "serve", "realtime,matchmaking,sessions,worker", dbURL, prefix, append(env, "MUSTER_REALTIME_HEARTBEAT=5s")...)
	rep = runBots(t, secret, dbURL, scenario, []string{"--target=auth,player,progression,inventory,store=http://" + front.http,
		"--target=realtime,matchmaking,sessions,worker=http://" + back.http, "--realtime=" + back.realtime, "--sessions=" + sessions})
	if rep.Players.Registered != 0 {
		t.Errorf("registered %d players, want 0: they exist from the first run", rep.Players.Registered)
	}
	calls := map[string]int64{}
	for _, o := range rep.Ops {
		calls[o.Op] = o.Calls
	}
	if calls["refreshTokens"] != 10 || calls["loginEmail"] != 10 {
		t.Errorf("%d refreshes and %d logins: want the 10 kept sessions refreshed, the other 10 logged in", calls["refreshTokens"], calls["loginEmail"])
	}
}

// runBots runs 20 players for 15 s and checks the report.
func runBots(t *testing.T, secret, dbURL, scenario string, targets []string) bots.Report {
	t.Helper()
	args := append([]string{"bots", "--players=20", "--duration=15s", "--scenario=" + scenario, "--database-url=" + dbURL,
		"--json", "--quiet", "--seed=7"}, targets...)
	var out, errOut bytes.Buffer
	code := run(context.Background(), registerModules(), args, envOf(map[string]string{"MUSTER_STRIPE_WEBHOOK_SECRETS": secret}), &out, &errOut)
	var rep bots.Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("exit %d, report %q: %v\nstderr: %s", code, out.String(), err, errOut.String())
	}
	if code != 0 || !rep.Passed {
		t.Fatalf("exit %d, failures %v, errors %+v\nstderr: %s", code, rep.Failures, rep.Errors, errOut.String())
	}
	calls := map[string]int64{}
	for _, o := range rep.Ops {
		calls[o.Op] = o.Calls
	}
	switch {
	case rep.Players.Ready != 20:
		t.Errorf("%d of 20 players got in", rep.Players.Ready)
	case rep.Matches.Accepted < 1:
		t.Errorf("no match's results were accepted: %+v", rep.Matches)
	case rep.Progress.Players < 1:
		t.Errorf("nobody's XP rose: %+v", rep.Progress)
	case calls["stripeWebhook"] < 1 || calls["createCheckout"] < 1:
		t.Errorf("no pack was paid: %v", calls)
	case rep.Players.Resumed < 1:
		t.Errorf("no socket drop was resumed")
	case rep.Delivery["all"].Count < 1:
		t.Errorf("no notification was timed: %+v", rep.Delivery)
	case rep.Ledger == nil || !rep.Ledger.OK:
		t.Errorf("ledger: %+v", rep.Ledger)
	}
	var points *bots.CurrencyCheck
	for i, c := range rep.Economy {
		if c.Currency == "muster_points" {
			points = &rep.Economy[i]
		}
	}
	if points == nil || points.Store <= 0 || points.Store != points.StoreLedger || !points.OK {
		t.Errorf("muster_points: %+v; want packs credited once each", points)
	}
	return rep
}
