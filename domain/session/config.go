package session

import (
	"log/slog"
	"time"
)

// Defaults for the zero fields of Config.
const (
	DefaultIssuer     = "muster"
	DefaultAudience   = "muster-game"
	DefaultAccessTTL  = 15 * time.Minute
	DefaultRefreshTTL = 30 * 24 * time.Hour
	// DefaultCacheSize bounds how many verified access tokens a Tokens
	// remembers.
	DefaultCacheSize = 100_000
)

// Leeway is the clock skew tolerated when checking exp and iat.
const Leeway = 5 * time.Second

// Config configures Keys, Tokens and Store. Zero fields take the defaults.
type Config struct {
	Issuer   string
	Audience string
	// AccessTTL is how long an access token is valid.
	AccessTTL time.Duration
	// RefreshTTL is how long a session lives without being refreshed; each
	// refresh extends it to now+RefreshTTL.
	RefreshTTL time.Duration
	// SecretKey (32 bytes) seals private signing keys at rest with
	// AES-256-GCM. Leave it empty in processes that only verify tokens.
	SecretKey []byte
	// CacheSize bounds the verified-token cache of Tokens: 0 means
	// DefaultCacheSize, negative disables the cache.
	CacheSize int
	// Logger receives errors of background work (Keys.Run). Nil discards.
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.Issuer == "" {
		c.Issuer = DefaultIssuer
	}
	if c.Audience == "" {
		c.Audience = DefaultAudience
	}
	if c.AccessTTL <= 0 {
		c.AccessTTL = DefaultAccessTTL
	}
	if c.RefreshTTL <= 0 {
		c.RefreshTTL = DefaultRefreshTTL
	}
	if c.CacheSize == 0 {
		c.CacheSize = DefaultCacheSize
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// DenyTTL is how long a revoked session id must stay on the deny list: the
// longest an access token issued for it can still be accepted. Pass it to
// NewDenyList.
func (c Config) DenyTTL() time.Duration {
	return c.withDefaults().AccessTTL + Leeway
}
