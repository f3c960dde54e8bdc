package session

import (
	"context"

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

// RotatedInBatches counts the refreshes s rotated in batches of two or more.
func RotatedInBatches(s *Store) int64 { return s.batched.Load() }

// RotateBatch rotates tokens[i] with metas[i] in one batched statement, as
// refreshes that arrive together are, and returns for each token its
// session id and successor refresh token, both empty when it could not be
// used.
func RotateBatch(ctx context.Context, s *Store, tokens []string, metas []Meta) (sessions, next []string, err error) {
	rs := make([]rotation, len(tokens))
	next = make([]string, len(tokens))
	for i, tok := range tokens {
		var h []byte
		next[i], h = newRefreshToken()
		rs[i] = rotation{hash: hashRefresh(tok), next: h, meta: metas[i]}
	}
	done, err := s.rotateBatch(ctx, rs)
	if err != nil {
		return nil, nil, err
	}
	sessions = make([]string, len(tokens))
	for i, tok := range tokens {
		if r, ok := done[string(hashRefresh(tok))]; ok {
			sessions[i] = r.SessionID
		} else {
			next[i] = ""
		}
	}
	return sessions, next, nil
}
