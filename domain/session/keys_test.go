package session_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/musterhq/muster/domain/session"
	"github.com/musterhq/muster/domain/state"
	"github.com/musterhq/muster/test/testenv"
)

// kidOf returns the kid in a token's header.
func kidOf(t *testing.T, token string) string {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	var h struct {
		Alg, Kid string
	}
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatal(err)
	}
	if h.Alg != "EdDSA" {
		t.Fatalf("alg = %q, want EdDSA", h.Alg)
	}
	return h.Kid
}

type jwksDoc struct {
	Keys []struct {
		Kty, Crv, X, Kid, Alg, Use string
	}
}

func jwksKids(t *testing.T, k *session.Keys) map[string]string {
	t.Helper()
	var doc jwksDoc
	if err := json.Unmarshal(k.JWKS(), &doc); err != nil {
		t.Fatalf("JWKS is not JSON: %v", err)
	}
	out := map[string]string{}
	for _, key := range doc.Keys {
		if key.Kty != "OKP" || key.Crv != "Ed25519" || key.Alg != "EdDSA" || key.Use != "sig" {
			t.Errorf("JWKS key %+v", key)
		}
		if x, err := base64.RawURLEncoding.DecodeString(key.X); err != nil || len(x) != ed25519.PublicKeySize {
			t.Errorf("JWKS key %s: x %q is not a raw base64url Ed25519 key", key.Kid, key.X)
		}
		out[key.Kid] = key.X
	}
	return out
}

