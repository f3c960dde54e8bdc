package session_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/musterhq/muster/domain/session"
	"github.com/musterhq/muster/test/testenv"
)

// validClaims are claims Muster would issue, as a map to be spoiled.
func validClaims(sid string) jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{
		"iss": session.DefaultIssuer, "aud": session.DefaultAudience,
		"sub": "p_test", "sid": sid, "acc": 42,
		"iat": now.Unix(), "exp": now.Add(time.Minute).Unix(),
	}
}

func with(c jwt.MapClaims, key string, v any) jwt.MapClaims {
	out := jwt.MapClaims{}
	for k, x := range c {
		out[k] = x
	}
	if v == nil {
		delete(out, key)
	} else {
		out[key] = v
	}
	return out
}

// signWithStrangeKey signs claims with a new Ed25519 key under kid.
func signWithStrangeKey(t testing.TB, kid string, claims jwt.MapClaims) string {
	t.Helper()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims)
	tok.Header["kid"] = kid
	s, err := tok.SignedString(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestVerifyRejects(t *testing.T) {
	a, _ := signer(t)
	ctx := context.Background()
	good := validClaims("0b4c7a52-5c0c-4b8e-9d51-4a4a0c9e1d11")
	kid, seed := session.Signer(a.keys)
	pub := ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)

	raw := func(claims jwt.MapClaims) string {
		s, err := session.SignRaw(a.keys, claims)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	okToken := raw(good)
	if c, err := a.tokens.Verify(ctx, okToken); err != nil || c.AccountID != 42 || c.PlayerID != "p_test" {
		t.Fatalf("control token: %+v, %v", c, err)
	}

	none := func() string {
		tok := jwt.NewWithClaims(jwt.SigningMethodNone, good)
		tok.Header["kid"] = kid
		s, err := tok.SignedString(jwt.UnsafeAllowNoneSignatureType)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}()
	hs256 := func(key []byte) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodHS256, good)
		tok.Header["kid"] = kid
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	// Header says EdDSA but the signature belongs to another payload.
	parts := strings.Split(okToken, ".")
	other := strings.Split(raw(with(good, "acc", 43)), ".")
	spliced := parts[0] + "." + other[1] + "." + parts[2]
	expired, _, err := a.tokens.Sign(session.Claims{AccountID: 1, PlayerID: "p", SessionID: "s",
		IssuedAt: time.Now().Add(-time.Hour), ExpiresAt: time.Now().Add(-time.Minute)})
	if err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name  string
		token string
		want  error
	}{
		{"alg none", none, session.ErrInvalidToken},
		{"HS256 keyed with the public key", hs256(pub), session.ErrInvalidToken},
		{"HS256 keyed with the JWKS x", hs256([]byte(base64.RawURLEncoding.EncodeToString(pub))), session.ErrInvalidToken},
		{"unknown Ed25519 key with a known kid", signWithStrangeKey(t, kid, good), session.ErrInvalidToken},
		{"wrong audience", raw(with(good, "aud", "someone-else")), session.ErrInvalidToken},
		{"audience list without ours", raw(with(good, "aud", []string{"a", "b"})), session.ErrInvalidToken},
		{"wrong issuer", raw(with(good, "iss", "evil")), session.ErrInvalidToken},
		{"missing exp", raw(with(good, "exp", nil)), session.ErrInvalidToken},
		{"issued in the future", raw(with(good, "iat", time.Now().Add(time.Hour).Unix())), session.ErrInvalidToken},
		{"missing sid", raw(with(good, "sid", nil)), session.ErrInvalidToken},
		{"spliced payload", spliced, session.ErrInvalidToken},
		{"no kid", func() string {
			tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, good)
			s, _ := tok.SignedString(ed25519.NewKeyFromSeed(seed))
			return s
		}(), session.ErrInvalidToken},
		{"padded copy of a good token", okToken + "=", session.ErrInvalidToken},
		{"garbage", "not.a.jwt", session.ErrInvalidToken},
		{"empty", "", session.ErrInvalidToken},
		{"expired", expired, session.ErrExpiredToken},
		{"expired, raw", raw(with(good, "exp", time.Now().Add(-time.Minute).Unix())), session.ErrExpiredToken},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// Twice: a rejected token must not be cached as good.
			for range 2 {
				c, err := a.tokens.Verify(ctx, tc.token)
				if !errors.Is(err, tc.want) {
					t.Fatalf("Verify = %+v, %v; want %v", c, err, tc.want)
				}
			}
		})
	}
}

