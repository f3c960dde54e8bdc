package session

import (
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Sign returns an access token for c, signed by the current key, and its
// expiry. Zero IssuedAt means now; zero ExpiresAt means IssuedAt+AccessTTL.
// Times are truncated to whole seconds, as JWT stores them.
func (t *Tokens) Sign(c Claims) (token string, exp time.Time, err error) {
	key := t.keys.signer()
	if key == nil {
		return "", time.Time{}, ErrNoSigningKey
	}
	if c.IssuedAt.IsZero() {
		c.IssuedAt = time.Now()
	}
	if c.ExpiresAt.IsZero() {
		c.ExpiresAt = c.IssuedAt.Add(t.cfg.AccessTTL)
	}
	tc := &tokenClaims{
		Issuer:    t.cfg.Issuer,
		Audience:  t.cfg.Audience,
		Subject:   c.PlayerID,
		SessionID: c.SessionID,
		AccountID: c.AccountID,
		IssuedAt:  jwt.NewNumericDate(c.IssuedAt),
		ExpiresAt: jwt.NewNumericDate(c.ExpiresAt),
	}
	jt := jwt.NewWithClaims(jwt.SigningMethodEdDSA, tc)
	jt.Header["kid"] = key.kid
	token, err = jt.SignedString(key.priv)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("sign access token: %w", err)
	}
	return token, tc.ExpiresAt.Time, nil
}
