//go:build linux

// Command authload measures Muster's identity target end to end on this
// machine: Steam login and refresh-token rotation against a real
// `muster serve --target=auth` process, with PostgreSQL and Redis on
// loopback and Steam faked.
//
// One run:
//
//  1. builds muster (or takes -muster), creates a fresh database
//     muster_bench_<unix>_<pid> on the -pg server and runs `muster migrate up`;
//  2. starts a fake Steam Web API (bench/authload itself, re-executed as a
//     child, so its CPU is counted apart) knowing -players random tickets,
//     ticket i belonging to Steam id 76561198000000000+i;
//  3. starts `muster serve --target=auth` on free 127.0.0.1 ports with rate
//     limits so high they never refuse (the Redis-backed limiter still runs
//     on every request) and a Redis key prefix of its own, and waits for
//     /readyz. With -client-ip one (the default) every request comes from
//     127.0.0.1; with -client-ip per-player muster trusts authload as a
//     load balancer and each player sends its own X-Forwarded-For address
//     10.x.y.z, as real players behind a proxy would;
//  4. runs the scenarios with -c closed-loop keep-alive connections:
//     - steam-first: every player logs in once (POST /v1/auth/steam), which
//     creates the accounts; all requests are measured;
//     - steam: repeat logins cycling over the players, -warmup then -d;
//     - refresh: each connection logs in once, then POSTs /v1/auth/refresh
//     with its current refresh token, taking the rotated one from each
//     answer; a connection whose chain breaks logs in again (counted as
//     a relogin, and the failed request as an error); -warmup then -d;
//  5. stops muster with SIGTERM and the fake with its stdin closed, drops
//     the database and deletes the Redis keys of the run, on failure and
//     on SIGINT/SIGTERM too.
//
// For each scenario it prints requests, errors (non-2xx by status code and
// transport errors), requests/s, p50, p90, p99, p99.9 and max, and the CPU
// time each process used while it was measured (from /proc/<pid>/stat):
// authload (load), the fake Steam, muster, all PostgreSQL processes
// (including backends that exited meanwhile), Redis, and the machine as a
// whole, plus the bench database's new connections and commits from
// pg_stat_database. The exit status is 1 when a request failed or the run
// broke, 2 for bad flags.
//
// Everything it talks to is on loopback: -pg and -redis must name a
// loopback host, and the HTTP client refuses to dial anything else.
//
// Usage (from the module root; Linux only, it reads /proc):
//
//	go run ./bench/authload [-c 64] [-d 10s] [-warmup 2s] [-players 10000] [-scenarios steam,refresh]
//	                        [-client-ip one|per-player] [-muster path] [-json] [-metrics-out file] [-log-out file]
//
// MUSTER_* variables in the environment reach muster, except those authload
// sets itself (database, Redis, addresses, target, secret, Steam, log level
// and the login and refresh rate limits).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/musterhq/muster/bench/loadgen"
)

const (
	maxDuration    = 2 * time.Minute
	maxWarmup      = 30 * time.Second
	maxConns       = 1024
	maxPlayers     = 1_000_000
	requestTimeout = 10 * time.Second
	readyTimeout   = 30 * time.Second
)

// options are the command's flags.
type options struct {
	muster      string
	pgURL       string
	redisURL    string
	conns       int
	dur         time.Duration
	warmup      time.Duration
	players     int
	ticketBytes int
	scenarios   []string
	asJSON      bool
	clientIP    string
	metricsOut  string
	logOut      string
}

var knownScenarios = []string{"steam", "refresh"}

