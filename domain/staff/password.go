package staff

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/domain/account"
)

// ChangePasswordTx sets a new password for the staff member after checking
// the current one, in the caller's transaction (the console audits it
// there), and ends every other console session of theirs. keepToken is the
// session making the change. ErrInvalidCredentials: the current password is
// wrong; the new one must pass account.CheckPassword.
func (s *Store) ChangePasswordTx(ctx context.Context, tx *sqlx.Tx, id int64, current, next, keepToken string) error {
	var row struct {
		Email       string `db:"email"`
		DisplayName string `db:"display_name"`
		Hash        string `db:"password_hash"`
	}
	err := tx.GetContext(ctx, &row, `SELECT email, display_name, password_hash FROM staff_accounts WHERE id = $1 FOR UPDATE`, id)
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		return fmt.Errorf("load staff password: %w", err)
	}
	if ok, _, err := s.hasher.Verify(ctx, row.Hash, current); err != nil {
		return err
	} else if !ok {
		return ErrInvalidCredentials
	}
	if err := account.CheckPassword(next, row.Email, row.DisplayName); err != nil {
		return err
	}
	hash, err := s.hasher.Hash(ctx, next)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE staff_accounts SET password_hash = $2 WHERE id = $1`, id, hash); err != nil {
		return fmt.Errorf("set staff password: %w", err)
	}
	const others = `UPDATE staff_sessions SET revoked_at = now() WHERE staff_id = $1 AND revoked_at IS NULL AND token_hash <> $2`
	if _, err := tx.ExecContext(ctx, others, id, hashToken(keepToken)); err != nil {
		return fmt.Errorf("end other staff sessions: %w", err)
	}
	return nil
}
