package server

import (
	"crypto/x509"
	"fmt"
	"os"

	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/oidc"
)

// mtlsConfig is where the OpenID provider finds client certificates
// (RFC 8705): the TLS connection, or a trusted proxy's header; and the CA
// bundle that issues tls_client_auth certificates.
func mtlsConfig(cfg config.Config) (oidc.MTLSConfig, error) {
	m := oidc.MTLSConfig{TrustedProxies: cfg.TrustedProxyPrefixes(), CertHeader: cfg.MTLSCertHeader}
	if cfg.TLS.ClientCAFile == "" {
		return m, nil
	}
	pem, err := os.ReadFile(cfg.TLS.ClientCAFile)
	if err != nil {
		return m, fmt.Errorf("tls.client_ca_file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return m, fmt.Errorf("tls.client_ca_file %s: no PEM certificate in it", cfg.TLS.ClientCAFile)
	}
	m.ClientCAs = pool
	return m, nil
}
