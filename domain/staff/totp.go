package staff

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"strings"
	"time"
)

// Time-based one-time passwords (RFC 6238) as authenticator apps make them:
// HMAC-SHA1, 6 digits, a new code every 30 seconds. A code is accepted in
// its own 30-second step and in the step before and after, for clock skew.

const (
	totpDigits  = 6
	totpPeriod  = 30 // seconds
	totpSkew    = 1  // steps accepted either side of the current one
	secretBytes = 20 // 160 bits, the HMAC-SHA1 key length RFC 4226 recommends
)

// errBadSecret means a TOTP secret is not base32.
var errBadSecret = errors.New("totp secret is not base32")

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// GenerateSecret returns a new random TOTP secret: 160 bits in base32
// without padding (32 characters), as authenticator apps expect.
func GenerateSecret() string {
	var b [secretBytes]byte
	rand.Read(b[:]) // never fails (crypto/rand)
	return b32.EncodeToString(b[:])
}

// decodeSecret reads a base32 secret, ignoring case, spaces, hyphens and
// padding, as people type them.
func decodeSecret(secret string) ([]byte, error) {
	s := strings.ToUpper(strings.NewReplacer(" ", "", "-", "", "=", "").Replace(secret))
	key, err := b32.DecodeString(s)
	if err != nil || len(key) == 0 {
		return nil, errBadSecret
	}
	return key, nil
}

// Code returns the 6-digit code of secret (base32) at t.
func Code(secret string, t time.Time) (string, error) {
	key, err := decodeSecret(secret)
	if err != nil {
		return "", err
	}
	step, ok := stepAt(t)
	if !ok {
		return "", errors.New("totp: time before the Unix epoch")
	}
	return hotp(key, uint64(step), totpDigits), nil
}

// ValidCode reports whether code is the code of secret (base32) at t or
// one step (30 seconds) before or after it.
func ValidCode(secret, code string, t time.Time) bool {
	key, err := decodeSecret(secret)
	if err != nil {
		return false
	}
	_, ok := matchStep(key, code, t)
	return ok
}

// stepAt returns the RFC 6238 time step T of t.
func stepAt(t time.Time) (int64, bool) {
	u := t.Unix()
	if u < 0 {
		return 0, false
	}
	return u / totpPeriod, true
}

// matchStep returns the time step within the window around t whose code
// is code. Every candidate is computed and compared in constant time.
func matchStep(key []byte, code string, t time.Time) (step int64, ok bool) {
	code = strings.TrimSpace(code)
	now, valid := stepAt(t)
	if !valid || len(code) != totpDigits {
		return 0, false
	}
	for s := now - totpSkew; s <= now+totpSkew; s++ {
		if s < 0 {
			continue
		}
		if subtle.ConstantTimeCompare([]byte(hotp(key, uint64(s), totpDigits)), []byte(code)) == 1 && !ok {
			step, ok = s, true
		}
	}
	return step, ok
}

// hotp is RFC 4226's HOTP: dynamic truncation of HMAC-SHA1(key, counter)
// to digits decimal digits.
func hotp(key []byte, counter uint64, digits int) string {
	mac := hmac.New(sha1.New, key)
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], counter)
	mac.Write(msg[:])
	sum := mac.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	bin := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	mod := uint32(1)
	for range digits {
		mod *= 10
	}
	out := make([]byte, digits)
	v := bin % mod
	for i := digits - 1; i >= 0; i-- {
		out[i] = byte('0' + v%10)
		v /= 10
	}
	return string(out)
}
