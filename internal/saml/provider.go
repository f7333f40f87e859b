// Package saml is every tenant's SAML 2.0 identity provider, built on
// crewjam/saml: metadata, SP- and IdP-initiated single sign-on, and single
// logout, under /t/{tenant}/saml/. Logins go through the same flow engine
// and browser sessions as the OpenID provider, so one session serves both.
// Every message from a browser is bounded and screened (decode.go) before
// crewjam/saml parses it or checks its signature. Nothing here talks SQL.
package saml

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"time"

	crewjam "github.com/crewjam/saml"
	"github.com/crewjam/saml/xmlenc"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/keys"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
)

// requestTTL is how long a user has to log in for a pending request.
const requestTTL = 10 * time.Minute

// RolesFunc answers a user's active roles for the "roles" attribute source.
// The server wires it to internal/authz (as a client without
// application_only sees them); nil leaves the attribute empty.
type RolesFunc func(ctx context.Context, tenant store.TenantID, userID string) ([]string, error)

// Config builds an IdP.
type Config struct {
	Store     store.Store
	Tenants   *tenancy.Service
	Sessions  *session.Service
	Flow      *flow.Service
	Keys      *keys.Manager
	Log       *slog.Logger
	PublicURL string
	// MasterKey derives the secret of pairwise persistent NameIDs and
	// session indexes (so neither reveals an internal id).
	MasterKey []byte
	Now       func() time.Time
	// SessionCookie names the browser session cookie of a tenant slug.
	SessionCookie func(slug string) string
	Roles         RolesFunc
	// Meter, when set, counts assertions issued per tenant.
	Meter interface {
		Add(tenant store.TenantID, metric string, n int64)
	}
}

// IdP is the SAML identity provider of every tenant.
type IdP struct {
	cfg     Config
	certs   *certRing
	pairKey []byte
}

// New builds the identity provider.
func New(cfg Config) *IdP {
	mac := hmac.New(sha256.New, cfg.MasterKey)
	mac.Write([]byte("gatehouse-saml-pairwise"))
	return &IdP{
		cfg:     cfg,
		certs:   &certRing{store: cfg.Store, keys: cfg.Keys, now: cfg.Now, cache: map[store.TenantID]*tenantCerts{}},
		pairKey: mac.Sum(nil),
	}
}

// Mount registers every tenant's SAML endpoints.
func (p *IdP) Mount(mux *http.ServeMux) {
	mux.HandleFunc("GET /t/{tenant}/saml/metadata", p.tenant(p.metadata))
	mux.HandleFunc("GET /t/{tenant}/saml/sso", p.tenant(p.sso))
	mux.HandleFunc("POST /t/{tenant}/saml/sso", p.tenant(p.sso))
	mux.HandleFunc("GET /t/{tenant}/saml/continue", p.tenant(p.continueLogin))
	mux.HandleFunc("GET /t/{tenant}/saml/launch/{sp}", p.tenant(p.launch))
	mux.HandleFunc("GET /t/{tenant}/saml/slo", p.tenant(p.slo))
	mux.HandleFunc("POST /t/{tenant}/saml/slo", p.tenant(p.slo))
	mux.HandleFunc("GET /t/{tenant}/saml/logout", p.tenant(p.logoutForm))
	mux.HandleFunc("POST /t/{tenant}/saml/logout", p.tenant(p.logoutSubmit))
	mux.HandleFunc("GET /t/{tenant}/saml/logout/chain", p.tenant(p.logoutChain)) // chain.go
}

type handler func(w http.ResponseWriter, r *http.Request, t *store.Tenant)

// tenant takes the tenant the server resolved (httpx.ResolveTenants),
// answering 404 without one, bounds the body and sets the headers every
// SAML page carries.
func (p *IdP) tenant(fn handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		t, ok := httpx.Tenant(r)
		if !ok {
			http.NotFound(w, r)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		fn(w, r, t)
	}
}

// base is {public_url}/t/{slug}/saml, the prefix of every endpoint and the
// tenant's entity ID's parent; on the tenant's custom domain, that
// domain's /saml (httpx.TenantBase).
func (p *IdP) base(ctx context.Context, t *store.Tenant) string {
	return httpx.TenantBase(ctx, p.cfg.PublicURL, t.Slug) + "/saml"
}

// EntityID is the tenant's IdP entity ID under the public URL: its
// metadata URL.
func (p *IdP) EntityID(t *store.Tenant) string { return p.base(context.Background(), t) + "/metadata" }

func mustURL(s string) url.URL {
	u, _ := url.Parse(s) // built from the validated public URL and a slug
	return *u
}

