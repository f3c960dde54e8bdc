// Package staff owns the studio's staff accounts and their console
// sessions. Staff are not players: they live in staff_accounts, log in with
// an email, a password and, once enrolled, a TOTP code, and hold exactly one
// role from package rbac, which decides what they may do.
//
// A console session is an opaque random token kept in a cookie; the
// database stores only its SHA-256 hash, with a CSRF token, an idle timeout
// and an absolute timeout.
//
// Methods that change an account come in two forms: one that runs its own
// transaction and a ...Tx form that runs in the caller's, returning the
// account before and after, so that the console writes its audit row in
// the same transaction as the change.
package staff

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/domain/account"
	"github.com/musterhq/muster/domain/db"
	"github.com/musterhq/muster/domain/rbac"
)

// Account statuses.
const (
	StatusActive   = "active"
	StatusDisabled = "disabled"
)

// Errors of this package; the console maps each to a message.
var (
	ErrNotFound           = errors.New("staff account not found")
	ErrEmailTaken         = errors.New("a staff account with this email exists")
	ErrInvalidRole        = errors.New("unknown role")
	ErrInvalidStatus      = errors.New("unknown staff status")
	ErrInvalidDisplayName = errors.New("display name must be 1 to 64 printable characters")
	ErrInvalidCredentials = errors.New("wrong email, password or code")
	ErrLocked             = errors.New("staff account is locked after too many failed logins")
	ErrTOTPRequired       = errors.New("an authenticator code is required")
	ErrDisabled           = errors.New("staff account is disabled")
	ErrSessionInvalid     = errors.New("console session is invalid or expired")
	ErrTOTPNotEnrolled    = errors.New("no authenticator enrollment is pending")
	ErrTOTPAlreadyEnabled = errors.New("an authenticator is already enabled; disable it first")
	ErrInvalidCode        = errors.New("wrong authenticator code")
	ErrLastOwner          = errors.New("the last active owner cannot be demoted or disabled")
	ErrInvalidEmail       = account.ErrInvalidEmail
)

// LockedError is the error of a login refused because of earlier failures.
// errors.Is(err, ErrLocked) is true for it.
type LockedError struct {
	Until time.Time
}

func (e *LockedError) Error() string {
	return ErrLocked.Error() + " until " + e.Until.UTC().Format(time.RFC3339)
}

// Unwrap makes errors.Is(err, ErrLocked) true.
func (e *LockedError) Unwrap() error { return ErrLocked }

// Staff is a staff account.
type Staff struct {
	ID          int64      `db:"id" json:"id"`
	Email       string     `db:"email" json:"email"`
	DisplayName string     `db:"display_name" json:"display_name"`
	Role        string     `db:"role" json:"role"`
	Status      string     `db:"status" json:"status"`
	TOTPEnabled bool       `db:"totp_enabled" json:"totp_enabled"`
	CreatedAt   time.Time  `db:"created_at" json:"created_at"`
	LastLoginAt *time.Time `db:"last_login_at" json:"last_login_at"`
}

// Config holds the session and lockout settings; zero fields take the
// defaults.
type Config struct {
	// IdleTimeout ends a session unused for this long. Default 30 minutes.
	IdleTimeout time.Duration
	// AbsoluteTimeout ends every session this long after login. Default 12
	// hours.
	AbsoluteTimeout time.Duration
	// MaxFailures consecutive failed logins lock the account. Default 5.
	MaxFailures int
	// LockFor is how long a lock lasts. Default 15 minutes.
	LockFor time.Duration
	// Issuer names the studio in authenticator apps. Default "Muster".
	Issuer string
}

func (c Config) withDefaults() Config {
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = 30 * time.Minute
	}
	if c.AbsoluteTimeout <= 0 {
		c.AbsoluteTimeout = 12 * time.Hour
	}
	if c.MaxFailures <= 0 {
		c.MaxFailures = 5
	}
	if c.LockFor <= 0 {
		c.LockFor = 15 * time.Minute
	}
	if c.Issuer == "" {
		c.Issuer = "Muster"
	}
	return c
}

// Store reads and writes staff accounts and console sessions. It is safe
// for concurrent use.
type Store struct {
	db        *sqlx.DB
	hasher    *account.Hasher
	secretKey []byte
	cfg       Config
}

