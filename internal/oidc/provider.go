// Package oidc is each tenant's OAuth 2 / OpenID Connect provider, built on
// zitadel/oidc's op package. One provider serves every tenant: the tenant
// comes from the /t/{tenant} path, and with it the issuer, keys and
// clients. Nothing here talks SQL; it goes through internal/store.
package oidc

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/hooks"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/i18n"
	"github.com/gatehouse-id/gatehouse/internal/keys"
	"github.com/gatehouse-id/gatehouse/internal/oauthclient"
	"github.com/gatehouse-id/gatehouse/internal/replay"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
)

// maxProtocolBody bounds the body of any provider request.
const maxProtocolBody = 64 << 10

// Config builds a Provider.
type Config struct {
	Store     store.Store
	Tenants   *tenancy.Service
	Sessions  *session.Service
	Flow      *flow.Service
	Keys      *keys.Manager
	Log       *slog.Logger
	PublicURL string
	// MasterKey seeds the library's internal encryption key (it encrypts
	// nothing we hand out: codes and tokens are ours).
	MasterKey []byte
	Now       func() time.Time
	// SessionCookie names the browser session cookie of a tenant slug.
	SessionCookie func(slug string) string
	// Authz adds role and permission claims and notes break-glass use;
	// nil leaves tokens without them.
	Authz Authorizer
	// Meter counts tokens by grant and the users they are issued for as
	// active this month; nil meters nothing.
	Meter *tenancy.Meter
	// Hooks runs the tenant's pre_token hook (hooks.go); nil runs none.
	Hooks *hooks.Service
	// DPoPWindow is how far a DPoP proof's iat may be from now, either
	// way (dpop.go); 0 means 60 s.
	DPoPWindow time.Duration
	// DPoPReplays remembers the DPoP proofs' jtis (dpop.go): it must be
	// shared by every node (Redis, or the database with a memory front);
	// nil keeps them in this process's memory, right for one node.
	DPoPReplays store.ReplayCache
	// Upstream verifies token exchange subject JWTs of upstream issuers
	// (exchange.go); nil accepts none. Audit records exchanges and
	// registrations; Clients registers clients (register.go).
	Upstream UpstreamVerifier
	Audit    *events.Recorder
	Clients  *oauthclient.Service
	// MTLS: where client certificates come from, which CAs issue them
	// (mtls.go).
	MTLS MTLSConfig
	// LogoutChain takes RP-initiated logout through the session's SAML
	// service providers (logoutchain.go); nil skips them.
	LogoutChain LogoutChain
	// CIBAMail mails CIBA approval links (ciba.go); nil mails none, and
	// then no backchannel request can be approved.
	CIBAMail *CIBAMailer
}

// Provider is the OpenID provider of every tenant.
type Provider struct {
	store     store.Store
	tenants   *tenancy.Service
	sessions  *session.Service
	flow      *flow.Service
	keys      *keyRing
	log       *slog.Logger
	publicURL string
	now       func() time.Time
	meter     *tenancy.Meter
	cookie    func(slug string) string
	storage   *storage
	handler   http.Handler
	// srv authenticates clients at the endpoints route serves (par.go).
	srv *server

	// authz is Config.Authz.
	authz Authorizer
	// hooks is Config.Hooks.
	hooks *hooks.Service
	// dpopWindow is Config.DPoPWindow; dpopNonceKey keys the stateless
	// DPoP nonces (dpop.go).
	dpopWindow   time.Duration
	dpopNonceKey []byte
	// dpopReplays is Config.DPoPReplays; proofKeys the checked proof
	// headers (dpopproof.go).
	dpopReplays store.ReplayCache
	proofKeys   proofKeys
	// dpopSince, when set, is when dpopReplays began to remember: a
	// memory of this process only, empty after a restart, so a proof made
	// before it may have been used already (dpop.go).
	dpopSince time.Time
	// upstream, audit and clients are Config's (exchange.go, register.go).
	upstream UpstreamVerifier
	audit    *events.Recorder
	clients  *oauthclient.Service
	// cimd fetches client ID metadata documents (cimd.go).
	cimd *cimdFetcher
	// mtls is Config.MTLS.
	mtls MTLSConfig
	// logoutChain is Config.LogoutChain.
	logoutChain LogoutChain
	// requestKeySeed derives the tenants' request-object keys (jar.go).
	requestKeySeed []byte
	// ciba and cibaMailer serve CIBA (ciba.go).
	ciba       *cibaKeys
	cibaMailer *CIBAMailer
	// verified remembers verified access tokens (verifymemo.go).
	verified *verifiedTokens
}

