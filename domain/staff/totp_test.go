package staff

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

// rfcSecret is the SHA-1 seed of RFC 6238's test vectors, the ASCII string
// "12345678901234567890", in base32.
const rfcSecret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"

func TestRFC6238Vectors(t *testing.T) {
	tests := []struct {
		unix   int64
		eight  string // RFC 6238 appendix B, SHA1
		digits string // the same, truncated to 6 digits
	}{
		{59, "94287082", "287082"},
		{1111111109, "07081804", "081804"},
		{1111111111, "14050471", "050471"},
		{1234567890, "89005924", "005924"},
		{2000000000, "69279037", "279037"},
		{20000000000, "65353130", "353130"},
	}
	key, err := decodeSecret(rfcSecret)
	if err != nil || string(key) != "12345678901234567890" {
		t.Fatalf("decodeSecret = %q, %v", key, err)
	}
	for _, tt := range tests {
		at := time.Unix(tt.unix, 0)
		if got := hotp(key, uint64(tt.unix/30), 8); got != tt.eight {
			t.Errorf("8-digit code at %d = %s, want %s", tt.unix, got, tt.eight)
		}
		got, err := Code(rfcSecret, at)
		if err != nil || got != tt.digits {
			t.Errorf("Code at %d = %s, %v; want %s", tt.unix, got, err, tt.digits)
		}
		if !ValidCode(rfcSecret, tt.digits, at) {
			t.Errorf("ValidCode(%s) at %d = false", tt.digits, tt.unix)
		}
	}
}

func TestValidCodeWindow(t *testing.T) {
	at := time.Unix(1234567890, 0) // code 005924, step 41152263
	tests := []struct {
		name string
		code string
		at   time.Time
		want bool
	}{
		{"same step", "005924", at, true},
		{"one step later", "005924", at.Add(30 * time.Second), true},
		{"one step earlier", "005924", at.Add(-30 * time.Second), true},
		{"two steps later", "005924", at.Add(60 * time.Second), false},
		{"two steps earlier", "005924", at.Add(-60 * time.Second), false},
		{"surrounding spaces", " 005924 ", at, true},
		{"wrong code", "005925", at, false},
		{"8 digits", "89005924", at, false},
		{"5 digits", "05924", at, false},
		{"empty", "", at, false},
		{"letters", "00592a", at, false},
		{"before epoch", "005924", time.Unix(-100, 0), false},
	}
	for _, tt := range tests {
		if got := ValidCode(rfcSecret, tt.code, tt.at); got != tt.want {
			t.Errorf("%s: ValidCode = %v, want %v", tt.name, got, tt.want)
		}
	}
	if ValidCode("not base32!", "005924", at) {
		t.Error("ValidCode accepted a malformed secret")
	}
	// Secrets as people type them.
	if !ValidCode("gezd gnbv gy3t qojq gezd gnbv gy3t qojq", "005924", at) {
		t.Error("ValidCode refused a lower-case, spaced secret")
	}
	if _, err := Code("", at); err == nil {
		t.Error("Code accepted an empty secret")
	}
}

func TestGenerateSecret(t *testing.T) {
	a, b := GenerateSecret(), GenerateSecret()
	if a == b {
		t.Fatal("two secrets are equal")
	}
	key, err := decodeSecret(a)
	if err != nil || len(key) != 20 || len(a) != 32 {
		t.Fatalf("secret %q decodes to %d bytes, %v", a, len(key), err)
	}
	code, err := Code(a, time.Now())
	if err != nil || !ValidCode(a, code, time.Now()) {
		t.Fatalf("own code %q not valid: %v", code, err)
	}
}

func TestSealTOTP(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	s := &Store{secretKey: key}
	st := totpState{enabled: true, key: []byte("12345678901234567890"), lastStep: 41152263}
	sealed, err := s.sealTOTP(42, st)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, st.key) {
		t.Fatal("sealed value contains the secret")
	}
	got, err := s.openTOTP(42, sealed)
	if err != nil || !got.enabled || got.lastStep != st.lastStep || !bytes.Equal(got.key, st.key) {
		t.Fatalf("openTOTP = %+v, %v", got, err)
	}
	if _, err := s.openTOTP(43, sealed); !errors.Is(err, errSealing) {
		t.Errorf("opened another account's secret: %v", err)
	}
	flipped := bytes.Clone(sealed)
	flipped[1] = totpPending
	if _, err := s.openTOTP(42, flipped); !errors.Is(err, errSealing) {
		t.Errorf("opened a secret whose state byte was changed: %v", err)
	}
	other := &Store{secretKey: bytes.Repeat([]byte{8}, 32)}
	if _, err := other.openTOTP(42, sealed); !errors.Is(err, errSealing) {
		t.Errorf("opened with another key: %v", err)
	}
	short := &Store{secretKey: key[:16]}
	if _, err := short.sealTOTP(42, st); err == nil {
		t.Error("sealed with a 16-byte key")
	}
}
