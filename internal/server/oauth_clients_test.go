package server

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/oauthclient"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

const appRedirect = "https://app.example.com/cb"

// registered creates a client of tenant from in (a confidential web app
// with appRedirect unless in says otherwise) and answers it with its secret.
func (ta *testApp) registered(tn store.TenantID, in oauthclient.NewClient) (*store.Client, string) {
	ta.t.Helper()
	if in.Name == "" {
		in.Name = "app"
	}
	if in.RedirectURIs == nil {
		in.RedirectURIs = []string{appRedirect}
	}
	c, secret, err := ta.Clients.CreateClient(context.Background(), testActor, tn, in)
	if err != nil {
		ta.t.Fatalf("CreateClient(%s): %v", in.Name, err)
	}
	return c, secret
}

// oauthConfig is an x/oauth2 configuration of client at tenant slug.
func (ta *testApp) oauthConfig(slug string, c *store.Client, secret string) *oauth2.Config {
	base := ta.srv.URL + "/t/" + slug
	return &oauth2.Config{ClientID: c.ID, ClientSecret: secret, RedirectURL: c.RedirectURIs[0],
		Scopes:   []string{"openid", "email", "profile"},
		Endpoint: oauth2.Endpoint{AuthURL: base + "/authorize", TokenURL: base + "/oauth/token", AuthStyle: oauth2.AuthStyleInHeader}}
}

// signInCode runs the authorization code flow with PKCE of cfg in a fresh
// browser, signing in with a password, and answers the code and verifier.
func (ta *testApp) signInCode(slug string, cfg *oauth2.Config, email, password string) (code, verifier string) {
	t := ta.t
	t.Helper()
	b := ta.browser()
	verifier = oauth2.GenerateVerifier()
	p := b.get(strings.TrimPrefix(cfg.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier)), ta.srv.URL))
	login, err := url.Parse(p.location())
	if err != nil || login.Query().Get("id") == "" {
		t.Fatalf("authorize: want the login page, got %d %q", p.status, p.location())
	}
	p = b.walk(passwordStep(t, b, slug, login.Query().Get("id"), email, password))
	u, err := url.Parse(p.location())
	if err != nil || u.Query().Get("code") == "" || !strings.HasPrefix(p.location(), cfg.RedirectURL+"?") {
		t.Fatalf("want a redirect with a code to %s, got %d %q %.300s", cfg.RedirectURL, p.status, p.location(), p.body)
	}
	return u.Query().Get("code"), verifier
}

// userToken signs in and exchanges the code with x/oauth2.
func (ta *testApp) userToken(slug string, cfg *oauth2.Config, email, password string) *oauth2.Token {
	ta.t.Helper()
	code, verifier := ta.signInCode(slug, cfg, email, password)
	tok, err := cfg.Exchange(context.WithValue(context.Background(), oauth2.HTTPClient, ta.srv.Client()), code,
		oauth2.VerifierOption(verifier))
	if err != nil {
		ta.t.Fatalf("code exchange: %v", err)
	}
	return tok
}

// oauthCall posts form to endpoint (a path under the server) with Basic
// client authentication when id is set, and answers status and JSON body.
func (ta *testApp) oauthCall(endpoint string, form url.Values, id, secret string) (int, map[string]any) {
	ta.t.Helper()
	req, err := http.NewRequest(http.MethodPost, ta.srv.URL+endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		ta.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if id != "" {
		req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	}
	return ta.sendOAuth(req)
}

func (ta *testApp) sendOAuth(req *http.Request) (int, map[string]any) {
	ta.t.Helper()
	res, err := ta.srv.Client().Do(req)
	if err != nil {
		ta.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	var body map[string]any
	_ = json.Unmarshal(raw, &body)
	return res.StatusCode, body
}

// TestIntrospectionAudience: introspection answers active=true, with the
// user's profile, only to the client the token was issued to and to a
// resource server of the tenant (introspection "audience"); any other
// authenticated client, of this tenant or another, hears {"active":false}
// and nothing else (RFC 7662 2.2, 4).
func TestIntrospectionAudience(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ta := newTestApp(t, be)
		acme, other := ta.tenant("acme"), ta.tenant("other")
		ta.userWithPassword(acme.ID, "ada@example.com", adaPW)
		app, appSecret := ta.registered(acme.ID, oauthclient.NewClient{Name: "app"})
		peer, peerSecret := ta.registered(acme.ID, oauthclient.NewClient{Name: "peer"})
		rs, rsSecret := ta.registered(acme.ID, oauthclient.NewClient{Name: "api", Introspection: oauthclient.IntrospectAudience})
		foreignRS, foreignSecret := ta.registered(other.ID, oauthclient.NewClient{Name: "api", Introspection: oauthclient.IntrospectAudience})
		if rs.Introspection != "audience" || app.Introspection != "own" {
			t.Fatalf("introspection settings stored as %q and %q", rs.Introspection, app.Introspection)
		}
		tok := ta.userToken("acme", ta.oauthConfig("acme", app, appSecret), "ada@example.com", adaPW)
		form := url.Values{"token": {tok.AccessToken}}
		for _, who := range []struct {
			name, id, secret string
		}{{"the token's client", app.ID, appSecret}, {"a resource server", rs.ID, rsSecret}} {
			st, body := ta.oauthCall("/t/acme/oauth/introspect", form, who.id, who.secret)
			if st != http.StatusOK || body["active"] != true || body["email"] != "ada@example.com" || body["client_id"] != app.ID {
				t.Fatalf("%s introspects: %d %v", who.name, st, body)
			}
		}
		st, body := ta.oauthCall("/t/acme/oauth/introspect", form, peer.ID, peerSecret)
		if st != http.StatusOK || len(body) != 1 || body["active"] != false {
			t.Fatalf("another client of the tenant introspects: %d %v", st, body)
		}
		st, body = ta.oauthCall("/t/other/oauth/introspect", form, foreignRS.ID, foreignSecret)
		if st != http.StatusOK || len(body) != 1 || body["active"] != false {
			t.Fatalf("another tenant's resource server introspects: %d %v", st, body)
		}
		// Unregistering the resource server ends what it may learn.
		if _, err := ta.Clients.UpdateClient(context.Background(), testActor, acme.ID, rs.ID, 0,
			oauthclient.ClientPatch{Introspection: new(oauthclient.IntrospectOwn)}); err != nil {
			t.Fatal(err)
		}
		if st, body := ta.oauthCall("/t/acme/oauth/introspect", form, rs.ID, rsSecret); st != http.StatusOK || body["active"] != false {
			t.Fatalf("former resource server introspects: %d %v", st, body)
		}
	})
}

