package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
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
	// The real client libraries, as for clients registered some other way.
	r := rpFor(t, base, tenant, c.ClientID, c.ClientSecret, redirect)
	r.conf.Endpoint = r.provider.Endpoint()
	r.conf.Scopes = append(r.conf.Scopes, gooidc.ScopeOfflineAccess)
	return r
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
	n, env, api := setupOIDC(t)
	mkUser(api, map[string]any{
		"email": "ada@example.com", "password": "analytical engine 1843", "given_name": "Ada", "family_name": "Lovelace",
		"email_verified": true, "attributes": map[string]any{"dept": "analysis"}})

	r := newRP(t, env, n.URL, "default")
	api.must(200, "PATCH", "/api/v1/tenants/default/clients/"+r.conf.ClientID,
		map[string]any{"claim_mappings": map[string]string{"department": "dept"}})
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
		Dept     string   `json:"department"`
	}
	if err := idt.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	if claims.Email != "ada@example.com" || !claims.Verified || claims.Name != "Ada Lovelace" ||
		claims.Nonce != nonce || fmt.Sprint(claims.AMR) != "[pwd]" || claims.SID == "" || claims.Dept != "analysis" {
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

// TestOIDCLogout: RP-initiated logout ends the session, revokes its tokens,
// returns to the registered post-logout URI with the state, and tells the
// client's back-channel logout URI with a signed logout token; the sessions
// API shows the session before and not after.
func TestOIDCLogout(t *testing.T) {
	n, env, api := setupOIDC(t)
	userID := mkUser(api, map[string]any{"email": "grace@example.com", "password": "cobol compiler 1959"})

	logoutTokens := make(chan string, 4)
	bc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		logoutTokens <- r.PostForm.Get("logout_token")
	}))
	defer bc.Close()
	postLogout := "http://127.0.0.1:9/bye"
	r := newRP(t, env, n.URL, "default", "--post-logout-redirect-uri", postLogout)
	api.must(200, "PATCH", "/api/v1/tenants/default/clients/"+r.conf.ClientID,
		map[string]any{"backchannel_logout_uri": bc.URL + "/logout"})

	ctx := context.Background()
	tok := r.tokens("grace@example.com", "cobol compiler 1959")
	raw := tok.Extra("id_token").(string)
	idt, err := r.verifier.Verify(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	var idc struct {
		SID string `json:"sid"`
	}
	_ = idt.Claims(&idc)

	sessions := "/api/v1/tenants/default/users/" + userID + "/sessions"
	var before struct{ Items []map[string]any }
	api.must(200, "GET", sessions, nil).json(t, &before)
	if len(before.Items) != 1 || before.Items[0]["id"] != idc.SID ||
		fmt.Sprint(before.Items[0]["clients"]) != "["+r.conf.ClientID+"]" {
		t.Fatalf("sessions before logout: %v (sid %s)", before.Items, idc.SID)
	}

	// An unregistered post-logout URI is never redirected to.
	endSession := n.URL + "/t/default/end_session?" + url.Values{"id_token_hint": {raw},
		"post_logout_redirect_uri": {"https://evil.example/"}, "state": {"x"}}.Encode()
	res, err := r.browser.Get(endSession)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if loc := res.Request.URL.String(); strings.HasPrefix(loc, "https://evil.example") {
		t.Fatalf("open redirect through logout to %s", loc)
	}

	endSession = n.URL + "/t/default/end_session?" + url.Values{"id_token_hint": {raw},
		"post_logout_redirect_uri": {postLogout}, "state": {"bye-state"}}.Encode()
	r.browser.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	res, err = r.browser.Get(endSession)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if loc := res.Header.Get("Location"); !strings.HasPrefix(loc, postLogout) || !strings.Contains(loc, "state=bye-state") {
		t.Fatalf("logout redirect %d %q", res.StatusCode, loc)
	}
	select {
	case lt := <-logoutTokens:
		ltoken, err := r.provider.Verifier(&gooidc.Config{ClientID: r.conf.ClientID}).Verify(ctx, lt)
		if err != nil {
			t.Fatalf("logout token: %v", err)
		}
		var c struct {
			SID    string                    `json:"sid"`
			Events map[string]map[string]any `json:"events"`
			Nonce  string                    `json:"nonce"`
		}
		_ = ltoken.Claims(&c)
		if c.SID != idc.SID || ltoken.Subject != userID || c.Nonce != "" ||
			c.Events["http://schemas.openid.net/event/backchannel-logout"] == nil {
			t.Fatalf("logout token claims %+v sub %s", c, ltoken.Subject)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no back-channel logout notice")
	}
	if _, err := r.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok)); err == nil {
		t.Fatal("access token still works after logout")
	}
	old := *tok
	old.Expiry = time.Now().Add(-time.Minute)
	if _, err := r.conf.TokenSource(ctx, &old).Token(); err == nil || !strings.Contains(err.Error(), "invalid_grant") {
		t.Fatalf("refresh after logout: %v", err)
	}
	var after struct{ Items []map[string]any }
	api.must(200, "GET", sessions, nil).json(t, &after)
	if len(after.Items) != 0 {
		t.Fatalf("sessions after logout: %v", after.Items)
	}
}

