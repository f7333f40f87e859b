package server

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/oauthclient"
)

// corsCall sends method path with Origin origin (and extra header pairs)
// and answers the response's status and headers.
func (ta *testApp) corsCall(method, path, origin, body string, hdr ...string) (int, http.Header) {
	ta.t.Helper()
	req, err := http.NewRequest(method, ta.srv.URL+path, strings.NewReader(body))
	if err != nil {
		ta.t.Fatal(err)
	}
	req.Header.Set("Origin", origin)
	if body != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := ta.srv.Client().Do(req)
	if err != nil {
		ta.t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode, res.Header
}

// TestCORS: a browser app's origins (its redirect URIs' and its
// allowed_origins) may read the token, revocation and userinfo answers
// that concern that app; other origins, other apps' requests, the hosted
// pages and the management API get no CORS header; discovery and the JWKS
// are readable by any origin; credentials are never allowed cross-origin.
func TestCORS(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ta := newTestApp(t, be)
		acme := ta.tenant("acme")
		ta.userWithPassword(acme.ID, "ada@example.com", adaPW)
		const spaOrigin, extraOrigin, evil = "http://127.0.0.1:5173", "https://spa.example", "https://evil.example"
		spa, _ := ta.registered(acme.ID, oauthclient.NewClient{Name: "spa", Public: true,
			RedirectURIs: []string{spaOrigin + "/cb"}, AllowedOrigins: []string{extraOrigin}})
		other, otherSecret := ta.registered(acme.ID, oauthclient.NewClient{Name: "web"})
		acao := func(h http.Header) string { return h.Get("Access-Control-Allow-Origin") }
		noCredentials := func(what string, h http.Header) {
			if h.Get("Access-Control-Allow-Credentials") != "" {
				t.Errorf("%s: Access-Control-Allow-Credentials sent", what)
			}
		}

		// Preflights: answered for the tenant's app origins only.
		for _, path := range []string{"/t/acme/oauth/token", "/t/acme/revoke", "/t/acme/userinfo"} {
			for _, origin := range []string{spaOrigin, extraOrigin} {
				st, h := ta.corsCall(http.MethodOptions, path, origin, "", "Access-Control-Request-Method", "POST",
					"Access-Control-Request-Headers", "authorization")
				if st != http.StatusNoContent || acao(h) != origin || !strings.Contains(h.Get("Access-Control-Allow-Headers"), "Authorization") {
					t.Errorf("preflight %s from %s: %d %v", path, origin, st, h)
				}
				noCredentials("preflight "+path, h)
			}
			if _, h := ta.corsCall(http.MethodOptions, path, evil, "", "Access-Control-Request-Method", "POST"); acao(h) != "" {
				t.Errorf("preflight %s from an unknown origin allowed: %v", path, h)
			}
			if _, h := ta.corsCall(http.MethodOptions, strings.Replace(path, "acme", "default", 1), spaOrigin, "",
				"Access-Control-Request-Method", "POST"); acao(h) != "" {
				t.Errorf("preflight %s of another tenant allowed the origin: %v", path, h)
			}
		}

		// The code exchange of the app, from its origin, is readable there.
		cfg := ta.oauthConfig("acme", spa, "")
		cfg.Endpoint.AuthStyle = oauth2.AuthStyleInParams
		code, verifier := ta.signInCode("acme", cfg, "ada@example.com", adaPW)
		exchange := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {cfg.RedirectURL},
			"client_id": {spa.ID}, "code_verifier": {verifier}}.Encode()
		st, h := ta.corsCall(http.MethodPost, "/t/acme/oauth/token", spaOrigin, exchange)
		if st != http.StatusOK || acao(h) != spaOrigin || !strings.Contains(h.Get("Vary"), "Origin") {
			t.Fatalf("code exchange from the app's origin: %d %v", st, h)
		}
		noCredentials("token", h)
		// Another app's request from that origin is not readable there.
		if _, h := ta.corsCall(http.MethodPost, "/t/acme/oauth/token", spaOrigin,
			url.Values{"grant_type": {"client_credentials"}, "client_id": {other.ID}, "client_secret": {otherSecret}}.Encode()); acao(h) != "" {
			t.Errorf("another client's token request answered to the app's origin: %v", h)
		}
		if _, h := ta.corsCall(http.MethodPost, "/t/acme/oauth/token", evil, exchange); acao(h) != "" {
			t.Errorf("token request from an unknown origin: %v", h)
		}

		// userinfo: the origin of the token's client.
		tok := ta.userToken("acme", cfg, "ada@example.com", adaPW)
		st, h = ta.corsCall(http.MethodGet, "/t/acme/userinfo", extraOrigin, "", "Authorization", "Bearer "+tok.AccessToken)
		if st != http.StatusOK || acao(h) != extraOrigin {
			t.Errorf("userinfo from an allowed origin: %d %v", st, h)
		}
		noCredentials("userinfo", h)
		if _, h := ta.corsCall(http.MethodGet, "/t/acme/userinfo", evil, "", "Authorization", "Bearer "+tok.AccessToken); acao(h) != "" {
			t.Errorf("userinfo from an unknown origin: %v", h)
		}
		otherTok := ta.userToken("acme", ta.oauthConfig("acme", other, otherSecret), "ada@example.com", adaPW)
		if _, h := ta.corsCall(http.MethodGet, "/t/acme/userinfo", spaOrigin, "", "Authorization", "Bearer "+otherTok.AccessToken); acao(h) != "" {
			t.Errorf("userinfo of another client's token answered to the app's origin: %v", h)
		}
		// Revocation from the app's origin.
		st, h = ta.corsCall(http.MethodPost, "/t/acme/revoke", spaOrigin,
			url.Values{"token": {tok.RefreshToken}, "client_id": {spa.ID}}.Encode())
		if st != http.StatusOK || acao(h) != spaOrigin {
			t.Errorf("revocation from the app's origin: %d %v", st, h)
		}

		// Public documents: any origin.
		for _, path := range []string{"/t/acme/.well-known/openid-configuration", "/t/acme/keys"} {
			if st, h := ta.corsCall(http.MethodGet, path, evil, ""); st != http.StatusOK || acao(h) != "*" {
				t.Errorf("%s: %d %v", path, st, h)
			}
			if st, h := ta.corsCall(http.MethodOptions, path, evil, "", "Access-Control-Request-Method", "GET"); st != http.StatusNoContent || acao(h) != "*" {
				t.Errorf("preflight %s: %d %v", path, st, h)
			}
		}
		// Never on pages, the management API or other provider endpoints.
		key := ta.key(acme.ID, "admin")
		for _, c := range []struct{ method, path string }{
			{http.MethodGet, "/t/acme/login"}, {http.MethodGet, "/t/acme/account"},
			{http.MethodGet, "/t/acme/authorize?client_id=" + spa.ID}, {http.MethodPost, "/t/acme/oauth/introspect"},
			{http.MethodGet, "/api/v1/tenants/acme/clients"}, {http.MethodOptions, "/api/v1/tenants/acme/clients"},
		} {
			if _, h := ta.corsCall(c.method, c.path, spaOrigin, "", "Authorization", "Bearer "+key,
				"Access-Control-Request-Method", "GET"); acao(h) != "" {
				t.Errorf("%s %s answered cross-origin: %v", c.method, c.path, h)
			}
		}
	})
}

