package session

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// reuseReason is the revoke_reason of a session killed because one of its
// refresh tokens was presented twice.
const reuseReason = "refresh_reused"

// Refresh exchanges a refresh token for a new access token and a new
// refresh token, and extends the session to now+RefreshTTL. Each refresh
// token works once: presenting one that was already exchanged revokes the
// whole session (ErrRefreshReused), since it was copied by someone. An
// unknown or expired token, or one of a revoked or expired session, is
// ErrInvalidRefresh. meta.IP and meta.UserAgent, when set, replace the
// session's; meta.Method is ignored.
//
// The rotation is one SQL statement, and so one transaction of its own:
// mark the token used, slide the session, store the successor and read
// the player id, or change nothing. Only a refused token costs a second
// statement, which revokes the session on reuse and commits at once. A
// BEGIN/COMMIT around them would add two round trips and protect nothing
// more.
func (s *Store) Refresh(ctx context.Context, refreshToken string, meta Meta) (Issued, error) {
	if refreshToken == "" {
		return Issued{}, ErrInvalidRefresh
	}
	// Signing cannot fail once there is a key; check first so a process
	// without one never burns a token it cannot replace.
	if s.tokens.keys.signer() == nil {
		return Issued{}, fmt.Errorf("refresh session: %w", ErrNoSigningKey)
	}
	hash := hashRefresh(refreshToken)
	next, nextHash := newRefreshToken()
	r, err := s.rotate(ctx, hash, nextHash, meta)
	if errors.Is(err, sql.ErrNoRows) {
		return Issued{}, s.refused(ctx, hash)
	}
	if err != nil {
		return Issued{}, fmt.Errorf("refresh session: %w", err)
	}
	access, accessExp, err := s.tokens.Sign(Claims{AccountID: r.AccountID, PlayerID: r.PlayerID, SessionID: r.SessionID})
	if err != nil {
		return Issued{}, fmt.Errorf("refresh session: %w", err)
	}
	return Issued{
		AccessToken: access, AccessExpiresAt: accessExp,
		RefreshToken: next, RefreshExpiresAt: r.ExpiresAt,
		SessionID: r.SessionID,
	}, nil
}

type rotated struct {
	SessionID string    `db:"id"`
	AccountID int64     `db:"account_id"`
	PlayerID  string    `db:"public_id"`
	ExpiresAt time.Time `db:"expires_at"`
}

// rotate marks the presented token used, slides the session and stores
// the successor token. sql.ErrNoRows: the token cannot be used. Each
// UPDATE re-checks its conditions after waiting for a row lock, so of
// concurrent uses of one token exactly one gets a row, and a session
// revoked meanwhile gets none.
func (s *Store) rotate(ctx context.Context, hash, nextHash []byte, meta Meta) (rotated, error) {
	const q = `
WITH rot AS (
    UPDATE auth_refresh_tokens t SET rotated_at = now()
    FROM auth_sessions s
    WHERE t.token_hash = $1 AND t.rotated_at IS NULL AND t.expires_at > now()
      AND s.id = t.session_id AND s.revoked_at IS NULL AND s.expires_at > now()
      AND EXISTS (SELECT 1 FROM accounts a WHERE a.id = s.account_id AND ` + inGoodStanding + `)
    RETURNING t.session_id
), upd AS (
    UPDATE auth_sessions s
    SET last_used_at = now(), expires_at = now() + $3 * interval '1 microsecond',
        ip = COALESCE(NULLIF($4, ''), s.ip), user_agent = COALESCE(NULLIF($5, ''), s.user_agent)
    FROM rot
    WHERE s.id = rot.session_id AND s.revoked_at IS NULL
    RETURNING s.id, s.account_id, s.expires_at
), ins AS (
    INSERT INTO auth_refresh_tokens (token_hash, session_id, expires_at)
    SELECT $2, id, expires_at FROM upd
)
SELECT upd.id, upd.account_id, a.public_id, upd.expires_at
FROM upd JOIN accounts a ON a.id = upd.account_id`
	var r rotated
	err := s.db.Get(ctx, &r, q, hash, nextHash, s.cfg.RefreshTTL.Microseconds(), meta.IP, meta.UserAgent)
	return r, err
}

// refused works out why a token could not be rotated and returns the
// error for it. A token that was already rotated, of a session that was
// live, is a reuse: the session is revoked (committed before returning)
// and put on the deny list.
func (s *Store) refused(ctx context.Context, hash []byte) error {
	const q = `
WITH t AS (
    SELECT t.session_id, t.rotated_at IS NOT NULL AS rotated,
           s.revoked_at IS NULL AND s.expires_at > now() AS live
    FROM auth_refresh_tokens t JOIN auth_sessions s ON s.id = t.session_id
    WHERE t.token_hash = $1
), r AS (
    UPDATE auth_sessions s SET revoked_at = now(), revoke_reason = $2
    FROM t
    WHERE s.id = t.session_id AND t.rotated AND s.revoked_at IS NULL
    RETURNING s.id
)
SELECT t.session_id, t.rotated, t.live, EXISTS (SELECT 1 FROM r) AS revoked FROM t`
	var row struct {
		SessionID string `db:"session_id"`
		Rotated   bool   `db:"rotated"`
		Live      bool   `db:"live"`
		Revoked   bool   `db:"revoked"`
	}
	err := s.db.Get(ctx, &row, q, hash, reuseReason)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return ErrInvalidRefresh
	case err != nil:
		return fmt.Errorf("refresh session: %w", err)
	case !row.Rotated || !(row.Live || row.Revoked):
		return ErrInvalidRefresh // expired token, or session already ended
	}
	// Live when read: revoked here, or by a concurrent reuse of the token.
	if s.deny != nil {
		if err := s.deny.Add(ctx, row.SessionID); err != nil {
			return fmt.Errorf("%w (deny list not updated: %v)", ErrRefreshReused, err)
		}
	}
	return ErrRefreshReused
}