// jwksKids answers the key ids of the signing keys a JWKS publishes.
func jwksKids(t *testing.T, url string) map[string]bool {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(res.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	kids := map[string]bool{}
	for _, k := range set.Keys {
		if k.Use != "enc" { // the signing keys; the request-object key is jar.go's
			kids[k.KeyID] = true
		}
	}
	return kids
}

func kidOf(t *testing.T, token string) string {
	t.Helper()
	jws, err := jose.ParseSigned(token, []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.EdDSA})
	if err != nil {
		t.Fatal(err)
	}
	return jws.Signatures[0].Header.KeyID
}

// TestKeyRotation: the key that signs after `gatehouse keys rotate` was in
// the JWKS before it; the retired key stays published, so tokens it signed
// still verify.
func TestKeyRotation(t *testing.T) {
	n, env, api := setupOIDC(t)
	mkUser(api, map[string]any{"email": "alan@example.com", "password": "enigma machine 1940"})
	r := newRP(t, env, n.URL, "default")
	jwks := n.URL + "/t/default/keys"
	before := jwksKids(t, jwks)
	if len(before) != 6 {
		t.Fatalf("JWKS before rotation has %d keys, want 6 (active and next of three algorithms)", len(before))
	}
	ctx := context.Background()
	tok := r.tokens("alan@example.com", "enigma machine 1940")
	oldID := tok.Extra("id_token").(string)
	oldKid := kidOf(t, oldID)

	if out, errOut, code := cli(t, env, "keys", "rotate", "--tenant", "default"); code != 0 {
		t.Fatalf("keys rotate: %s %s", out, errOut)
	}
	var after map[string]bool
	if !eventually(func() bool { after = jwksKids(t, jwks); return len(after) == 9 }) {
		t.Fatalf("JWKS after rotation has %d keys, want 9", len(after))
	}
	if !after[oldKid] {
		t.Fatal("the retired key left the JWKS while its tokens live")
	}
	// A token signed now uses a key that was published before the rotation.
	old := *tok
	old.Expiry = time.Now().Add(-time.Minute)
	fresh, err := r.conf.TokenSource(ctx, &old).Token()
	if err != nil {
		t.Fatal(err)
	}
	newKid := kidOf(t, fresh.Extra("id_token").(string))
	if newKid == oldKid || !before[newKid] {
		t.Fatalf("new tokens signed by %s (old %s); it must be a key published before the rotation", newKid, oldKid)
	}
	for _, raw := range []string{oldID, fresh.Extra("id_token").(string)} {
		if _, err := r.verifier.Verify(ctx, raw); err != nil {
			t.Fatalf("verify after rotation: %v", err)
		}
	}
}