// New builds the provider.
func New(cfg Config) (*Provider, error) {
	p := &Provider{
		meter: cfg.Meter,
		store: cfg.Store, tenants: cfg.Tenants, sessions: cfg.Sessions, flow: cfg.Flow, log: cfg.Log,
		publicURL: strings.TrimRight(cfg.PublicURL, "/"), cookie: cfg.SessionCookie, authz: cfg.Authz,
		hooks: cfg.Hooks,
		now:   func() time.Time { return cfg.Now().UTC().Truncate(time.Microsecond) },
	}
	p.keys = newKeyRing(cfg.Store, cfg.Keys, cfg.Now)
	p.verified = newVerifiedTokens(cfg.Store, verifiedMax)
	p.dpopWindow = cfg.DPoPWindow
	p.mtls = cfg.MTLS
	p.logoutChain = cfg.LogoutChain
	if p.dpopWindow <= 0 {
		p.dpopWindow = defaultDPoPWindow
	}
	p.dpopReplays = cfg.DPoPReplays
	if p.dpopReplays == nil {
		p.dpopReplays = &replay.Memory{}
	}
	if _, local := p.dpopReplays.(*replay.Memory); local {
		p.dpopSince = p.now().Truncate(time.Second)
	}
	nk := sha256.Sum256(append([]byte("gatehouse-dpop-nonce\x00"), cfg.MasterKey...))
	p.dpopNonceKey = nk[:]
	p.storage = &storage{p: p}
	p.upstream, p.audit, p.clients = cfg.Upstream, cfg.Audit, cfg.Clients     // exchange.go, register.go
	p.cimd = newCIMDFetcher(strings.HasPrefix(p.publicURL, "http://"), p.now) // cimd.go
	ck, err := newCIBAKeys(cfg.MasterKey)
	if err != nil {
		return nil, fmt.Errorf("oidc: %w", err)
	}
	p.ciba, p.cibaMailer = ck, cfg.CIBAMail
	rk := sha256.Sum256(append([]byte("gatehouse-request-object\x00"), cfg.MasterKey...))
	p.requestKeySeed = rk[:]
	opCfg := &op.Config{
		CryptoKey:      sha256.Sum256(append([]byte("gatehouse-op-crypto\x00"), cfg.MasterKey...)),
		CodeMethodS256: true,
		AuthMethodPost: true,
		// private_key_jwt: server.VerifyClient (clientauth.go) checks it.
		AuthMethodPrivateKeyJWT: true,
		GrantTypeRefreshToken:   true,
		SupportedScopes:         standardScopes,
		// The hosted pages' languages (internal/i18n); ui_locales picks
		// among them, then Accept-Language, then the tenant's default.
		SupportedUILocales:         i18n.Tags(),
		BackChannelLogoutSupported: false,
		// RFC 8628; server.DeviceAuthorization (device.go) answers with these.
		DeviceAuthorization: op.DeviceAuthorizationConfig{
			Lifetime: deviceLifetime, PollInterval: devicePollInterval, UserCode: deviceUserCode,
		},
	}
	insecure := strings.HasPrefix(p.publicURL, "http://")
	opts := []op.Option{
		op.WithAccessTokenVerifierOpts(op.WithSupportedAccessTokenSigningAlgorithms("RS256", "ES256", "EdDSA")),
		op.WithIDTokenHintVerifierOpts(op.WithSupportedIDTokenHintSigningAlgorithms("RS256", "ES256", "EdDSA")),
		op.WithLogger(cfg.Log),
	}
	if insecure {
		opts = append(opts, op.WithAllowInsecure())
	}
	prov, err := op.NewProvider(opCfg, p.storage, func(bool) (op.IssuerFromRequest, error) {
		return func(r *http.Request) string { return p.issuer(r.Context()) }, nil
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("oidc: %w", err)
	}
	srv := &server{LegacyServer: op.NewLegacyServer(prov, *op.DefaultEndpoints), p: p}
	p.srv = srv
	p.handler = withDPoPJKT(op.RegisterLegacyServer(srv, p.callback, op.WithServerCORSOptions(nil))) // dpopjkt.go
	return p, nil
}

// issuer is {public_url}/t/{slug} of the request's tenant, or the
// tenant's custom domain's origin when the request came in on it
// (httpx.TenantBase): tokens carry the issuer they were requested on.
func (p *Provider) issuer(ctx context.Context) string {
	t := tenantFrom(ctx)
	if t == nil {
		return p.publicURL
	}
	return httpx.TenantBase(ctx, p.publicURL, t.Slug)
}

// Mount serves every tenant's provider under /t/{tenant}/. Each endpoint
// is its own pattern, so metrics and the access log name it
// (/t/{tenant}/oauth/token, never a tenant's slug); the catch-all serves
// what is left under the prefix (the op router's 404s and probes).
func (p *Provider) Mount(mux *http.ServeMux) {
	for _, path := range p.Routes() {
		mux.Handle("/t/{tenant}"+path, p)
	}
	mux.Handle("/t/{tenant}/", p)
}

// Routes are the paths, relative to the issuer, of the provider's
// endpoints: the op router's and those this package adds (par.go).
func (p *Provider) Routes() []string {
	e := p.srv.Endpoints()
	routes := []string{oidc.DiscoveryEndpoint, parPath, e.Authorization.Relative() + "/callback", cibaPath,
		registerPath, registerPath + "/{client_id}"} // register.go
	for _, ep := range []*op.Endpoint{e.Authorization, e.DeviceAuthorization, e.Token, e.Introspection,
		e.Userinfo, e.Revocation, e.EndSession, e.JwksURI} {
		if ep != nil {
			routes = append(routes, ep.Relative())
		}
	}
	return routes
}

// ServeHTTP takes the tenant the server resolved (httpx.ResolveTenants),
// answering 404 without one, then hands the request, with the
// /t/{tenant} prefix removed, to the op router.
func (p *Provider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	t, ok := httpx.Tenant(r)
	if !ok {
		http.NotFound(w, r)
		return
	}
	slug := t.Slug
	ctx := withSource(withTenant(r.Context(), t), r) // pending.go
	ctx = p.withClientCert(ctx, r)                   // mtls.go
	if c, err := r.Cookie(p.cookie(t.Slug)); err == nil {
		ctx = withSessionToken(ctx, c.Value)
	}
	// Every provider request is small; the library would read up to 10 MB.
	r.Body = http.MaxBytesReader(w, r.Body, maxProtocolBody)
	prefix := "/t/" + slug
	r2 := r.WithContext(ctx)
	r2.URL = cloneURL(r.URL)
	r2.URL.Path = strings.TrimPrefix(r.URL.Path, prefix)
	r2.URL.RawPath = ""
	switch r2.URL.Path {
	case "/.well-known/openid-configuration", "/keys":
		// Safe to cache briefly: a next key is published long before it signs.
		w.Header().Set("Cache-Control", "public, max-age=300")
	case "/oauth/token", "/oauth/introspect", "/userinfo", "/device_authorization", "/revoke", cibaPath:
		// Responses carrying tokens or token data are never cached (RFC 6749 5.1).
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Pragma", "no-cache")
	}
	ctx, busy := withBusyFlag(ctx) // busy.go
	r2 = r2.WithContext(ctx)
	w = &protocolWriter{ResponseWriter: w, path: r2.URL.Path, issuer: p.issuer(ctx), busy: busy}
	if p.cors(w, r2) || refuseURLCredentials(w, r2) {
		return
	}
	if r2.URL.Path == "/authorize" && p.pendingOver(w, r2) { // pending.go
		return
	}
	switch r2.URL.Path { // DPoP proofs: dpop.go
	case "/oauth/token":
		dctx, done := p.tokenDPoP(w, r2)
		if done {
			return
		}
		r2 = r2.WithContext(dctx)
	case "/oauth/introspect":
		if p.introspectTLS(w, r2) { // mtls.go
			return
		}
	case "/userinfo":
		r2 = r2.WithContext(withVerifyMemo(r2.Context()))   // the token's signature is checked once
		if p.userinfoMTLS(w, r2) || p.userinfoDPoP(w, r2) { // mtls.go
			return
		}
	}
	if p.routeRegistration(w, r2) { // register.go
		return
	}
	if p.route(w, r2) { // PAR, authorize by request_uri, device sign-in: par.go
		return
	}
	p.handler.ServeHTTP(w, r2)
}

func cloneURL(u *url.URL) *url.URL {
	c := *u
	return &c
}

// callback finishes an authorization request whose login is done: it
// checks the browser is the one that logged in, issues a single-use code
// valid for 60 s and returns to the client with code, state and iss.
func (p *Provider) callback(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	t := tenantFrom(ctx)
	id := r.FormValue("id")
	sess, err := p.sessions.Lookup(ctx, t.ID, sessionTokenFrom(ctx))
	if err != nil {
		p.errorPage(w, r, http.StatusBadRequest, "error.other_browser")
		return
	}
	// Take spends the flow's request once every step (consent included)
	// has passed, and only for the browser that signed in.
	login, err := p.flow.Take(ctx, t.ID, id, sess.ID)
	if err != nil {
		// Signed in by this browser but a step after the session still
		// waits: back to the login page, which shows that step (consent,
		// passkey offer), never past it.
		if pending, lerr := p.flow.Load(ctx, t.ID, id); lerr == nil && pending.Origin == flow.OriginOIDC &&
			pending.SessionID != "" && pending.SessionID == sess.ID {
			http.Redirect(w, r, "/t/"+t.Slug+"/login?id="+url.QueryEscape(pending.ID), http.StatusSeeOther)
			return
		}
	}
	if err != nil || login.Origin != flow.OriginOIDC {
		p.errorPage(w, r, http.StatusBadRequest, "error.request_invalid")
		return
	}
	code, err := randomToken(codePrefix)
	if err != nil {
		p.errorPage(w, r, http.StatusInternalServerError, "error.generic")
		return
	}
	ar, err := p.store.OAuth().AuthRequests().UpdateAuthRequest(ctx, t.ID, login.Return, func(x *store.AuthRequest) error {
		if x.CodeHash != nil || x.Done {
			return store.ErrConflict
		}
		x.UserID, x.SessionID, x.AuthTime, x.AMR, x.Done = login.UserID, login.SessionID, login.AuthTime, login.AMR, true
		x.CodeHash = sha(code)
		x.ExpiresAt = p.now().Add(60 * time.Second)
		return nil
	})
	if err != nil {
		p.errorPage(w, r, http.StatusBadRequest, "error.request_invalid")
		return
	}
	params := url.Values{"code": {code}, "iss": {p.issuer(ctx)}}
	if ar.State != "" {
		params.Set("state", ar.State)
	}
	p.respond(w, r, ar, params)
}

// Redirect answers the client: a query redirect, or a self-submitting form
// for response_mode=form_post. Only the registered redirect URI stored on
// the request is ever used.
func (p *Provider) respond(w http.ResponseWriter, r *http.Request, ar *store.AuthRequest, params url.Values) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	if ar.ResponseMode == string(oidc.ResponseModeFormPost) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "default-src 'none'; script-src 'sha256-"+formPostScriptHash+"'; form-action "+formAction(ar.RedirectURI)+"; frame-ancestors 'none'")
		_ = formPostTmpl.Execute(w, struct {
			Action string
			Params url.Values
		}{ar.RedirectURI, params})
		return
	}
	u, err := url.Parse(ar.RedirectURI)
	if err != nil {
		p.errorPage(w, r, http.StatusBadRequest, "error.bad_redirect")
		return
	}
	q := u.Query()
	for k, v := range params {
		q[k] = v
	}
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

