package seal

import (
	"bytes"
	"errors"
	"testing"
)

func TestSealRoundTripAndBinding(t *testing.T) {
	key, err := NewKey()
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(key, nil)
	if err != nil {
		t.Fatal(err)
	}
	secret := []byte("private key bytes")
	ct, err := s.Seal(secret, []byte("tenant-a/key-1"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(ct, secret) {
		t.Fatal("ciphertext contains the plaintext")
	}
	pt, err := s.Open(ct, []byte("tenant-a/key-1"))
	if err != nil || !bytes.Equal(pt, secret) {
		t.Fatalf("Open = %q, %v", pt, err)
	}
	// Bound to the row: another aad does not open.
	if _, err := s.Open(ct, []byte("tenant-b/key-1")); !errors.Is(err, ErrOpen) {
		t.Fatalf("other aad: %v", err)
	}
	// Another master key does not open.
	other, _ := NewKey()
	s2, _ := New(other, nil)
	if _, err := s2.Open(ct, []byte("tenant-a/key-1")); !errors.Is(err, ErrOpen) {
		t.Fatalf("other key: %v", err)
	}
	// Tampering is detected; truncation is refused without panicking.
	bad := append([]byte(nil), ct...)
	bad[len(bad)-1] ^= 1
	if _, err := s.Open(bad, []byte("tenant-a/key-1")); !errors.Is(err, ErrOpen) {
		t.Fatalf("tampered: %v", err)
	}
	for _, n := range []int{0, 1, 12, len(ct) - 1} {
		if _, err := s.Open(ct[:n], []byte("tenant-a/key-1")); !errors.Is(err, ErrOpen) {
			t.Fatalf("truncated to %d: %v", n, err)
		}
	}
	// Two seals of the same value differ (fresh nonce).
	ct2, _ := s.Seal(secret, []byte("tenant-a/key-1"))
	if bytes.Equal(ct, ct2) {
		t.Fatal("nonce reused")
	}
}

func TestNewRejectsWrongKeySize(t *testing.T) {
	for _, n := range []int{0, 16, 31, 33} {
		if _, err := New(make([]byte, n), nil); err == nil {
			t.Fatalf("key of %d bytes accepted", n)
		}
	}
}