// submit posts form, with the hidden fields of the page res showed as
// body, to that page's URL without its query, and answers the response
// and its body.
func (r *rp) submit(res *http.Response, body string, form url.Values) (*http.Response, string) {
	r.t.Helper()
	for _, m := range hiddenRE.FindAllStringSubmatch(body, -1) {
		form.Set(m[1], m[2])
	}
	req, _ := http.NewRequest("POST", strings.Split(res.Request.URL.String(), "?")[0], strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	out, err := r.browser.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	b, _ := io.ReadAll(out.Body)
	out.Body.Close()
	return out, string(b)
}

// consentStep posts the consent form shown in body with decision and
// returns the final response.
func (r *rp) consentStep(res *http.Response, body, decision string) *http.Response {
	r.t.Helper()
	out, _ := r.submit(res, body, url.Values{"decision": {decision}})
	return out
}

// TestOIDCThirdPartyConsent: a third-party client gets a consent screen; the
// grant is remembered, asked again with prompt=consent and after the API
// revokes it; a denial returns access_denied.
func TestOIDCThirdPartyConsent(t *testing.T) {
	n, env, api := setupOIDC(t)
	userID := mkUser(api, map[string]any{"email": "edsger@example.com", "password": "shortest path 1956"})
	r := newRP(t, env, n.URL, "default", "--third-party")

	get := func(u string) (*http.Response, string) {
		res, err := r.browser.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		return res, string(b)
	}
	login := func(res *http.Response, body string) (*http.Response, string) {
		return r.submit(res, body, url.Values{"identifier": {"edsger@example.com"}, "password": {"shortest path 1956"}})
	}
	isConsent := func(body string) bool { return strings.Contains(body, `value="approve"`) }
	redirected := func(res *http.Response) url.Values {
		loc, err := url.Parse(res.Header.Get("Location"))
		if err != nil || !strings.HasPrefix(loc.String(), r.redirect) {
			t.Fatalf("not redirected to the client: %d %q", res.StatusCode, res.Header.Get("Location"))
		}
		return loc.Query()
	}
	authURL := func(extra ...oauth2.AuthCodeOption) string {
		v := oauth2.GenerateVerifier()
		return r.conf.AuthCodeURL("st", append(extra, oauth2.S256ChallengeOption(v))...)
	}

	// First sign-in: login, then consent.
	res, body := login(get(authURL()))
	if !isConsent(body) || !strings.Contains(body, "See your email address") {
		t.Fatalf("no consent screen after login: %d %.300s", res.StatusCode, body)
	}
	// Skipping the consent screen by going straight to the callback does not work.
	skip, skipBody := get(strings.Replace(res.Request.URL.String(), "/consent?", "/authorize/callback?", 1))
	if !isConsent(skipBody) || skip.Request.URL.Path != "/t/default/consent" {
		t.Fatalf("callback without consent went to %s", skip.Request.URL)
	}
	if q := redirected(r.consentStep(res, body, "approve")); q.Get("code") == "" || q.Get("state") != "st" {
		t.Fatalf("after consent: %v", q)
	}
	// Remembered: SSO straight back, no screen.
	if res, body = get(authURL()); isConsent(body) {
		t.Fatal("consent asked again although granted")
	} else if q := redirected(res); q.Get("code") == "" {
		t.Fatalf("second sign-in: %v", q)
	}
	// prompt=consent asks again.
	if _, body = get(authURL(oauth2.SetAuthURLParam("prompt", "consent"))); !isConsent(body) {
		t.Fatal("prompt=consent did not ask")
	}
	// Revoked through the API: asked again; a denial returns access_denied.
	var cs struct{ Items []map[string]any }
	consents := "/api/v1/tenants/default/users/" + userID + "/consents"
	api.must(200, "GET", consents, nil).json(t, &cs)
	if len(cs.Items) != 1 || cs.Items[0]["client_id"] != r.conf.ClientID {
		t.Fatalf("consents %v", cs.Items)
	}
	api.must(204, "DELETE", consents+"/"+r.conf.ClientID, nil)
	res, body = get(authURL())
	if !isConsent(body) {
		t.Fatal("consent not asked after revocation")
	}
	if q := redirected(r.consentStep(res, body, "deny")); q.Get("error") != "access_denied" || q.Get("state") != "st" {
		t.Fatalf("denial answered %v", q)
	}
}

// TestPerClientAlgorithms: a client's chosen algorithms sign its tokens.
func TestPerClientAlgorithms(t *testing.T) {
	n, env, api := setupOIDC(t)
	mkUser(api, map[string]any{"email": "barbara@example.com", "password": "abstract data types 1974"})
	r := newRP(t, env, n.URL, "default")
	api.must(200, "PATCH", "/api/v1/tenants/default/clients/"+r.conf.ClientID, map[string]any{
		"id_token_signed_response_alg": "EdDSA", "access_token_signed_response_alg": "RS256"})
	ctx := context.Background()
	tok := r.tokens("barbara@example.com", "abstract data types 1974")
	raw := tok.Extra("id_token").(string)
	for token, want := range map[string]jose.SignatureAlgorithm{raw: jose.EdDSA, tok.AccessToken: jose.RS256} {
		jws, err := jose.ParseSigned(token, []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.EdDSA})
		if err != nil {
			t.Fatal(err)
		}
		if got := jose.SignatureAlgorithm(jws.Signatures[0].Header.Algorithm); got != want {
			t.Errorf("token signed %s, want %s", got, want)
		}
	}
	edVerifier := r.provider.Verifier(&gooidc.Config{ClientID: r.conf.ClientID, SupportedSigningAlgs: []string{"EdDSA"}})
	if _, err := edVerifier.Verify(ctx, raw); err != nil {
		t.Fatalf("EdDSA ID token does not verify: %v", err)
	}
	if _, err := r.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok)); err != nil {
		t.Fatalf("RS256 access token refused at userinfo: %v", err)
	}
}

