package match

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
)

// Server is a registered dedicated game server (or fleet of them sharing a
// credential).
type Server struct {
	ID         int64      `db:"id" json:"id"`
	Name       string     `db:"name" json:"name"`
	CreatedBy  string     `db:"created_by" json:"created_by"`
	CreatedAt  time.Time  `db:"created_at" json:"created_at"`
	RevokedAt  *time.Time `db:"revoked_at" json:"revoked_at,omitempty"`
	LastSeenAt *time.Time `db:"last_seen_at" json:"last_seen_at,omitempty"`
}

// credentialPrefix starts every server credential, so that one found in a
// log or a repository is recognisable.
const credentialPrefix = "msv_"

// Servers issues and checks game server credentials. A credential is
// "msv_<id>_<secret>"; only the secret's SHA-256 is stored. Checks are
// cached for CacheFor, so a revocation takes effect on every node within
// that time.
type Servers struct {
	conn     *sqlx.DB
	cacheFor time.Duration
	now      func() time.Time

	mu    sync.Mutex
	cache map[int64]cachedServer
}

type cachedServer struct {
	server  Server
	hash    []byte
	revoked bool
	until   time.Time
}

// NewServers returns the credential registry. cacheFor 0 means 5 s.
func NewServers(conn *sqlx.DB, cacheFor time.Duration) *Servers {
	if cacheFor <= 0 {
		cacheFor = 5 * time.Second
	}
	return &Servers{conn: conn, cacheFor: cacheFor, now: time.Now, cache: map[int64]cachedServer{}}
}

// List returns every server, newest first.
func (s *Servers) List(ctx context.Context) ([]Server, error) {
	var out []Server
	const q = `SELECT id, name, created_by, created_at, revoked_at, last_seen_at FROM game_servers ORDER BY id DESC`
	err := s.conn.SelectContext(ctx, &out, q)
	return out, err
}

// Authenticate checks a credential and returns its server; any failure is
// ErrInvalidServer without saying which part was wrong.
func (s *Servers) Authenticate(ctx context.Context, credential string) (Server, error) {
	rest, ok := strings.CutPrefix(credential, credentialPrefix)
	idText, secret, ok2 := strings.Cut(rest, "_")
	id, err := strconv.ParseInt(idText, 10, 64)
	if !ok || !ok2 || err != nil || id <= 0 || secret == "" || len(secret) > 64 {
		return Server{}, ErrInvalidServer
	}
	c, err := s.lookup(ctx, id)
	if err != nil {
		return Server{}, err
	}
	sum := sha256.Sum256([]byte(secret))
	if c.revoked || subtle.ConstantTimeCompare(sum[:], c.hash) != 1 {
		return Server{}, ErrInvalidServer
	}
	return c.server, nil
}

func (s *Servers) lookup(ctx context.Context, id int64) (cachedServer, error) {
	now := s.now()
	s.mu.Lock()
	c, ok := s.cache[id]
	s.mu.Unlock()
	if ok && now.Before(c.until) {
		return c, nil
	}
	var row struct {
		Server
		Hash []byte `db:"secret_hash"`
	}
	// Reading the credential also marks the server seen, at most once per
	// cache period.
	const q = `UPDATE game_servers SET last_seen_at = now() WHERE id = $1
		RETURNING id, name, created_by, created_at, revoked_at, last_seen_at, secret_hash`
	err := s.conn.GetContext(ctx, &row, q, id)
	if errors.Is(err, sql.ErrNoRows) {
		return cachedServer{}, ErrInvalidServer
	}
	if err != nil {
		return cachedServer{}, fmt.Errorf("load server: %w", err)
	}
	c = cachedServer{server: row.Server, hash: row.Hash, revoked: row.RevokedAt != nil, until: now.Add(s.cacheFor)}
	s.mu.Lock()
	if len(s.cache) > 10_000 {
		clear(s.cache)
	}
	s.cache[id] = c
	s.mu.Unlock()
	return c, nil
}

// Named returns the server registered under name, unless its credential is
// revoked (ErrInvalidServer).
func (s *Servers) Named(ctx context.Context, name string) (Server, error) {
	var sv Server
	const q = `SELECT id, name, created_by, created_at, revoked_at, last_seen_at FROM game_servers WHERE name = $1`
	err := s.conn.GetContext(ctx, &sv, q, name)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return Server{}, fmt.Errorf("%w: no server named %q", ErrInvalidServer, name)
	case err != nil:
		return Server{}, fmt.Errorf("load server: %w", err)
	case sv.RevokedAt != nil:
		return Server{}, fmt.Errorf("%w: the credential of %q is revoked", ErrInvalidServer, name)
	}
	return sv, nil
}
