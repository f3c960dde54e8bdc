package session

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"fmt"
)

// sealVersion is the first byte of every sealed key, so the format can
// change later without guessing.
const sealVersion = 1

// seal encrypts plaintext with AES-256-GCM under secret, binding it to kid
// (additional data) so a sealed key cannot be moved to another row. The
// result is version || nonce || ciphertext+tag.
func seal(secret []byte, kid string, plaintext []byte) ([]byte, error) {
	aead, err := newAEAD(secret)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 1+aead.NonceSize(), 1+aead.NonceSize()+len(plaintext)+aead.Overhead())
	out[0] = sealVersion
	rand.Read(out[1:])
	return aead.Seal(out, out[1:], plaintext, []byte(kid)), nil
}

// unseal reverses seal. Any mismatch (secret, kid, tampering) is ErrSealing.
func unseal(secret []byte, kid string, sealed []byte) ([]byte, error) {
	aead, err := newAEAD(secret)
	if err != nil {
		return nil, err
	}
	if len(sealed) < 1+aead.NonceSize()+aead.Overhead() || sealed[0] != sealVersion {
		return nil, fmt.Errorf("%w: key %s: unknown format", ErrSealing, kid)
	}
	nonce, ct := sealed[1:1+aead.NonceSize()], sealed[1+aead.NonceSize():]
	plain, err := aead.Open(nil, nonce, ct, []byte(kid))
	if err != nil {
		return nil, fmt.Errorf("%w: key %s", ErrSealing, kid)
	}
	return plain, nil
}

func newAEAD(secret []byte) (cipher.AEAD, error) {
	if len(secret) != 32 {
		return nil, fmt.Errorf("%w: secret key is %d bytes, want 32", ErrSealing, len(secret))
	}
	block, err := aes.NewCipher(secret)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSealing, err)
	}
	return cipher.NewGCM(block)
}
