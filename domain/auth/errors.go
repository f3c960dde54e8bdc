package auth

import (
	"errors"
	"fmt"
	"time"
)

// Errors of the identity use cases, beyond those of the account and session
// packages which pass through unchanged.
var (
	// ErrInvalidCredentials answers an unknown email and a wrong password
	// alike, so that nobody learns which emails are registered.
	ErrInvalidCredentials = errors.New("email or password is incorrect")
	ErrBanned             = errors.New("account is banned")
	ErrRateLimited        = errors.New("too many attempts")
	// ErrSteamBanned: Steam reports a VAC or publisher ban that this
	// deployment's policy refuses.
	ErrSteamBanned = errors.New("steam reports a ban that this game does not accept")
	// ErrResetNotConfigured: no mailer, so there is no way to deliver a
	// reset token.
	ErrResetNotConfigured = errors.New("password reset is not available: this deployment sends no mail")
	// ErrReasonRequired: bans need a reason players and staff can read.
	ErrReasonRequired = errors.New("a reason is required")
	// ErrBanEndsInPast: a ban's end must be in the future.
	ErrBanEndsInPast = errors.New("the ban must end in the future")
)

// BannedError is ErrBanned with the ban's end and reason.
type BannedError struct {
	Until  *time.Time // nil: permanent
	Reason string
}

func (e *BannedError) Error() string {
	if e.Until == nil {
		return fmt.Sprintf("account is banned permanently: %s", e.Reason)
	}
	return fmt.Sprintf("account is banned until %s: %s", e.Until.UTC().Format(time.RFC3339), e.Reason)
}

// Is makes errors.Is(err, ErrBanned) true.
func (e *BannedError) Is(target error) bool { return target == ErrBanned }

// RateLimitError is ErrRateLimited with how long to wait.
type RateLimitError struct {
	RetryAfter time.Duration
}

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("too many attempts: retry after %s", e.RetryAfter.Round(time.Second))
}

// Is makes errors.Is(err, ErrRateLimited) true.
func (e *RateLimitError) Is(target error) bool { return target == ErrRateLimited }
