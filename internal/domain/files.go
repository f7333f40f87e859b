package domain

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"sync"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// maxPEM bounds an uploaded certificate chain or key.
const maxPEM = 64 << 10

// certAAD binds a sealed private key to its host: a sealed key copied to
// another domain's row does not open.
func certAAD(host string) []byte { return []byte("custom_domain_key:" + host) }

// PutCertificate stores an uploaded certificate chain and private key
// (PEM) for a tenant's verified domain, for GATEHOUSE_TLS=files. The pair
// must match, the leaf must name the host and be valid now; the key is
// sealed with the master key. Errors: store.ErrNotFound, *valid.Error.
func (s *Service) PutCertificate(ctx context.Context, actor events.Actor, tenant store.TenantID, host, certPEM, keyPEM string) (*store.CustomDomain, error) {
	d, err := s.Get(ctx, tenant, host)
	if err != nil {
		return nil, err
	}
	if d.Status != store.DomainVerified {
		return nil, valid.Field("host", "unverified", "verify the domain before uploading its certificate.")
	}
	leaf, err := checkPair(d.Host, certPEM, keyPEM, s.Now())
	if err != nil {
		return nil, err
	}
	sealed, err := s.Sealer.Seal([]byte(keyPEM), certAAD(d.Host))
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(leaf.Raw)
	var out *store.CustomDomain
	err = s.Store.InTx(ctx, func(tx store.Repos) error {
		var before map[string]any
		out, err = tx.Domains().Update(ctx, tenant, d.Host, func(n *store.CustomDomain) error {
			before = certFields(n)
			n.CertPEM, n.KeySealed, n.CertNotAfter = certPEM, sealed, leaf.NotAfter
			return nil
		})
		if err != nil {
			return err
		}
		after := certFields(out)
		after["sha256"] = hex.EncodeToString(sum[:])
		return s.Audit.Record(ctx, tx, actor, events.Entry{Tenant: tenant, Action: "custom_domain.certificate",
			TargetType: "custom_domain", TargetID: d.Host, Changes: events.Diff(before, after)})
	})
	if err != nil {
		return nil, err
	}
	s.forget(d.Host)
	return out, nil
}

func certFields(d *store.CustomDomain) map[string]any {
	m := map[string]any{"host": d.Host, "certificate": d.CertPEM != ""}
	if !d.CertNotAfter.IsZero() {
		m["not_after"] = d.CertNotAfter.UTC().Format(time.RFC3339)
	}
	return m
}

// checkPair parses and checks an uploaded pair, answering the leaf.
func checkPair(host, certPEM, keyPEM string, now time.Time) (*x509.Certificate, error) {
	bad := func(field, msg string) (*x509.Certificate, error) { return nil, valid.Field(field, "invalid", msg) }
	if len(certPEM) > maxPEM || len(keyPEM) > maxPEM {
		return bad("certificate", "certificate and key are limited to 64 KiB each.")
	}
	pair, err := tls.X509KeyPair([]byte(certPEM), []byte(keyPEM))
	if err != nil {
		return bad("certificate", "certificate and private_key are not a matching PEM certificate chain and key.")
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return bad("certificate", "the certificate does not parse.")
	}
	if err := leaf.VerifyHostname(host); err != nil {
		return bad("certificate", "the certificate does not name the domain.")
	}
	if now.Before(leaf.NotBefore) || !now.Before(leaf.NotAfter) {
		return bad("certificate", "the certificate is not valid now.")
	}
	return leaf, nil
}

// certTTL is how long a node keeps an opened certificate before reading
// it again (an upload on another node is served within this long).
const certTTL = time.Minute

type certCache struct {
	mu sync.Mutex
	m  map[string]certEntry
}

type certEntry struct {
	cert    *tls.Certificate
	expires time.Time
}

func (c *certCache) forget(host string) {
	c.mu.Lock()
	delete(c.m, host)
	c.mu.Unlock()
}

// ErrNoCertificate: the name is no verified domain with an uploaded
// certificate.
var ErrNoCertificate = errors.New("domain: no certificate for this name")

// UploadedCertificate answers the uploaded certificate of the verified
// domain named by a TLS handshake's SNI, for GATEHOUSE_TLS=files.
func (s *Service) UploadedCertificate(ctx context.Context, name string) (*tls.Certificate, error) {
	h, err := s.hostOf(name)
	if err != nil {
		return nil, ErrNoCertificate
	}
	now := s.Now()
	s.certs.mu.Lock()
	e, ok := s.certs.m[h]
	s.certs.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.cert, nil
	}
	d, err := s.Store.Domains().ByHost(ctx, h)
	if errors.Is(err, store.ErrNotFound) || err == nil && (d.Status != store.DomainVerified || d.CertPEM == "") {
		return nil, ErrNoCertificate
	}
	if err != nil {
		return nil, err
	}
	key, err := s.Sealer.Open(d.KeySealed, certAAD(d.Host))
	if err != nil {
		return nil, err
	}
	pair, err := tls.X509KeyPair([]byte(d.CertPEM), key)
	if err != nil {
		return nil, err
	}
	s.certs.mu.Lock()
	if s.certs.m == nil || len(s.certs.m) >= hostCacheMax {
		s.certs.m = map[string]certEntry{}
	}
	s.certs.m[h] = certEntry{cert: &pair, expires: now.Add(certTTL)}
	s.certs.mu.Unlock()
	return &pair, nil
}

// MayIssue says whether the ACME client may obtain a certificate for name
// on demand: only for a verified domain (certmagic's DecisionFunc).
func (s *Service) MayIssue(ctx context.Context, name string) error {
	h, err := s.hostOf(name)
	if err != nil {
		return ErrNoCertificate
	}
	d, err := s.Store.Domains().ByHost(ctx, h)
	if err != nil || d.Status != store.DomainVerified {
		return ErrNoCertificate
	}
	return nil
}
