//go:build linux

package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	_ "github.com/lib/pq" // PostgreSQL driver for creating and dropping the bench database
	"github.com/redis/go-redis/v9"

	"github.com/musterhq/muster/bench/loadgen"
)

const (
	steamKey   = "authload-steam-key"
	steamAppID = "480"
)

// cleanups run in reverse order of registration, whatever happened.
type cleanups []func()

func (c *cleanups) add(f func()) { *c = append(*c, f) }

func (c *cleanups) run() {
	for i := len(*c) - 1; i >= 0; i-- {
		(*c)[i]()
	}
}

// run does the whole measurement; progress goes to logw. The report holds
// the scenarios that ran, even when err is not nil.
func run(ctx context.Context, o options, logw io.Writer) (rep report, err error) {
	var undo cleanups
	defer undo.run() // pointer receiver: runs what is registered by then
	say := func(format string, args ...any) {
		fmt.Fprintf(logw, "authload: "+format+"\n", args...)
	}

	tmp, err := os.MkdirTemp("", "authload-")
	if err != nil {
		return rep, err
	}
	undo.add(func() { os.RemoveAll(tmp) })

	muster := o.muster
	if muster == "" {
		muster = filepath.Join(tmp, "muster")
		say("building muster")
		build := exec.CommandContext(ctx, "go", "build", "-o", muster, "github.com/musterhq/muster/cmd/muster")
		build.Stdout, build.Stderr = logw, logw
		if err := build.Run(); err != nil {
			return rep, fmt.Errorf("go build ./cmd/muster: %w", err)
		}
	}

	// A fresh database, dropped at the end.
	dbName := fmt.Sprintf("muster_bench_%d_%d", time.Now().Unix(), os.Getpid())
	rep = newReport(o, dbName)
	dbURL, admin, err := createDatabase(ctx, o.pgURL, dbName, &undo, say)
	if err != nil {
		return rep, err
	}
	say("migrating %s", dbName)
	mig := exec.CommandContext(ctx, muster, "migrate", "up")
	mig.Env = append(os.Environ(), "MUSTER_DATABASE_URL="+dbURL, "MUSTER_LOG_LEVEL=warn")
	if out, err := mig.CombinedOutput(); err != nil {
		return rep, fmt.Errorf("muster migrate up: %w\n%s", err, out)
	}
	redisPrefix := dbName + ":"
	undo.add(func() { deleteRedisKeys(o.redisURL, redisPrefix, say) })

	// The fake Steam, a child process of its own.
	tickets, err := newTickets(o.players, o.ticketBytes)
	if err != nil {
		return rep, err
	}
	ticketFile := filepath.Join(tmp, "tickets")
	if err := writeTickets(ticketFile, tickets); err != nil {
		return rep, err
	}
	steam, err := startFakeSteam(ctx, ticketFile, &undo)
	if err != nil {
		return rep, err
	}

	// muster serve --target=auth.
	httpAddr, err := freeLoopbackAddr()
	if err != nil {
		return rep, err
	}
	opsAddr, err := freeLoopbackAddr()
	if err != nil {
		return rep, err
	}
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	logFile := filepath.Join(tmp, "muster.log")
	env := append(os.Environ(),
		"MUSTER_TARGET=auth",
		"MUSTER_DATABASE_URL="+dbURL,
		"MUSTER_REDIS_URL="+o.redisURL,
		"MUSTER_REDIS_PREFIX="+redisPrefix,
		"MUSTER_SECRET_KEY="+base64.StdEncoding.EncodeToString(secret),
		"MUSTER_HTTP_ADDR="+httpAddr,
		"MUSTER_OPS_ADDR="+opsAddr,
		"MUSTER_STEAM_API_URL="+steam.url,
		"MUSTER_STEAM_API_KEY="+steamKey,
		"MUSTER_STEAM_APP_ID="+steamAppID,
		"MUSTER_LOG_LEVEL=warn",
		"MUSTER_LOG_FORMAT=json",
		// So high the limiter never refuses; it still runs.
		"MUSTER_RATE_LOGIN_IP=1000000000/1s",
		"MUSTER_RATE_LOGIN_ACCOUNT=1000000000/1s",
		"MUSTER_RATE_REFRESH_IP=1000000000/1s",
	)
	if o.clientIP == "per-player" {
		// As behind a load balancer: muster believes X-Forwarded-For from
		// authload, which sends each player's own address.
		env = append(env, "MUSTER_TRUSTED_PROXIES=127.0.0.1", "MUSTER_PROXY_HEADER=X-Forwarded-For")
	} else {
		env = append(env, "MUSTER_TRUSTED_PROXIES=")
	}
	say("starting muster serve --target=auth on %s (ops %s)", httpAddr, opsAddr)
	srv, err := startMuster(muster, env, logFile, &undo, say)
	if err != nil {
		return rep, err
	}
	defer func() {
		n, tail := readLog(logFile)
		rep.MusterLogs = n
		if err != nil && tail != "" {
			say("muster log (last lines):\n%s", tail)
		}
		if o.logOut != "" {
			if b, rerr := os.ReadFile(logFile); rerr == nil {
				_ = os.WriteFile(o.logOut, b, 0o644)
			}
		}
	}()
	if err := waitReady(ctx, "http://"+opsAddr+"/readyz", srv.exited); err != nil {
		return rep, err
	}

	var dialled atomic.Int64
	client := loadgen.NewClient(o.conns, requestTimeout, &dialled)
	defer client.CloseIdleConnections()
	base := "http://" + httpAddr
	pl := &players{bodies: steamBodies(tickets)}
	if o.clientIP == "per-player" {
		pl.ips = playerIPs(len(tickets))
	}
	procs := procSet{self: os.Getpid(), steam: steam.pid, muster: srv.pid, dbName: dbName, admin: admin}

	say("steam-first: %d first logins with %d connections", o.players, o.conns)
	first := runPhase(ctx, phase{
		name: "steam-first", conns: o.conns, total: int64(o.players), dur: maxDuration,
		client: client, dialled: &dialled, procs: procs,
		flow: func(_ int, sh *shared) flow { return &steamFlow{url: base + "/v1/auth/steam", pl: pl, sh: sh} },
	})
	rep.Results = append(rep.Results, first)
	if err := interrupted(ctx, srv.exited); err != nil {
		return rep, err
	}
	for _, s := range o.scenarios {
		say("%s: %d connections, %s warmup, %s measured", s, o.conns, o.warmup, o.dur)
		p := phase{name: s, conns: o.conns, warmup: o.warmup, dur: o.dur, client: client, dialled: &dialled, procs: procs}
		switch s {
		case "steam":
			p.flow = func(_ int, sh *shared) flow { return &steamFlow{url: base + "/v1/auth/steam", pl: pl, sh: sh} }
		case "refresh":
			p.flow = func(_ int, sh *shared) flow {
				return &refreshFlow{loginURL: base + "/v1/auth/steam", refreshURL: base + "/v1/auth/refresh", pl: pl, sh: sh}
			}
		}
		rep.Results = append(rep.Results, runPhase(ctx, p))
		if err := interrupted(ctx, srv.exited); err != nil {
			return rep, err
		}
	}

	rep.Rows = countRows(ctx, dbURL)
	if o.metricsOut != "" {
		if err := saveMetrics(ctx, "http://"+opsAddr+"/metrics", o.metricsOut); err != nil {
			say("saving /metrics: %v", err)
		}
	}
	return rep, nil
}

