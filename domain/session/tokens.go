package session

import (
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Claims is what an access token says about its bearer.
type Claims struct {
	AccountID int64
	PlayerID  string // the account's public id; the JWT "sub"
	SessionID string
	IssuedAt  time.Time
	ExpiresAt time.Time
}

// Tokens signs and verifies access tokens. Safe for concurrent use.
type Tokens struct {
	keys   *Keys
	deny   *DenyList
	cfg    Config
	parser *jwt.Parser
	cache  *verifiedCache // nil when disabled
}

// NewTokens returns Tokens that sign with keys and reject sessions on deny
// (nil: no revocation check, for tools that only inspect tokens).
func NewTokens(keys *Keys, deny *DenyList, cfg Config) *Tokens {
	cfg = cfg.withDefaults()
	t := &Tokens{
		keys: keys,
		deny: deny,
		cfg:  cfg,
		parser: jwt.NewParser(
			jwt.WithValidMethods([]string{algEdDSA}),
			jwt.WithIssuer(cfg.Issuer),
			jwt.WithAudience(cfg.Audience),
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
			jwt.WithLeeway(Leeway),
		),
	}
	if cfg.CacheSize > 0 {
		t.cache = newVerifiedCache(cfg.CacheSize)
	}
	return t
}

// tokenClaims is the JWT payload. The audience is a single string, as
// RFC 7519 allows, so it is not jwt.RegisteredClaims.
type tokenClaims struct {
	Issuer    string           `json:"iss"`
	Audience  string           `json:"aud"`
	Subject   string           `json:"sub"`
	SessionID string           `json:"sid"`
	AccountID int64            `json:"acc"`
	IssuedAt  *jwt.NumericDate `json:"iat,omitempty"`
	ExpiresAt *jwt.NumericDate `json:"exp,omitempty"`
}

func (c *tokenClaims) GetExpirationTime() (*jwt.NumericDate, error) { return c.ExpiresAt, nil }
func (c *tokenClaims) GetIssuedAt() (*jwt.NumericDate, error)       { return c.IssuedAt, nil }
func (c *tokenClaims) GetNotBefore() (*jwt.NumericDate, error)      { return nil, nil }
func (c *tokenClaims) GetIssuer() (string, error)                   { return c.Issuer, nil }
func (c *tokenClaims) GetSubject() (string, error)                  { return c.Subject, nil }
func (c *tokenClaims) GetAudience() (jwt.ClaimStrings, error) {
	return jwt.ClaimStrings{c.Audience}, nil
}
