package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/domain"
	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/safehttp"
	"github.com/gatehouse-id/gatehouse/internal/seal"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
	"github.com/gatehouse-id/gatehouse/internal/tlsserve"
)

// newDomains builds the custom domain service. GATEHOUSE_DEV_RESOLVE is
// refused unless the public URL is http on loopback: it points names at
// local listeners, which only a development deployment may verify
// against.
func newDomains(cfg config.Config, db store.Store, rec *events.Recorder, sealer *seal.Sealer, now func() time.Time) (*domain.Service, error) {
	d := &domain.Service{Store: db, Audit: rec, Sealer: sealer, Now: now, PublicURL: cfg.PublicURL,
		Policy: safehttp.Policy{AllowLoopback: strings.HasPrefix(cfg.PublicURL, "http://")}}
	if cfg.Domains.DevResolve != "" {
		if !cfg.DevResolveAllowed() {
			return nil, errDevResolve
		}
		m, err := domain.ParseResolve(cfg.Domains.DevResolve)
		if err != nil {
			return nil, err
		}
		d.Resolve = m
	}
	return d, nil
}

var errDevResolve = errors.New("dev_resolve (GATEHOUSE_DEV_RESOLVE) is refused unless public_url is http:// on a loopback address")

// tenantHosts resolves tenants by the /t/{tenant} prefix and by verified
// custom domain (httpx.ResolveTenants uses both).
type tenantHosts struct {
	tenants *tenancy.Service
	domains *domain.Service
}

func (t tenantHosts) ResolveSlug(ctx context.Context, slug string) (*store.Tenant, error) {
	return t.tenants.ResolveSlug(ctx, slug)
}

func (t tenantHosts) ResolveHost(ctx context.Context, host string) (*httpx.Site, error) {
	return t.domains.ResolveHost(ctx, host)
}

var _ httpx.HostResolver = tenantHosts{}

// domainToken serves a pending domain's verification token on that
// domain's Host, as an ACME HTTP-01 responder does: the body is the
// token. Any other Host or token is not found.
func (a *App) domainToken(w http.ResponseWriter, r *http.Request) {
	tok := r.PathValue("token")
	host := r.Host
	if i := strings.LastIndexByte(host, ':'); i > 0 && !strings.HasSuffix(host, "]") {
		host = host[:i]
	}
	if len(tok) > 100 || !a.Domains.PendingToken(r.Context(), host, tok) {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte(tok))
}

// listenTLS wraps ln in TLS as GATEHOUSE_TLS says: off serves plain HTTP
// behind a proxy; acme obtains certificates for the public host and, on
// demand, for verified custom domains only; files serves the certificates
// uploaded per custom domain and, for every other name, the certificate
// and key files. With a client CA bundle (GATEHOUSE_TLS_CLIENT_CA_FILE)
// the listener asks every client for a certificate without requiring or
// verifying one at the handshake: self-signed client certificates are
// legitimate (self_signed_tls_client_auth, RFC 8705) and the OAuth
// endpoints judge what was presented.
func (a *App) listenTLS(ctx context.Context, ln net.Listener) (net.Listener, error) {
	var tc *tls.Config
	switch a.Config.TLS.Mode {
	case "", config.TLSOff:
		return ln, nil
	case config.TLSACME:
		host := ""
		if u, err := url.Parse(a.Config.PublicURL); err == nil {
			host = strings.ToLower(u.Hostname())
		}
		st := &tlsserve.Storage{DB: a.DB.TLS(), Sealer: a.sealer, Now: a.now, LockTTL: 2 * time.Minute, Poll: time.Second}
		var err error
		tc, err = tlsserve.ACME(ctx, tlsserve.ACMEOptions{CA: a.Config.Domains.ACMECA, Email: a.Config.Domains.ACMEEmail,
			PublicHost: host, Allowed: a.Domains.MayIssue, Storage: st, ListenAddr: ln.Addr().String()})
		if err != nil {
			return nil, err
		}
	case config.TLSFiles:
		cert, err := tls.LoadX509KeyPair(a.Config.TLS.CertFile, a.Config.TLS.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("tls: certificate and key files: %w", err)
		}
		tc = tlsserve.Files(a.Domains.UploadedCertificate, func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return &cert, nil })
	default:
		return nil, errors.New("unknown TLS mode " + a.Config.TLS.Mode)
	}
	if a.Config.TLS.ClientCAFile != "" {
		tc.ClientAuth = tls.RequestClientCert
	}
	return tls.NewListener(ln, tc), nil
}