// interrupted reports a signal or muster's death between scenarios.
func interrupted(ctx context.Context, exited <-chan struct{}) error {
	select {
	case <-exited:
		return errors.New("muster exited during the run")
	default:
	}
	if ctx.Err() != nil {
		return errors.New("interrupted")
	}
	return nil
}

// createDatabase creates dbName on the server of adminURL and registers its
// drop; it returns the URL of the new database.
func createDatabase(ctx context.Context, adminURL, dbName string, undo *cleanups, say func(string, ...any)) (string, *sql.DB, error) {
	admin, err := sql.Open("postgres", adminURL)
	if err != nil {
		return "", nil, err
	}
	undo.add(func() { admin.Close() })
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := admin.ExecContext(cctx, "CREATE DATABASE "+dbName); err != nil {
		return "", nil, fmt.Errorf("create database %s: %w", dbName, err)
	}
	undo.add(func() {
		// Not ctx: the drop must happen after an interrupt too.
		dctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(dctx, "DROP DATABASE IF EXISTS "+dbName+" WITH (FORCE)"); err != nil {
			say("drop database %s: %v (drop it by hand)", dbName, err)
			return
		}
		say("dropped database %s", dbName)
	})
	u, err := url.Parse(adminURL)
	if err != nil {
		return "", nil, err
	}
	u.Path = "/" + dbName
	return u.String(), admin, nil
}

