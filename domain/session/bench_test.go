package session_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/musterhq/muster/domain/session"
	"github.com/musterhq/muster/domain/state"
	"github.com/musterhq/muster/test/testenv"
)

// benchTokens returns Tokens with the given cache size, a deny list holding
// a few ids, and a token to verify.
func benchTokens(b *testing.B, cacheSize int) (*session.Tokens, string) {
	b.Helper()
	keys := session.NewKeys(testenv.DB(b), session.Config{SecretKey: secret})
	if err := keys.Ensure(context.Background()); err != nil {
		b.Fatal(err)
	}
	st := state.NewMemory()
	deny := session.NewDenyList(st, st, session.Config{}.DenyTTL())
	if err := deny.Add(context.Background(), "revoked-1", "revoked-2"); err != nil {
		b.Fatal(err)
	}
	tokens := session.NewTokens(keys, deny, session.Config{CacheSize: cacheSize})
	tok, _, err := tokens.Sign(session.Claims{AccountID: 1, PlayerID: "p_bench", SessionID: "0b4c7a52-5c0c-4b8e-9d51-4a4a0c9e1d11"})
	if err != nil {
		b.Fatal(err)
	}
	return tokens, tok
}

// BenchmarkVerifyCold is full verification (parse, Ed25519, claims, deny
// list) with the cache disabled: the cost of a token seen for the first time.
func BenchmarkVerifyCold(b *testing.B) {
	tokens, tok := benchTokens(b, -1)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tokens.Verify(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyColdUnique verifies a different token every iteration with
// the cache on, so it adds the cost of filling (and evicting from) the cache.
func BenchmarkVerifyColdUnique(b *testing.B) {
	tokens, _ := benchTokens(b, session.DefaultCacheSize)
	ctx := context.Background()
	toks := make([]string, b.N)
	for i := range toks {
		var err error
		if toks[i], _, err = tokens.Sign(session.Claims{AccountID: int64(i + 1), PlayerID: "p_bench", SessionID: "s"}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := tokens.Verify(ctx, toks[i]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyWarm verifies the same token again: a cache hit.
func BenchmarkVerifyWarm(b *testing.B) {
	tokens, tok := benchTokens(b, session.DefaultCacheSize)
	ctx := context.Background()
	if _, err := tokens.Verify(ctx, tok); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tokens.Verify(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyWarmParallel is cache hits from every CPU over 1000 tokens.
func BenchmarkVerifyWarmParallel(b *testing.B) {
	tokens, _ := benchTokens(b, session.DefaultCacheSize)
	ctx := context.Background()
	toks := make([]string, 1000)
	for i := range toks {
		toks[i], _, _ = tokens.Sign(session.Claims{AccountID: int64(i + 1), PlayerID: "p_bench", SessionID: "s"})
		if _, err := tokens.Verify(ctx, toks[i]); err != nil {
			b.Fatal(err)
		}
	}
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := int(next.Add(7919))
		for pb.Next() {
			i++
			if _, err := tokens.Verify(ctx, toks[i%len(toks)]); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkSign(b *testing.B) {
	tokens, _ := benchTokens(b, -1)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := tokens.Sign(session.Claims{AccountID: 1, PlayerID: "p_bench", SessionID: "s"}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRefresh is one refresh-token rotation against PostgreSQL.
func BenchmarkRefresh(b *testing.B) {
	n, conn := signer(b)
	ctx := context.Background()
	iss, _, _ := start(b, n, conn)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if iss, err = n.store.Refresh(ctx, iss.RefreshToken, meta); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRefreshParallel rotates the tokens of 8 sessions per CPU at
// once, as many clients would; ns/op is the inverse of throughput.
func BenchmarkRefreshParallel(b *testing.B) {
	n, conn := signer(b)
	ctx := context.Background()
	b.SetParallelism(8)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		iss, _, _ := start(b, n, conn)
		for pb.Next() {
			var err error
			if iss, err = n.store.Refresh(ctx, iss.RefreshToken, meta); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