// Deny returns an OAuth error to the client of the login's authorization
// request (e.g. login_required for prompt=none), to its registered
// redirect URI only, and ends both requests.
func (p *Provider) Deny(w http.ResponseWriter, r *http.Request, t *store.Tenant, login *store.LoginRequest, code, description string) {
	ctx := withTenant(r.Context(), t)
	p.flow.Drop(ctx, t.ID, login.ID)
	ar, err := p.store.OAuth().AuthRequests().GetAuthRequest(ctx, t.ID, login.Return)
	if err != nil {
		p.errorPage(w, r, http.StatusBadRequest, "error.request_invalid")
		return
	}
	params := url.Values{"error": {code}, "iss": {p.issuer(ctx)}}
	if description != "" {
		params.Set("error_description", description)
	}
	if ar.State != "" {
		params.Set("state", ar.State)
	}
	_ = p.store.OAuth().AuthRequests().DeleteAuthRequest(ctx, t.ID, ar.ID)
	p.respond(w, r, ar, params)
}

// Return is where the hosted pages send the browser when the login is
// done: the callback, which issues the code.
func (p *Provider) Return(t *store.Tenant, login *store.LoginRequest) string {
	return "/t/" + t.Slug + "/authorize/callback?id=" + url.QueryEscape(login.ID)
}

