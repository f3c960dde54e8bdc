//go:build linux

package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq" // PostgreSQL driver

	"github.com/musterhq/muster/bench/loadgen"
	"github.com/musterhq/muster/domain/account"
	"github.com/musterhq/muster/domain/db"
	"github.com/musterhq/muster/domain/session"
)

const (
	maxPlayers    = 200_000
	maxAccessTTL  = 24 * time.Hour
	maxWorkers    = 64
	playersHeader = "# rtload players v1"
)

// player is one prepared player: an account with a live session.
type player struct {
	AccountID int64
	PlayerID  string
	Token     string
}

type prepareOptions struct {
	dbURL     string
	secret    []byte
	players   int
	out       string
	accessTTL time.Duration
	workers   int
}

func prepareMain(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("rtload prepare", flag.ContinueOnError)
	var o prepareOptions
	var secret string
	fs.StringVar(&o.dbURL, "database-url", os.Getenv("MUSTER_DATABASE_URL"), "migrated PostgreSQL database (loopback) the gateways use (default $MUSTER_DATABASE_URL)")
	fs.StringVar(&secret, "secret-key", "", "base64 of the gateways' 32-byte MUSTER_SECRET_KEY (default $MUSTER_SECRET_KEY; prefer the environment, a flag shows in ps)")
	fs.IntVar(&o.players, "players", 1000, fmt.Sprintf("players to create, each with one session (1 to %d)", maxPlayers))
	fs.StringVar(&o.out, "out", "", "file to write the players to (required)")
	fs.DurationVar(&o.accessTTL, "access-ttl", time.Hour, "lifetime of the access tokens: longer than the run (at most 24h)")
	fs.IntVar(&o.workers, "workers", 16, fmt.Sprintf("players created at once (1 to %d)", maxWorkers))
	if err := fs.Parse(args); err != nil {
		return badFlags{err}
	}
	if secret == "" {
		secret = os.Getenv("MUSTER_SECRET_KEY")
	}
	var err error
	if o.secret, err = checkPrepare(o, secret); err != nil {
		return err
	}
	return prepare(ctx, o, os.Stderr)
}

// checkPrepare validates prepare's flags and decodes the secret key.
func checkPrepare(o prepareOptions, secret string) ([]byte, error) {
	if err := checkLoopbackURL("-database-url", o.dbURL, "postgres", "postgresql"); err != nil {
		return nil, err
	}
	key, err := base64.StdEncoding.DecodeString(secret)
	if err != nil || len(key) != 32 {
		return nil, badf("-secret-key (or MUSTER_SECRET_KEY) must be the base64 of 32 bytes, as the gateways' MUSTER_SECRET_KEY")
	}
	switch {
	case o.players < 1 || o.players > maxPlayers:
		return nil, badf("-players %d: want 1 to %d", o.players, maxPlayers)
	case o.out == "":
		return nil, badf("-out: a file to write the players to is required")
	case o.accessTTL < time.Minute || o.accessTTL > maxAccessTTL:
		return nil, badf("-access-ttl %s: want 1m to %s", o.accessTTL, maxAccessTTL)
	case o.workers < 1 || o.workers > maxWorkers:
		return nil, badf("-workers %d: want 1 to %d", o.workers, maxWorkers)
	}
	return key, nil
}

// checkLoopbackURL checks that raw is a URL of one of schemes on a
// loopback host.
func checkLoopbackURL(flagName, raw string, schemes ...string) error {
	u, err := url.Parse(raw)
	if raw == "" || err != nil {
		return badf("%s: want a %s:// URL", flagName, schemes[0])
	}
	ok := false
	for _, s := range schemes {
		ok = ok || u.Scheme == s
	}
	if !ok {
		return badf("%s: want a %s:// URL, not %s://", flagName, schemes[0], u.Scheme)
	}
	if !loadgen.LoopbackHost(u.Hostname()) {
		return badf("refusing %s: host %q is not a loopback address (127.0.0.0/8, ::1 or localhost); rtload only loads this machine", flagName, u.Hostname())
	}
	return nil
}

// prepare creates the players and writes them to o.out.
func prepare(ctx context.Context, o prepareOptions, logw io.Writer) error {
	conn, err := db.Open(ctx, o.dbURL, db.Pool{MaxOpen: o.workers, MaxIdle: o.workers})
	if err != nil {
		return err
	}
	defer conn.Close()
	start := time.Now()
	players, err := createPlayers(ctx, conn, o, func(done int) {
		fmt.Fprintf(logw, "rtload: prepared %d of %d players (%.0f/s)\n", done, o.players, float64(done)/time.Since(start).Seconds())
	})
	if err != nil {
		return err
	}
	f, err := os.Create(o.out)
	if err != nil {
		return err
	}
	expires := time.Now().Add(o.accessTTL)
	if err := writePlayers(f, players, expires); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(logw, "rtload: %d players with sessions in %.1fs, access tokens valid until %s, written to %s\n",
		len(players), time.Since(start).Seconds(), expires.UTC().Format(time.RFC3339), o.out)
	return nil
}