func main() {
	if len(os.Args) > 1 && os.Args[1] == fakeSteamCommand {
		if err := serveFakeSteam(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "authload fake steam:", err)
			os.Exit(1)
		}
		return
	}

	var o options
	var scen string
	flag.StringVar(&o.muster, "muster", "", "muster binary to run (default: go build ./cmd/muster into a temp dir)")
	flag.StringVar(&o.pgURL, "pg", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "PostgreSQL URL (loopback) of a user that may create databases")
	flag.StringVar(&o.redisURL, "redis", "redis://127.0.0.1:6379/0", "Redis URL (loopback)")
	flag.IntVar(&o.conns, "c", 64, "keep-alive connections, one worker each (1 to 1024)")
	flag.DurationVar(&o.dur, "d", 10*time.Second, "how long to measure each scenario (at most 2m)")
	flag.DurationVar(&o.warmup, "warmup", 2*time.Second, "unmeasured requests before each measured scenario (at most 30s)")
	flag.IntVar(&o.players, "players", 10000, "Steam players the fake knows; each logs in once first")
	flag.IntVar(&o.ticketBytes, "ticket-bytes", 234, "size of each random Steam ticket in bytes (sent as hex)")
	flag.StringVar(&scen, "scenarios", "steam,refresh", "comma-separated scenarios: steam, refresh (the steam-first pass always runs)")
	flag.StringVar(&o.clientIP, "client-ip", "one", "one: every request comes from 127.0.0.1; per-player: muster trusts authload as a proxy and each player has its own X-Forwarded-For address 10.x.y.z")
	flag.BoolVar(&o.asJSON, "json", false, "print the results as JSON")
	flag.StringVar(&o.metricsOut, "metrics-out", "", "write muster's /metrics here at the end of the run")
	flag.StringVar(&o.logOut, "log-out", "", "copy muster's log here at the end of the run")
	flag.Parse()
	o.scenarios = splitList(scen)

	if err := check(o); err != nil {
		fmt.Fprintln(os.Stderr, "authload:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := run(ctx, o, os.Stderr)
	if len(rep.Results) > 0 {
		if o.asJSON {
			enc := json.NewEncoder(os.Stdout)
			enc.SetIndent("", "  ")
			_ = enc.Encode(rep)
		} else {
			rep.print(os.Stdout)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "authload:", err)
		os.Exit(1)
	}
	if rep.failed() {
		os.Exit(1)
	}
}

// check validates the flags; every address must be loopback.
func check(o options) error {
	for _, u := range []struct{ flag, url string }{{"-pg", o.pgURL}, {"-redis", o.redisURL}} {
		p, err := url.Parse(u.url)
		if err != nil {
			return fmt.Errorf("%s %q: %v", u.flag, u.url, err)
		}
		if p.Host == "" || !loadgen.LoopbackHost(p.Hostname()) {
			return fmt.Errorf("refusing %s: host %q is not a loopback address (127.0.0.0/8, ::1 or localhost); authload only loads this machine", u.flag, p.Hostname())
		}
	}
	if !strings.HasPrefix(o.pgURL, "postgres://") && !strings.HasPrefix(o.pgURL, "postgresql://") {
		return errors.New("-pg must be a postgres:// URL")
	}
	if !strings.HasPrefix(o.redisURL, "redis://") {
		return errors.New("-redis must be a redis:// URL")
	}
	switch {
	case o.conns < 1 || o.conns > maxConns:
		return fmt.Errorf("-c %d: want 1 to %d connections", o.conns, maxConns)
	case o.dur <= 0 || o.dur > maxDuration:
		return fmt.Errorf("-d %s: want more than 0 and at most %s", o.dur, maxDuration)
	case o.warmup < 0 || o.warmup > maxWarmup:
		return fmt.Errorf("-warmup %s: want 0 to %s", o.warmup, maxWarmup)
	case o.players < o.conns || o.players > maxPlayers:
		return fmt.Errorf("-players %d: want -c (%d) to %d", o.players, o.conns, maxPlayers)
	case o.ticketBytes < 8 || o.ticketBytes > 1024:
		return fmt.Errorf("-ticket-bytes %d: want 8 to 1024", o.ticketBytes)
	}
	if o.clientIP != "one" && o.clientIP != "per-player" {
		return fmt.Errorf("-client-ip %q: want one or per-player", o.clientIP)
	}
	for _, s := range o.scenarios {
		if !slices.Contains(knownScenarios, s) {
			return fmt.Errorf("-scenarios: unknown %q, want some of %s", s, strings.Join(knownScenarios, ","))
		}
	}
	return nil
}

// report is the whole run.
type report struct {
	Date       string           `json:"date"`
	CPUs       int              `json:"cpus"`
	GoVersion  string           `json:"go_version"`
	Players    int              `json:"players"`
	ClientIP   string           `json:"client_ip"`
	Database   string           `json:"database"`
	MusterLogs int              `json:"muster_log_lines"`
	Results    []result         `json:"results"`
	Rows       map[string]int64 `json:"rows_after"`
}

func (r report) failed() bool {
	for _, x := range r.Results {
		if x.errors() > 0 {
			return true
		}
	}
	return false
}

func (r report) print(out io.Writer) {
	fmt.Fprintf(out, "# %s, %d CPUs, %s, %d players, client IP %s, database %s\n", r.Date, r.CPUs, r.GoVersion, r.Players, r.ClientIP, r.Database)
	for _, x := range r.Results {
		fmt.Fprintln(out)
		x.print(out)
	}
	if len(r.Rows) > 0 {
		names := make([]string, 0, len(r.Rows))
		for t := range r.Rows {
			names = append(names, t)
		}
		slices.Sort(names)
		fmt.Fprintf(out, "\nrows after the run:")
		for _, t := range names {
			fmt.Fprintf(out, " %s %d", t, r.Rows[t])
		}
		fmt.Fprintln(out)
	}
	if r.MusterLogs > 0 {
		fmt.Fprintf(out, "\nmuster wrote %d log lines at warn or above (see -log-out)\n", r.MusterLogs)
	}
}

func newReport(o options, db string) report {
	return report{
		Date:      time.Now().UTC().Format(time.RFC3339),
		CPUs:      runtime.NumCPU(),
		GoVersion: runtime.Version(),
		Players:   o.players,
		ClientIP:  o.clientIP,
		Database:  db,
	}
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