// NewStore returns a Store over conn. hasher hashes passwords as for
// players; secretKey (32 bytes, the deployment's secret) seals TOTP
// secrets, and a key of another length makes every TOTP operation fail.
func NewStore(conn *sqlx.DB, hasher *account.Hasher, secretKey []byte, cfg Config) *Store {
	return &Store{db: conn, hasher: hasher, secretKey: append([]byte(nil), secretKey...), cfg: cfg.withDefaults()}
}

const staffColumns = `a.id, a.email, a.display_name, a.role, a.status, ` + totpEnabledSQL + ` AS totp_enabled, a.created_at, a.last_login_at`

func checkDisplayName(name string) (string, error) {
	name = strings.TrimSpace(name)
	n := utf8.RuneCountInString(name)
	if !utf8.ValidString(name) || n < 1 || n > 64 {
		return "", ErrInvalidDisplayName
	}
	for _, r := range name {
		if !unicode.IsPrint(r) {
			return "", ErrInvalidDisplayName
		}
	}
	return name, nil
}

// Create adds an active staff account without a second factor. The role
// must be one of rbac.Roles (ErrInvalidRole); the password must pass
// account.CheckPassword (errors wrap account.ErrWeakPassword); the email is
// normalised as for players (ErrInvalidEmail) and must be new
// (ErrEmailTaken).
func (s *Store) Create(ctx context.Context, email, displayName, role, password string) (Staff, error) {
	var st Staff
	err := db.InTx(ctx, s.db, nil, func(tx *sqlx.Tx) error {
		var err error
		st, err = s.CreateTx(ctx, tx, email, displayName, role, password)
		return err
	})
	return st, err
}

// CreateTx is Create in the caller's transaction.
func (s *Store) CreateTx(ctx context.Context, tx *sqlx.Tx, email, displayName, role, password string) (Staff, error) {
	if !rbac.IsRole(role) {
		return Staff{}, fmt.Errorf("%w: %q", ErrInvalidRole, role)
	}
	addr, err := account.NormalizeEmail(email)
	if err != nil {
		return Staff{}, ErrInvalidEmail
	}
	name, err := checkDisplayName(displayName)
	if err != nil {
		return Staff{}, err
	}
	if err := account.CheckPassword(password, addr, name); err != nil {
		return Staff{}, err
	}
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return Staff{}, err
	}
	const q = `INSERT INTO staff_accounts AS a (email, display_name, password_hash, role)
VALUES ($1, $2, $3, $4) RETURNING ` + staffColumns
	var st Staff
	if err := tx.GetContext(ctx, &st, q, addr, name, hash, role); err != nil {
		if db.IsUniqueViolation(err) {
			return Staff{}, ErrEmailTaken
		}
		return Staff{}, fmt.Errorf("create staff account: %w", err)
	}
	return st, nil
}

// ByID returns the staff account with id.
func (s *Store) ByID(ctx context.Context, id int64) (Staff, error) {
	return byID(ctx, s.db, id, false)
}

// ByEmail returns the staff account with email, normalised as by Create.
// An unknown or malformed address is ErrNotFound.
func (s *Store) ByEmail(ctx context.Context, email string) (Staff, error) {
	addr, err := account.NormalizeEmail(email)
	if err != nil {
		return Staff{}, ErrNotFound
	}
	const q = `SELECT ` + staffColumns + ` FROM staff_accounts a WHERE a.email = $1`
	var st Staff
	if err := s.db.GetContext(ctx, &st, q, addr); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return Staff{}, ErrNotFound
		}
		return Staff{}, fmt.Errorf("load staff account by email: %w", err)
	}
	return st, nil
}

func byID(ctx context.Context, q sqlx.QueryerContext, id int64, forUpdate bool) (Staff, error) {
	query := `SELECT ` + staffColumns + ` FROM staff_accounts a WHERE a.id = $1`
	if forUpdate {
		query += ` FOR UPDATE`
	}
	var st Staff
	if err := sqlx.GetContext(ctx, q, &st, query, id); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return Staff{}, ErrNotFound
		}
		return Staff{}, fmt.Errorf("load staff account: %w", err)
	}
	return st, nil
}

// List returns every staff account, oldest first.
func (s *Store) List(ctx context.Context) ([]Staff, error) {
	const q = `SELECT ` + staffColumns + ` FROM staff_accounts a ORDER BY a.id`
	var out []Staff
	if err := s.db.SelectContext(ctx, &out, q); err != nil {
		return nil, fmt.Errorf("list staff accounts: %w", err)
	}
	return out, nil
}

