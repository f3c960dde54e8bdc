package staff

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// tokenLen is the length of a session or CSRF token: 32 random bytes in
// unpadded base64url.
const tokenLen = 43

// newToken returns a new random token and the SHA-256 hash of it that is
// all the database keeps of a session token.
func newToken() (token string, hash []byte) {
	var b [32]byte
	rand.Read(b[:]) // never fails (crypto/rand)
	token = base64.RawURLEncoding.EncodeToString(b[:])
	return token, hashToken(token)
}

func hashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// SessionInfo describes the console session a request authenticated with.
type SessionInfo struct {
	// CSRFToken must accompany every state-changing request of the
	// session; compare it in constant time.
	CSRFToken  string
	StaffID    int64
	CreatedAt  time.Time
	LastSeenAt time.Time
	// ExpiresAt is the absolute end of the session; it ends earlier after
	// IdleTimeout without use.
	ExpiresAt time.Time
	IP        string
	UserAgent string
}

type sessionRow struct {
	Staff
	CSRFToken        string    `db:"csrf_token"`
	SessionCreatedAt time.Time `db:"session_created_at"`
	LastSeenAt       time.Time `db:"last_seen_at"`
	ExpiresAt        time.Time `db:"expires_at"`
	IP               string    `db:"ip"`
	UserAgent        string    `db:"user_agent"`
	Stale            bool      `db:"stale"`
}

// Authenticate returns the staff member and session of a session token. The
// session is valid when it has not been revoked, was used within
// IdleTimeout, began within AbsoluteTimeout and its account is active;
// anything else, including a malformed token, is ErrSessionInvalid. Use
// moves last_seen_at forward, written at most once a minute (more often
// only when IdleTimeout is under ten minutes) to spare the database.
func (s *Store) Authenticate(ctx context.Context, token string) (Staff, SessionInfo, error) {
	if len(token) != tokenLen {
		return Staff{}, SessionInfo{}, ErrSessionInvalid
	}
	hash := hashToken(token)
	const q = `SELECT ` + staffColumns + `, s.csrf_token, s.created_at AS session_created_at,
    s.last_seen_at, s.expires_at, s.ip, s.user_agent,
    s.last_seen_at < now() - make_interval(secs => $4) AS stale
FROM staff_sessions s JOIN staff_accounts a ON a.id = s.staff_id
WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > now()
    AND s.last_seen_at > now() - make_interval(secs => $2)
    AND s.created_at > now() - make_interval(secs => $3)
    AND a.status = 'active'`
	var r sessionRow
	err := s.db.GetContext(ctx, &r, q, hash, s.cfg.IdleTimeout.Seconds(), s.cfg.AbsoluteTimeout.Seconds(), s.bumpEvery().Seconds())
	if errors.Is(err, sql.ErrNoRows) {
		return Staff{}, SessionInfo{}, ErrSessionInvalid
	}
	if err != nil {
		return Staff{}, SessionInfo{}, fmt.Errorf("load console session: %w", err)
	}
	if r.Stale {
		const bump = `UPDATE staff_sessions SET last_seen_at = now() WHERE token_hash = $1 AND revoked_at IS NULL RETURNING last_seen_at`
		err := s.db.GetContext(ctx, &r.LastSeenAt, bump, hash)
		if errors.Is(err, sql.ErrNoRows) { // revoked meanwhile
			return Staff{}, SessionInfo{}, ErrSessionInvalid
		}
		if err != nil {
			return Staff{}, SessionInfo{}, fmt.Errorf("touch console session: %w", err)
		}
	}
	return r.Staff, SessionInfo{
		CSRFToken:  r.CSRFToken,
		StaffID:    r.ID,
		CreatedAt:  r.SessionCreatedAt,
		LastSeenAt: r.LastSeenAt,
		ExpiresAt:  r.ExpiresAt,
		IP:         r.IP,
		UserAgent:  r.UserAgent,
	}, nil
}

// bumpEvery is how stale last_seen_at may get before Authenticate writes
// it: a minute, or a tenth of IdleTimeout when that is shorter, so that
// the write lag never eats much of the idle allowance.
func (s *Store) bumpEvery() time.Duration {
	return min(time.Minute, s.cfg.IdleTimeout/10)
}

// Logout revokes the session of token. An unknown or already revoked
// token is not an error.
func (s *Store) Logout(ctx context.Context, token string) error {
	if len(token) != tokenLen {
		return nil
	}
	const q = `UPDATE staff_sessions SET revoked_at = now() WHERE token_hash = $1 AND revoked_at IS NULL`
	if _, err := s.db.ExecContext(ctx, q, hashToken(token)); err != nil {
		return fmt.Errorf("revoke console session: %w", err)
	}
	return nil
}

// RevokeAll revokes every session of the staff account.
func (s *Store) RevokeAll(ctx context.Context, staffID int64) error {
	return revokeAll(ctx, s.db, staffID)
}

// RevokeAllTx is RevokeAll in the caller's transaction.
func (s *Store) RevokeAllTx(ctx context.Context, tx *sqlx.Tx, staffID int64) error {
	return revokeAll(ctx, tx, staffID)
}

func revokeAll(ctx context.Context, q sqlx.ExecerContext, staffID int64) error {
	const stmt = `UPDATE staff_sessions SET revoked_at = now() WHERE staff_id = $1 AND revoked_at IS NULL`
	if _, err := q.ExecContext(ctx, stmt, staffID); err != nil {
		return fmt.Errorf("revoke console sessions: %w", err)
	}
	return nil
}
