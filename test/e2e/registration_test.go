package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/oauth2"
)

// rpFor is a relying party for a client registered some other way than
// the CLI (dynamic registration, a metadata document), discovered with
// go-oidc and driven with x/oauth2.
func rpFor(t *testing.T, base, tenant, id, secret, redirect string) *rp {
	t.Helper()
	prov, err := gooidc.NewProvider(context.Background(), base+"/t/"+tenant)
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
	ep := prov.Endpoint()
	ep.AuthStyle = oauth2.AuthStyleInHeader
	if secret == "" {
		ep.AuthStyle = oauth2.AuthStyleInParams
	}
	return &rp{t: t, provider: prov, browser: browser, redirect: redirect,
		verifier: prov.Verifier(&gooidc.Config{ClientID: id}),
		conf: &oauth2.Config{ClientID: id, ClientSecret: secret, Endpoint: ep, RedirectURL: redirect,
			Scopes: []string{gooidc.ScopeOpenID, "profile", "email"}}}
}

// consentedTokens runs a third-party client's code flow: login, the
// consent screen approved, the code exchanged by x/oauth2 and the ID token
// verified by go-oidc.
func (r *rp) consentedTokens(email, password string) (*oauth2.Token, *gooidc.IDToken) {
	r.t.Helper()
	v := oauth2.GenerateVerifier()
	res, err := r.browser.Get(r.conf.AuthCodeURL("st-dcr", oauth2.S256ChallengeOption(v), gooidc.Nonce("n-dcr")))
	if err != nil {
		r.t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	body := string(b)
	if strings.Contains(body, `autocomplete="current-password"`) {
		res, body = r.submit(res, body, url.Values{"identifier": {email}, "password": {password}})
	}
	if strings.Contains(body, `value="approve"`) {
		res = r.consentStep(res, body, "approve")
	}
	loc, err := url.Parse(res.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(loc.String(), r.redirect) || loc.Query().Get("code") == "" {
		r.t.Fatalf("no code: %d %q %.300s", res.StatusCode, res.Header.Get("Location"), body)
	}
	tok, err := r.conf.Exchange(context.Background(), loc.Query().Get("code"), oauth2.VerifierOption(v))
	if err != nil {
		r.t.Fatalf("exchange: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := r.verifier.Verify(context.Background(), raw)
	if err != nil {
		r.t.Fatalf("ID token: %v", err)
	}
	return tok, idt
}

func regToken(t *testing.T, api *client, maxUses int, expiresIn int) string {
	t.Helper()
	var it struct {
		Token string `json:"token"`
	}
	api.must(201, "POST", "/api/v1/tenants/default/registration-tokens", map[string]any{"max_uses": maxUses, "expires_in": expiresIn}).json(t, &it)
	if !strings.HasPrefix(it.Token, "gh_iat_") {
		t.Fatalf("initial access token %q", it.Token)
	}
	return it.Token
}

// regErrCode is the RFC 7591 error of a registration response.
func regErrCode(t *testing.T, r resp) string {
	t.Helper()
	var e struct {
		Error string `json:"error"`
	}
	_ = json.Unmarshal(r.Body, &e)
	return e.Error
}

// TestDynamicRegistration drives RFC 7591 and RFC 7592 through the real
// server on each backend: an initial access token minted by the API
// registers a client, which then signs a user in with x/oauth2 and go-oidc;
// the registration access token reads, replaces and deletes it; the
// hostile inputs of docs/SECURITY.md are refused and spend no token use;
// an exhausted and an expired initial access token, a tenant-admin API key
// as one, the registration policy, the three modes and software statements.
func TestDynamicRegistration(t *testing.T) {
	// It waits out a 60-second token lifetime, the shortest the product
	// allows: parallel, so the wait is not added to the sequential tests'
	// and overlaps the other test that waits (with -parallel 4, as make
	// test runs them).
	t.Parallel()
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			testDynamicRegistration(t, b)
		})
	}
}

func testDynamicRegistration(t *testing.T, b backend) {
	d := deploy(t, b)
	d.user(t, "default", adaEmail, adaPW)
	api := d.platform(t)
	m := d.discover(t, "default")
	regPath := "/t/default/register"
	expiring := regToken(t, api, 5, 60)
	expiringAt := time.Now()

	disc := get(t, nil, d.base+"/t/default/.well-known/openid-configuration")
	if disc.str("registration_endpoint") != m.Issuer+"/register" {
		t.Errorf("registration_endpoint %q", disc.str("registration_endpoint"))
	}
	redirect := freeRedirect(t, "/cb")
	// The tenant lets registered clients use CIBA too; their CIBA metadata
	// is checked as the management API checks it (poll mode, no user codes).
	api.must(200, "PATCH", "/api/v1/tenants/default", map[string]any{"settings": map[string]any{"oauth": map[string]any{
		"registration_policy": map[string]any{"grant_types": []string{"authorization_code", "refresh_token", "urn:openid:params:grant-type:ciba"}}}}})
	md := map[string]any{"client_name": "DCR App", "redirect_uris": []string{redirect},
		"grant_types": []string{"authorization_code", "refresh_token", "urn:openid:params:grant-type:ciba"}, "scope": "openid profile email offline_access",
		"backchannel_token_delivery_mode": "poll", "backchannel_user_code_parameter": false}

	anon := &client{t: t, base: d.base}
	if r := anon.do("POST", regPath, md); r.Status != 401 || regErrCode(t, r) != "invalid_token" {
		t.Errorf("registration without a token: %d %s", r.Status, r.Body)
	}
	iat := regToken(t, api, 1, 600)
	withIAT := &client{t: t, base: d.base, token: iat}
	// A refused registration spends no use of the token.
	if r := withIAT.do("POST", regPath, map[string]any{"redirect_uris": []string{"javascript:alert(1)"}}); r.Status != 400 ||
		regErrCode(t, r) != "invalid_redirect_uri" {
		t.Errorf("javascript: redirect: %d %s", r.Status, r.Body)
	}
	var out map[string]any
	withIAT.must(201, "POST", regPath, md).json(t, &out)
	id, _ := out["client_id"].(string)
	secret, _ := out["client_secret"].(string)
	rat, _ := out["registration_access_token"].(string)
	if id == "" || !strings.HasPrefix(secret, "gh_cs_") || !strings.HasPrefix(rat, "gh_rat_") ||
		out["registration_client_uri"] != m.Issuer+"/register/"+id || out["backchannel_token_delivery_mode"] != "poll" ||
		out["backchannel_user_code_parameter"] == true || out["token_endpoint_auth_method"] != "client_secret_basic" {
		t.Fatalf("registration response: %v", out)
	}
	if r := withIAT.do("POST", regPath, md); r.Status != 401 {
		t.Errorf("exhausted initial access token: %d %s", r.Status, r.Body)
	}

	// The registered client signs ada in (a third-party client: consent).
	r := rpFor(t, d.base, "default", id, secret, redirect)
	r.conf.Scopes = append(r.conf.Scopes, gooidc.ScopeOfflineAccess)
	tok, idt := r.consentedTokens(adaEmail, adaPW)
	if idt.Audience[0] != id || tok.RefreshToken == "" {
		t.Errorf("tokens of the registered client: aud %v refresh %q", idt.Audience, tok.RefreshToken)
	}

	// RFC 7592: read, replace, delete with the registration access token.
	mgmt := &client{t: t, base: d.base, token: rat}
	clientPath := "/t/default/register/" + id
	var got map[string]any
	mgmt.must(200, "GET", clientPath, nil).json(t, &got)
	if got["client_name"] != "DCR App" || got["client_secret"] != nil || got["backchannel_token_delivery_mode"] != "poll" {
		t.Errorf("read registration: %v", got)
	}
	for name, c := range map[string]*client{"no token": anon, "initial access token": withIAT,
		"another client's path": mgmt} {
		path := clientPath
		if name == "another client's path" {
			path = "/t/default/register/" + r.conf.ClientID + "x"
		}
		if res := c.do("GET", path, nil); res.Status != 401 {
			t.Errorf("read with %s: %d %s", name, res.Status, res.Body)
		}
	}
	upd := map[string]any{"client_id": id, "client_name": "DCR App 2", "redirect_uris": []string{redirect},
		"grant_types": []string{"authorization_code", "refresh_token"}, "scope": "openid profile email offline_access"}
	mgmt.must(200, "PUT", clientPath, upd).json(t, &got)
	newRAT, _ := got["registration_access_token"].(string)
	if got["client_name"] != "DCR App 2" || !strings.HasPrefix(newRAT, "gh_rat_") || newRAT == rat {
		t.Errorf("replaced registration: %v", got)
	}
	// The update rotated the registration access token.
	if res := mgmt.do("GET", clientPath, nil); res.Status != 401 {
		t.Errorf("old registration access token after PUT: %d", res.Status)
	}
	mgmt = &client{t: t, base: d.base, token: newRAT}
	var cl map[string]any
	api.must(200, "GET", "/api/v1/tenants/default/clients/"+id, nil).json(t, &cl)
	if cl["name"] != "DCR App 2" || cl["third_party"] != true {
		t.Errorf("client after PUT: %v", cl)
	}
	bad := map[string]any{"client_id": id, "redirect_uris": []string{"http://evil.example/cb"}}
	if res := mgmt.do("PUT", clientPath, bad); res.Status != 400 || regErrCode(t, res) != "invalid_redirect_uri" {
		t.Errorf("PUT with an http redirect: %d %s", res.Status, res.Body)
	}
	if res := mgmt.do("PUT", clientPath, map[string]any{"client_id": "other", "redirect_uris": []string{redirect}}); res.Status != 400 {
		t.Errorf("PUT naming another client_id: %d %s", res.Status, res.Body)
	}
	mgmt.must(204, "DELETE", clientPath, nil)
	if res := mgmt.do("GET", clientPath, nil); res.Status != 401 {
		t.Errorf("read after delete: %d", res.Status)
	}
	wantErr(t, "deleted client's refresh token", postForm(t, m.Token, refreshForm(tok.RefreshToken), id, secret), 401, "invalid_client")

	// Hostile metadata, each refused with the RFC 7591 code.
	many := &client{t: t, base: d.base, token: regToken(t, api, 20, 600)}
	for name, c := range map[string]struct {
		md   any
		code string
	}{
		"http redirect off loopback": {map[string]any{"redirect_uris": []string{"http://evil.example/cb"}}, "invalid_redirect_uri"},
		"data: redirect":             {map[string]any{"redirect_uris": []string{"data:text/html,hi"}}, "invalid_redirect_uri"},
		"fragment in redirect":       {map[string]any{"redirect_uris": []string{"https://app.example/cb#x"}}, "invalid_redirect_uri"},
		"no redirect":                {map[string]any{"client_name": "x"}, "invalid_redirect_uri"},
		"unknown grant":              {map[string]any{"redirect_uris": []string{redirect}, "grant_types": []string{"urn:evil"}}, "invalid_client_metadata"},
		"grant outside the policy":   {map[string]any{"redirect_uris": []string{redirect}, "grant_types": []string{"client_credentials"}}, "invalid_client_metadata"},
		"implicit":                   {map[string]any{"redirect_uris": []string{redirect}, "response_types": []string{"token"}}, "invalid_client_metadata"},
		"jwks_uri":                   {map[string]any{"redirect_uris": []string{redirect}, "jwks_uri": "https://app.example/jwks"}, "invalid_client_metadata"},
		"unknown auth method":        {map[string]any{"redirect_uris": []string{redirect}, "token_endpoint_auth_method": "client_secret_magic"}, "invalid_client_metadata"},
		"private key without keys":   {map[string]any{"redirect_uris": []string{redirect}, "token_endpoint_auth_method": "private_key_jwt"}, "invalid_client_metadata"},
		"ping without endpoint":      {map[string]any{"redirect_uris": []string{redirect}, "backchannel_token_delivery_mode": "ping"}, "invalid_client_metadata"},
		"bad delivery mode":          {map[string]any{"redirect_uris": []string{redirect}, "backchannel_token_delivery_mode": "push"}, "invalid_client_metadata"},
		"wrong member type":          {map[string]any{"redirect_uris": "https://app.example/cb"}, "invalid_client_metadata"},
		"not JSON":                   {"{not json", "invalid_client_metadata"},
		"forged statement":           {map[string]any{"redirect_uris": []string{redirect}, "software_statement": "a.b.c"}, "invalid_software_statement"},
	} {
		res := many.do("POST", regPath, c.md)
		if res.Status != 400 || regErrCode(t, res) != c.code {
			t.Errorf("%s: %d %s, want 400 %s", name, res.Status, res.Body, c.code)
		}
	}
	if res := many.do("POST", regPath, "x=1", "Content-Type", "application/x-www-form-urlencoded"); res.Status != 415 {
		t.Errorf("form body: %d", res.Status)
	}

	// A tenant-admin API key is an initial access token; a read key is not.
	adminKey, _, _ := cli(t, d.env, "apikey", "create", "--tenant", "default", "--scopes", "admin")
	readKey, _, _ := cli(t, d.env, "apikey", "create", "--tenant", "default", "--scopes", "read")
	(&client{t: t, base: d.base, token: lastLine(adminKey)}).must(201, "POST", regPath, md)
	if res := (&client{t: t, base: d.base, token: lastLine(readKey)}).do("POST", regPath, md); res.Status != 401 {
		t.Errorf("read-scope API key: %d %s", res.Status, res.Body)
	}

	// Policy: only private_key_jwt clients.
	setOAuth := func(o map[string]any) {
		api.must(200, "PATCH", "/api/v1/tenants/default", map[string]any{"settings": map[string]any{"oauth": o}})
	}
	setOAuth(map[string]any{"registration_policy": map[string]any{"token_endpoint_auth_method": "private_key_jwt"}})
	if res := many.do("POST", regPath, md); res.Status != 400 || regErrCode(t, res) != "invalid_client_metadata" {
		t.Errorf("secret client under a private_key_jwt policy: %d %s", res.Status, res.Body)
	}
	setOAuth(map[string]any{"registration_policy": map[string]any{"token_endpoint_auth_method": ""}})
	if res := api.do("PATCH", "/api/v1/tenants/default", map[string]any{"settings": map[string]any{"oauth": map[string]any{"registration": "sometimes"}}}); res.Status != 400 {
		t.Errorf("unknown registration mode accepted: %d", res.Status)
	}

	// Software statements of a trusted issuer stand in for a token.
	ssKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rogue, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pub := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: ssKey.Public(), KeyID: "ss1", Algorithm: "ES256", Use: "sig"}}}
	setOAuth(map[string]any{"software_statement_issuers": []any{map[string]any{"issuer": "https://software.example", "jwks": pub}}})
	statement := func(k *ecdsa.PrivateKey, exp time.Time) string {
		s, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: k}, (&jose.SignerOptions{}).WithHeader("kid", "ss1"))
		raw, err := jwt.Signed(s).Claims(map[string]any{"iss": "https://software.example", "iat": time.Now().Unix(),
			"exp": exp.Unix(), "software_id": "acme-app", "client_name": "Acme (from statement)"}).Serialize()
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	withStmt := map[string]any{"client_name": "Claimed name", "redirect_uris": []string{redirect},
		"software_statement": statement(ssKey, time.Now().Add(time.Hour))}
	anon.must(201, "POST", regPath, withStmt).json(t, &got)
	if got["client_name"] != "Acme (from statement)" || got["software_id"] != "acme-app" {
		t.Errorf("statement claims did not take precedence: %v", got)
	}
	withStmt["software_statement"] = statement(rogue, time.Now().Add(time.Hour))
	if res := anon.do("POST", regPath, withStmt); res.Status != 400 || regErrCode(t, res) != "unapproved_software_statement" {
		t.Errorf("statement by an untrusted key: %d %s", res.Status, res.Body)
	}
	withStmt["software_statement"] = statement(ssKey, time.Now().Add(-time.Hour))
	if res := anon.do("POST", regPath, withStmt); res.Status != 400 || regErrCode(t, res) != "invalid_software_statement" {
		t.Errorf("expired statement: %d %s", res.Status, res.Body)
	}

	// Modes: open lets anyone register; closed nobody, and is not advertised.
	setOAuth(map[string]any{"registration": "open"})
	anon.must(201, "POST", regPath, md)
	// Anonymous registrations are limited per source network.
	limited := false
	for i := 0; i < 25 && !limited; i++ {
		res := anon.do("POST", regPath, md)
		switch res.Status {
		case 201:
		case 429:
			limited = res.Header.Get("Retry-After") != ""
		default:
			t.Fatalf("open registration %d: %d %s", i, res.Status, res.Body)
		}
	}
	if !limited {
		t.Errorf("25 anonymous registrations from one network were not limited")
	}
	many.must(201, "POST", regPath, md) // a token's registrations are not
	setOAuth(map[string]any{"registration": "closed"})
	if res := many.do("POST", regPath, md); res.Status != 403 {
		t.Errorf("closed registration: %d %s", res.Status, res.Body)
	}
	if disc := get(t, nil, d.base+"/t/default/.well-known/openid-configuration"); disc.str("registration_endpoint") != "" {
		t.Errorf("closed registration still advertised")
	}
	setOAuth(map[string]any{"registration": "initial_access_token"})

	// Expired: the token minted first, once its minute is over.
	time.Sleep(time.Until(expiringAt.Add(62 * time.Second)))
	if res := (&client{t: t, base: d.base, token: expiring}).do("POST", regPath, md); res.Status != 401 {
		t.Errorf("expired initial access token: %d %s", res.Status, res.Body)
	}
}