func TestVerifyCacheStillChecksExpiryAndRevocation(t *testing.T) {
	a, _ := signer(t)
	ctx := context.Background()

	// Expired by the clock only after it was cached: exp+leeway is 1-2 s away.
	exp := time.Now().Add(-3 * time.Second)
	tok, expAt, err := a.tokens.Sign(session.Claims{AccountID: 1, PlayerID: "p", SessionID: "sid-exp", ExpiresAt: exp})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.tokens.Verify(ctx, tok); err != nil {
		t.Fatalf("first Verify: %v", err)
	}
	if session.CacheLen(a.tokens) == 0 {
		t.Fatal("verified token was not cached")
	}
	time.Sleep(time.Until(expAt.Add(session.Leeway + 20*time.Millisecond)))
	if _, err := a.tokens.Verify(ctx, tok); !errors.Is(err, session.ErrExpiredToken) {
		t.Fatalf("cached token after expiry: %v, want ErrExpiredToken", err)
	}

	tok, _, _ = a.tokens.Sign(session.Claims{AccountID: 1, PlayerID: "p", SessionID: "sid-deny"})
	if _, err := a.tokens.Verify(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if err := a.deny.Add(ctx, "sid-deny"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.tokens.Verify(ctx, tok); !errors.Is(err, session.ErrRevoked) {
		t.Fatalf("cached token of revoked session: %v, want ErrRevoked", err)
	}
}

func TestVerifyCacheIsBounded(t *testing.T) {
	a, _ := signer(t)
	ctx := context.Background()
	tokens := session.NewTokens(a.keys, nil, session.Config{CacheSize: 128})
	for i := range 1000 {
		tok, _, err := tokens.Sign(session.Claims{AccountID: int64(i + 1), PlayerID: "p", SessionID: "s"})
		if err != nil {
			t.Fatal(err)
		}
		if c, err := tokens.Verify(ctx, tok); err != nil || c.AccountID != int64(i+1) {
			t.Fatalf("Verify #%d = %+v, %v", i, c, err)
		}
	}
	if n := session.CacheLen(tokens); n > 128 || n < 64 {
		t.Fatalf("cache holds %d entries, want at most 128 (and not emptied)", n)
	}
	off := session.NewTokens(a.keys, nil, session.Config{CacheSize: -1})
	tok, _, _ := off.Sign(session.Claims{AccountID: 1, PlayerID: "p", SessionID: "s"})
	if _, err := off.Verify(ctx, tok); err != nil || session.CacheLen(off) != 0 {
		t.Fatalf("cache disabled: %v, %d entries", err, session.CacheLen(off))
	}
}

func TestConfigAudienceAndIssuer(t *testing.T) {
	conn := testenv.DB(t)
	ctx := context.Background()
	keys := session.NewKeys(conn, session.Config{SecretKey: secret})
	if err := keys.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	game := session.NewTokens(keys, nil, session.Config{})
	other := session.NewTokens(keys, nil, session.Config{Issuer: "muster-staging", Audience: "muster-tools"})
	tok, _, err := other.Sign(session.Claims{AccountID: 1, PlayerID: "p", SessionID: "s"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Verify(ctx, tok); err != nil {
		t.Fatalf("own token: %v", err)
	}
	if _, err := game.Verify(ctx, tok); !errors.Is(err, session.ErrInvalidToken) {
		t.Fatalf("token for another issuer and audience: %v, want ErrInvalidToken", err)
	}
}
