package account

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/musterhq/muster/domain/db"
)

// Store reads and writes accounts and identities in PostgreSQL.
type Store struct {
	db   *sqlx.DB
	prep *db.Prepared // statements of the login paths
}

// NewStore returns a Store over conn.
func NewStore(conn *sqlx.DB) *Store { return &Store{db: conn, prep: db.NewPrepared(conn)} }

const accountColumns = `a.id, a.public_id, a.display_name, a.display_name_changed_at, a.status, a.banned_until, a.ban_reason, a.created_at, a.last_login_at`

// ByID returns the account with id.
func (s *Store) ByID(ctx context.Context, id int64) (Account, error) {
	const q = `SELECT ` + accountColumns + ` FROM accounts a WHERE a.id = $1`
	return s.one(ctx, s.db, q, id)
}

// ByPublicID returns the account with the public id.
func (s *Store) ByPublicID(ctx context.Context, publicID string) (Account, error) {
	const q = `SELECT ` + accountColumns + ` FROM accounts a WHERE a.public_id = $1`
	return s.one(ctx, s.db, q, publicID)
}

// ByEmail returns the account an email logs into and its password hash.
func (s *Store) ByEmail(ctx context.Context, email string) (Account, string, error) {
	const q = `SELECT ` + accountColumns + `, i.secret_hash FROM accounts a
JOIN account_identities i ON i.account_id = a.id AND i.provider = 'email' WHERE i.subject = $1`
	var row struct {
		Account
		SecretHash string `db:"secret_hash"`
	}
	if err := s.prep.Get(ctx, &row, q, email); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return Account{}, "", ErrNotFound
		}
		return Account{}, "", fmt.Errorf("load account by email: %w", err)
	}
	return row.Account, row.SecretHash, nil
}

func (s *Store) one(ctx context.Context, q sqlx.QueryerContext, query string, args ...any) (Account, error) {
	var a Account
	if err := sqlx.GetContext(ctx, q, &a, query, args...); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return Account{}, ErrNotFound
		}
		return Account{}, fmt.Errorf("load account: %w", err)
	}
	return a, nil
}

// CreateWithEmail creates an account that logs in with email and the
// password whose hash is given.
func (s *Store) CreateWithEmail(ctx context.Context, email, passwordHash, displayName string) (Account, error) {
	key, err := CheckDisplayName(displayName)
	if err != nil {
		return Account{}, err
	}
	var a Account
	err = db.InTx(ctx, s.db, nil, func(tx *sqlx.Tx) error {
		var err error
		if a, err = s.insert(ctx, tx, displayName, key); err != nil {
			return err
		}
		return addIdentity(ctx, tx, a.ID, ProviderEmail, email, passwordHash, "")
	})
	return a, err
}

// FindOrCreateSteam returns the account a Steam id logs into, creating one
// with a generated display name on first login. ownerSteamID is recorded
// when it differs (family sharing).
func (s *Store) FindOrCreateSteam(ctx context.Context, steamID, ownerSteamID string) (Account, bool, error) {
	owner := ownerSteamID
	if owner == steamID {
		owner = ""
	}
	for attempt := 0; attempt < 5; attempt++ {
		const find = `SELECT ` + accountColumns + `, i.owner_subject FROM accounts a
JOIN account_identities i ON i.account_id = a.id AND i.provider = 'steam' WHERE i.subject = $1`
		var row struct {
			Account
			OwnerSubject string `db:"owner_subject"`
		}
		err := s.prep.Get(ctx, &row, find, steamID)
		if err == nil {
			if row.OwnerSubject != owner {
				const q = `UPDATE account_identities SET owner_subject = $2 WHERE provider = 'steam' AND subject = $1`
				if _, err := s.db.ExecContext(ctx, q, steamID, owner); err != nil {
					return Account{}, false, fmt.Errorf("record steam owner: %w", err)
				}
			}
			return row.Account, false, nil
		}
		if !isNoRows(err) {
			return Account{}, false, fmt.Errorf("load account by steam id: %w", err)
		}
		var a Account
		err = db.InTx(ctx, s.db, nil, func(tx *sqlx.Tx) error {
			name := generatedName()
			var err error
			if a, err = s.insert(ctx, tx, name, name); err != nil {
				return err
			}
			return addIdentity(ctx, tx, a.ID, ProviderSteam, steamID, "", owner)
		})
		switch {
		case err == nil:
			return a, true, nil
		case errors.Is(err, ErrSteamTaken), errors.Is(err, ErrDisplayNameTaken):
			continue // a concurrent first login won, or the generated name was taken
		default:
			return Account{}, false, err
		}
	}
	return Account{}, false, errors.New("could not create an account for the steam id")
}

func (s *Store) insert(ctx context.Context, tx *sqlx.Tx, name, key string) (Account, error) {
	const q = `INSERT INTO accounts (public_id, display_name, display_name_key) VALUES ($1, $2, $3)
RETURNING id, public_id, display_name, display_name_changed_at, status, banned_until, ban_reason, created_at, last_login_at`
	var a Account
	if err := tx.GetContext(ctx, &a, q, newPublicID(), name, key); err != nil {
		return Account{}, mapUnique(err, "create account")
	}
	return a, nil
}

func addIdentity(ctx context.Context, q sqlx.ExecerContext, accountID int64, provider, subject, secretHash, owner string) error {
	const ins = `INSERT INTO account_identities (account_id, provider, subject, secret_hash, owner_subject) VALUES ($1, $2, $3, $4, $5)`
	if _, err := q.ExecContext(ctx, ins, accountID, provider, subject, secretHash, owner); err != nil {
		return mapUnique(err, "link "+provider)
	}
	return nil
}

