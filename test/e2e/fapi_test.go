package e2e

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/uuid"
	"golang.org/x/oauth2"
)

// fapiClient is a FAPI 2.0 client of the test: private_key_jwt with an
// ES256 key (and an RSA key registered too, so that an RS256 assertion
// verifies and only the profile refuses it), DPoP with an ES256 key.
type fapiClient struct {
	t        *testing.T
	id       string
	issuer   string
	redirect string
	es, rs   crypto.Signer
	dpop     *dpopKey
	browser  *http.Client
}

// assertion is a client assertion signed with alg (ES256 or RS256) for aud.
func (c *fapiClient) assertion(alg jose.SignatureAlgorithm, aud string) string {
	c.t.Helper()
	key, kid := any(c.es), "es"
	if alg == jose.RS256 {
		key, kid = c.rs, "rs"
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: key, KeyID: kid}}, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	payload, _ := json.Marshal(map[string]any{"iss": c.id, "sub": c.id, "aud": aud,
		"iat": time.Now().Unix(), "exp": time.Now().Add(time.Minute).Unix(), "jti": uuid.NewString()})
	obj, err := s.Sign(payload)
	if err != nil {
		c.t.Fatal(err)
	}
	out, _ := obj.CompactSerialize()
	return out
}

// authForm is client authentication by an ES256 assertion.
func (c *fapiClient) authForm(f url.Values) url.Values {
	f.Set("client_id", c.id)
	f.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
	f.Set("client_assertion", c.assertion(jose.ES256, c.issuer))
	return f
}

// parForm is a valid pushed authorization request (before client
// authentication) with a fresh PKCE verifier.
func (c *fapiClient) parForm() (url.Values, string) {
	v := oauth2.GenerateVerifier()
	return url.Values{"response_type": {"code"}, "redirect_uri": {c.redirect}, "scope": {"openid email"},
		"state": {"st-" + v[:8]}, "nonce": {"n-" + v[8:16]}, "code_challenge": {oauth2.S256ChallengeFromVerifier(v)},
		"code_challenge_method": {"S256"}}, v
}

func (c *fapiClient) push(f url.Values) oauthResp {
	c.t.Helper()
	return call(c.t, http.DefaultClient, "POST", c.issuer+"/par", f, nil)
}

// code pushes a valid request, runs the browser (logging in when asked)
// and answers the authorization response and the verifier.
func (c *fapiClient) code(user, password string) (url.Values, string) {
	c.t.Helper()
	f, v := c.parForm()
	r := c.push(c.authForm(f))
	if r.Status != http.StatusCreated {
		c.t.Fatalf("PAR: %d %s", r.Status, r.Raw)
	}
	auth := c.issuer + "/authorize?" + url.Values{"client_id": {c.id}, "request_uri": {r.str("request_uri")}}.Encode()
	q := (&rp{t: c.t, browser: c.browser, redirect: c.redirect}).authorize(auth, user, password)
	if q.Get("code") == "" || q.Get("state") != f.Get("state") {
		c.t.Fatalf("authorization response %v", q)
	}
	return q, v
}

// dpopTransport adds a DPoP proof for each request it carries.
type dpopTransport struct{ k *dpopKey }

func (d dpopTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	u := *r.URL
	u.RawQuery = ""
	r.Header.Set("DPoP", d.k.proof(r.Method, u.String(), "", proofOpts{}))
	return http.DefaultTransport.RoundTrip(r)
}

// TestFAPI2: a FAPI 2.0 client (profile switch) completes PAR + PKCE +
// private_key_jwt + DPoP with x/oauth2 and go-jose, and every shortcut the
// profile forbids is refused with the right error. On every backend.
func TestFAPI2(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			fapiScenario(t, b)
		})
	}
}

