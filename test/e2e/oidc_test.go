package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// rp is a relying party driven by the real client libraries.
type rp struct {
	t        *testing.T
	conf     *oauth2.Config
	provider *gooidc.Provider
	verifier *gooidc.IDTokenVerifier
	browser  *http.Client
	redirect string
}

var hiddenRE = regexp.MustCompile(`name="(csrf|id)" value="([^"]*)"`)

// newRP registers a confidential client through the CLI and discovers the
// tenant's issuer with go-oidc.
func newRP(t *testing.T, env []string, base, tenant string, extra ...string) *rp {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close() // only the address is needed: the browser stops before it
	redirect := "http://" + ln.Addr().String() + "/cb"
	args := append([]string{"client", "create", "--tenant", tenant, "--name", "Test App",
		"--redirect-uri", redirect, "--json"}, extra...)
	out, errOut, code := cli(t, env, args...)
	if code != 0 {
		t.Fatalf("client create: %s", errOut)
	}
	var c struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	if err := json.Unmarshal([]byte(lastLine(out)), &c); err != nil {
		t.Fatalf("client create output %q: %v", out, err)
	}
	ctx := context.Background()
	issuer := base + "/t/" + tenant
	prov, err := gooidc.NewProvider(ctx, issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if strings.HasPrefix(req.URL.String(), redirect) {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	return &rp{t: t, provider: prov, browser: browser, redirect: redirect,
		verifier: prov.Verifier(&gooidc.Config{ClientID: c.ClientID}),
		conf: &oauth2.Config{ClientID: c.ClientID, ClientSecret: c.ClientSecret, Endpoint: prov.Endpoint(),
			RedirectURL: redirect, Scopes: []string{gooidc.ScopeOpenID, "profile", "email", gooidc.ScopeOfflineAccess}}}
}

// authorize drives the browser from the authorization URL; when login is
// needed it posts the login form. It returns the final redirect's query.
func (r *rp) authorize(authURL, identifier, password string) url.Values {
	r.t.Helper()
	res, err := r.browser.Get(authURL)
	if err != nil {
		r.t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode == http.StatusOK && strings.Contains(string(body), `autocomplete="current-password"`) {
		if identifier == "" {
			r.t.Fatalf("login page shown, but SSO was expected")
		}
		form := url.Values{"identifier": {identifier}, "password": {password}}
		for _, m := range hiddenRE.FindAllStringSubmatch(string(body), -1) {
			form.Set(m[1], m[2])
		}
		login := res.Request.URL.String()
		req, _ := http.NewRequest("POST", login, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		res, err = r.browser.Do(req)
		if err != nil {
			r.t.Fatal(err)
		}
		body, _ = io.ReadAll(res.Body)
		res.Body.Close()
	}
	if res.StatusCode != http.StatusFound && res.StatusCode != http.StatusSeeOther {
		r.t.Fatalf("authorize ended with %d at %s: %.500s", res.StatusCode, res.Request.URL, body)
	}
	loc, err := url.Parse(res.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(loc.String(), r.redirect) {
		r.t.Fatalf("redirected to %q, not the client", res.Header.Get("Location"))
	}
	return loc.Query()
}

// TestOIDCAuthorizationCodeFlow: a real client library signs a user in with
// code + PKCE, verifies the ID token, calls userinfo, refreshes (and a reused
// refresh token revokes the family), introspects, revokes and logs out.
func TestOIDCAuthorizationCodeFlow(t *testing.T) {
	env := testEnv(t.TempDir(), "", testMasterKey)
	n := start(t, env)
	out, _, _ := cli(t, env, "apikey", "create", "--tenant", "default", "--scopes", "admin")
	api := &client{t: t, base: n.URL, token: lastLine(out)}
	api.must(201, "POST", "/api/v1/tenants/default/users", map[string]any{
		"email": "ada@example.com", "password": "analytical engine 1843", "given_name": "Ada", "family_name": "Lovelace",
		"email_verified": true})

	r := newRP(t, env, n.URL, "default")
	ctx := context.Background()
	verifier := oauth2.GenerateVerifier()
	state, nonce := "st-"+verifier[:8], "n-"+verifier[8:16]
	q := r.authorize(r.conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), gooidc.Nonce(nonce)),
		"ada@example.com", "analytical engine 1843")
	if q.Get("state") != state || q.Get("iss") != n.URL+"/t/default" || q.Get("code") == "" {
		t.Fatalf("authorization response %v", q)
	}
	tok, err := r.conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := r.verifier.Verify(ctx, raw)
	if err != nil {
		t.Fatalf("id token: %v", err)
	}
	var claims struct {
		Email    string   `json:"email"`
		Verified bool     `json:"email_verified"`
		Name     string   `json:"name"`
		Nonce    string   `json:"nonce"`
		AMR      []string `json:"amr"`
		SID      string   `json:"sid"`
	}
	if err := idt.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	if claims.Email != "ada@example.com" || !claims.Verified || claims.Name != "Ada Lovelace" ||
		claims.Nonce != nonce || fmt.Sprint(claims.AMR) != "[pwd]" || claims.SID == "" {
		t.Fatalf("claims %+v", claims)
	}
	if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
		t.Fatalf("at_hash: %v", err)
	}
	ui, err := r.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil || ui.Email != "ada@example.com" || ui.Subject != idt.Subject {
		t.Fatalf("userinfo %+v %v", ui, err)
	}

	// The code is single use: a second exchange fails and revokes the first's tokens.
	if _, err := r.conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier)); err == nil ||
		!strings.Contains(err.Error(), "invalid_grant") {
		t.Fatalf("second exchange: %v", err)
	}
	if _, err := r.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok)); err == nil {
		t.Fatal("tokens of a reused code still work")
	}
}