func formAction(redirect string) string {
	u, err := url.Parse(redirect)
	if err != nil {
		return "'none'"
	}
	return u.Scheme + "://" + u.Host
}

// endBrowserSession ends the session behind the cookie, if any.
func (p *Provider) endBrowserSession(ctx context.Context, tenant store.TenantID, token string) error {
	sess, err := p.sessions.Lookup(ctx, tenant, token)
	if errors.Is(err, session.ErrNoSession) {
		return nil
	}
	if err != nil {
		return err
	}
	return p.sessions.End(ctx, tenant, sess.ID)
}

// loggedOutURL is where logout without a post_logout_redirect_uri lands.
func (p *Provider) loggedOutURL(ctx context.Context) string {
	return p.issuer(ctx) + "/logged-out"
}

const formPostScript = `document.forms[0].submit()`

// formPostScriptHash is the CSP hash of formPostScript (base64 SHA-256).
var formPostScriptHash = scriptHash(formPostScript)

var formPostTmpl = template.Must(template.New("f").Parse(`<!doctype html><html lang="en"><meta charset="utf-8"><title>Continue</title>` +
	`<form method="post" action="{{.Action}}">{{range $k, $vs := .Params}}{{range $vs}}<input type="hidden" name="{{$k}}" value="{{.}}">{{end}}{{end}}` +
	`<noscript><button type="submit">Continue</button></noscript></form><script>` + formPostScript + `</script></html>`))
