package console

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/i18n"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// The console signs its users in as any relying party would: the
// authorization code flow with PKCE against the tenant's own issuer, as
// the tenant's first-party client "Gatehouse console". The requests the
// console itself makes (discovery, token, keys) are served in process
// through loopback, so the public URL need not be reachable from the
// server.

// loopbackTransport answers HTTP requests by serving them in process.
type loopbackTransport struct{ h http.Handler }

func (t loopbackTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	r = r.Clone(r.Context())
	r.RequestURI = r.URL.RequestURI()
	r.RemoteAddr = "127.0.0.1:0"
	if r.Body == nil {
		r.Body = http.NoBody
	}
	t.h.ServeHTTP(rec, r)
	res := rec.Result()
	res.Request = r
	return res, nil
}

func (c *Console) clientContext(ctx context.Context) context.Context {
	return gooidc.ClientContext(ctx, &http.Client{Transport: loopbackTransport{c.loopback}, Timeout: 10 * time.Second})
}

// loginTenant is the tenant a console URL signs in to: /t/{tenant}/admin's
// own, or the admin tenant.
func (c *Console) loginTenant(r *http.Request) (*store.Tenant, string, error) {
	t, base, err := c.managed(r)
	if err != nil {
		return nil, "", err
	}
	if t.Status != store.TenantActive {
		return nil, "", store.ErrNotFound
	}
	return t, base, nil
}

// relyingParty answers the OAuth config and the ID token verifier of the
// console client of t.
func (c *Console) relyingParty(ctx context.Context, t *store.Tenant, base string) (*oauth2.Config, *gooidc.IDTokenVerifier, error) {
	redirect := c.PublicURL + base + "/callback"
	clientID, err := c.Setup.ConsoleClient(ctx, t.ID, redirect)
	if err != nil {
		return nil, nil, err
	}
	prov, err := gooidc.NewProvider(c.clientContext(ctx), c.PublicURL+"/t/"+t.Slug)
	if err != nil {
		return nil, nil, err
	}
	cfg := &oauth2.Config{ClientID: clientID, Endpoint: prov.Endpoint(), RedirectURL: redirect,
		Scopes: []string{gooidc.ScopeOpenID, "profile", "email"}}
	return cfg, prov.Verifier(&gooidc.Config{ClientID: clientID}), nil
}

// localReturn keeps return_to only when it is a path of this console.
func localReturn(ret, base string) string {
	if !strings.HasPrefix(ret, base+"/") || strings.HasPrefix(ret, "//") || strings.ContainsAny(ret, "\\\r\n") {
		return base + "/"
	}
	return ret
}

// login: GET {console}/login starts an authorization request.
func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	setHeaders(w)
	ctx := r.Context()
	t, base, err := c.loginTenant(r)
	if err != nil {
		c.notFound(w, r)
		return
	}
	cfg, _, err := c.relyingParty(ctx, t, base)
	if err != nil {
		c.Log.ErrorContext(ctx, "console: login", "err", err, "request_id", httpx.RequestID(ctx))
		c.notFound(w, r)
		return
	}
	st := loginState{Tenant: t.Slug, State: randomToken(), Nonce: randomToken(), Verifier: oauth2.GenerateVerifier(),
		ReturnTo: localReturn(r.URL.Query().Get("return_to"), base), Issued: c.now().Unix()}
	v, err := c.seal(st, loginAAD)
	if err != nil {
		c.Log.ErrorContext(ctx, "console: login", "err", err)
		c.notFound(w, r)
		return
	}
	c.setCookie(w, "gh_console_login", v, int(loginMaxAge.Seconds()))
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(st.Verifier), gooidc.Nonce(st.Nonce)}
	if lang := i18n.Choose(nil, r.Header.Get("Accept-Language"), ""); lang != "" {
		opts = append(opts, oauth2.SetAuthURLParam("ui_locales", lang))
	}
	http.Redirect(w, r, cfg.AuthCodeURL(st.State, opts...), http.StatusSeeOther)
}

// callback: GET {console}/callback redeems the code, verifies the ID token
// and starts the console session.
func (c *Console) callback(w http.ResponseWriter, r *http.Request) {
	setHeaders(w)
	ctx := r.Context()
	t, base, err := c.loginTenant(r)
	if err != nil {
		c.notFound(w, r)
		return
	}
	rq := &Request{c: c, r: r, Base: base, Tenant: t, Lang: i18n.Choose(nil, r.Header.Get("Accept-Language"), "")}
	var st loginState
	if !c.open(r, "gh_console_login", loginAAD, &st) || st.Tenant != t.Slug ||
		c.now().Sub(time.Unix(st.Issued, 0)) > loginMaxAge || r.URL.Query().Get("state") != st.State {
		c.errorPage(w, rq, http.StatusBadRequest, "console.error.login_expired")
		return
	}
	c.setCookie(w, "gh_console_login", "", -1)
	if e := r.URL.Query().Get("error"); e != "" {
		c.errorPage(w, rq, http.StatusForbidden, "console.error.login_failed")
		return
	}
	cfg, verifier, err := c.relyingParty(ctx, t, base)
	if err != nil {
		c.fail(w, rq, err)
		return
	}
	cctx := c.clientContext(ctx)
	tok, err := cfg.Exchange(cctx, r.URL.Query().Get("code"), oauth2.VerifierOption(st.Verifier))
	if err != nil {
		c.Log.WarnContext(ctx, "console: code exchange", "err", err, "request_id", httpx.RequestID(ctx))
		c.errorPage(w, rq, http.StatusForbidden, "console.error.login_failed")
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := verifier.Verify(cctx, raw)
	if err != nil || idt.Nonce != st.Nonce {
		c.Log.WarnContext(ctx, "console: id token", "err", err, "request_id", httpx.RequestID(ctx))
		c.errorPage(w, rq, http.StatusForbidden, "console.error.login_failed")
		return
	}
	var claims struct {
		SID string `json:"sid"`
	}
	if err := idt.Claims(&claims); err != nil || claims.SID == "" {
		c.errorPage(w, rq, http.StatusForbidden, "console.error.login_failed")
		return
	}
	now := c.now().Unix()
	if err := c.writeSession(w, &sessionState{Tenant: string(t.ID), User: idt.Subject, SID: claims.SID,
		CSRF: randomToken(), Issued: now, Seen: now}); err != nil {
		c.fail(w, rq, err)
		return
	}
	http.Redirect(w, r, st.ReturnTo, http.StatusSeeOther)
}

// logout: POST {console}/logout ends the console session (the login
// session stays: the account page and other applications keep it).
func (c *Console) logout(w http.ResponseWriter, r *http.Request) {
	setHeaders(w)
	_, base, err := c.managed(r)
	if err != nil {
		c.notFound(w, r)
		return
	}
	if s := c.readSession(r); s != nil && r.ParseForm() == nil && c.checkCSRF(r, s) {
		c.clearSession(w)
	}
	http.Redirect(w, r, base+"/signed-out", http.StatusSeeOther)
}

// switchTenant: GET {console}/switch?tenant=slug opens another tenant's
// console (the switcher's form); the page checks who may.
func (c *Console) switchTenant(w http.ResponseWriter, r *http.Request) {
	slug := r.URL.Query().Get("tenant")
	if slug == "" || len(slug) > 100 || strings.ContainsAny(slug, "/?#\\") {
		http.Redirect(w, r, "/admin/", http.StatusSeeOther)
		return
	}
	if slug == c.adminSlug() {
		http.Redirect(w, r, "/admin/", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/t/"+url.PathEscape(slug)+"/admin/", http.StatusSeeOther)
}