// createPlayers makes o.players accounts (Steam identities, so no password
// hashing) and starts a session for each, with o.workers at once.
func createPlayers(ctx context.Context, conn *sqlx.DB, o prepareOptions, progress func(int)) ([]player, error) {
	cfg := session.Config{SecretKey: o.secret, AccessTTL: o.accessTTL}
	keys := session.NewKeys(conn, cfg)
	if err := keys.Ensure(ctx); err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	tokens := session.NewTokens(keys, nil, cfg)
	sessions := session.NewStore(conn, tokens, nil, cfg)
	accounts := account.NewStore(conn)
	// Steam ids of this run: distinct from other runs on the same database.
	base := 76561198000000000 + (time.Now().UnixNano()/1000%1_000_000)*1_000_000

	out := make([]player, o.players)
	var next, done atomic.Int64
	var wg sync.WaitGroup
	errc := make(chan error, o.workers)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stopProgress := make(chan struct{})
	go func() {
		t := time.NewTicker(5 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				progress(int(done.Load()))
			case <-stopProgress:
				return
			}
		}
	}()
	defer close(stopProgress)
	for range o.workers {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(o.players) || ctx.Err() != nil {
					return
				}
				a, _, err := accounts.FindOrCreateSteam(ctx, strconv.FormatInt(base+i, 10), "")
				if err != nil {
					errc <- fmt.Errorf("create player %d: %w", i, err)
					cancel()
					return
				}
				is, err := sessions.Start(ctx, a.ID, a.PublicID, session.Meta{IP: "127.0.0.1", UserAgent: "rtload", Method: "steam"})
				if err != nil {
					errc <- fmt.Errorf("start session of player %d: %w", i, err)
					cancel()
					return
				}
				out[i] = player{AccountID: a.ID, PlayerID: a.PublicID, Token: is.AccessToken}
				done.Add(1)
			}
		})
	}
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		return nil, err
	}
	if ctx.Err() != nil {
		return nil, errors.New("interrupted")
	}
	return out, nil
}

// writePlayers writes the players file: a header with the tokens' expiry,
// then "account_id player_id access_token" a line.
func writePlayers(w io.Writer, ps []player, expires time.Time) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	fmt.Fprintf(bw, "%s %d %s\n", playersHeader, len(ps), expires.UTC().Format(time.RFC3339))
	for _, p := range ps {
		fmt.Fprintf(bw, "%d %s %s\n", p.AccountID, p.PlayerID, p.Token)
	}
	return bw.Flush()
}

// readPlayers reads a players file written by writePlayers.
func readPlayers(r io.Reader) ([]player, time.Time, error) {
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 64<<10), 64<<10)
	if !s.Scan() {
		return nil, time.Time{}, errors.New("players file: empty")
	}
	head := strings.Fields(strings.TrimPrefix(s.Text(), playersHeader))
	if !strings.HasPrefix(s.Text(), playersHeader+" ") || len(head) != 2 {
		return nil, time.Time{}, fmt.Errorf("players file: header %q is not %q N EXPIRY", s.Text(), playersHeader)
	}
	n, err := strconv.Atoi(head[0])
	if err != nil || n < 1 || n > maxPlayers {
		return nil, time.Time{}, fmt.Errorf("players file: bad count %q", head[0])
	}
	expires, err := time.Parse(time.RFC3339, head[1])
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("players file: bad expiry %q", head[1])
	}
	out := make([]player, 0, n)
	for s.Scan() {
		f := strings.Fields(s.Text())
		if len(f) != 3 {
			return nil, time.Time{}, fmt.Errorf("players file: line %d has %d fields, want 3", len(out)+2, len(f))
		}
		id, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || id <= 0 {
			return nil, time.Time{}, fmt.Errorf("players file: line %d: bad account id %q", len(out)+2, f[0])
		}
		out = append(out, player{AccountID: id, PlayerID: f[1], Token: f[2]})
	}
	if err := s.Err(); err != nil {
		return nil, time.Time{}, fmt.Errorf("players file: %w", err)
	}
	if len(out) != n {
		return nil, time.Time{}, fmt.Errorf("players file: header says %d players, found %d", n, len(out))
	}
	return out, expires, nil
}
