package staff

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/domain/db"
)

// EnrollTOTP starts enrolling an authenticator app: it stores a new sealed
// secret, not yet enabled, and returns it in base32 and as an otpauth://
// URL for a QR code. Logins do not ask for a code until ConfirmTOTP. A
// second call replaces a pending enrollment; with an authenticator already
// enabled it fails with ErrTOTPAlreadyEnabled.
func (s *Store) EnrollTOTP(ctx context.Context, staffID int64) (secret, otpauthURL string, err error) {
	secret = GenerateSecret()
	key, _ := decodeSecret(secret)
	sealed, err := s.sealTOTP(staffID, totpState{key: key})
	if err != nil {
		return "", "", err
	}
	var email string
	err = db.InTx(ctx, s.db, nil, func(tx *sqlx.Tx) error {
		st, err := byID(ctx, tx, staffID, true)
		if err != nil {
			return err
		}
		if st.TOTPEnabled {
			return ErrTOTPAlreadyEnabled
		}
		email = st.Email
		if _, err := tx.ExecContext(ctx, `UPDATE staff_accounts SET totp_secret_sealed = $2 WHERE id = $1`, staffID, sealed); err != nil {
			return fmt.Errorf("store totp enrollment: %w", err)
		}
		return nil
	})
	if err != nil {
		return "", "", err
	}
	return secret, s.otpauthURL(email, secret), nil
}

// otpauthURL is the Key URI Format authenticator apps read from QR codes.
func (s *Store) otpauthURL(email, secret string) string {
	v := url.Values{}
	v.Set("secret", secret)
	v.Set("issuer", s.cfg.Issuer)
	v.Set("algorithm", "SHA1")
	v.Set("digits", strconv.Itoa(totpDigits))
	v.Set("period", strconv.Itoa(totpPeriod))
	return "otpauth://totp/" + url.PathEscape(s.cfg.Issuer) + ":" + url.PathEscape(email) + "?" + v.Encode()
}

// ConfirmTOTP enables the pending enrollment when code is the
// authenticator's current code (ErrInvalidCode when not). From then on
// Login requires a code. ErrTOTPNotEnrolled: nothing is pending;
// ErrTOTPAlreadyEnabled: already confirmed.
func (s *Store) ConfirmTOTP(ctx context.Context, staffID int64, code string) error {
	return db.InTx(ctx, s.db, nil, func(tx *sqlx.Tx) error { return s.ConfirmTOTPTx(ctx, tx, staffID, code) })
}

// ConfirmTOTPTx is ConfirmTOTP in the caller's transaction, so the console
// can audit it in the same commit.
func (s *Store) ConfirmTOTPTx(ctx context.Context, tx *sqlx.Tx, staffID int64, code string) error {
	{
		var sealed []byte
		err := tx.GetContext(ctx, &sealed, `SELECT totp_secret_sealed FROM staff_accounts WHERE id = $1 FOR UPDATE`, staffID)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("load totp enrollment: %w", err)
		}
		if sealed == nil {
			return ErrTOTPNotEnrolled
		}
		st, err := s.openTOTP(staffID, sealed)
		if err != nil {
			return err
		}
		if st.enabled {
			return ErrTOTPAlreadyEnabled
		}
		step, ok := matchStep(st.key, code, time.Now())
		if !ok {
			return ErrInvalidCode
		}
		st.enabled, st.lastStep = true, step // the confirming code is used up
		if sealed, err = s.sealTOTP(staffID, st); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE staff_accounts SET totp_secret_sealed = $2 WHERE id = $1`, staffID, sealed); err != nil {
			return fmt.Errorf("enable totp: %w", err)
		}
		return nil
	}
}

// DisableTOTP removes the account's authenticator, enabled or pending.
// See DisableTOTPTx.
func (s *Store) DisableTOTP(ctx context.Context, staffID int64) error {
	return db.InTx(ctx, s.db, nil, func(tx *sqlx.Tx) error {
		_, _, err := s.DisableTOTPTx(ctx, tx, staffID)
		return err
	})
}

// DisableTOTPTx removes the account's authenticator in the caller's
// transaction (an owner resetting a lost phone) and returns the account
// before and after.
func (s *Store) DisableTOTPTx(ctx context.Context, tx *sqlx.Tx, staffID int64) (before, after Staff, err error) {
	before, err = byID(ctx, tx, staffID, true)
	if err != nil {
		return Staff{}, Staff{}, err
	}
	const q = `UPDATE staff_accounts a SET totp_secret_sealed = NULL WHERE a.id = $1 RETURNING ` + staffColumns
	if err := tx.GetContext(ctx, &after, q, staffID); err != nil {
		return Staff{}, Staff{}, fmt.Errorf("disable totp: %w", err)
	}
	return before, after, nil
}