// SetRole gives the account another role. See SetRoleTx.
func (s *Store) SetRole(ctx context.Context, id int64, role string) error {
	return db.InTx(ctx, s.db, nil, func(tx *sqlx.Tx) error {
		_, _, err := s.SetRoleTx(ctx, tx, id, role)
		return err
	})
}

// SetRoleTx gives the account another role in the caller's transaction and
// returns it before and after. The role must be one of rbac.Roles
// (ErrInvalidRole); the last active owner keeps the owner role
// (ErrLastOwner). Sessions stay valid: the role is read again on every
// request.
func (s *Store) SetRoleTx(ctx context.Context, tx *sqlx.Tx, id int64, role string) (before, after Staff, err error) {
	if !rbac.IsRole(role) {
		return Staff{}, Staff{}, fmt.Errorf("%w: %q", ErrInvalidRole, role)
	}
	before, err = lockForChange(ctx, tx, id, role, "")
	if err != nil {
		return Staff{}, Staff{}, err
	}
	const q = `UPDATE staff_accounts a SET role = $2 WHERE a.id = $1 RETURNING ` + staffColumns
	if err := tx.GetContext(ctx, &after, q, id, role); err != nil {
		return Staff{}, Staff{}, fmt.Errorf("set staff role: %w", err)
	}
	return before, after, nil
}

// SetStatus enables or disables the account. See SetStatusTx.
func (s *Store) SetStatus(ctx context.Context, id int64, status string) error {
	return db.InTx(ctx, s.db, nil, func(tx *sqlx.Tx) error {
		_, _, err := s.SetStatusTx(ctx, tx, id, status)
		return err
	})
}

// SetStatusTx sets the account's status (StatusActive or StatusDisabled,
// else ErrInvalidStatus) in the caller's transaction and returns it before
// and after. Disabling revokes every session of the account; the last
// active owner cannot be disabled (ErrLastOwner). Enabling also clears a
// login lock.
func (s *Store) SetStatusTx(ctx context.Context, tx *sqlx.Tx, id int64, status string) (before, after Staff, err error) {
	if status != StatusActive && status != StatusDisabled {
		return Staff{}, Staff{}, fmt.Errorf("%w: %q", ErrInvalidStatus, status)
	}
	before, err = lockForChange(ctx, tx, id, "", status)
	if err != nil {
		return Staff{}, Staff{}, err
	}
	const q = `UPDATE staff_accounts a SET status = $2,
    failed_logins = CASE WHEN $2 = 'active' THEN 0 ELSE a.failed_logins END,
    locked_until = CASE WHEN $2 = 'active' THEN NULL ELSE a.locked_until END
WHERE a.id = $1 RETURNING ` + staffColumns
	if err := tx.GetContext(ctx, &after, q, id, status); err != nil {
		return Staff{}, Staff{}, fmt.Errorf("set staff status: %w", err)
	}
	if status == StatusDisabled {
		if err := revokeAll(ctx, tx, id); err != nil {
			return Staff{}, Staff{}, err
		}
	}
	return before, after, nil
}

// lockForChange locks the account and every active owner, in id order so
// that concurrent changes cannot deadlock, and refuses a change that
// leaves no active owner. An empty newRole or newStatus does not change.
func lockForChange(ctx context.Context, tx *sqlx.Tx, id int64, newRole, newStatus string) (Staff, error) {
	const q = `SELECT ` + staffColumns + ` FROM staff_accounts a
WHERE a.id = $1 OR (a.role = 'owner' AND a.status = 'active') ORDER BY a.id FOR UPDATE`
	var rows []Staff
	if err := tx.SelectContext(ctx, &rows, q, id); err != nil {
		return Staff{}, fmt.Errorf("lock staff account: %w", err)
	}
	var target *Staff
	owners := 0
	for i := range rows {
		if rows[i].ID == id {
			target = &rows[i]
		}
		if rows[i].Role == rbac.RoleOwner && rows[i].Status == StatusActive {
			owners++
		}
	}
	if target == nil {
		return Staff{}, ErrNotFound
	}
	if newRole == "" {
		newRole = target.Role
	}
	if newStatus == "" {
		newStatus = target.Status
	}
	isOwner := target.Role == rbac.RoleOwner && target.Status == StatusActive
	staysOwner := newRole == rbac.RoleOwner && newStatus == StatusActive
	if isOwner && !staysOwner && owners <= 1 {
		return Staff{}, ErrLastOwner
	}
	return *target, nil
}
