package domain_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/domain"
	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/seal"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
	"github.com/gatehouse-id/gatehouse/internal/tlsserve"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// selfSigned answers a PEM certificate for names valid from nb to na,
// and its PEM key.
func selfSigned(t *testing.T, nb, na time.Time, names ...string) (string, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject: pkix.Name{CommonName: names[0]}, DNSNames: names, NotBefore: nb, NotAfter: na,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}},
		&x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: names[0]}}, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}))
}

// TestUploadedCertificate: GATEHOUSE_TLS=files serves the certificate
// uploaded for a verified domain by SNI; a pair that does not match, does
// not name the domain or is expired is refused with nothing stored; the
// key is stored sealed; the upload is audited.
func TestUploadedCertificate(t *testing.T) {
	ctx := context.Background()
	db := sqltest.OpenSQLite(t)
	sealer, err := seal.New(make([]byte, 32), nil)
	if err != nil {
		t.Fatal(err)
	}
	svc := &domain.Service{Store: db, Audit: &events.Recorder{Now: time.Now}, Sealer: sealer, Now: time.Now,
		PublicURL: "https://id.example.com"}
	tn := &store.Tenant{ID: "t1", Slug: "acme", Name: "Acme"}
	if err := db.Tenants().CreateTenant(ctx, tn); err != nil {
		t.Fatal(err)
	}
	actor := events.Actor{Type: "apikey", ID: "k1"}
	const host = "login.acme.test"
	if _, err := svc.Create(ctx, actor, tn.ID, host); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	certPEM, keyPEM := selfSigned(t, now.Add(-time.Hour), now.Add(24*time.Hour), host)
	var verr *valid.Error
	if _, err := svc.PutCertificate(ctx, actor, tn.ID, host, certPEM, keyPEM); !errors.As(err, &verr) {
		t.Fatalf("upload for a pending domain: %v", err)
	}
	if _, err := db.Domains().Update(ctx, tn.ID, host, func(d *store.CustomDomain) error {
		d.Status, d.VerifiedAt = store.DomainVerified, now
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	otherCert, otherKey := selfSigned(t, now.Add(-time.Hour), now.Add(time.Hour), "other.acme.test")
	oldCert, oldKey := selfSigned(t, now.Add(-48*time.Hour), now.Add(-time.Hour), host)
	for name, pair := range map[string][2]string{
		"key of another certificate": {certPEM, otherKey},
		"another name":               {otherCert, otherKey},
		"expired":                    {oldCert, oldKey},
		"junk":                       {"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", keyPEM},
		"too large":                  {strings.Repeat("A", 70<<10), keyPEM},
	} {
		if _, err := svc.PutCertificate(ctx, actor, tn.ID, host, pair[0], pair[1]); !errors.As(err, &verr) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if d, _ := db.Domains().Get(ctx, tn.ID, host); d.CertPEM != "" {
		t.Fatal("a refused upload was stored")
	}
	if _, err := svc.PutCertificate(ctx, actor, tn.ID, host, certPEM, keyPEM); err != nil {
		t.Fatal(err)
	}
	d, _ := db.Domains().Get(ctx, tn.ID, host)
	if strings.Contains(string(d.KeySealed), "PRIVATE KEY") || d.CertNotAfter.IsZero() {
		t.Fatalf("stored %+v", d)
	}
	found := false
	if err := db.Audit().ScanAudit(ctx, tn.ID, func(e store.AuditEntry) error {
		found = found || e.Action == "custom_domain.certificate"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !found {
		t.Error("upload not audited")
	}

	// The TLS listener of GATEHOUSE_TLS=files serves it by SNI.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			tc := tls.Server(c, tlsserve.Files(svc.UploadedCertificate, nil))
			_ = tc.Handshake()
			tc.Close()
		}
	}()
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM([]byte(certPEM))
	conn, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: roots, ServerName: host})
	if err != nil {
		t.Fatalf("handshake for %s: %v", host, err)
	}
	conn.Close()
	if c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{InsecureSkipVerify: true, ServerName: "other.acme.test"}); err == nil {
		c.Close()
		t.Error("a handshake for an unknown name succeeded")
	}
}
