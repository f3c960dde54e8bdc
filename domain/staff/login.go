package staff

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/domain/account"
	"github.com/musterhq/muster/domain/db"
)

// Session is what a successful login returns: the token for the session
// cookie (shown once; only its hash is stored), the CSRF token the console
// puts in its forms, and when the session ends at the latest.
type Session struct {
	Token     string
	CSRFToken string
	ExpiresAt time.Time
}

type loginRow struct {
	Staff
	PasswordHash string     `db:"password_hash"`
	TOTPSealed   []byte     `db:"totp_secret_sealed"`
	LockedUntil  *time.Time `db:"locked_until"`
	Locked       bool       `db:"locked"`
}

// Login checks a staff member's email, password and, when a second factor
// is enabled, TOTP code, and starts a console session.
//
// An unknown email and a wrong password give the same
// ErrInvalidCredentials after the same bcrypt work. MaxFailures consecutive
// failures (wrong password or wrong code) lock the account for LockFor: the
// attempt that locks it and every attempt during the lock, even with the
// right password, get a *LockedError (errors.Is ErrLocked). A lock reveals
// that the email belongs to staff and lets anyone who knows an address keep
// its owner out, so the caller must also rate-limit console logins per IP
// (and should alert on locks); the lock is the last line against a
// distributed guesser, not the only one.
//
// With the right password: a disabled account gets ErrDisabled; with a
// second factor enabled an empty code gets ErrTOTPRequired (not counted as
// a failure) and a wrong, or already used, code ErrInvalidCredentials. A
// password hashed at another cost is rehashed. ip and userAgent are kept
// with the session for the staff member's session list.
func (s *Store) Login(ctx context.Context, email, password, totpCode, ip, userAgent string) (Session, Staff, error) {
	addr, err := account.NormalizeEmail(email)
	if err != nil {
		if err := s.hasher.Dummy(ctx, password); err != nil {
			return Session{}, Staff{}, err
		}
		return Session{}, Staff{}, ErrInvalidCredentials
	}
	const q = `SELECT ` + staffColumns + `, a.password_hash, a.totp_secret_sealed, a.locked_until,
    COALESCE(a.locked_until > now(), false) AS locked
FROM staff_accounts a WHERE a.email = $1`
	var row loginRow
	if err := s.db.GetContext(ctx, &row, q, addr); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			if err := s.hasher.Dummy(ctx, password); err != nil {
				return Session{}, Staff{}, err
			}
			return Session{}, Staff{}, ErrInvalidCredentials
		}
		return Session{}, Staff{}, fmt.Errorf("load staff account: %w", err)
	}
	if row.Locked {
		return Session{}, Staff{}, &LockedError{Until: *row.LockedUntil}
	}
	ok, rehash, err := s.hasher.Verify(ctx, row.PasswordHash, password)
	if err != nil {
		return Session{}, Staff{}, err
	}
	if !ok {
		return Session{}, Staff{}, s.fail(ctx, row.ID)
	}
	if row.Status != StatusActive {
		return Session{}, Staff{}, ErrDisabled
	}

	var newSealed []byte // the TOTP state to store; nil: unchanged
	if row.TOTPEnabled {
		if totpCode == "" {
			return Session{}, Staff{}, ErrTOTPRequired
		}
		st, err := s.openTOTP(row.ID, row.TOTPSealed)
		if err != nil {
			return Session{}, Staff{}, err
		}
		step, ok := matchStep(st.key, totpCode, time.Now())
		if !ok || step <= st.lastStep {
			return Session{}, Staff{}, s.fail(ctx, row.ID)
		}
		st.lastStep = step
		if newSealed, err = s.sealTOTP(row.ID, st); err != nil {
			return Session{}, Staff{}, err
		}
	}
	var newHash sql.NullString
	if rehash && s.hasher.Admit(0) == nil {
		// Best effort: a busy hasher leaves it for the next sign-in.
		if h, err := s.hasher.Hash(ctx, password); err == nil {
			newHash = sql.NullString{String: h, Valid: true}
		}
	}

	token, tokenHash := newToken()
	csrf, _ := newToken()
	var sess Session
	var st Staff
	err = db.InTx(ctx, s.db, nil, func(tx *sqlx.Tx) error {
		// The conditions re-check, under the row lock, what was read above:
		// a failure elsewhere may have locked the account, an owner may have
		// disabled it, and a concurrent login may have used the same code.
		const base = `UPDATE staff_accounts a SET failed_logins = 0, locked_until = NULL, last_login_at = now(),
    password_hash = COALESCE($2, a.password_hash)`
		const cond = ` WHERE a.id = $1 AND a.status = 'active' AND (a.locked_until IS NULL OR a.locked_until <= now())`
		var err error
		if newSealed == nil {
			err = tx.GetContext(ctx, &st, base+cond+` RETURNING `+staffColumns, row.ID, newHash)
		} else {
			err = tx.GetContext(ctx, &st, base+`, totp_secret_sealed = $3`+cond+` AND a.totp_secret_sealed = $4 RETURNING `+staffColumns,
				row.ID, newHash, newSealed, row.TOTPSealed)
		}
		if errors.Is(err, sql.ErrNoRows) {
			return ErrInvalidCredentials
		}
		if err != nil {
			return fmt.Errorf("record staff login: %w", err)
		}
		const ins = `INSERT INTO staff_sessions (token_hash, staff_id, csrf_token, ip, user_agent, expires_at)
VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6)) RETURNING expires_at`
		if err := tx.GetContext(ctx, &sess.ExpiresAt, ins, tokenHash, row.ID, csrf,
			truncate(ip, 64), truncate(userAgent, 256), s.cfg.AbsoluteTimeout.Seconds()); err != nil {
			return fmt.Errorf("create console session: %w", err)
		}
		return nil
	})
	if err != nil {
		return Session{}, Staff{}, err
	}
	sess.Token, sess.CSRFToken = token, csrf
	return sess, st, nil
}

// fail records a failed login and returns the error for it:
// ErrInvalidCredentials, or a *LockedError when this failure locked the
// account. A failure after an expired lock starts a new count.
func (s *Store) fail(ctx context.Context, id int64) error {
	const q = `UPDATE staff_accounts a SET
    failed_logins = CASE WHEN a.locked_until <= now() THEN 1 ELSE a.failed_logins + 1 END,
    locked_until = CASE
        WHEN (CASE WHEN a.locked_until <= now() THEN 1 ELSE a.failed_logins + 1 END) >= $2
            THEN now() + make_interval(secs => $3)
        WHEN a.locked_until <= now() THEN NULL
        ELSE a.locked_until END
WHERE a.id = $1
RETURNING a.locked_until, COALESCE(a.locked_until > now(), false) AS locked`
	var r struct {
		LockedUntil *time.Time `db:"locked_until"`
		Locked      bool       `db:"locked"`
	}
	if err := s.db.GetContext(ctx, &r, q, id, s.cfg.MaxFailures, s.cfg.LockFor.Seconds()); err != nil {
		return fmt.Errorf("record failed staff login: %w", err)
	}
	if r.Locked {
		return &LockedError{Until: *r.LockedUntil}
	}
	return ErrInvalidCredentials
}

// truncate cuts s to at most n bytes on a character boundary, dropping
// invalid UTF-8, which PostgreSQL text refuses.
func truncate(s string, n int) string {
	s = strings.ToValidUTF8(s, "")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
