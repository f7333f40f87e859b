package e2e

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"
)

const deviceGrant = "urn:ietf:params:oauth:grant-type:device_code"

// TestDeviceAndPushedRequests drives the device authorization grant (RFC
// 8628) and pushed authorization requests (RFC 9126) through the real
// binary with golang.org/x/oauth2 and go-oidc, on every backend.
func TestDeviceAndPushedRequests(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			env := testEnv(t.TempDir(), b.db, testMasterKey)
			n := start(t, env)
			out, _, _ := cli(t, env, "apikey", "create", "--tenant", "default", "--scopes", "admin")
			api := &client{t: t, base: n.URL, token: lastLine(out)}
			api.must(201, "POST", "/api/v1/tenants/default/users", map[string]any{
				"email": "ada@example.com", "password": "analytical engine 1843", "given_name": "Ada",
				"family_name": "Lovelace", "email_verified": true})
			t.Run("Discovery", func(t *testing.T) { dpDiscovery(t, n.URL+"/t/default") })
			t.Run("Device", func(t *testing.T) { t.Parallel(); deviceScenario(t, env, n.URL, n.Logs) })
			t.Run("PAR", func(t *testing.T) { t.Parallel(); parScenario(t, env, api, n.Logs) })
		})
	}
}

func dpDiscovery(t *testing.T, issuer string) {
	res, err := http.Get(issuer + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var m struct {
		Device     string   `json:"device_authorization_endpoint"`
		Grants     []string `json:"grant_types_supported"`
		PAR        string   `json:"pushed_authorization_request_endpoint"`
		RequirePAR *bool    `json:"require_pushed_authorization_requests"`
	}
	if err := json.NewDecoder(res.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	if m.Device != issuer+"/device_authorization" || !slices.Contains(m.Grants, deviceGrant) ||
		m.PAR != issuer+"/par" || m.RequirePAR == nil || *m.RequirePAR {
		t.Fatalf("discovery: %+v", m)
	}
}

// dpBrowser is a browser with cookies that follows redirects.
type dpBrowser struct {
	t *testing.T
	c *http.Client
}

type dpPage struct {
	status int
	url    string
	header http.Header
	body   string
}

func newDPBrowser(t *testing.T) *dpBrowser {
	jar, _ := cookiejar.New(nil)
	return &dpBrowser{t: t, c: &http.Client{Jar: jar}}
}

func (b *dpBrowser) page(res *http.Response, err error) dpPage {
	b.t.Helper()
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return dpPage{status: res.StatusCode, url: res.Request.URL.String(), header: res.Header, body: string(body)}
}

func (b *dpBrowser) get(u string) dpPage {
	b.t.Helper()
	return b.page(b.c.Get(u))
}

// submit posts form to action with the hidden fields (csrf, id) of from.
func (b *dpBrowser) submit(from dpPage, action string, form url.Values) dpPage {
	b.t.Helper()
	for _, m := range hiddenRE.FindAllStringSubmatch(from.body, -1) {
		if !form.Has(m[1]) {
			form.Set(m[1], m[2])
		}
	}
	return b.page(b.c.PostForm(action, form))
}

func (p dpPage) want(t *testing.T, step string, status int, text ...string) {
	t.Helper()
	if p.status != status {
		t.Fatalf("%s: status %d at %s, want %d: %.600s", step, p.status, p.url, status, p.body)
	}
	for _, s := range text {
		if !strings.Contains(p.body, s) {
			t.Fatalf("%s: page at %s lacks %q: %.800s", step, p.url, s, p.body)
		}
	}
}

// dpToken posts form to the token endpoint and answers status and body.
func dpToken(t *testing.T, endpoint string, form url.Values) (int, map[string]any) {
	t.Helper()
	res, err := http.PostForm(endpoint, form)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(res.Body).Decode(&body)
	return res.StatusCode, body
}

func dpRegister(t *testing.T, env []string, args ...string) (id, secret string) {
	t.Helper()
	out, errOut, code := cli(t, env, append([]string{"client", "create", "--tenant", "default", "--json"}, args...)...)
	if code != 0 {
		t.Fatalf("client create %v: %s", args, errOut)
	}
	var c struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	if err := json.Unmarshal([]byte(lastLine(out)), &c); err != nil {
		t.Fatalf("client create output %q: %v", out, err)
	}
	return c.ClientID, c.ClientSecret
}

var userCodeRE = regexp.MustCompile(`^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$`)

func deviceScenario(t *testing.T, env []string, base string, logs func() string) {
	ctx := context.Background()
	issuer := base + "/t/default"
	tvID, _ := dpRegister(t, env, "--name", "Living Room TV", "--public", "--grant", deviceGrant, "--grant", "refresh_token")
	otherID, _ := dpRegister(t, env, "--name", "Other TV", "--public", "--grant", deviceGrant)
	prov, err := gooidc.NewProvider(ctx, issuer)
	if err != nil {
		t.Fatal(err)
	}
	conf := &oauth2.Config{ClientID: tvID, Endpoint: prov.Endpoint(),
		Scopes: []string{gooidc.ScopeOpenID, "email", gooidc.ScopeOfflineAccess}}
	conf.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	if conf.Endpoint.DeviceAuthURL != issuer+"/device_authorization" {
		t.Fatalf("go-oidc found the device endpoint at %q", conf.Endpoint.DeviceAuthURL)
	}
	poll := func(clientID, deviceCode string) (int, string) {
		t.Helper()
		status, body := dpToken(t, conf.Endpoint.TokenURL, url.Values{"grant_type": {deviceGrant},
			"device_code": {deviceCode}, "client_id": {clientID}})
		e, _ := body["error"].(string)
		return status, e
	}

	// A client without the grant is refused; unknown scopes too.
	// (x/oauth2 sends no client secret there, so confidential clients by hand.)
	deviceAuth := func(id, secret string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest("POST", conf.Endpoint.DeviceAuthURL, strings.NewReader("scope=openid"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(id, secret)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var body map[string]any
		_ = json.NewDecoder(res.Body).Decode(&body)
		return res.StatusCode, body
	}
	codeID, codeSecret := dpRegister(t, env, "--name", "Web App", "--redirect-uri", "https://app.example.com/cb")
	if status, body := deviceAuth(codeID, codeSecret); status != 400 || body["error"] != "unauthorized_client" {
		t.Fatalf("device authorization of a client without the grant: %d %v", status, body)
	}
	confID, confSecret := dpRegister(t, env, "--name", "Kiosk", "--grant", deviceGrant)
	if status, body := deviceAuth(confID, confSecret); status != 200 || body["device_code"] == nil {
		t.Fatalf("device authorization of a confidential client: %d %v", status, body)
	}
	if status, body := deviceAuth(confID, "wrong"); status == 200 || body["error"] != "invalid_client" {
		t.Fatalf("device authorization with a wrong secret: %d %v", status, body)
	}
	if _, err := conf.DeviceAuth(ctx, oauth2.SetAuthURLParam("scope", "openid admin:everything")); err == nil ||
		!strings.Contains(err.Error(), "invalid_scope") {
		t.Fatalf("device authorization with an unknown scope: %v", err)
	}

	da, err := conf.DeviceAuth(ctx)
	if err != nil {
		t.Fatalf("device authorization: %v", err)
	}
	if !userCodeRE.MatchString(da.UserCode) || !strings.HasPrefix(da.DeviceCode, "gh_dc_") ||
		da.VerificationURI != issuer+"/device" ||
		da.VerificationURIComplete != issuer+"/device?user_code="+url.QueryEscape(da.UserCode) || da.Interval != 5 {
		t.Fatalf("device authorization response %+v", da)
	}
	if left := time.Until(da.Expiry); left < 590*time.Second || left > 601*time.Second {
		t.Fatalf("expires in %s, want 600 s", left)
	}

	// Pending, then too fast; another client cannot use the code.
	if status, e := poll(tvID, da.DeviceCode); status != 400 || e != "authorization_pending" {
		t.Fatalf("first poll: %d %s", status, e)
	}
	if status, e := poll(tvID, da.DeviceCode); status != 400 || e != "slow_down" {
		t.Fatalf("second poll at once: %d %s", status, e)
	}
	if status, e := poll(otherID, da.DeviceCode); status != 400 || e != "invalid_grant" {
		t.Fatalf("poll by another client: %d %s", status, e)
	}
	if status, e := poll(tvID, "gh_dc_not-a-device-code"); status != 400 || e != "invalid_grant" {
		t.Fatalf("poll with an unknown code: %d %s", status, e)
	}

	// The user opens verification_uri_complete: no session, so the code is
	// prefilled; continuing signs in through the login page, which comes
	// back to the confirmation naming the client and what it may do.
	b := newDPBrowser(t)
	p := b.get(da.VerificationURIComplete)
	p.want(t, "device page", 200, `value="`+da.UserCode+`"`, `name="csrf"`)
	if csp := p.header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Fatalf("device page CSP %q", csp)
	}
	if forged := b.page(b.c.PostForm(issuer+"/device", url.Values{"user_code": {da.UserCode}})); forged.status != 403 {
		t.Fatalf("device form without CSRF token: %d", forged.status)
	}
	p = b.submit(p, issuer+"/device", url.Values{"user_code": {da.UserCode}})
	p.want(t, "login page", 200, `autocomplete="current-password"`, "Living Room TV")
	if !strings.Contains(p.url, "/login?id=") {
		t.Fatalf("device sign-in went to %s", p.url)
	}
	p = b.submit(p, p.url, url.Values{"identifier": {"ada@example.com"}, "password": {"analytical engine 1843"}})
	p.want(t, "confirmation", 200, "Living Room TV", da.UserCode, "ada@example.com", "See your email address",
		`value="approve"`, `value="deny"`)
	p = b.submit(p, issuer+"/device", url.Values{"user_code": {da.UserCode}, "action": {"approve"}})
	p.want(t, "approval", 200, "Device connected")

	// x/oauth2 polls at the interval and gets the tokens.
	tok, err := conf.DeviceAccessToken(ctx, da)
	if err != nil {
		t.Fatalf("device access token: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := prov.Verifier(&gooidc.Config{ClientID: tvID}).Verify(ctx, raw)
	if err != nil {
		t.Fatalf("id token: %v", err)
	}
	var claims struct {
		Email string   `json:"email"`
		AMR   []string `json:"amr"`
		SID   string   `json:"sid"`
	}
	if err := idt.Claims(&claims); err != nil || claims.Email != "ada@example.com" || claims.SID != "" ||
		!slices.Equal(claims.AMR, []string{"pwd"}) {
		t.Fatalf("id token claims %+v %v", claims, err)
	}
	if !strings.HasPrefix(tok.RefreshToken, "gh_rt_") {
		t.Fatalf("refresh token %q", tok.RefreshToken)
	}
	if ui, err := prov.UserInfo(ctx, oauth2.StaticTokenSource(tok)); err != nil || ui.Email != "ada@example.com" {
		t.Fatalf("userinfo: %+v %v", ui, err)
	}
	refreshed, err := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if err != nil || refreshed.AccessToken == "" {
		t.Fatalf("refresh: %v", err)
	}

	// Exactly once: a poll after success is invalid_grant and revokes what
	// the code produced, refreshed tokens included.
	if status, e := poll(tvID, da.DeviceCode); status != 400 || e != "invalid_grant" {
		t.Fatalf("poll after success: %d %s", status, e)
	}
	if _, err := prov.UserInfo(ctx, oauth2.StaticTokenSource(refreshed)); err == nil {
		t.Fatal("tokens of a reused device code still work")
	}
	if _, err := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: refreshed.RefreshToken}).Token(); err == nil ||
		!strings.Contains(err.Error(), "invalid_grant") {
		t.Fatalf("refresh after device code reuse: %v", err)
	}
	// The approved code is spent on the page too.
	p = b.submit(b.get(issuer+"/device"), issuer+"/device", url.Values{"user_code": {da.UserCode}})
	p.want(t, "approved code entered again", 400, "not valid")

	// Denial: signed in now, the code (typed loosely) leads straight to the
	// confirmation; Deny makes the device's poll access_denied.
	da2, err := conf.DeviceAuth(ctx)
	if err != nil {
		t.Fatal(err)
	}
	typed := strings.ToLower(strings.ReplaceAll(da2.UserCode, "-", " "))
	p = b.submit(b.get(issuer+"/device"), issuer+"/device", url.Values{"user_code": {typed}})
	p.want(t, "confirmation when signed in", 200, da2.UserCode, `value="approve"`)
	p = b.submit(p, issuer+"/device", url.Values{"user_code": {da2.UserCode}, "action": {"deny"}})
	p.want(t, "denial", 200, "Request denied")
	if status, e := poll(tvID, da2.DeviceCode); status != 400 || e != "access_denied" {
		t.Fatalf("poll after denial: %d %s", status, e)
	}
	if _, err := conf.DeviceAccessToken(ctx, da2); err == nil || !strings.Contains(err.Error(), "access_denied") {
		t.Fatalf("x/oauth2 after denial: %v", err)
	}

	// Wrong codes: an error on the page, and after ten from one address, 429
	// (the spent code entered above was the first).
	for i := 2; i <= 10; i++ {
		p = b.submit(b.get(issuer+"/device"), issuer+"/device", url.Values{"user_code": {"BBBB-BBBB"}})
		p.want(t, "wrong user code", 400, "That code is not valid")
	}
	p = b.submit(b.get(issuer+"/device"), issuer+"/device", url.Values{"user_code": {"BBBB-BBBB"}})
	p.want(t, "eleventh wrong code", 429, "Too many wrong codes")
	if p.header.Get("Retry-After") == "" {
		t.Fatal("429 without Retry-After")
	}
	dpNotLogged(t, logs(), da.DeviceCode, da.UserCode, strings.ReplaceAll(da.UserCode, "-", ""), tok.RefreshToken)
}

// dpNotLogged: no code or token value reaches the server's log.
func dpNotLogged(t *testing.T, logs string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" && strings.Contains(logs, s) {
			t.Errorf("the server logged %q", s)
		}
	}
}

func parScenario(t *testing.T, env []string, api *client, logs func() string) {
	ctx := context.Background()
	base := api.base
	issuer := base + "/t/default"
	r := newRP(t, env, base, "default")
	other := newRP(t, env, base, "default")
	push := func(id, secret string, form url.Values) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest("POST", issuer+"/par", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if secret != "" {
			req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("PAR answer Cache-Control %q", cc)
		}
		var body map[string]any
		_ = json.NewDecoder(res.Body).Decode(&body)
		return res.StatusCode, body
	}
	verifier := oauth2.GenerateVerifier()
	request := func(c *rp) url.Values {
		return url.Values{"response_type": {"code"}, "client_id": {c.conf.ClientID}, "redirect_uri": {c.redirect},
			"scope": {"openid email"}, "state": {"par-state"}, "nonce": {"par-nonce"},
			"code_challenge": {oauth2.S256ChallengeFromVerifier(verifier)}, "code_challenge_method": {"S256"}}
	}
	pushOK := func(c *rp, form url.Values) string {
		t.Helper()
		status, body := push(c.conf.ClientID, c.conf.ClientSecret, form)
		uri, _ := body["request_uri"].(string)
		if status != 201 || !strings.HasPrefix(uri, "urn:ietf:params:oauth:request_uri:") || body["expires_in"] != 60.0 {
			t.Fatalf("push: %d %v", status, body)
		}
		return uri
	}
	authURL := func(clientID, uri string, extra ...string) string {
		q := url.Values{"client_id": {clientID}, "request_uri": {uri}}
		for i := 0; i+1 < len(extra); i += 2 {
			q.Set(extra[i], extra[i+1])
		}
		return issuer + "/authorize?" + q.Encode()
	}
	refused := func(step, u string) {
		t.Helper()
		res, err := r.browser.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var body map[string]any
		_ = json.NewDecoder(res.Body).Decode(&body)
		if res.StatusCode != 400 || body["error"] != "invalid_request_uri" {
			t.Fatalf("%s: %d %v (Location %q)", step, res.StatusCode, body, res.Header.Get("Location"))
		}
	}

	// Happy path: push, authorize by reference (parameters on the URL other
	// than client_id and request_uri are ignored), sign in, exchange.
	uri := pushOK(r, request(r))
	first := authURL(r.conf.ClientID, uri, "state", "evil", "redirect_uri", "https://evil.example/cb", "scope", "openid profile phone")
	q := r.authorize(first, "ada@example.com", "analytical engine 1843")
	if q.Get("state") != "par-state" || q.Get("code") == "" || q.Get("iss") != issuer {
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
		Nonce string `json:"nonce"`
		Email string `json:"email"`
		Name  string `json:"name"`
	}
	if err := idt.Claims(&claims); err != nil || claims.Nonce != "par-nonce" || claims.Email != "ada@example.com" || claims.Name != "" {
		t.Fatalf("id token claims %+v %v (the pushed scope is openid email only)", claims, err)
	}

	// Single use.
	refused("request_uri used twice", first)

	// Bound to the client that pushed it; a wrong client does not use it up.
	uri = pushOK(r, request(r))
	refused("request_uri of another client", authURL(other.conf.ClientID, uri))
	if q := r.authorize(authURL(r.conf.ClientID, uri), "", ""); q.Get("code") == "" {
		t.Fatalf("the pushing client after a foreign attempt: %v", q)
	}
	refused("unknown request_uri", authURL(r.conf.ClientID, "urn:ietf:params:oauth:request_uri:"+strings.Repeat("A", 43)))

	// Validated at push time, with OAuth error JSON.
	for _, tc := range []struct {
		name         string
		id, secret   string
		set          []string
		status       int
		code         string
		withoutField string
	}{
		{name: "unregistered redirect_uri", set: []string{"redirect_uri", r.redirect + "x"}, status: 400, code: "invalid_request"},
		{name: "redirect_uri of another client", set: []string{"redirect_uri", other.redirect}, status: 400, code: "invalid_request"},
		{name: "PKCE plain", set: []string{"code_challenge_method", "plain"}, status: 400, code: "invalid_request"},
		{name: "PKCE method missing", withoutField: "code_challenge_method", status: 400, code: "invalid_request"},
		{name: "response_type token", set: []string{"response_type", "token"}, status: 400, code: "unsupported_response_type"},
		{name: "request_uri pushed", set: []string{"request_uri", uri}, status: 400, code: "invalid_request"},
		{name: "wrong secret", id: r.conf.ClientID, secret: "wrong", status: 401, code: "invalid_client"},
		{name: "no authentication", id: r.conf.ClientID, secret: "-", status: 401, code: "invalid_client"},
		{name: "client_id of another client", set: []string{"client_id", other.conf.ClientID}, status: 400, code: "invalid_request"},
	} {
		form := request(r)
		for i := 0; i+1 < len(tc.set); i += 2 {
			form.Set(tc.set[i], tc.set[i+1])
		}
		if tc.withoutField != "" {
			form.Del(tc.withoutField)
		}
		id, secret := r.conf.ClientID, r.conf.ClientSecret
		if tc.secret != "" {
			id, secret = tc.id, tc.secret
		}
		if secret == "-" {
			secret = ""
		}
		status, body := push(id, secret, form)
		if status != tc.status || body["error"] != tc.code {
			t.Errorf("push with %s: %d %v, want %d %s", tc.name, status, body, tc.status, tc.code)
		}
	}
	// A private_key_jwt client authenticates with an assertion, once.
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	var kc map[string]any
	api.must(201, "POST", "/api/v1/tenants/default/clients", map[string]any{
		"name": "Key App", "redirect_uris": []string{r.redirect}, "token_endpoint_auth_method": "private_key_jwt",
		"jwks": map[string]any{"keys": []any{jose.JSONWebKey{Key: &key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}},
	}).json(t, &kc)
	keyID, _ := kc["client_id"].(string)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: "k1"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(map[string]any{"iss": keyID, "sub": keyID, "aud": []string{issuer},
		"iat": time.Now().Unix(), "exp": time.Now().Add(time.Minute).Unix(), "jti": oauth2.GenerateVerifier()})
	obj, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	assertion, _ := obj.CompactSerialize()
	form := request(r)
	form.Set("client_id", keyID)
	form.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
	form.Set("client_assertion", assertion)
	if status, body := push("", "", form); status != 201 || body["request_uri"] == nil {
		t.Errorf("push with private_key_jwt: %d %v", status, body)
	}
	if status, body := push("", "", form); status != 401 || body["error"] != "invalid_client" {
		t.Errorf("push with a replayed assertion: %d %v", status, body)
	}
	if res, err := http.Get(issuer + "/par"); err != nil || res.StatusCode != 405 {
		t.Errorf("GET /par: %v %v", res, err)
	}
	dpNotLogged(t, logs(), strings.TrimPrefix(uri, "urn:ietf:params:oauth:request_uri:"), q.Get("code"))
}
