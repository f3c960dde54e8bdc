package session

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/musterhq/muster/domain/db"
)

// Logout revokes the session of refreshToken (any token of the session,
// used or not). Logging out twice is not an error; an unknown token is
// ErrInvalidRefresh.
func (s *Store) Logout(ctx context.Context, refreshToken string) error {
	const q = `
WITH t AS (
    SELECT session_id FROM auth_refresh_tokens WHERE token_hash = $1
), r AS (
    UPDATE auth_sessions s SET revoked_at = now(), revoke_reason = 'logout'
    FROM t
    WHERE s.id = t.session_id AND s.revoked_at IS NULL
    RETURNING s.id
)
SELECT t.session_id, EXISTS (SELECT 1 FROM r) AS revoked FROM t`
	var row struct {
		SessionID string `db:"session_id"`
		Revoked   bool   `db:"revoked"`
	}
	err := s.db.Get(ctx, &row, q, hashRefresh(refreshToken))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return ErrInvalidRefresh
	case err != nil:
		return fmt.Errorf("log out: %w", err)
	case !row.Revoked:
		return nil
	}
	return s.denyAll(ctx, "log out", []string{row.SessionID})
}

// Revoke ends one of the account's live sessions: its refresh tokens stop
// working at once and its access tokens on every node within about a
// second. ErrNotFound if the account has no such live session.
func (s *Store) Revoke(ctx context.Context, accountID int64, sessionID, reason string) error {
	if !validUUID(sessionID) {
		return ErrNotFound
	}
	const q = `
UPDATE auth_sessions SET revoked_at = now(), revoke_reason = $3
WHERE id = $1 AND account_id = $2 AND revoked_at IS NULL AND expires_at > now()
RETURNING id`
	var id string
	err := s.db.Get(ctx, &id, q, sessionID, accountID, reason)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return ErrNotFound
	case err != nil:
		return fmt.Errorf("revoke session: %w", err)
	}
	return s.denyAll(ctx, "revoke session", []string{id})
}

// RevokeAll ends every live session of the account except those whose ids
// are in except (for example the session changing the password), and
// returns how many it ended. Call it after committing the change that
// requires it (password change, ban).
func (s *Store) RevokeAll(ctx context.Context, accountID int64, reason string, except ...string) (int, error) {
	ids, err := RevokeAllTx(ctx, s.conn, accountID, reason, except...)
	if err != nil {
		return 0, err
	}
	return len(ids), s.denyAll(ctx, "revoke sessions", ids)
}

// RevokeAllTx is RevokeAll inside the caller's transaction. It returns the
// ids of the sessions it ended; after the transaction commits, the caller
// must pass them to DenyList.Add, or their access tokens keep working
// until they expire.
func RevokeAllTx(ctx context.Context, tx sqlx.ExtContext, accountID int64, reason string, except ...string) ([]string, error) {
	keep := make([]string, len(except))
	for i, id := range except {
		keep[i] = strings.ToLower(id)
	}
	const q = `
UPDATE auth_sessions SET revoked_at = now(), revoke_reason = $2
WHERE account_id = $1 AND revoked_at IS NULL AND expires_at > now()
  AND NOT (id::text = ANY ($3::text[]))
RETURNING id`
	ids := []string{}
	if err := sqlx.SelectContext(ctx, tx, &ids, q, accountID, reason, pq.Array(keep)); err != nil {
		return nil, fmt.Errorf("revoke sessions: %w", err)
	}
	return ids, nil
}

// denyAll lists sessions that were just revoked in the database.
func (s *Store) denyAll(ctx context.Context, what string, ids []string) error {
	if s.deny == nil || len(ids) == 0 {
		return nil
	}
	if err := s.deny.Add(ctx, ids...); err != nil {
		return fmt.Errorf("%s: revoked, but access tokens may work until they expire: %w", what, err)
	}
	return nil
}

// RevokeAllWith ends every live session of the account inside a
// transaction that also runs inTx, so that whatever inTx records (an audit
// row) commits with the revocation or not at all. The deny list learns of
// the sessions after the commit.
func (s *Store) RevokeAllWith(ctx context.Context, accountID int64, reason string, inTx func(tx *sqlx.Tx, ids []string) error) (int, error) {
	var ids []string
	err := db.InTx(ctx, s.conn, nil, func(tx *sqlx.Tx) error {
		var err error
		if ids, err = RevokeAllTx(ctx, tx, accountID, reason); err != nil {
			return err
		}
		return inTx(tx, ids)
	})
	if err != nil {
		return 0, err
	}
	return len(ids), s.denyAll(ctx, "revoke sessions", ids)
}

// ActiveCount counts live sessions, for the console's dashboard.
func (s *Store) ActiveCount(ctx context.Context) (int, error) {
	var n int
	if err := s.conn.GetContext(ctx, &n, `SELECT count(*) FROM auth_sessions WHERE revoked_at IS NULL AND expires_at > now()`); err != nil {
		return 0, fmt.Errorf("count sessions: %w", err)
	}
	return n, nil
}