// TestClientOriginsAPI: allowed_origins and introspection are set and
// shown by the clients API, default to [] and own, and a bad origin is a
// 4xx naming the field that changes nothing.
func TestClientOriginsAPI(t *testing.T) {
	ta := newTestApp(t, backends[0])
	a := ta.tenant("acme")
	tok := "Bearer " + ta.key(a.ID, "admin")
	base := "/api/v1/tenants/acme/clients"
	res := ta.do(request{method: "POST", path: base, auth: tok, body: map[string]any{
		"name": "SPA", "public": true, "redirect_uris": []string{"http://127.0.0.1:5173/cb"}}})
	m := clientBody(t, "create", res)
	if res.status != http.StatusCreated || fmt.Sprint(m["allowed_origins"]) != "[]" || m["introspection"] != "own" {
		t.Fatalf("create: %s", res)
	}
	id, _ := m["client_id"].(string)
	res = ta.do(request{method: "PATCH", path: base + "/" + id, auth: tok, body: map[string]any{
		"allowed_origins": []string{"https://spa.example.com"}}})
	if m := clientBody(t, "patch", res); res.status != http.StatusOK || fmt.Sprint(m["allowed_origins"]) != "[https://spa.example.com]" {
		t.Fatalf("patch origins: %s", res)
	}
	for _, body := range []map[string]any{
		{"allowed_origins": []string{"https://spa.example.com/app"}},
		{"introspection": "audience"}, // a public client cannot introspect
	} {
		res = ta.do(request{method: "PATCH", path: base + "/" + id, auth: tok, body: body})
		if res.status < 400 || res.status > 499 || !strings.Contains(string(res.body), "allowed_origins") && !strings.Contains(string(res.body), "introspection") {
			t.Errorf("patch %v: %s", body, res)
		}
	}
	res = ta.do(request{method: "POST", path: base, auth: tok, body: map[string]any{
		"name": "API", "grant_types": []string{"client_credentials"}, "introspection": "audience"}})
	if m := clientBody(t, "create resource server", res); res.status != http.StatusCreated || m["introspection"] != "audience" {
		t.Errorf("create a resource server: %s", res)
	}
	if c, err := ta.Clients.GetClient(t.Context(), a.ID, id); err != nil || len(c.AllowedOrigins) != 1 || c.Introspection != "own" {
		t.Errorf("stored after refused patches: %+v %v", c, err)
	}
}