// provider is crewjam's IdentityProvider for tenant t, with the tenant's
// signing key and certificates, its registered service providers and our
// sessions behind it. It is cheap: built per request, nothing cached but keys.
func (p *IdP) provider(ctx context.Context, t *store.Tenant) (*crewjam.IdentityProvider, error) {
	tc, err := p.certs.get(ctx, t)
	if err != nil {
		return nil, err
	}
	enc := xmlenc.OAEP()
	enc.BlockCipher = xmlenc.AES256GCM
	enc.DigestMethod = &xmlenc.SHA256
	base := p.base(ctx, t)
	sp := &sessions{p: p, t: t}
	idp := &crewjam.IdentityProvider{
		Key:                          tc.key,
		Certificate:                  tc.cert,
		ExtraCertificates:            tc.extra,
		Logger:                       logAdapter{p.cfg.Log},
		MetadataURL:                  mustURL(base + "/metadata"),
		SSOURL:                       mustURL(base + "/sso"),
		LogoutURL:                    mustURL(base + "/slo"),
		ServiceProviderProvider:      &serviceProviders{p: p, t: t},
		SessionProvider:              sp,
		ResponseWriter:               &responseWriter{p: p, t: t},
		SignatureMethod:              dsig.RSASHA256SignatureMethod,
		NameIDFormats:                []crewjam.NameIDFormat{crewjam.EmailAddressNameIDFormat, crewjam.PersistentNameIDFormat, crewjam.TransientNameIDFormat, crewjam.UnspecifiedNameIDFormat},
		AssertionEncrypter:           enc,
		RejectSHA1Signatures:         true,
		LogoutBindings:               []string{crewjam.HTTPRedirectBinding, crewjam.HTTPPostBinding},
		ReplayCache:                  &dbReplay{ctx: ctx, store: p.cfg.Store, tenant: t.ID, now: p.cfg.Now}, // replay.go
		HTTPClient:                   p.soapClient(),                                                        // backchannel.go
		AllowInsecureSOAPEndpoints:   !httpsURL(p.cfg.PublicURL),
		EnforceRequestedAuthnContext: true,
		ResponseFormTemplate:         logoutResponseForm,
		LogoutRequestFormTemplate:    logoutRequestForm,
		OnError: func(w http.ResponseWriter, r *http.Request, status int, err error) {
			p.cfg.Log.InfoContext(r.Context(), "saml: request refused", "tenant", t.Slug, "status", status, "err", err,
				"request_id", httpx.RequestID(r.Context()))
			p.errorPage(w, r, status, "saml.request_refused")
		},
	}
	return idp, nil
}

// metadata serves the tenant's IdP metadata: the active signing
// certificate and, during a rotation, the next and the retiring ones.
func (p *IdP) metadata(w http.ResponseWriter, r *http.Request, t *store.Tenant) {
	idp, err := p.provider(r.Context(), t)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=300")
	idp.ServeMetadata(w, r)
}

// fail logs an internal error and shows the generic error page.
func (p *IdP) fail(w http.ResponseWriter, r *http.Request, err error) {
	p.cfg.Log.ErrorContext(r.Context(), "saml: internal error", "err", err, "request_id", httpx.RequestID(r.Context()))
	p.errorPage(w, r, http.StatusInternalServerError, "error.generic")
}

// pairwise is a stable value for (tenant, service provider, subject) that
// no other provider can link: HMAC with a key derived from the master key.
func (p *IdP) pairwise(t *store.Tenant, entityID, subject string) string {
	mac := hmac.New(sha256.New, p.pairKey)
	for _, s := range []string{string(t.ID), entityID, subject} {
		mac.Write([]byte(s))
		mac.Write([]byte{0})
	}
	return hex.EncodeToString(mac.Sum(nil))
}

// sessionIndex names a browser session to service providers without
// revealing its id.
func (p *IdP) sessionIndex(t *store.Tenant, sessionID string) string {
	return "gh-" + p.pairwise(t, "session-index", sessionID)[:32]
}

// serviceProviders looks registered providers up for crewjam by entity ID
// and describes them as metadata.
type serviceProviders struct {
	p *IdP
	t *store.Tenant
}

func (s *serviceProviders) GetServiceProvider(r *http.Request, entityID string) (*crewjam.EntityDescriptor, error) {
	if entityID == "" || len(entityID) > 1024 {
		return nil, os.ErrNotExist
	}
	sp, err := s.p.cfg.Store.SAML().ServiceProviders().GetSPByEntityID(r.Context(), s.t.ID, entityID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, os.ErrNotExist
	}
	if err != nil {
		return nil, err
	}
	return describe(sp)
}

// logAdapter sends crewjam's log lines to slog at debug level: they can
// quote a refused message, which is the browser's input.
type logAdapter struct{ l *slog.Logger }

func (a logAdapter) Printf(format string, v ...any) {
	a.l.Debug("saml: library", "msg", fmt.Sprintf(format, v...))
}
func (a logAdapter) Print(v ...any)   { a.l.Debug("saml: library", "msg", fmt.Sprint(v...)) }
func (a logAdapter) Println(v ...any) { a.l.Debug("saml: library", "msg", fmt.Sprint(v...)) }
func (a logAdapter) Fatal(v ...any)   { a.l.Error("saml: library", "msg", fmt.Sprint(v...)) }
func (a logAdapter) Fatalf(format string, v ...any) {
	a.l.Error("saml: library", "msg", fmt.Sprintf(format, v...))
}
func (a logAdapter) Fatalln(v ...any) { a.l.Error("saml: library", "msg", fmt.Sprint(v...)) }
func (a logAdapter) Panic(v ...any)   { a.l.Error("saml: library", "msg", fmt.Sprint(v...)) }
func (a logAdapter) Panicf(format string, v ...any) {
	a.l.Error("saml: library", "msg", fmt.Sprintf(format, v...))
}
func (a logAdapter) Panicln(v ...any) { a.l.Error("saml: library", "msg", fmt.Sprint(v...)) }