// TestNoCredentialsInURL: the token, introspection, revocation, device and
// PAR endpoints take nothing from the URL query, and userinfo takes the
// access token only from the Authorization header; what comes in a URL is
// refused with 400 invalid_request, never used (RFC 6749 2.3.1, RFC 6750
// 2.3, RFC 9700 4.3.2).
func TestNoCredentialsInURL(t *testing.T) {
	ta := newTestApp(t, backends[0])
	acme := ta.tenant("acme")
	ta.userWithPassword(acme.ID, "ada@example.com", adaPW)
	app, secret := ta.registered(acme.ID, oauthclient.NewClient{Name: "app",
		GrantTypes: []string{"authorization_code", "refresh_token", "client_credentials"}})
	tok := ta.userToken("acme", ta.oauthConfig("acme", app, secret), "ada@example.com", adaPW)
	creds := url.Values{"client_id": {app.ID}, "client_secret": {secret}}
	withQuery := func(path string, q url.Values) string { return path + "?" + q.Encode() }
	cc := url.Values{"grant_type": {"client_credentials"}}
	for _, c := range []struct {
		name, path string
		form       url.Values
		basic      bool
	}{
		{"secret in the token URL", withQuery("/t/acme/oauth/token", creds), cc, false},
		{"grant in the token URL", withQuery("/t/acme/oauth/token", cc), url.Values{}, true},
		{"refresh token in the token URL", withQuery("/t/acme/oauth/token",
			url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}}), url.Values{}, true},
		{"secret in the introspection URL", withQuery("/t/acme/oauth/introspect", creds), url.Values{"token": {tok.AccessToken}}, false},
		{"token in the introspection URL", withQuery("/t/acme/oauth/introspect", url.Values{"token": {tok.AccessToken}}), url.Values{}, true},
		{"token in the revocation URL", withQuery("/t/acme/revoke", url.Values{"token": {tok.RefreshToken}}), url.Values{}, true},
		{"secret in the PAR URL", withQuery("/t/acme/par", creds), url.Values{"response_type": {"code"},
			"redirect_uri": {appRedirect}, "scope": {"openid"}}, false},
	} {
		id, sec := "", ""
		if c.basic {
			id, sec = app.ID, secret
		}
		st, body := ta.oauthCall(c.path, c.form, id, sec)
		if st != http.StatusBadRequest || body["error"] != "invalid_request" {
			t.Errorf("%s: %d %v, want 400 invalid_request", c.name, st, body)
		}
	}
	// Nothing above was used: the refresh token still works, once.
	if st, body := ta.oauthCall("/t/acme/oauth/token", url.Values{"grant_type": {"refresh_token"},
		"refresh_token": {tok.RefreshToken}}, app.ID, secret); st != http.StatusOK || body["access_token"] == nil {
		t.Fatalf("refresh after the refused requests: %d %v", st, body)
	}
	userinfo := ta.srv.URL + "/t/acme/userinfo"
	get := func(u, bearer string) (int, map[string]any, string) {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		res, err := ta.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var body map[string]any
		_ = json.NewDecoder(res.Body).Decode(&body)
		return res.StatusCode, body, res.Header.Get("WWW-Authenticate")
	}
	if st, body, _ := get(userinfo, tok.AccessToken); st != http.StatusOK || body["email"] != "ada@example.com" {
		t.Fatalf("userinfo with the header: %d %v", st, body)
	}
	if st, body, www := get(userinfo+"?access_token="+url.QueryEscape(tok.AccessToken), ""); st != http.StatusBadRequest ||
		body["error"] != "invalid_request" || !strings.Contains(www, `error="invalid_request"`) {
		t.Fatalf("userinfo with the token in the URL: %d %v %q", st, body, www)
	}
	req, _ := http.NewRequest(http.MethodPost, userinfo, strings.NewReader(url.Values{"access_token": {tok.AccessToken}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if st, body := ta.sendOAuth(req); st != http.StatusBadRequest || body["error"] != "invalid_request" {
		t.Fatalf("userinfo with the token in the body: %d %v", st, body)
	}
}
