package account

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"
)

// ctx is the context of the Hasher calls of these tests.
var ctx = context.Background()

func TestCheckPassword(t *testing.T) {
	const email = "Player.One@example.com"
	const name = "xXDragonSlayerXx"

	tests := []struct {
		name    string
		pw      string
		related []string
		wantMsg string // "" means the password is accepted
	}{
		{"7 chars", "zq8!Lm2", nil, "at least 8"},
		{"8 chars", "zq8!Lm2#", nil, ""},
		{"empty", "", nil, "at least 8"},
		{"128 chars", strings.Repeat("aB3$", 32), nil, ""},
		{"129 chars", strings.Repeat("aB3$", 32) + "x", nil, "at most 128"},
		{"7 two-byte runes (14 bytes)", strings.Repeat("é", 7), nil, "at least 8"},
		{"8 two-byte runes", strings.Repeat("é", 8), nil, ""},
		{"2 four-byte runes (8 bytes)", "🎮🎮", nil, "at least 8"},
		{"8 four-byte runes", strings.Repeat("🎮", 8), nil, ""},
		{"128 three-byte runes (384 bytes)", strings.Repeat("龍", 128), nil, ""},
		{"129 three-byte runes", strings.Repeat("龍", 129), nil, "at most 128"},
		{"invalid UTF-8", "abcdefgh\xff", nil, "UTF-8"},
		{"common: Password1", "Password1", nil, "too common"},
		{"common: qwertyuiop", "qwertyuiop", nil, "too common"},
		{"common: QWERTYUIOP", "QWERTYUIOP", nil, "too common"},
		{"common: password", "password", nil, "too common"},
		{"common: PaSsWoRd", "PaSsWoRd", nil, "too common"},
		{"common: 12345678", "12345678", nil, "too common"},
		{"common: ILoveYou", "ILoveYou", nil, "too common"},
		{"common with a space added", "password ", nil, ""},
		{"equal to email", email, []string{email, name}, "email address or display name"},
		{"equal to email, other case", strings.ToUpper(email), []string{email, name}, "email address or display name"},
		{"equal to display name", "xxdragonslayerxx", []string{email, name}, "email address or display name"},
		{"contains email but longer", email + "!", []string{email, name}, ""},
		{"empty related ignored", "zq8!Lm2#", []string{"", "  "}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckPassword(tt.pw, tt.related...)
			if tt.wantMsg == "" {
				if err != nil {
					t.Fatalf("CheckPassword(%q) = %v, want nil", tt.pw, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("CheckPassword(%q) = nil, want error containing %q", tt.pw, tt.wantMsg)
			}
			if !errors.Is(err, ErrWeakPassword) {
				t.Errorf("error %v does not wrap ErrWeakPassword", err)
			}
			var pe *PasswordPolicyError
			if !errors.As(err, &pe) || !strings.Contains(pe.Reason, tt.wantMsg) {
				t.Errorf("error %v: want a *PasswordPolicyError whose reason contains %q", err, tt.wantMsg)
			}
		})
	}
}

func TestCommonPasswordList(t *testing.T) {
	lines := strings.Split(strings.TrimSuffix(commonPasswordsFile, "\n"), "\n")
	if len(lines) < 9000 || len(lines) > 11000 {
		t.Fatalf("common password list has %d lines, want about 10,000", len(lines))
	}
	seen := make(map[string]bool, len(lines))
	for i, l := range lines {
		switch {
		case l == "":
			t.Errorf("line %d is empty", i+1)
		case l != strings.ToLower(l):
			t.Errorf("line %d %q is not lower-case", i+1, l)
		case l != strings.TrimSpace(l):
			t.Errorf("line %d %q has surrounding white space", i+1, l)
		case !utf8.ValidString(l):
			t.Errorf("line %d %q is not valid UTF-8", i+1, l)
		case seen[l]:
			t.Errorf("line %d %q is a duplicate", i+1, l)
		}
		seen[l] = true
	}
	if got := len(commonPasswords()); got != len(lines) {
		t.Errorf("set has %d entries, file has %d lines", got, len(lines))
	}
	for _, pw := range []string{"123456", "PASSWORD", "Dragon", "trustno1"} {
		if !IsCommonPassword(pw) {
			t.Errorf("IsCommonPassword(%q) = false", pw)
		}
	}
	if IsCommonPassword("correct horse battery staple muster") {
		t.Error("IsCommonPassword of a long passphrase = true")
	}
}

func newTestHasher(t testing.TB, cost int) *Hasher {
	t.Helper()
	h, err := NewHasher(cost)
	if err != nil {
		t.Fatalf("NewHasher(%d): %v", cost, err)
	}
	return h
}

func TestNewHasherCostRange(t *testing.T) {
	for _, cost := range []int{bcrypt.MinCost, MinProductionHashCost, bcrypt.MaxCost} {
		h, err := NewHasher(cost)
		if err != nil || h.Cost() != cost {
			t.Errorf("NewHasher(%d) = %v, %v", cost, h, err)
		}
	}
	for _, cost := range []int{-1, 0, bcrypt.MinCost - 1, bcrypt.MaxCost + 1} {
		if _, err := NewHasher(cost); err == nil {
			t.Errorf("NewHasher(%d) succeeded, want error", cost)
		}
	}
}

func TestHashVerifyRoundTrip(t *testing.T) {
	h := newTestHasher(t, 4)
	for _, pw := range []string{"zq8!Lm2#", strings.Repeat("龍", 128), "pass word with spaces", ""} {
		stored, err := h.Hash(ctx, pw)
		if err != nil {
			t.Fatalf("Hash(%q): %v", pw, err)
		}
		if !strings.HasPrefix(stored, "bcrypt-sha256$$2a$04$") {
			t.Fatalf("Hash(%q) = %q, want prefix bcrypt-sha256$$2a$04$", pw, stored)
		}
		if strings.Contains(stored, pw) && pw != "" {
			t.Fatalf("stored hash contains the password")
		}
		if ok, rehash, _ := h.Verify(ctx, stored, pw); !ok || rehash {
			t.Errorf("Verify(right password %q) = %v, %v; want true, false", pw, ok, rehash)
		}
		if ok, _, _ := h.Verify(ctx, stored, pw+"x"); ok {
			t.Errorf("Verify(wrong password) = true for %q", pw)
		}
		if ok, _, _ := h.Verify(ctx, stored, strings.ToUpper(pw)); ok && strings.ToUpper(pw) != pw {
			t.Errorf("Verify is case-insensitive for %q", pw)
		}
		again, err := h.Hash(ctx, pw)
		if err != nil {
			t.Fatal(err)
		}
		if again == stored {
			t.Errorf("two hashes of %q are equal; salt missing", pw)
		}
	}
}

func TestHashBeyond72Bytes(t *testing.T) {
	h := newTestHasher(t, 4)
	prefix := strings.Repeat("a", 72)
	a, b := prefix+"X", prefix+"Y"
	stored, err := h.Hash(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	if ok, _, _ := h.Verify(ctx, stored, a); !ok {
		t.Fatal("Verify(a) = false")
	}
	if ok, _, _ := h.Verify(ctx, stored, b); ok {
		t.Fatal("a password differing from the hashed one only after byte 72 was accepted")
	}
	if ok, _, _ := h.Verify(ctx, stored, prefix); ok {
		t.Fatal("the 72-byte prefix of the hashed password was accepted")
	}
}

func TestHashNeedsRehashOnCostChange(t *testing.T) {
	h4, h5 := newTestHasher(t, 4), newTestHasher(t, 5)
	stored, err := h4.Hash(ctx, "zq8!Lm2#")
	if err != nil {
		t.Fatal(err)
	}
	if ok, rehash, _ := h5.Verify(ctx, stored, "zq8!Lm2#"); !ok || !rehash {
		t.Errorf("cost-5 Verify of a cost-4 hash = %v, %v; want true, true", ok, rehash)
	}
	if ok, rehash, _ := h4.Verify(ctx, stored, "zq8!Lm2#"); !ok || rehash {
		t.Errorf("cost-4 Verify of a cost-4 hash = %v, %v; want true, false", ok, rehash)
	}
	rehashed, err := h5.Hash(ctx, "zq8!Lm2#")
	if err != nil {
		t.Fatal(err)
	}
	if ok, rehash, _ := h5.Verify(ctx, rehashed, "zq8!Lm2#"); !ok || rehash {
		t.Errorf("cost-5 Verify of the rehash = %v, %v; want true, false", ok, rehash)
	}
	if ok, rehash, _ := h5.Verify(ctx, stored, "wrong password"); ok || rehash {
		t.Errorf("wrong password: Verify = %v, %v; want false, false", ok, rehash)
	}
}

func TestHashTampered(t *testing.T) {
	h := newTestHasher(t, 4)
	const pw = "zq8!Lm2#"
	stored, err := h.Hash(ctx, pw)
	if err != nil {
		t.Fatal(err)
	}
	flip := func(s string, i int) string {
		c := byte('A')
		if s[i] == 'A' {
			c = 'B'
		}
		return s[:i] + string(c) + s[i+1:]
	}
	n := len(stored)
	tampered := map[string]string{
		"last checksum char":  flip(stored, n-2),
		"first checksum char": flip(stored, n-31),
		"salt char":           flip(stored, len(hashScheme)+7),
		"cost 04 -> 05":       strings.Replace(stored, "$04$", "$05$", 1),
		"truncated":           stored[:n-1],
		"extended":            stored + "A",
		"scheme only":         hashScheme,
		"garbage":             hashScheme + "not a bcrypt hash",
	}
	for name, s := range tampered {
		if s == stored {
			t.Fatalf("%s: tampering did not change the hash", name)
		}
		if ok, _, _ := h.Verify(ctx, s, pw); ok {
			t.Errorf("%s: Verify of tampered hash %q = true", name, s)
		}
	}
}

func TestHashUnknownScheme(t *testing.T) {
	h := newTestHasher(t, 4)
	const pw = "zq8!Lm2#"
	raw, err := bcrypt.GenerateFromPassword([]byte(pw), 4)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := h.Hash(ctx, pw)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{
		string(raw), // plain bcrypt of the password: no scheme prefix
		strings.TrimPrefix(stored, hashScheme),
		"argon2id$" + strings.TrimPrefix(stored, hashScheme),
		"",
		pw,
	} {
		if ok, rehash, _ := h.Verify(ctx, s, pw); ok || !rehash {
			t.Errorf("Verify(%q) = %v, %v; want false, true", s, ok, rehash)
		}
	}
}

func TestDummyConcurrent(t *testing.T) {
	h := newTestHasher(t, 4)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() { h.Dummy(ctx, strings.Repeat("x", i)) })
	}
	wg.Wait()
	if _, err := bcrypt.Cost(h.dummyHash); err != nil {
		t.Fatalf("dummy hash: %v", err)
	}
	if c, _ := bcrypt.Cost(h.dummyHash); c != 4 {
		t.Fatalf("dummy hash cost = %d, want 4", c)
	}
}