// TestDisabledUserCutOff: disabling a user ends their sessions and makes
// what they hold worthless: userinfo refuses the access token,
// introspection says inactive, the refresh token is refused; and a new
// password ends the sessions of a user too.
func TestDisabledUserCutOff(t *testing.T) {
	n, env, api := setupOIDC(t)
	id := mkUser(api, map[string]any{"email": "niklaus@example.com", "password": "algorithms plus data"})
	r := newRP(t, env, n.URL, "default")
	ctx := context.Background()
	tok := r.tokens("niklaus@example.com", "algorithms plus data")
	sessions := "/api/v1/tenants/default/users/" + id + "/sessions"
	var ss struct{ Items []any }
	api.must(200, "GET", sessions, nil).json(t, &ss)
	if len(ss.Items) != 1 {
		t.Fatalf("sessions before: %d", len(ss.Items))
	}
	api.must(200, "PATCH", "/api/v1/tenants/default/users/"+id, map[string]any{"status": "disabled"})
	if _, err := r.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok)); err == nil {
		t.Error("userinfo accepts a disabled user's access token")
	}
	form := url.Values{"token": {tok.AccessToken}}
	req, _ := http.NewRequest("POST", n.URL+"/t/default/oauth/introspect", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(r.conf.ClientID), url.QueryEscape(r.conf.ClientSecret))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var in map[string]any
	_ = json.NewDecoder(res.Body).Decode(&in)
	res.Body.Close()
	if in["active"] != false {
		t.Errorf("introspection of a disabled user's token: %v", in)
	}
	old := *tok
	old.Expiry = time.Now().Add(-time.Minute)
	if _, err := r.conf.TokenSource(ctx, &old).Token(); err == nil {
		t.Error("a disabled user's refresh token still works")
	}
	api.must(200, "GET", sessions, nil).json(t, &ss)
	if len(ss.Items) != 0 {
		t.Errorf("sessions after disabling: %d", len(ss.Items))
	}

	// Re-enabled, signed in again, then given a new password by an admin:
	// the session ends and its tokens with it.
	api.must(200, "PATCH", "/api/v1/tenants/default/users/"+id, map[string]any{"status": "active"})
	tok = r.tokens("niklaus@example.com", "algorithms plus data")
	api.must(200, "PATCH", "/api/v1/tenants/default/users/"+id, map[string]any{"password": "a brand new passphrase"})
	if _, err := r.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok)); err == nil {
		t.Error("tokens survive a password change")
	}
	api.must(200, "GET", sessions, nil).json(t, &ss)
	if len(ss.Items) != 0 {
		t.Errorf("sessions after a password change: %d", len(ss.Items))
	}
}

// TestAuthorizeInputBounded: an unauthenticated caller cannot make the
// provider store unbounded input: too many scopes are refused, and a large
// body is cut off.
func TestAuthorizeInputBounded(t *testing.T) {
	n, env, _ := setupOIDC(t)
	r := newRP(t, env, n.URL, "default")
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	v := oauth2.GenerateVerifier()
	u, _ := url.Parse(r.conf.AuthCodeURL("st", oauth2.S256ChallengeOption(v)))
	q := u.Query()
	q.Set("scope", strings.TrimSpace(strings.Repeat("openid ", 60)))
	u.RawQuery = q.Encode()
	res, err := noFollow.Get(u.String())
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if loc := res.Header.Get("Location"); !strings.Contains(loc, "error=invalid_request") || strings.Contains(loc, "/login") {
		t.Fatalf("60 scopes: %d %q", res.StatusCode, loc)
	}
	q.Set("scope", "openid")
	body := q.Encode() + "&padding=" + strings.Repeat("x", 200<<10)
	res, err = noFollow.Post(n.URL+"/t/default/authorize", "application/x-www-form-urlencoded", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if loc := res.Header.Get("Location"); strings.Contains(loc, "/login?id=") {
		t.Fatalf("a 200 KiB authorize body was accepted: %d %q", res.StatusCode, loc)
	}
}