// deleteRedisKeys removes every key of the run's prefix.
func deleteRedisKeys(redisURL, prefix string, say func(string, ...any)) {
	opts, err := redis.ParseURL(redisURL)
	if err != nil {
		say("redis cleanup: %v", err)
		return
	}
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var n int
	iter := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	var batch []string
	flush := func() {
		if len(batch) > 0 {
			n += len(batch)
			_ = rdb.Unlink(ctx, batch...).Err()
			batch = batch[:0]
		}
	}
	for iter.Next(ctx) {
		batch = append(batch, iter.Val())
		if len(batch) == 500 {
			flush()
		}
	}
	flush()
	if err := iter.Err(); err != nil {
		say("redis cleanup of %s*: %v", prefix, err)
		return
	}
	say("deleted %d Redis keys %s*", n, prefix)
}

// newTickets makes n distinct random tickets of size bytes, as hex.
func newTickets(n, size int) ([]string, error) {
	out := make([]string, n)
	seen := make(map[string]bool, n)
	buf := make([]byte, size)
	for i := range out {
		for {
			if _, err := rand.Read(buf); err != nil {
				return nil, err
			}
			t := hex.EncodeToString(buf)
			if !seen[t] {
				seen[t] = true
				out[i] = t
				break
			}
		}
	}
	return out, nil
}

func writeTickets(path string, tickets []string) error {
	return os.WriteFile(path, []byte(strings.Join(tickets, "\n")+"\n"), 0o600)
}

func readTickets(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return strings.Fields(string(b)), nil
}

// steamBodies are the request bodies of POST /v1/auth/steam, one a player.
func steamBodies(tickets []string) [][]byte {
	out := make([][]byte, len(tickets))
	for i, t := range tickets {
		out[i] = []byte(`{"ticket":"` + t + `"}`)
	}
	return out
}

// playerIPs gives player i the address 10.x.y.z with xyz = i, as seen
// through a load balancer.
func playerIPs(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)
	}
	return out
}

// freeLoopbackAddr finds a free port on 127.0.0.1.
func freeLoopbackAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// child is a started process and a channel closed when it has exited.
type child struct {
	pid    int
	url    string
	exited chan struct{}
}