// TestDummyTakesAsLongAsVerify is a loose sanity check that Dummy does a real
// bcrypt comparison at the hasher's cost: it must take at least half as long
// as a failing Verify.
func TestDummyTakesAsLongAsVerify(t *testing.T) {
	if testing.Short() {
		t.Skip("timing test; slow")
	}
	const cost, rounds = 10, 5
	h := newTestHasher(t, cost)
	stored, err := h.Hash(ctx, "zq8!Lm2#")
	if err != nil {
		t.Fatal(err)
	}
	h.Dummy(ctx, "warm up") // builds the dummy hash

	// Take the fastest of several runs of each, alternating the two, so
	// that a pause or a busy machine (load from other processes comes and
	// goes) weighs on both alike and cannot make the test fail.
	verify, dummy := time.Duration(1<<63-1), time.Duration(1<<63-1)
	for range rounds {
		start := time.Now()
		h.Verify(ctx, stored, "wrong password")
		verify = min(verify, time.Since(start))
		start = time.Now()
		h.Dummy(ctx, "wrong password")
		dummy = min(dummy, time.Since(start))
	}
	t.Logf("cost %d: Verify %v, Dummy %v", cost, verify, dummy)
	if dummy < verify/2 {
		t.Errorf("Dummy took %v, less than half of Verify's %v", dummy, verify)
	}
}

