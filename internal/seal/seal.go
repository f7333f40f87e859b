// Package seal encrypts secrets at rest (signing keys, TOTP seeds, upstream
// tokens) with the deployment's master key, AES-256-GCM, each ciphertext
// bound to the row it belongs to through additional data so a sealed value
// copied to another row does not open.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
)

// KeySize is the master key's length in bytes.
const KeySize = 32

// version prefixes every ciphertext so the format can change later.
const version byte = 1

// ErrOpen is returned for any ciphertext that does not open: wrong key,
// wrong row, truncated or altered. It says nothing more on purpose.
var ErrOpen = errors.New("seal: cannot open sealed value")

// Sealer seals and opens values with one master key. Safe for concurrent use.
type Sealer struct {
	aead cipher.AEAD
	rand io.Reader
}

// New returns a Sealer for a 32-byte master key; rnd nil means crypto/rand.
func New(key []byte, rnd io.Reader) (*Sealer, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("seal: master key must be %d bytes, got %d", KeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	if rnd == nil {
		rnd = rand.Reader
	}
	return &Sealer{aead: aead, rand: rnd}, nil
}

// Seal encrypts plaintext bound to aad (e.g. tenant id + row id).
func (s *Sealer) Seal(plaintext, aad []byte) ([]byte, error) {
	out := make([]byte, 1+s.aead.NonceSize(), 1+s.aead.NonceSize()+len(plaintext)+s.aead.Overhead())
	out[0] = version
	if _, err := io.ReadFull(s.rand, out[1:]); err != nil {
		return nil, fmt.Errorf("seal: nonce: %w", err)
	}
	return s.aead.Seal(out, out[1:], plaintext, aad), nil
}

// Open decrypts a value made by Seal with the same aad; ErrOpen otherwise.
func (s *Sealer) Open(sealed, aad []byte) ([]byte, error) {
	ns := s.aead.NonceSize()
	if len(sealed) < 1+ns+s.aead.Overhead() || sealed[0] != version {
		return nil, ErrOpen
	}
	pt, err := s.aead.Open(nil, sealed[1:1+ns], sealed[1+ns:], aad)
	if err != nil {
		return nil, ErrOpen
	}
	return pt, nil
}

// NewKey returns a fresh random master key.
func NewKey() ([]byte, error) {
	k := make([]byte, KeySize)
	if _, err := io.ReadFull(rand.Reader, k); err != nil {
		return nil, err
	}
	return k, nil
}
