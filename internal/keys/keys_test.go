package keys

import (
	"crypto"
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/seal"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

func newManager(t *testing.T) *Manager {
	t.Helper()
	k, _ := seal.NewKey()
	s, err := seal.New(k, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &Manager{Sealer: s, Now: time.Now}
}

func TestGenerateOpenSign(t *testing.T) {
	m := newManager(t)
	for _, alg := range []string{"RS256", "ES256", "EdDSA"} {
		k, err := m.Generate("tenant-1", alg, store.KeyActive)
		if err != nil {
			t.Fatal(alg, err)
		}
		if k.Alg != alg || k.Status != store.KeyActive || k.Tenant != "tenant-1" || k.ID == "" {
			t.Fatalf("%s: bad record %+v", alg, k)
		}
		s, err := m.Open(k)
		if err != nil {
			t.Fatal(alg, err)
		}
		digest := sha256.Sum256([]byte("x"))
		var opts crypto.SignerOpts = crypto.SHA256
		msg := digest[:]
		if alg == "EdDSA" {
			opts, msg = crypto.Hash(0), []byte("x")
		}
		if _, err := s.Sign(nil, msg, opts); err != nil {
			t.Fatal(alg, err)
		}
	}
	if _, err := m.Generate("t", "HS256", store.KeyActive); err == nil {
		t.Fatal("HS256 accepted")
	}
}

func TestSealedKeyBoundToTenantAndKid(t *testing.T) {
	m := newManager(t)
	k, err := m.Generate("tenant-a", "ES256", store.KeyActive)
	if err != nil {
		t.Fatal(err)
	}
	moved := *k
	moved.Tenant = "tenant-b"
	if _, err := m.Open(&moved); !errors.Is(err, seal.ErrOpen) {
		t.Fatalf("key moved to another tenant opened: %v", err)
	}
	other, _ := m.Generate("tenant-a", "ES256", store.KeyActive)
	swapped := *k
	swapped.PublicKey = other.PublicKey
	if _, err := m.Open(&swapped); err == nil {
		t.Fatal("mismatched public key accepted")
	}
}
