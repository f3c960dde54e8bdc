package account

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/domain/db"
)

// Identities lists the ways into an account.
func (s *Store) Identities(ctx context.Context, id int64) ([]Identity, error) {
	const q = `SELECT provider, subject, owner_subject, created_at FROM account_identities WHERE account_id = $1 ORDER BY created_at`
	var out []Identity
	if err := s.db.SelectContext(ctx, &out, q, id); err != nil {
		return nil, fmt.Errorf("list identities: %w", err)
	}
	return out, nil
}

// LinkEmail adds an email and password to an account that has none.
func (s *Store) LinkEmail(ctx context.Context, id int64, email, passwordHash string) error {
	return addIdentity(ctx, s.db, id, ProviderEmail, email, passwordHash, "")
}

// LinkSteam adds a Steam id to an account that has none.
func (s *Store) LinkSteam(ctx context.Context, id int64, steamID, ownerSteamID string) error {
	owner := ownerSteamID
	if owner == steamID {
		owner = ""
	}
	return addIdentity(ctx, s.db, id, ProviderSteam, steamID, "", owner)
}

// Unlink removes one identity, refusing to remove the last one.
func (s *Store) Unlink(ctx context.Context, id int64, provider string) error {
	return db.InTx(ctx, s.db, nil, func(tx *sqlx.Tx) error {
		// Lock the account so two unlinks cannot each leave the other last.
		if _, err := s.one(ctx, tx, `SELECT `+accountColumns+` FROM accounts a WHERE a.id = $1 FOR UPDATE`, id); err != nil {
			return err
		}
		var providers []string
		if err := tx.SelectContext(ctx, &providers, `SELECT provider FROM account_identities WHERE account_id = $1`, id); err != nil {
			return fmt.Errorf("list identities: %w", err)
		}
		has := false
		for _, p := range providers {
			has = has || p == provider
		}
		switch {
		case !has:
			return ErrNotLinked
		case len(providers) == 1:
			return ErrLastIdentity
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM account_identities WHERE account_id = $1 AND provider = $2`, id, provider); err != nil {
			return fmt.Errorf("unlink %s: %w", provider, err)
		}
		return nil
	})
}

// PasswordHash returns the account's email login and password hash.
func (s *Store) PasswordHash(ctx context.Context, id int64) (email, hash string, err error) {
	var row struct {
		Subject    string `db:"subject"`
		SecretHash string `db:"secret_hash"`
	}
	err = s.db.GetContext(ctx, &row, `SELECT subject, secret_hash FROM account_identities WHERE account_id = $1 AND provider = 'email'`, id)
	if err != nil {
		if isNoRows(err) {
			return "", "", ErrNotLinked
		}
		return "", "", fmt.Errorf("load password: %w", err)
	}
	return row.Subject, row.SecretHash, nil
}

// SetPasswordHash replaces the account's password hash.
func (s *Store) SetPasswordHash(ctx context.Context, id int64, hash string) error {
	return setPasswordHash(ctx, s.db, id, hash)
}

func setPasswordHash(ctx context.Context, q sqlx.ExecerContext, id int64, hash string) error {
	res, err := q.ExecContext(ctx, `UPDATE account_identities SET secret_hash = $2 WHERE account_id = $1 AND provider = 'email'`, id, hash)
	if err := oneRow(res, err, "set password"); err != nil {
		if err == ErrNotFound {
			return ErrNotLinked
		}
		return err
	}
	return nil
}
