package account

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

	"github.com/musterhq/muster/domain/db"
)

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

// CreateReset makes a one-time password reset token for the account, valid
// for ttl. Only its hash is stored; the token goes to the player's mailbox.
func (s *Store) CreateReset(ctx context.Context, id int64, ttl time.Duration) (string, error) {
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", fmt.Errorf("reset token: %w", err)
	}
	token := base64.RawURLEncoding.EncodeToString(raw[:])
	sum := sha256.Sum256([]byte(token))
	const q = `INSERT INTO password_resets (token_hash, account_id, expires_at) VALUES ($1, $2, now() + $3 * interval '1 millisecond')`
	if _, err := s.db.ExecContext(ctx, q, sum[:], id, ttl.Milliseconds()); err != nil {
		return "", fmt.Errorf("store reset token: %w", err)
	}
	return token, nil
}

// ConsumeReset uses a reset token once and sets the password whose hash is
// given, in one transaction. Every other pending token of the account is
// used up with it. It returns the account's id.
func (s *Store) ConsumeReset(ctx context.Context, token, newHash string) (int64, error) {
	sum := sha256.Sum256([]byte(token))
	var id int64
	err := db.InTx(ctx, s.db, nil, func(tx *sqlx.Tx) error {
		const use = `UPDATE password_resets SET used_at = now()
WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now() RETURNING account_id`
		if err := tx.GetContext(ctx, &id, use, sum[:]); err != nil {
			if isNoRows(err) {
				return ErrInvalidResetToken
			}
			return fmt.Errorf("use reset token: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE password_resets SET used_at = now() WHERE account_id = $1 AND used_at IS NULL`, id); err != nil {
			return fmt.Errorf("use other reset tokens: %w", err)
		}
		return setPasswordHash(ctx, tx, id, newHash)
	})
	return id, err
}
