package saml

import (
	"bytes"
	"crypto/rsa"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/keys"
	"github.com/gatehouse-id/gatehouse/internal/seal"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// TestCertificateDeterministic: every node and every restart derives the
// same certificate from a key, or service providers that pinned it from
// the metadata would refuse another node's signatures.
func TestCertificateDeterministic(t *testing.T) {
	s, err := seal.New(bytes.Repeat([]byte{7}, seal.KeySize), nil)
	if err != nil {
		t.Fatal(err)
	}
	m := &keys.Manager{Sealer: s, Now: time.Now}
	tn := &store.Tenant{ID: "t1", Slug: "acme"}
	sk, err := m.Generate(tn.ID, "RS256", store.KeyActive)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := m.Open(sk)
	if err != nil {
		t.Fatal(err)
	}
	priv := signer.(*rsa.PrivateKey)
	a, err := certificateFor(tn, sk, priv)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := certificateFor(tn, sk, priv)
	if !bytes.Equal(a.Raw, b.Raw) {
		t.Error("two derivations of the same key's certificate differ")
	}
	if err := a.CheckSignature(a.SignatureAlgorithm, a.RawTBSCertificate, a.Signature); err != nil || !a.NotBefore.Before(sk.CreatedAt) {
		t.Errorf("certificate: %v, NotBefore %v", err, a.NotBefore)
	}
	other, _ := m.Generate(tn.ID, "RS256", store.KeyNext)
	os, _ := m.Open(other)
	c, _ := certificateFor(tn, other, os.(*rsa.PrivateKey))
	if a.SerialNumber.Cmp(c.SerialNumber) == 0 {
		t.Error("two keys share a serial number")
	}
}