func BenchmarkHash(b *testing.B) {
	h := newTestHasher(b, 10)
	for b.Loop() {
		if _, err := h.Hash(ctx, "zq8!Lm2#"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	h := newTestHasher(b, 10)
	stored, err := h.Hash(ctx, "zq8!Lm2#")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		h.Verify(ctx, stored, "zq8!Lm2#")
	}
}

// hasherWithHash returns a quick Hasher and its hash of "correct horse
// battery staple".
func hasherWithHash(t *testing.T) (*Hasher, string) {
	t.Helper()
	h, err := NewHasher(bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := h.Hash(ctx, "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	return h, stored
}

// However many callers hash at once, at most GOMAXPROCS bcrypts run; the
// rest wait their turn, and all of them finish.
func TestHashingRunsOnePerProcessor(t *testing.T) {
	h, stored := hasherWithHash(t)
	var mu sync.Mutex
	running, peak := 0, 0
	h.onHash = func() {
		mu.Lock()
		running = len(h.slots)
		peak = max(peak, running)
		mu.Unlock()
		time.Sleep(2 * time.Millisecond) // hold the slot while others queue
	}
	var wg sync.WaitGroup
	for i := range 48 {
		wg.Go(func() {
			switch i % 3 {
			case 0:
				_, _ = h.Hash(ctx, "correct horse battery staple")
			case 1:
				if ok, _, _ := h.Verify(ctx, stored, "correct horse battery staple"); !ok {
					t.Error("verify failed")
				}
			default:
				h.Dummy(ctx, "wrong")
			}
		})
	}
	wg.Wait()
	procs := runtime.GOMAXPROCS(0)
	if peak > procs || peak < 1 {
		t.Fatalf("%d bcrypts ran at once with GOMAXPROCS %d", peak, procs)
	}
	if len(h.slots) != 0 {
		t.Fatalf("%d slots still held", len(h.slots))
	}
}

// When every slot stays taken for the longest wait, each call answers
// ErrBusy without hashing; a call whose context ends first answers its
// error; once a slot is free, calls hash again.
func TestHashingAnswersBusyAfterItsLongestWait(t *testing.T) {
	h, stored := hasherWithHash(t)
	hashed := 0
	h.onHash = func() { hashed++ }
	const wait = 50 * time.Millisecond
	h.SetMaxWait(wait)
	for range cap(h.slots) {
		h.slots <- struct{}{} // every processor is hashing for others
	}
	start := time.Now()
	if _, err := h.Hash(ctx, "correct horse battery staple"); !errors.Is(err, ErrBusy) {
		t.Fatalf("Hash with every slot taken = %v, want ErrBusy", err)
	}
	if took := time.Since(start); took < wait {
		t.Fatalf("ErrBusy after %v, before the longest wait of %v", took, wait)
	}
	if ok, _, err := h.Verify(ctx, stored, "correct horse battery staple"); ok || !errors.Is(err, ErrBusy) {
		t.Fatalf("Verify with every slot taken = %v, %v, want false and ErrBusy", ok, err)
	}
	if err := h.Dummy(ctx, "wrong"); !errors.Is(err, ErrBusy) {
		t.Fatalf("Dummy with every slot taken = %v, want ErrBusy", err)
	}
	h.SetMaxWait(time.Minute)
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := h.Hash(cancelled, "correct horse battery staple"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Hash with an ended context = %v, want context.Canceled", err)
	}
	if hashed != 0 {
		t.Fatalf("%d hashes ran while every slot was taken", hashed)
	}
	<-h.slots // one processor is free again
	if ok, _, err := h.Verify(ctx, stored, "correct horse battery staple"); !ok || err != nil {
		t.Fatalf("Verify with a free slot = %v, %v", ok, err)
	}
	if hashed != 1 {
		t.Fatalf("%d hashes ran, want 1", hashed)
	}
}

// Admit turns a first try away at once when the calls queued ahead of it
// would take longer than half the longest wait, lets it in otherwise, and
// gives a player who has waited in the login queue more room the longer
// they waited, up to three quarters of the longest wait.
func TestAdmitTurnsAwayWhatWouldWaitTooLong(t *testing.T) {
	h, err := NewHasher(bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Admit(0); err != nil {
		t.Fatalf("Admit with nothing queued = %v", err)
	}
	// The first hash sets the average's scale.
	if _, err := h.Hash(ctx, "correct horse battery staple"); err != nil || h.mean.Load() <= 0 {
		t.Fatalf("after the first hash: %v, mean %v", err, time.Duration(h.mean.Load()))
	}
	h.SetMaxWait(2 * time.Second)
	h.mean.Store(int64(100 * time.Millisecond))
	slots := int64(cap(h.slots))
	// Every slot busy and n waiting each: n/20 of the longest wait of
	// work ahead.
	ahead := func(n int64) { h.queued.Store(slots - 1 + n*slots) }
	ahead(10)
	if err := h.Admit(0); err != nil {
		t.Fatalf("Admit with %d queued = %v, want admitted", h.queued.Load(), err)
	}
	h.queued.Add(slots)
	if err := h.Admit(0); !errors.Is(err, ErrBusy) {
		t.Fatalf("Admit with %d queued = %v, want ErrBusy", h.queued.Load(), err)
	}
	// Waited: 30 s earns half the extra quarter (0.625 of the wait), a
	// long wait nearly all of it, and nothing passes three quarters.
	for _, c := range []struct {
		waited time.Duration
		ahead  int64
		busy   bool
	}{
		{time.Second, 11, true},
		{30 * time.Second, 12, false},
		{30 * time.Second, 13, true},
		{10 * time.Minute, 14, false},
		{10 * time.Minute, 15, true},
		{24 * time.Hour, 15, true},
		{-time.Hour, 11, true}, // a negative wait counts as none
	} {
		ahead(c.ahead)
		if err := h.Admit(c.waited); errors.Is(err, ErrBusy) != c.busy {
			t.Errorf("Admit(%v) with %d/20 of the longest wait ahead = %v, want busy %v", c.waited, c.ahead, err, c.busy)
		}
	}
	// A call that would wait past the longest wait is turned away at once.
	h.queued.Store(slots - 1 + 21*slots)
	start := time.Now()
	if _, err := h.Hash(ctx, "correct horse battery staple"); !errors.Is(err, ErrBusy) || time.Since(start) > time.Second {
		t.Fatalf("Hash with %d queued = %v after %v, want ErrBusy at once", h.queued.Load(), err, time.Since(start))
	}
	// The queue drains as calls finish, and the average follows them.
	h.queued.Store(0)
	if _, err := h.Hash(ctx, "correct horse battery staple"); err != nil {
		t.Fatal(err)
	}
	if h.queued.Load() != 0 || h.mean.Load() >= int64(100*time.Millisecond) {
		t.Fatalf("after one fast hash: %d queued, mean %v", h.queued.Load(), time.Duration(h.mean.Load()))
	}
}
