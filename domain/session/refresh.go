package session

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/lib/pq"

	"github.com/musterhq/muster/domain/db"
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
// the player id, or change nothing. Refreshes that arrive together share
// that statement and its commit (writeRotations); one the batch cannot
// take is rotated on its own, with the same outcome. Only a refused token
// costs a second statement, which revokes the session on reuse and
// commits at once. A BEGIN/COMMIT around them would add two round trips
// and protect nothing more.
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
	r, err := s.rotations.Do(ctx, rotation{hash: hash, next: nextHash, meta: meta})
	if errors.Is(err, db.ErrAlone) {
		r, err = s.rotate(ctx, hash, nextHash, meta)
	}
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

// Refreshes that arrive together are rotated together: a batcher takes
// those waiting when it is free (at most maxRotateBatch) and rotates them
// in one statement, one commit.
const (
	maxRotateBatch = 100
	rotateBatchers = 2
)

// rotation is one Refresh waiting for its batch.
type rotation struct {
	hash, next []byte // SHA-256 of the presented token and of its successor
	meta       Meta
}

// key keeps two uses of one token out of the same batch (the later is
// rotated on its own, where the row lock decides between them). Distinct
// tokens whose hashes share their first 8 bytes are kept apart too, which
// costs nothing but a batch place.
func (r rotation) key() int64 { return int64(binary.BigEndian.Uint64(r.hash)) }

// writeRotations rotates one batch and answers each refresh: its rotation,
// or sql.ErrNoRows when its token could not be used. A statement that
// PostgreSQL refused (a deadlock with another batch over a token presented
// twice at once, say) wrote nothing, so each refresh goes to the
// one-by-one path. Any other error leaves unknown whether the statement
// committed: retrying then could rotate nothing and take the token's own
// successful rotation for a reuse, so the error is the answer, as it is
// for a lone refresh.
func (s *Store) writeRotations(batch []*db.Job[rotation, rotated]) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if len(batch) == 1 {
		j := batch[0]
		r, err := s.rotate(ctx, j.In.hash, j.In.next, j.In.meta)
		j.Answer(r, err)
		return
	}
	rs := make([]rotation, len(batch))
	for i, j := range batch {
		rs[i] = j.In
	}
	done, err := s.rotateBatch(ctx, rs)
	var pqErr *pq.Error
	refused := errors.As(err, &pqErr)
	for _, j := range batch {
		switch {
		case refused:
			j.Answer(rotated{}, db.ErrAlone)
		case err != nil:
			j.Answer(rotated{}, fmt.Errorf("rotate batch: %w", err))
		default:
			r, ok := done[string(j.In.hash)]
			if !ok {
				j.Answer(rotated{}, sql.ErrNoRows)
				continue
			}
			delete(done, string(j.In.hash)) // one answer per rotated token
			j.Answer(r, nil)
		}
	}
	if err == nil {
		s.batched.Add(int64(len(batch)))
	}
}

// rotateBatchSQL is rotateBatch's statement.
const rotateBatchSQL = `
WITH rot AS (
    UPDATE auth_refresh_tokens t SET rotated_at = now()
    FROM unnest($1::bytea[], $2::bytea[], $3::text[], $4::text[]) AS r (hash, next_hash, ip, user_agent)
    WHERE t.token_hash = r.hash AND t.rotated_at IS NULL AND t.expires_at > now()
      AND (SELECT s.revoked_at IS NULL AND s.expires_at > now()
                  AND EXISTS (SELECT 1 FROM accounts a WHERE a.id = s.account_id AND ` + inGoodStanding + `)
           FROM auth_sessions s WHERE s.id = t.session_id)
    RETURNING t.session_id, r.hash, r.next_hash, r.ip, r.user_agent
), upd AS (
    UPDATE auth_sessions s
    SET last_used_at = now(), expires_at = now() + $5 * interval '1 microsecond',
        ip = COALESCE(NULLIF(rot.ip, ''), s.ip), user_agent = COALESCE(NULLIF(rot.user_agent, ''), s.user_agent)
    FROM rot
    WHERE s.id = rot.session_id AND s.revoked_at IS NULL
    RETURNING s.id, s.account_id, s.expires_at, rot.hash, rot.next_hash
), ins AS (
    INSERT INTO auth_refresh_tokens (token_hash, session_id, expires_at)
    SELECT next_hash, id, expires_at FROM upd
)
SELECT upd.hash, upd.id, upd.account_id, a.public_id, upd.expires_at
FROM upd JOIN accounts a ON a.id = upd.account_id`

// rotateBatch is rotate for many distinct tokens in one statement: the
// same conditions, re-checked by each UPDATE on the row it waited for, so
// a token in the batch is rotated exactly when it would have been on its
// own. It returns the rotations by token hash; a token missing from them
// could not be used. Every session has at most one token not yet rotated
// (Start stores one, each rotation replaces it), so no two tokens of the
// batch slide the same session. The rows are locked in hash order, as far
// as the plan follows the arrays, so that two batches over the same tokens
// rarely deadlock.
func (s *Store) rotateBatch(ctx context.Context, rs []rotation) (map[string]rotated, error) {
	slices.SortFunc(rs, func(a, b rotation) int { return bytes.Compare(a.hash, b.hash) })
	n := len(rs)
	hashes, nexts := make(pq.ByteaArray, n), make(pq.ByteaArray, n)
	ips, agents := make(pq.StringArray, n), make(pq.StringArray, n)
	for i, r := range rs {
		hashes[i], nexts[i], ips[i], agents[i] = r.hash, r.next, r.meta.IP, r.meta.UserAgent
	}
	var rows []struct {
		Hash []byte `db:"hash"`
		rotated
	}
	if err := s.db.Select(ctx, &rows, rotateBatchSQL, hashes, nexts, ips, agents, s.cfg.RefreshTTL.Microseconds()); err != nil {
		return nil, err
	}
	out := make(map[string]rotated, len(rows))
	for _, r := range rows {
		out[string(r.Hash)] = r.rotated
	}
	return out, nil
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
