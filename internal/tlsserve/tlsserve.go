package tlsserve

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"

	"github.com/caddyserver/certmagic"
	"go.uber.org/zap"
)

// ACMEOptions configures GATEHOUSE_TLS=acme.
type ACMEOptions struct {
	// CA is the ACME directory URL (empty: Let's Encrypt's production
	// directory); Email the account's contact.
	CA, Email string
	// TrustedRoots verify the CA's own HTTPS certificate (nil: the
	// system's roots); a test CA needs its root here.
	TrustedRoots *x509.CertPool
	// PublicHost is the deployment's own host name, always allowed and
	// obtained at start; an IP address or localhost is skipped.
	PublicHost string
	// Allowed decides on-demand issuance for any other name: only a
	// verified custom domain (domain.Service.MayIssue).
	Allowed func(ctx context.Context, name string) error
	Storage certmagic.Storage
	// ListenAddr is the TLS listener's address: the TLS-ALPN-01 challenge
	// is answered on it (the HTTP-01 challenge is not used, so no port 80
	// listener is needed).
	ListenAddr string
	Logger     *zap.Logger
}

// ACME answers the TLS configuration of GATEHOUSE_TLS=acme: certificates
// obtained on demand, at the first handshake naming an allowed host, and
// renewed by certmagic's maintenance until ctx ends.
func ACME(ctx context.Context, o ACMEOptions) (*tls.Config, error) {
	if o.Allowed == nil || o.Storage == nil {
		return nil, errors.New("tlsserve: ACME needs Allowed and Storage")
	}
	host, portStr, err := net.SplitHostPort(o.ListenAddr)
	if err != nil {
		return nil, fmt.Errorf("tlsserve: listen address: %w", err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("tlsserve: listen port: %w", err)
	}
	logger := o.Logger
	if logger == nil {
		logger = zap.NewNop()
	}
	var cfg *certmagic.Config
	cache := certmagic.NewCache(certmagic.CacheOptions{
		GetConfigForCert: func(certmagic.Certificate) (*certmagic.Config, error) { return cfg, nil },
		Logger:           logger,
	})
	go func() { <-ctx.Done(); cache.Stop() }()
	cfg = certmagic.New(cache, certmagic.Config{
		Storage: o.Storage,
		Logger:  logger,
		OnDemand: &certmagic.OnDemandConfig{DecisionFunc: func(ctx context.Context, name string) error {
			if name == o.PublicHost {
				return nil
			}
			return o.Allowed(ctx, name)
		}},
	})
	issuer := certmagic.NewACMEIssuer(cfg, certmagic.ACMEIssuer{
		CA: o.CA, Email: o.Email, Agreed: true, TrustedRoots: o.TrustedRoots,
		DisableHTTPChallenge: true,
		// The challenge listener is ours: certmagic finds the port taken
		// and answers through the TLS configuration below.
		ListenHost: host, AltTLSALPNPort: port,
		Logger: logger,
	})
	cfg.Issuers = []certmagic.Issuer{issuer}
	if publicNeedsCert(o.PublicHost) {
		if err := cfg.ManageAsync(ctx, []string{o.PublicHost}); err != nil {
			return nil, err
		}
	}
	tc := cfg.TLSConfig()
	tc.NextProtos = append([]string{"h2", "http/1.1"}, tc.NextProtos...)
	tc.MinVersion = tls.VersionTLS12
	return tc, nil
}

// publicNeedsCert: an IP address or localhost gets no public certificate.
func publicNeedsCert(h string) bool {
	if h == "" || h == "localhost" {
		return false
	}
	_, err := netip.ParseAddr(h)
	return err != nil
}

// Files answers the TLS configuration of GATEHOUSE_TLS=files: the
// certificate uploaded for the name a handshake asks for, else what
// fallback answers (the deployment's own certificate files), else an
// error that ends the handshake.
func Files(uploaded func(ctx context.Context, name string) (*tls.Certificate, error),
	fallback func(*tls.ClientHelloInfo) (*tls.Certificate, error)) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: []string{"h2", "http/1.1"},
		GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
			if c, err := uploaded(hello.Context(), hello.ServerName); err == nil {
				return c, nil
			}
			if fallback != nil {
				return fallback(hello)
			}
			return nil, fmt.Errorf("no certificate for %q", hello.ServerName)
		},
	}
}
