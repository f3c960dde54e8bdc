package session

import (
	"encoding/base64"
	"encoding/json"
	"time"
)

// jwk is one RFC 7517 / RFC 8037 public key.
type jwk struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
}

// JWKS returns the JSON Web Key Set of every key that can still verify
// tokens, newest first, for services that verify Muster tokens themselves:
// {"keys":[{"kty":"OKP","crv":"Ed25519","x":...,"kid":...,"alg":"EdDSA","use":"sig"}]}.
// The slice is shared: do not modify it.
func (k *Keys) JWKS() []byte {
	set := k.set.Load()
	now := time.Now()
	for _, key := range set.list {
		if !key.until.IsZero() && !now.Before(key.until) {
			return buildJWKS(set.list, now) // a key lapsed since the last load
		}
	}
	return set.jwks
}

func buildJWKS(keys []*signingKey, now time.Time) []byte {
	doc := struct {
		Keys []jwk `json:"keys"`
	}{Keys: []jwk{}}
	for _, key := range keys {
		if !key.until.IsZero() && !now.Before(key.until) {
			continue
		}
		doc.Keys = append(doc.Keys, jwk{
			Kty: "OKP", Crv: "Ed25519", X: base64.RawURLEncoding.EncodeToString(key.pub),
			Kid: key.kid, Alg: algEdDSA, Use: "sig",
		})
	}
	b, _ := json.Marshal(doc) // cannot fail: plain strings
	return b
}
