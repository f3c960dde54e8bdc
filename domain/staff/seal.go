package staff

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
)

// A TOTP secret is stored in staff_accounts.totp_secret_sealed as
//
//	version (1) || state (1) || nonce (12) || AES-256-GCM(lastStep (8) || key)
//
// under the deployment's 32-byte secret key. state tells an enrollment that
// waits for its first code (totpPending) from an enabled second factor
// (totpEnabled); SQL reads it to list who has a second factor, and it is
// bound into the additional data with the staff id, so a sealed secret can
// be neither moved to another account nor switched on without the key.
// lastStep is the last time step whose code was accepted, so that a code is
// never accepted twice (RFC 6238, section 5.2).

const (
	sealVersion = 1
	totpPending = 0
	totpEnabled = 1
)

// totpEnabledSQL is true when the row's second factor is enabled.
const totpEnabledSQL = `COALESCE(substring(a.totp_secret_sealed from 2 for 1) = '\x01'::bytea, false)`

// errSealing means a sealed secret cannot be opened: wrong secret key,
// another account's secret, or tampering.
var errSealing = errors.New("staff: totp secret cannot be unsealed")

// totpState is what the sealed column holds.
type totpState struct {
	enabled  bool
	key      []byte
	lastStep int64
}

func (s *Store) sealTOTP(staffID int64, st totpState) ([]byte, error) {
	aead, err := s.aead()
	if err != nil {
		return nil, err
	}
	state := byte(totpPending)
	if st.enabled {
		state = totpEnabled
	}
	plain := make([]byte, 8, 8+len(st.key))
	binary.BigEndian.PutUint64(plain, uint64(st.lastStep))
	plain = append(plain, st.key...)
	head := 2 + aead.NonceSize()
	out := make([]byte, head, head+len(plain)+aead.Overhead())
	out[0], out[1] = sealVersion, state
	rand.Read(out[2:head])
	return aead.Seal(out, out[2:head], plain, sealAD(staffID, state)), nil
}

func (s *Store) openTOTP(staffID int64, sealed []byte) (totpState, error) {
	aead, err := s.aead()
	if err != nil {
		return totpState{}, err
	}
	head := 2 + aead.NonceSize()
	if len(sealed) < head+aead.Overhead()+8 || sealed[0] != sealVersion ||
		(sealed[1] != totpPending && sealed[1] != totpEnabled) {
		return totpState{}, fmt.Errorf("%w: staff %d: unknown format", errSealing, staffID)
	}
	plain, err := aead.Open(nil, sealed[2:head], sealed[head:], sealAD(staffID, sealed[1]))
	if err != nil || len(plain) < 8 {
		return totpState{}, fmt.Errorf("%w: staff %d", errSealing, staffID)
	}
	return totpState{
		enabled:  sealed[1] == totpEnabled,
		lastStep: int64(binary.BigEndian.Uint64(plain[:8])),
		key:      plain[8:],
	}, nil
}

func sealAD(staffID int64, state byte) []byte {
	return append([]byte("muster staff totp "+strconv.FormatInt(staffID, 10)+" "), state)
}

func (s *Store) aead() (cipher.AEAD, error) {
	if len(s.secretKey) != 32 {
		return nil, fmt.Errorf("staff: secret key is %d bytes, want 32", len(s.secretKey))
	}
	block, err := aes.NewCipher(s.secretKey)
	if err != nil {
		return nil, fmt.Errorf("staff: %w", err)
	}
	return cipher.NewGCM(block)
}