func TestEnsureConcurrentlyLeavesOneActiveKey(t *testing.T) {
	conn := testenv.DB(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	for range 5 {
		wg.Go(func() {
			if err := session.NewKeys(conn, session.Config{SecretKey: secret}).Ensure(ctx); err != nil {
				t.Errorf("Ensure: %v", err)
			}
		})
	}
	wg.Wait()
	var active int
	if err := conn.Get(&active, `SELECT count(*) FROM auth_signing_keys WHERE retired_at IS NULL`); err != nil {
		t.Fatal(err)
	}
	if active != 1 {
		t.Fatalf("%d active keys, want 1", active)
	}
}

func TestKeyRotation(t *testing.T) {
	a, conn := signer(t)
	ctx := context.Background()
	st := state.NewMemory()
	// b is another node that only verifies, loaded before the rotation.
	b := newNode(t, conn, st, st, session.Config{})
	if _, _, err := b.tokens.Sign(session.Claims{AccountID: 1, PlayerID: "p", SessionID: "s"}); !errors.Is(err, session.ErrNoSigningKey) {
		t.Fatalf("verifier-only Sign: %v, want ErrNoSigningKey", err)
	}

	before, _, _ := start(t, a, conn)
	oldKid := kidOf(t, before.AccessToken)
	newKid, err := a.keys.Rotate(ctx)
	if err != nil {
		t.Fatalf("Rotate: %v", err)
	}
	if newKid == oldKid {
		t.Fatal("Rotate kept the kid")
	}
	after, _, _ := start(t, a, conn)
	if got := kidOf(t, after.AccessToken); got != newKid {
		t.Fatalf("token after Rotate has kid %s, want %s", got, newKid)
	}
	for _, tok := range []string{before.AccessToken, after.AccessToken} {
		if _, err := a.tokens.Verify(ctx, tok); err != nil {
			t.Fatalf("node A Verify: %v", err)
		}
	}
	kids := jwksKids(t, a.keys)
	if kids[oldKid] == "" || kids[newKid] == "" {
		t.Fatalf("JWKS kids %v, want %s and %s", kids, oldKid, newKid)
	}

	// Node B has never seen newKid: the unknown kid makes it reload.
	loads := session.KeyLoads(b.keys)
	if c, err := b.tokens.Verify(ctx, after.AccessToken); err != nil || c.SessionID != after.SessionID {
		t.Fatalf("node B Verify of new-key token = %+v, %v", c, err)
	}
	if got := session.KeyLoads(b.keys) - loads; got != 1 {
		t.Fatalf("node B loaded %d times, want 1", got)
	}
	// Forged kids do not make it reload again within a second.
	for i := range 20 {
		forged := signWithStrangeKey(t, fmt.Sprintf("forged-%d", i), validClaims(after.SessionID))
		if _, err := b.tokens.Verify(ctx, forged); !errors.Is(err, session.ErrInvalidToken) {
			t.Fatalf("forged kid: %v", err)
		}
	}
	if got := session.KeyLoads(b.keys) - loads; got > 2 {
		t.Fatalf("20 unknown kids made node B load %d times", got)
	}

	// Node C starts after the rotation and knows both keys from Load.
	c := newNode(t, conn, st, st, session.Config{})
	for _, tok := range []string{before.AccessToken, after.AccessToken} {
		if _, err := c.tokens.Verify(ctx, tok); err != nil {
			t.Fatalf("node C Verify: %v", err)
		}
	}
	if got := jwksKids(t, c.keys); got[oldKid] != kids[oldKid] || got[newKid] != kids[newKid] {
		t.Fatalf("node C JWKS %v, want %v", got, kids)
	}
}

func TestRetiredKeyLapses(t *testing.T) {
	a, conn := signer(t)
	ctx := context.Background()
	old, _, _ := start(t, a, conn)
	oldKid := kidOf(t, old.AccessToken)
	if _, err := a.keys.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	// Pretend it was retired longer ago than any of its tokens lives.
	if _, err := conn.Exec(`UPDATE auth_signing_keys SET retired_at = now() - interval '1 hour' WHERE kid = $1`, oldKid); err != nil {
		t.Fatal(err)
	}
	if err := a.keys.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := jwksKids(t, a.keys)[oldKid]; ok {
		t.Fatalf("JWKS still publishes lapsed key %s", oldKid)
	}
	fresh := session.NewTokens(a.keys, a.deny, session.Config{})
	if _, err := fresh.Verify(ctx, old.AccessToken); !errors.Is(err, session.ErrInvalidToken) {
		t.Fatalf("token of lapsed key: %v, want ErrInvalidToken", err)
	}
}

func TestPrivateKeysAreSealed(t *testing.T) {
	a, conn := signer(t)
	ctx := context.Background()
	kid, seed := session.Signer(a.keys)
	if len(seed) != ed25519.SeedSize {
		t.Fatalf("signer seed has %d bytes", len(seed))
	}
	var sealed, public []byte
	if err := conn.QueryRow(`SELECT private_key_sealed, public_key FROM auth_signing_keys WHERE kid = $1`, kid).Scan(&sealed, &public); err != nil {
		t.Fatal(err)
	}
	priv := ed25519.NewKeyFromSeed(seed)
	if bytes.Contains(sealed, seed) || bytes.Contains(sealed, priv) || len(sealed) < len(seed)+16 {
		t.Fatalf("sealed key %x holds the raw key", sealed)
	}
	if !bytes.Equal(public, priv.Public().(ed25519.PublicKey)) {
		t.Fatal("public_key does not match the private key")
	}

	wrong := bytes.Repeat([]byte{1}, 32)
	if err := session.NewKeys(conn, session.Config{SecretKey: wrong}).Load(ctx); !errors.Is(err, session.ErrSealing) {
		t.Fatalf("Load with the wrong secret: %v, want ErrSealing", err)
	}
	if err := session.NewKeys(conn, session.Config{SecretKey: []byte("short")}).Ensure(ctx); !errors.Is(err, session.ErrSealing) {
		t.Fatalf("Ensure with a 5-byte secret: %v, want ErrSealing", err)
	}
	// The sealed key is bound to its kid: moved to another row it does not open.
	if _, err := conn.Exec(`INSERT INTO auth_signing_keys (kid, algorithm, public_key, private_key_sealed, created_at)
		VALUES ('moved', 'EdDSA', $1, $2, now() + interval '1 day')`, public, sealed); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Exec(`DELETE FROM auth_signing_keys WHERE kid = 'moved'`) })
	if err := session.NewKeys(conn, session.Config{SecretKey: secret}).Load(ctx); !errors.Is(err, session.ErrSealing) {
		t.Fatalf("Load of a key sealed for another kid: %v, want ErrSealing", err)
	}
	if err := session.NewKeys(conn, session.Config{}).Load(ctx); err != nil {
		t.Fatalf("verifier-only Load: %v", err)
	}
}
