package bots

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/domain/account"
	"github.com/musterhq/muster/domain/session"
)

// enrollWorkers is how many players Enroll creates at once.
const enrollWorkers = 16

// Enrolled says what Enroll did.
type Enrolled struct {
	Created int // accounts created
	Started int // sessions started (players without a kept one)
	Took    time.Duration
}

// Enroll readies the scenario's players for a run that must not spend the
// platform's CPU on password hashes: it creates, directly in the
// platform's database, the accounts of the players that have none (all with
// one bcrypt hash of the scenario's password, computed once), starts a
// session for each player the sessions file holds none for, and writes the
// file. The run that follows (Config.Sessions) lets them in by refreshing
// those sessions, as returning game clients do. secretKey is the platform's
// MUSTER_SECRET_KEY, which unseals the signing keys the sessions' first
// access tokens are signed with.
func Enroll(ctx context.Context, conn *sqlx.DB, sc Scenario, sessionsPath string, secretKey []byte, progress io.Writer) (Enrolled, error) {
	start := time.Now()
	if sessionsPath == "" {
		return Enrolled{}, errors.New("enroll: a sessions file is required")
	}
	saved, err := loadSessions(sessionsPath)
	if err != nil {
		return Enrolled{}, err
	}
	hasher, err := account.NewHasher(10)
	if err != nil {
		return Enrolled{}, err
	}
	hash, err := hasher.Hash(ctx, sc.Accounts.Password)
	if err != nil {
		return Enrolled{}, fmt.Errorf("enroll: hash the password: %w", err)
	}
	cfg := session.Config{SecretKey: secretKey}
	keys := session.NewKeys(conn, cfg)
	if err := keys.Ensure(ctx); err != nil {
		return Enrolled{}, fmt.Errorf("enroll: signing keys (is the secret key the platform's?): %w", err)
	}
	sessions := session.NewStore(conn, session.NewTokens(keys, nil, cfg), nil, cfg)
	accounts := account.NewStore(conn)

	var (
		next, created, started atomic.Int64
		mu                     sync.Mutex
		firstErr               error
		wg                     sync.WaitGroup
	)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
		cancel()
	}
	for range enrollWorkers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= sc.Players || ctx.Err() != nil {
					return
				}
				name := playerName(sc, i)
				email := name + "@" + sc.Accounts.Domain
				mu.Lock()
				kept := saved[email] != ""
				mu.Unlock()
				if kept {
					continue
				}
				a, _, err := accounts.ByEmail(ctx, email)
				if errors.Is(err, account.ErrNotFound) {
					a, err = accounts.CreateWithEmail(ctx, email, hash, name)
					created.Add(1)
				}
				if err != nil {
					fail(fmt.Errorf("enroll %s: %w", email, err))
					return
				}
				is, err := sessions.Start(ctx, a.ID, a.PublicID, session.Meta{IP: "127.0.0.1", UserAgent: "muster bots enroll", Method: "email"})
				if err != nil {
					fail(fmt.Errorf("enroll %s: start a session: %w", email, err))
					return
				}
				started.Add(1)
				mu.Lock()
				saved[email] = is.RefreshToken
				mu.Unlock()
				if n := started.Load(); progress != nil && n%1000 == 0 {
					fmt.Fprintf(progress, "muster bots: enrolled %d players\n", n)
				}
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return Enrolled{}, firstErr
	}
	if err := writeSessions(sessionsPath, saved); err != nil {
		return Enrolled{}, err
	}
	return Enrolled{Created: int(created.Load()), Started: int(started.Load()), Took: time.Since(start)}, nil
}

// playerName is player i's account name (and display name): the prefix and
// a number wide enough for the run's players.
func playerName(sc Scenario, i int) string {
	width := len(strconv.Itoa(sc.Players))
	return fmt.Sprintf("%s%0*d", sc.Accounts.Prefix, max(width, 5), i+1)
}
