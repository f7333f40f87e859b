package server

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
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

// tlsListener wraps ln in the listener's own TLS when tls=files. With a
// client CA bundle it asks every client for a certificate without
// requiring or verifying one at the handshake: self-signed client
// certificates are legitimate (self_signed_tls_client_auth), and the
// OAuth endpoints judge what was presented. No CA names are sent, so
// clients offer the certificate they have.
func tlsListener(cfg config.Config, ln net.Listener) (net.Listener, error) {
	if cfg.TLS.Mode != config.TLSFiles {
		return ln, nil
	}
	cert, err := tls.LoadX509KeyPair(cfg.TLS.CertFile, cfg.TLS.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("tls: certificate and key files: %w", err)
	}
	tc := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12,
		NextProtos: []string{"h2", "http/1.1"}}
	if cfg.TLS.ClientCAFile != "" {
		tc.ClientAuth = tls.RequestClientCert
	}
	return tls.NewListener(ln, tc), nil
}