func fapiScenario(t *testing.T, b backend) {
	d := deploy(t, b)
	api := d.platform(t)
	issuer := d.base + "/t/default"
	user, password := "fapi@example.com", "open banking 2.0"
	d.user(t, "default", user, password)

	es, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rs, _ := rsa.GenerateKey(rand.Reader, 2048)
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: es.Public(), KeyID: "es", Use: "sig"}, {Key: rs.Public(), KeyID: "rs", Use: "sig"}}}
	redirect := "https://" + strings.TrimPrefix(freeRedirect(t, "/cb"), "http://")
	base := map[string]any{"name": "bank", "fapi2": true, "token_endpoint_auth_method": "private_key_jwt",
		"jwks": set, "redirect_uris": []string{redirect}, "grant_types": []string{"authorization_code", "refresh_token"}}
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for a, b := range base {
			m[a] = b
		}
		m[k] = v
		return m
	}
	// Registration keeps a FAPI 2.0 client to the profile.
	for name, body := range map[string]map[string]any{
		"client_secret_basic": with("token_endpoint_auth_method", "client_secret_basic"),
		"http redirect URI":   with("redirect_uris", []string{"http://127.0.0.1:9/cb"}),
		"RS256 ID tokens":     with("id_token_signed_response_alg", "RS256"),
		"device grant":        with("grant_types", []string{"authorization_code", "urn:ietf:params:oauth:grant-type:device_code"}),
	} {
		if r := api.do("POST", "/api/v1/tenants/default/clients", body); r.Status != 400 || !strings.Contains(string(r.Body), "FAPI 2.0") {
			t.Errorf("registration with %s: %d %s, want 400 naming FAPI 2.0", name, r.Status, r.Body)
		}
	}
	var created map[string]any
	api.must(201, "POST", "/api/v1/tenants/default/clients", base).json(t, &created)
	if created["fapi2"] != true || created["profile"] != "fapi2" || created["id_token_signed_response_alg"] != "ES256" {
		t.Fatalf("FAPI client as created: %v", created)
	}
	jar, _ := cookiejar.New(nil)
	c := &fapiClient{t: t, id: created["client_id"].(string), issuer: issuer, redirect: redirect, es: es, rs: rs,
		dpop: newDPoPKey(t, jose.ES256)}
	c.browser = &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if strings.HasPrefix(req.URL.String(), redirect) {
			return http.ErrUseLastResponse
		}
		return nil
	}}

	// The complete flow: PAR, the browser, the code exchanged by x/oauth2
	// with a client assertion and a DPoP proof; the ID token verified by
	// go-oidc; userinfo with the DPoP scheme.
	q, verifier := c.code(user, password)
	if q.Get("iss") != issuer {
		t.Fatalf("authorization response without iss: %v", q)
	}
	ctx := context.Background()
	prov, err := gooidc.NewProvider(ctx, issuer)
	if err != nil {
		t.Fatal(err)
	}
	ep := prov.Endpoint()
	ep.AuthStyle = oauth2.AuthStyleInParams
	conf := &oauth2.Config{ClientID: c.id, Endpoint: ep, RedirectURL: redirect, Scopes: []string{"openid", "email"}}
	dctx := context.WithValue(ctx, oauth2.HTTPClient, &http.Client{Transport: dpopTransport{c.dpop}})
	tok, err := conf.Exchange(dctx, q.Get("code"), oauth2.VerifierOption(verifier),
		oauth2.SetAuthURLParam("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
		oauth2.SetAuthURLParam("client_assertion", c.assertion(jose.ES256, issuer)))
	if err != nil {
		t.Fatalf("FAPI code exchange: %v", err)
	}
	if tok.TokenType != "DPoP" || cnfMember(claimsOf(t, tok.AccessToken))["jkt"] != c.dpop.jkt() {
		t.Fatalf("token not DPoP-bound: %s %v", tok.TokenType, claimsOf(t, tok.AccessToken))
	}
	rawID, _ := tok.Extra("id_token").(string)
	idt, err := prov.Verifier(&gooidc.Config{ClientID: c.id, SupportedSigningAlgs: []string{"ES256", "PS256", "EdDSA"}}).Verify(ctx, rawID)
	if err != nil || idt.Subject == "" {
		t.Fatalf("ID token: %v", err)
	}
	ui := call(t, http.DefaultClient, "GET", issuer+"/userinfo", nil, nil, "Authorization", "DPoP "+tok.AccessToken,
		"DPoP", c.dpop.proof("GET", issuer+"/userinfo", tok.AccessToken, proofOpts{}))
	if ui.Status != 200 || ui.str("email") != user {
		t.Fatalf("userinfo: %d %s", ui.Status, ui.Raw)
	}

	// The forbidden shortcuts, each refused with its error.
	for _, nc := range fapiNegatives(t, c, issuer, tok.AccessToken, q.Get("code"), verifier) {
		if nc.status != nc.wantStatus || nc.code != nc.wantCode || !strings.Contains(nc.detail, nc.wantText) {
			t.Errorf("%s: %d %q (%s), want %d %q", nc.name, nc.status, nc.code, nc.detail, nc.wantStatus, nc.wantCode)
		}
	}
}