// startFakeSteam runs this program again as the fake Steam Web API. The
// child exits when its stdin closes, so it cannot outlive a crashed parent.
func startFakeSteam(ctx context.Context, ticketFile string, undo *cleanups) (*child, error) {
	cmd, stdin, stdout, err := loadgen.StartSelf(fakeSteamCommand, "-tickets", ticketFile, "-key", steamKey, "-app-id", steamAppID)
	if err != nil {
		return nil, err
	}
	c := &child{pid: cmd.Process.Pid, exited: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(c.exited) }()
	undo.add(func() {
		stdin.Close()
		stopChild(cmd.Process, c.exited, 10*time.Second)
	})

	line := make(chan string, 1)
	go func() {
		s := bufio.NewScanner(stdout)
		if s.Scan() {
			line <- s.Text()
		}
		close(line)
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case u, ok := <-line:
		if !ok {
			return nil, errors.New("fake steam exited before it was ready")
		}
		p, err := url.Parse(u)
		if err != nil || !loadgen.LoopbackHost(p.Hostname()) {
			return nil, fmt.Errorf("fake steam answered a non-loopback URL %q", u)
		}
		c.url = u
		return c, nil
	case <-time.After(30 * time.Second):
		return nil, errors.New("fake steam was not ready within 30s")
	case <-ctx.Done():
		return nil, errors.New("interrupted")
	}
}

// startMuster starts muster serve with env, logging to logFile, and
// registers its SIGTERM stop.
func startMuster(bin string, env []string, logFile string, undo *cleanups, say func(string, ...any)) (*child, error) {
	f, err := os.Create(logFile)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "serve")
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = f, f
	// If authload dies without cleaning up, muster goes with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, err
	}
	c := &child{pid: cmd.Process.Pid, exited: make(chan struct{})}
	var waitErr error
	go func() { waitErr = cmd.Wait(); f.Close(); close(c.exited) }()
	undo.add(func() {
		select {
		case <-c.exited:
			say("muster had exited: %v", waitErr)
			return
		default:
		}
		if !stopChild(cmd.Process, c.exited, 30*time.Second) {
			say("muster did not exit within 30s of SIGTERM; killed it")
			return
		}
		if waitErr != nil {
			say("muster exited after SIGTERM: %v", waitErr)
			return
		}
		say("stopped muster (SIGTERM)")
	})
	return c, nil
}

// stopChild sends SIGTERM and waits up to grace, then SIGKILL. It reports
// whether the process exited on its own.
func stopChild(p *os.Process, exited <-chan struct{}, grace time.Duration) bool {
	select {
	case <-exited:
		return true
	default:
	}
	_ = p.Signal(syscall.SIGTERM)
	select {
	case <-exited:
		return true
	case <-time.After(grace):
		_ = p.Kill()
		<-exited
		return false
	}
}

// waitReady polls a /readyz URL until it answers 200.
func waitReady(ctx context.Context, readyURL string, exited <-chan struct{}) error {
	c := loadgen.NewClient(1, time.Second, nil)
	defer c.CloseIdleConnections()
	deadline := time.Now().Add(readyTimeout)
	for {
		resp, err := c.Get(readyURL)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-exited:
			return errors.New("muster exited before it was ready")
		case <-ctx.Done():
			return errors.New("interrupted")
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("muster was not ready on %s within %s", readyURL, readyTimeout)
		}
	}
}

func saveMetrics(ctx context.Context, metricsURL, path string) error {
	c := loadgen.NewClient(1, 5*time.Second, nil)
	defer c.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, metricsURL, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// countRows counts the rows of the identity tables after the run.
func countRows(ctx context.Context, dbURL string) map[string]int64 {
	conn, err := sql.Open("postgres", dbURL)
	if err != nil {
		return nil
	}
	defer conn.Close()
	out := map[string]int64{}
	for _, t := range []string{"accounts", "auth_sessions", "auth_refresh_tokens", "login_events", "outbox_events"} {
		var n int64
		if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM "+t).Scan(&n); err == nil {
			out[t] = n
		}
	}
	return out
}

// readLog counts muster's log lines and returns the last few.
func readLog(path string) (int, string) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, ""
	}
	lines := bytes.Split(bytes.TrimSpace(b), []byte("\n"))
	if len(lines) == 1 && len(lines[0]) == 0 {
		return 0, ""
	}
	tail := lines[max(len(lines)-20, 0):]
	return len(lines), string(bytes.Join(tail, []byte("\n")))
}
