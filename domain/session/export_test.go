package session

import (
	"github.com/golang-jwt/jwt/v5"
)

// SignRaw signs arbitrary claims with the current signing key and its kid,
// so tests can build tokens Sign never would (no exp, wrong audience).
func SignRaw(k *Keys, claims jwt.Claims) (string, error) {
	key := k.signer()
	if key == nil {
		return "", ErrNoSigningKey
	}
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims)
	t.Header["kid"] = key.kid
	return t.SignedString(key.priv)
}

// Signer returns the current signing key's id and seed.
func Signer(k *Keys) (kid string, seed []byte) {
	key := k.signer()
	if key == nil {
		return "", nil
	}
	return key.kid, key.priv.Seed()
}

// KeyLoads counts how often k has loaded its keys.
func KeyLoads(k *Keys) int64 { return k.loads.Load() }

// CacheLen reports how many verified tokens t remembers.
func CacheLen(t *Tokens) int {
	if t.cache == nil {
		return 0
	}
	return t.cache.len()
}
