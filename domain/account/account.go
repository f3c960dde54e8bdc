// Package account owns player accounts and the identities that log into
// them: an email with a password, a Steam id, or both. It also keeps the
// login history that anomaly rules and support staff read, and one-time
// password reset tokens.
package account

import (
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Status is an account's standing.
type Status string

// Account statuses.
const (
	StatusActive  Status = "active"
	StatusBanned  Status = "banned"
	StatusDeleted Status = "deleted"
)

// Identity providers.
const (
	ProviderEmail = "email"
	ProviderSteam = "steam"
)

// Errors of this package; the edges map each to a status and message.
var (
	ErrNotFound           = errors.New("account not found")
	ErrEmailTaken         = errors.New("email is already registered")
	ErrSteamTaken         = errors.New("steam account is linked to another player")
	ErrAlreadyLinked      = errors.New("identity of this kind is already linked")
	ErrNotLinked          = errors.New("identity of this kind is not linked")
	ErrLastIdentity       = errors.New("cannot unlink the last way to log in")
	ErrDisplayNameTaken   = errors.New("display name is taken")
	ErrInvalidDisplayName = errors.New("invalid display name")
	ErrDisplayNameTooSoon = errors.New("display name was changed too recently")
	ErrInvalidEmail       = errors.New("invalid email address")
	ErrInvalidResetToken  = errors.New("password reset token is invalid or expired")
	ErrNotBanned          = errors.New("account is not banned")
)

// Account is a player account.
type Account struct {
	ID                   int64      `db:"id"`
	PublicID             string     `db:"public_id"`
	DisplayName          string     `db:"display_name"`
	DisplayNameChangedAt *time.Time `db:"display_name_changed_at"`
	Status               Status     `db:"status"`
	BannedUntil          *time.Time `db:"banned_until"`
	BanReason            string     `db:"ban_reason"`
	CreatedAt            time.Time  `db:"created_at"`
	LastLoginAt          *time.Time `db:"last_login_at"`
}

// BannedAt reports whether the account is banned at t. A ban with an end in
// the past no longer counts.
func (a Account) BannedAt(t time.Time) bool {
	return a.Status == StatusBanned && (a.BannedUntil == nil || a.BannedUntil.After(t))
}

// Identity is one linked way to log in.
type Identity struct {
	Provider     string    `db:"provider"`
	Subject      string    `db:"subject"`
	OwnerSubject string    `db:"owner_subject"`
	CreatedAt    time.Time `db:"created_at"`
}

// NormalizeEmail lower-cases and trims an address and checks its shape.
func NormalizeEmail(s string) (string, error) {
	e := strings.ToLower(strings.TrimSpace(s))
	at := strings.LastIndexByte(e, '@')
	if len(e) > 254 || at < 1 || at == len(e)-1 || !strings.Contains(e[at:], ".") ||
		strings.ContainsAny(e, " <>()[]\\,;:\"") || strings.IndexFunc(e, unicode.IsControl) >= 0 || !utf8.ValidString(e) ||
		strings.Count(e, "@") != 1 || strings.HasSuffix(e, ".") {
		return "", ErrInvalidEmail
	}
	return e, nil
}

// Display names: 3 to 20 characters of letters, digits, '_', '-' and '.',
// starting with a letter or digit.
const (
	minDisplayName = 3
	maxDisplayName = 20
)

// CheckDisplayName validates a display name and returns its uniqueness key.
func CheckDisplayName(name string) (key string, err error) {
	n := utf8.RuneCountInString(name)
	if !utf8.ValidString(name) || n < minDisplayName || n > maxDisplayName {
		return "", fmt.Errorf("%w: use %d to %d characters", ErrInvalidDisplayName, minDisplayName, maxDisplayName)
	}
	for i, r := range name {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
		case i > 0 && (r == '_' || r == '-' || r == '.'):
		default:
			return "", fmt.Errorf("%w: use letters, digits, '_', '-' and '.', starting with a letter or digit", ErrInvalidDisplayName)
		}
	}
	return strings.ToLower(name), nil
}

// newPublicID makes the id players and staff see: "p_" and 20 characters
// of base32 (100 random bits).
func newPublicID() string {
	const alphabet = "0123456789abcdefghjkmnpqrstvwxyz"
	var b [20]byte
	_, _ = rand.Read(b[:])
	for i := range b {
		b[i] = alphabet[b[i]&31]
	}
	return "p_" + string(b[:])
}

// generatedName is the display name of an account created by a Steam login,
// until the player picks one.
func generatedName() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	n := (uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])) % 100000000
	return fmt.Sprintf("Player%08d", n)
}
