package session

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/domain/db"
)

// Store keeps sessions and refresh tokens in PostgreSQL and issues their
// access tokens. Safe for concurrent use.
type Store struct {
	conn   *sqlx.DB
	db     *db.Prepared
	tokens *Tokens
	deny   *DenyList
	cfg    Config

	rotations *db.Group[rotation, rotated] // Refresh calls rotated together
	batched   atomic.Int64                 // refreshes rotated in batches of two or more
}

// Meta describes the client a session was started or refreshed from.
type Meta struct {
	IP        string
	UserAgent string
	Method    string // how the player logged in ("email", "steam"); kept from Start
}

// Issued is what a client receives on login and on every refresh.
type Issued struct {
	AccessToken      string
	AccessExpiresAt  time.Time
	RefreshToken     string
	RefreshExpiresAt time.Time
	SessionID        string
}

// Session is one live login, as shown to its player.
type Session struct {
	ID         string    `db:"id"`
	Method     string    `db:"method"`
	IP         string    `db:"ip"`
	UserAgent  string    `db:"user_agent"`
	CreatedAt  time.Time `db:"created_at"`
	LastUsedAt time.Time `db:"last_used_at"`
	ExpiresAt  time.Time `db:"expires_at"`
}

// NewStore returns a Store in conn that signs with tokens and announces
// revocations on deny.
func NewStore(conn *sqlx.DB, tokens *Tokens, deny *DenyList, cfg Config) *Store {
	s := &Store{conn: conn, db: db.NewPrepared(conn), tokens: tokens, deny: deny, cfg: cfg.withDefaults()}
	s.rotations = db.NewGroup(maxRotateBatch, rotateBatchers, rotation.key, s.writeRotations)
	return s
}

// inGoodStanding is the SQL condition, on accounts a, for an account that
// may hold a session: not deleted, and not under a ban that is still on.
// Starting and refreshing a session check it, so a session cannot outlive
// a ban or deletion even if the revocation after it failed or raced a login.
const inGoodStanding = `(a.status = 'active' OR (a.status = 'banned' AND a.banned_until IS NOT NULL AND a.banned_until <= now()))`

// Start begins a session for the account whose public id is playerID and
// returns its first access and refresh tokens.
func (s *Store) Start(ctx context.Context, accountID int64, playerID string, meta Meta) (Issued, error) {
	id := newUUID()
	access, accessExp, err := s.tokens.Sign(Claims{AccountID: accountID, PlayerID: playerID, SessionID: id})
	if err != nil {
		return Issued{}, fmt.Errorf("start session: %w", err)
	}
	refresh, hash := newRefreshToken()
	const q = `
WITH s AS (
    INSERT INTO auth_sessions (id, account_id, method, ip, user_agent, expires_at)
    SELECT $1, a.id, $3, $4, $5, now() + $6 * interval '1 microsecond'
    FROM accounts a WHERE a.id = $2 AND ` + inGoodStanding + `
    RETURNING id, expires_at
), t AS (
    INSERT INTO auth_refresh_tokens (token_hash, session_id, expires_at)
    SELECT $7, id, expires_at FROM s
)
SELECT expires_at FROM s`
	var refreshExp time.Time
	err = s.db.Get(ctx, &refreshExp, q, id, accountID, meta.Method, meta.IP, meta.UserAgent,
		s.cfg.RefreshTTL.Microseconds(), hash)
	if errors.Is(err, sql.ErrNoRows) {
		return Issued{}, ErrAccountBlocked
	}
	if err != nil {
		return Issued{}, fmt.Errorf("start session: %w", err)
	}
	return Issued{
		AccessToken: access, AccessExpiresAt: accessExp,
		RefreshToken: refresh, RefreshExpiresAt: refreshExp,
		SessionID: id,
	}, nil
}

// List returns the account's live sessions, newest first.
func (s *Store) List(ctx context.Context, accountID int64) ([]Session, error) {
	const q = `
SELECT id, method, ip, user_agent, created_at, last_used_at, expires_at
FROM auth_sessions
WHERE account_id = $1 AND revoked_at IS NULL AND expires_at > now()
ORDER BY created_at DESC, id`
	out := []Session{}
	if err := s.db.Select(ctx, &out, q, accountID); err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	return out, nil
}
