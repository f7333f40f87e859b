package tenancy

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// MTLS is the tenant's mutual-TLS policy (RFC 8705, docs/mtls.md).
type MTLS struct {
	// ClientCAPEM is a PEM bundle of the CA certificates that issue the
	// certificates of the tenant's tls_client_auth clients, besides the
	// deployment's bundle (GATEHOUSE_TLS_CLIENT_CA_FILE).
	ClientCAPEM string `json:"client_ca_pem,omitempty"`
}

// Bounds of a tenant's CA bundle.
const (
	maxCABundle = 64 << 10
	maxCAs      = 20
)

// parseCAs reads a PEM bundle of CA certificates: only CERTIFICATE
// blocks, each a CA, 1 to maxCAs of them.
func parseCAs(bundle string) ([]*x509.Certificate, error) {
	if len(bundle) > maxCABundle {
		return nil, fmt.Errorf("at most %d bytes", maxCABundle)
	}
	var out []*x509.Certificate
	rest := []byte(bundle)
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("only CERTIFICATE blocks, not %s", b.Type)
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil || !c.IsCA {
			return nil, fmt.Errorf("certificate %d is not a CA certificate", len(out)+1)
		}
		out = append(out, c)
	}
	if len(out) == 0 || len(out) > maxCAs {
		return nil, fmt.Errorf("1 to %d PEM CA certificates", maxCAs)
	}
	return out, nil
}

func (m MTLS) check(c *valid.Collector, field string) {
	if m.ClientCAPEM == "" {
		return
	}
	if _, err := parseCAs(m.ClientCAPEM); err != nil {
		c.Add(field+".client_ca_pem", "invalid", "A PEM bundle of CA certificates: "+err.Error()+".")
	}
}

// ClientCAsOf answers the tenant's own CA pool for tls_client_auth, nil
// when it has none (or its settings cannot be read: no tenant CA then).
func ClientCAsOf(t *store.Tenant) *x509.CertPool {
	if t == nil {
		return nil
	}
	set, err := ParseSettings(t.Settings)
	if err != nil || set.MTLS.ClientCAPEM == "" {
		return nil
	}
	cas, err := parseCAs(set.MTLS.ClientCAPEM)
	if err != nil {
		return nil
	}
	pool := x509.NewCertPool()
	for _, c := range cas {
		pool.AddCert(c)
	}
	return pool
}