// mapUnique turns unique violations into the domain error of the
// constraint; anything else is wrapped with what was being done.
func mapUnique(err error, doing string) error {
	var pqErr *pq.Error
	if !errors.As(err, &pqErr) || !db.IsUniqueViolation(err) {
		return fmt.Errorf("%s: %w", doing, err)
	}
	switch pqErr.Constraint {
	case "accounts_display_name_key_key":
		return ErrDisplayNameTaken
	case "account_identities_account_id_provider_key":
		return ErrAlreadyLinked
	case "account_identities_pkey":
		// Detail reads "Key (provider, subject)=(steam, 7656...) already exists."
		if strings.Contains(pqErr.Detail, "=("+ProviderSteam+",") {
			return ErrSteamTaken
		}
		return ErrEmailTaken
	}
	return fmt.Errorf("%s: %w", doing, err)
}

// TouchLogin records a successful login's time.
func (s *Store) TouchLogin(ctx context.Context, id int64) error {
	if _, err := s.db.ExecContext(ctx, `UPDATE accounts SET last_login_at = now() WHERE id = $1`, id); err != nil {
		return fmt.Errorf("record login time: %w", err)
	}
	return nil
}

// ChangeDisplayName renames the account unless it was renamed less than
// cooldown ago. The first rename of a generated or registered name counts.
func (s *Store) ChangeDisplayName(ctx context.Context, id int64, name string, cooldown time.Duration) (Account, error) {
	key, err := CheckDisplayName(name)
	if err != nil {
		return Account{}, err
	}
	var a Account
	err = db.InTx(ctx, s.db, nil, func(tx *sqlx.Tx) error {
		cur, err := s.one(ctx, tx, `SELECT `+accountColumns+` FROM accounts a WHERE a.id = $1 FOR UPDATE`, id)
		if err != nil {
			return err
		}
		if cur.DisplayName == name {
			a = cur
			return nil
		}
		if cur.DisplayNameChangedAt != nil && time.Since(*cur.DisplayNameChangedAt) < cooldown {
			next := cur.DisplayNameChangedAt.Add(cooldown).UTC().Format(time.RFC3339)
			return fmt.Errorf("%w: next change allowed after %s", ErrDisplayNameTooSoon, next)
		}
		const q = `UPDATE accounts a SET display_name = $2, display_name_key = $3, display_name_changed_at = now() WHERE a.id = $1
RETURNING ` + accountColumns
		if err := tx.GetContext(ctx, &a, q, id, name, key); err != nil {
			return mapUnique(err, "rename account")
		}
		return nil
	})
	return a, err
}

// Change is what an account looked like before and after a change, for
// whoever must record it in the same transaction (the console's audit log).
type Change func(tx *sqlx.Tx, before, after Account) error

// Ban bans the account until the given time (nil: permanently) with a
// reason. record, when not nil, runs in the same transaction.
func (s *Store) Ban(ctx context.Context, id int64, until *time.Time, reason string, record Change) error {
	const q = `UPDATE accounts a SET status = 'banned', banned_until = $2, ban_reason = $3 WHERE a.id = $1 RETURNING ` + accountColumns
	return s.change(ctx, id, record, func(tx *sqlx.Tx, before Account) (Account, error) {
		if before.Status == StatusDeleted {
			return Account{}, ErrNotFound
		}
		var after Account
		err := tx.GetContext(ctx, &after, q, id, until, reason)
		return after, err
	})
}

// Unban lifts a ban. record, when not nil, runs in the same transaction.
func (s *Store) Unban(ctx context.Context, id int64, record Change) error {
	const q = `UPDATE accounts a SET status = 'active', banned_until = NULL, ban_reason = '' WHERE a.id = $1 RETURNING ` + accountColumns
	return s.change(ctx, id, record, func(tx *sqlx.Tx, before Account) (Account, error) {
		if before.Status != StatusBanned {
			return Account{}, ErrNotBanned
		}
		var after Account
		err := tx.GetContext(ctx, &after, q, id)
		return after, err
	})
}

// change locks the account, applies fn and hands both versions to record,
// all in one transaction.
func (s *Store) change(ctx context.Context, id int64, record Change, fn func(tx *sqlx.Tx, before Account) (Account, error)) error {
	return db.InTx(ctx, s.db, nil, func(tx *sqlx.Tx) error {
		before, err := s.one(ctx, tx, `SELECT `+accountColumns+` FROM accounts a WHERE a.id = $1 FOR UPDATE`, id)
		if err != nil {
			return err
		}
		after, err := fn(tx, before)
		if err != nil {
			return err
		}
		if record != nil {
			return record(tx, before, after)
		}
		return nil
	})
}

// Delete marks the account deleted and removes its identities and pending
// password resets, so its email and Steam id can start afresh.
func (s *Store) Delete(ctx context.Context, id int64) error {
	return db.InTx(ctx, s.db, nil, func(tx *sqlx.Tx) error {
		const q = `UPDATE accounts SET status = 'deleted', deleted_at = now(),
    display_name = 'deleted-' || id, display_name_key = 'deleted-' || id WHERE id = $1 AND status <> 'deleted'`
		if err := oneRow(tx.ExecContext(ctx, q, id)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM account_identities WHERE account_id = $1`, id); err != nil {
			return fmt.Errorf("remove identities: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM password_resets WHERE account_id = $1`, id); err != nil {
			return fmt.Errorf("remove password resets: %w", err)
		}
		return nil
	})
}

func oneRow(res sql.Result, err error, doing ...string) error {
	if err != nil {
		if len(doing) > 0 {
			return fmt.Errorf("%s: %w", doing[0], err)
		}
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}
