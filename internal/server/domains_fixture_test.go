package server

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// domainFixture registers a verified custom domain of tenant for the
// authorization matrix and answers its host.
func (ta *testApp) domainFixture(tn store.TenantID, n int) string {
	ta.t.Helper()
	ctx := context.Background()
	d, err := ta.Domains.Create(ctx, testActor, tn, fmt.Sprintf("login%d.matrix.test", n))
	if err != nil {
		ta.t.Fatal(err)
	}
	if _, err := ta.DB.Domains().Update(ctx, tn, d.Host, func(d *store.CustomDomain) error {
		d.Status, d.VerifiedAt = store.DomainVerified, time.Now()
		return nil
	}); err != nil {
		ta.t.Fatal(err)
	}
	return d.Host
}

// certificateBody is a PUT .../certificate body: a fresh self-signed
// certificate for host and its key.
func certificateBody(host string) map[string]string {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(now.UnixNano()), Subject: pkix.Name{CommonName: host},
		DNSNames: []string{host}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		panic(err)
	}
	return map[string]string{
		"certificate": string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		"private_key": string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})),
	}
}
