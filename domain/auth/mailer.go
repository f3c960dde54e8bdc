package auth

import (
	"context"
	"log/slog"
)

// Mailer delivers account mail to players.
type Mailer interface {
	SendPasswordReset(ctx context.Context, to, token string) error
}

// LogMailer writes mail to the log instead of sending it, for development.
// With RevealTokens false the token itself is never logged.
type LogMailer struct {
	Log          *slog.Logger
	RevealTokens bool
}

// SendPasswordReset logs the reset mail.
func (m LogMailer) SendPasswordReset(ctx context.Context, to, token string) error {
	if m.RevealTokens {
		m.Log.InfoContext(ctx, "password reset mail (development: not sent)", "to", to, "reset_token", token)
		return nil
	}
	m.Log.WarnContext(ctx, "password reset mail not sent: no mailer is configured", "to", to)
	return nil
}