// fapiCase is one refused shortcut and what it got.
type fapiCase struct {
	name               string
	status, wantStatus int
	code, wantCode     string
	detail             string
	// wantText, when set, is in the answer: the refusal is the profile's.
	wantText string
}

func fromResp(name string, r oauthResp, wantStatus int, wantCode string) fapiCase {
	return fapiCase{name: name, status: r.Status, code: r.errCode(), detail: string(r.Raw), wantStatus: wantStatus, wantCode: wantCode}
}

// fapiNegatives runs the negative cases against c; usedCode was already
// exchanged, accessToken is DPoP-bound.
func fapiNegatives(t *testing.T, c *fapiClient, issuer, accessToken, usedCode, usedVerifier string) []fapiCase {
	tokenURL := issuer + "/oauth/token"
	var out []fapiCase
	pushWith := func(name string, change func(url.Values), auth func(url.Values) url.Values, wantStatus int, wantCode string) {
		f, _ := c.parForm()
		change(f)
		out = append(out, fromResp(name, c.push(auth(f)), wantStatus, wantCode))
	}
	keep := func(url.Values) {}
	// Authorization requests.
	pushWith("PAR without PKCE", func(f url.Values) { f.Del("code_challenge"); f.Del("code_challenge_method") }, c.authForm, 400, "invalid_request")
	pushWith("PAR with PKCE plain", func(f url.Values) { f.Set("code_challenge_method", "plain") }, c.authForm, 400, "invalid_request")
	pushWith("PAR for the implicit flow (response_type=token)", func(f url.Values) { f.Set("response_type", "token") }, c.authForm, 400, "unsupported_response_type")
	pushWith("PAR for the hybrid flow (code id_token)", func(f url.Values) { f.Set("response_type", "code id_token") }, c.authForm, 400, "unsupported_response_type")
	pushWith("PAR with an unregistered redirect_uri", func(f url.Values) { f.Set("redirect_uri", "https://evil.example/cb") }, c.authForm, 400, "invalid_request")
	pushWith("PAR with a redirect_uri extending the registered one", func(f url.Values) { f.Set("redirect_uri", c.redirect+"/more") }, c.authForm, 400, "invalid_request")
	pushWith("PAR with a client secret instead of an assertion", keep, func(f url.Values) url.Values {
		f.Set("client_id", c.id)
		f.Set("client_secret", "gh_cs_not-a-secret")
		return f
	}, 401, "invalid_client")
	pushWith("PAR with an RS256 client assertion", keep, func(f url.Values) url.Values {
		f.Set("client_id", c.id)
		f.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
		f.Set("client_assertion", c.assertion(jose.RS256, issuer))
		return f
	}, 401, "invalid_client")
	replayed := c.assertion(jose.ES256, issuer)
	once := func(f url.Values) url.Values {
		f.Set("client_id", c.id)
		f.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
		f.Set("client_assertion", replayed)
		return f
	}
	pushWith("PAR (first use of an assertion)", keep, once, 201, "")
	pushWith("PAR with a replayed client assertion", keep, once, 401, "invalid_client")
	pushWith("PAR with no client authentication", keep, func(f url.Values) url.Values { f.Set("client_id", c.id); return f }, 401, "invalid_client")

	// Authorization without PAR: the error goes back to the client.
	f, _ := c.parForm()
	f.Set("client_id", c.id)
	q := (&rp{t: t, browser: c.browser, redirect: c.redirect}).authorizeErr(issuer + "/authorize?" + f.Encode())
	out = append(out, fapiCase{name: "authorization request without PAR", status: 302, wantStatus: 302,
		code: q.Get("error"), wantCode: "invalid_request", detail: q.Get("error_description"), wantText: "FAPI 2.0"})
	// A request_uri is single use.
	pf, _ := c.parForm()
	pr := c.push(c.authForm(pf))
	authURL := issuer + "/authorize?" + url.Values{"client_id": {c.id}, "request_uri": {pr.str("request_uri")}}.Encode()
	_ = (&rp{t: t, browser: c.browser, redirect: c.redirect}).authorize(authURL, "", "")
	out = append(out, fromResp("reused request_uri", get(t, c.browser, authURL), 400, "invalid_request_uri"))

	// Token requests.
	exchange := func(code, verifier string, dpop ...string) oauthResp {
		form := c.authForm(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {c.redirect},
			"code_verifier": {verifier}})
		hdr := []string{}
		if len(dpop) > 0 {
			hdr = []string{"DPoP", dpop[0]}
		}
		return call(t, http.DefaultClient, "POST", tokenURL, form, nil, hdr...)
	}
	q2, v2 := c.code("", "")
	unbound := fromResp("token request without DPoP or mTLS (unbound tokens)", exchange(q2.Get("code"), v2), 400, "invalid_request")
	unbound.wantText = "FAPI 2.0"
	rsKey := newDPoPKey(t, jose.RS256)
	rsProof := fromResp("token request with an RS256 DPoP proof", exchange(q2.Get("code"), v2,
		rsKey.proof("POST", tokenURL, "", proofOpts{})), 400, "invalid_dpop_proof")
	rsProof.wantText = "FAPI 2.0"
	out = append(out, unbound, rsProof)
	out = append(out, fromResp("token request with a wrong code_verifier", exchange(q2.Get("code"), oauth2.GenerateVerifier(),
		c.dpop.proof("POST", tokenURL, "", proofOpts{})), 400, "invalid_grant"))
	out = append(out, fromResp("replayed authorization code", exchange(usedCode, usedVerifier,
		c.dpop.proof("POST", tokenURL, "", proofOpts{})), 400, "invalid_grant"))
	q3, _ := c.code("", "")
	out = append(out, fromResp("token request without code_verifier", exchange(q3.Get("code"), "",
		c.dpop.proof("POST", tokenURL, "", proofOpts{})), 400, "invalid_grant"))

	// Resource access.
	out = append(out, fromResp("access token in the userinfo query", call(t, http.DefaultClient, "GET",
		issuer+"/userinfo?access_token="+url.QueryEscape(accessToken), nil, nil), 400, "invalid_request"))
	out = append(out, fromResp("DPoP-bound token under the Bearer scheme", call(t, http.DefaultClient, "GET",
		issuer+"/userinfo", nil, nil, "Authorization", "Bearer "+accessToken), 401, "invalid_token"))
	if len(out) < 15 {
		t.Fatalf("only %d negative cases", len(out))
	}
	t.Logf("%d FAPI 2.0 negative cases", len(out))
	return out
}

// authorizeErr follows an authorization request that must end in an error
// redirect to the client, and answers its query.
func (r *rp) authorizeErr(authURL string) url.Values {
	r.t.Helper()
	res, err := r.browser.Get(authURL)
	if err != nil {
		r.t.Fatal(err)
	}
	res.Body.Close()
	loc, err := url.Parse(res.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(loc.String(), r.redirect) {
		r.t.Fatalf("authorization ended with %d at %q, not an error redirect to the client", res.StatusCode, res.Header.Get("Location"))
	}
	return loc.Query()
}
