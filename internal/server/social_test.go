package server

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/oauthclient"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"golang.org/x/oauth2"
)

// openSocialApp serves an App whose public URL is its real loopback
// address, so that one tenant can be another's upstream OpenID Provider.
// timeout, when set, bounds the broker's upstream calls.
func openSocialApp(t *testing.T, be backend, timeout time.Duration) *testApp {
	t.Helper()
	cfg := testConfig(t, be.db(t))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.PublicURL = "http://" + ln.Addr().String()
	logs := &syncBuffer{}
	app, err := Open(context.Background(), cfg, slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatalf("server.Open: %v", err)
	}
	t.Cleanup(func() { app.Close() })
	if timeout > 0 {
		app.Broker.Timeout = timeout
	}
	srv := httptest.NewUnstartedServer(app.Handler())
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return &testApp{App: app, t: t, srv: srv, logs: logs}
}

// walk follows redirects within the server (at most 15) and answers the
// first answer that is not such a redirect: a page, or a redirect to
// another host (the client application), which is never requested.
func (b *browserClient) walk(p page) page {
	b.t.Helper()
	for range 15 {
		loc := p.location()
		if p.status == http.StatusOK && strings.HasPrefix(p.header.Get("Refresh"), "0;url=") {
			loc = strings.TrimPrefix(p.header.Get("Refresh"), "0;url=") // social_continue
		} else if p.status < 300 || p.status > 399 {
			return p
		}
		if strings.HasPrefix(loc, "http") {
			if !strings.HasPrefix(loc, b.base+"/") {
				return p
			}
			loc = strings.TrimPrefix(loc, b.base)
		}
		p = b.get(loc)
	}
	b.t.Fatalf("more than 15 redirects")
	return p
}

var (
	hiddenIDRE  = regexp.MustCompile(`name="id" value="([^"]+)"`)
	hiddenStRE  = regexp.MustCompile(`name="state" value="([^"]+)"`)
	startFormRE = regexp.MustCompile(`action="(/t/[a-z0-9-]+/connections/[a-z0-9_-]+/start)"`)
)

func match(t *testing.T, re *regexp.Regexp, p page) string {
	t.Helper()
	m := re.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no %s in the page (%d): %.600s", re, p.status, p.body)
	}
	return m[1]
}

// socialWorld is a relying tenant "shop" whose connection "corp" is the
// OpenID Provider of tenant "corp" in the same server, and a client "app"
// of shop.
type socialWorld struct {
	ta         *testApp
	shop, corp *store.Tenant
	app        *store.Client
	appSecret  string
	connID     string
}

func newSocialWorld(t *testing.T, ta *testApp) *socialWorld {
	t.Helper()
	ctx := context.Background()
	w := &socialWorld{ta: ta, shop: ta.tenant("shop"), corp: ta.tenant("corp")}
	pub := ta.Config.PublicURL
	up, upSecret, err := ta.Clients.CreateClient(ctx, testActor, w.corp.ID, oauthclient.NewClient{Name: "Shop",
		RedirectURIs: []string{pub + "/t/shop/connections/corp/callback"}})
	if err != nil {
		t.Fatal(err)
	}
	w.app, w.appSecret, err = ta.Clients.CreateClient(ctx, testActor, w.shop.ID, oauthclient.NewClient{Name: "Shop app",
		RedirectURIs: []string{"https://app.example.com/cb"}})
	if err != nil {
		t.Fatal(err)
	}
	key := ta.key(w.shop.ID, "admin")
	res := ta.do(request{method: http.MethodPost, path: "/api/v1/tenants/shop/connections", auth: "Bearer " + key,
		body: map[string]any{"type": "oidc", "name": "corp", "display_name": "Corp SSO", "issuer": pub + "/t/corp",
			"client_id": up.ID, "client_secret": upSecret, "scopes": []string{"openid", "email", "profile"},
			"domains": []string{"corp.example"}}})
	if res.status != http.StatusCreated {
		t.Fatalf("POST connections: %s", res)
	}
	var out struct {
		ID          string `json:"id"`
		CallbackURL string `json:"callback_url"`
		HasSecret   bool   `json:"has_secret"`
	}
	if err := json.Unmarshal(res.body, &out); err != nil || !out.HasSecret ||
		out.CallbackURL != pub+"/t/shop/connections/corp/callback" || strings.Contains(string(res.body), upSecret) {
		t.Fatalf("created connection: %s (%v)", res.body, err)
	}
	w.connID = out.ID
	return w
}

// upstreamUser creates a user of the corp tenant.
func (w *socialWorld) upstreamUser(email, password string, verified bool) {
	w.ta.t.Helper()
	if _, err := w.ta.Directory.CreateUser(context.Background(), testActor, w.corp.ID, directory.NewUser{
		Email: email, Password: &password, EmailVerified: verified, GivenName: "Given", FamilyName: "Family"}); err != nil {
		w.ta.t.Fatal(err)
	}
}

const pkceVerifier = "social-test-verifier-0123456789-0123456789-abcdef"

// authorize starts an authorization at shop's app and answers shop's
// login page.
func (w *socialWorld) authorize(b *browserClient) page {
	b.t.Helper()
	sum := sha256.Sum256([]byte(pkceVerifier))
	q := url.Values{"client_id": {w.app.ID}, "redirect_uri": {"https://app.example.com/cb"}, "response_type": {"code"},
		"scope": {"openid email"}, "state": {"app-state"}, "nonce": {"app-nonce"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}
	p := b.walk(b.get("/t/shop/authorize?" + q.Encode()))
	if p.status != http.StatusOK || !strings.Contains(p.body, "Corp SSO") {
		b.t.Fatalf("shop login page: %d %.500s", p.status, p.body)
	}
	return p
}

// viaCorp clicks the Corp SSO button on shop's login page and signs in at
// corp; it answers the first answer after corp (shop's own pages walked).
func (w *socialWorld) viaCorp(b *browserClient, login page, email, password string) page {
	b.t.Helper()
	action := match(b.t, startFormRE, login)
	p := b.post(action, form("csrf", match(b.t, csrfRE, login), "id", match(b.t, hiddenIDRE, login)))
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location(), w.ta.Config.PublicURL+"/t/corp/authorize?") {
		b.t.Fatalf("start: %d %s", p.status, p.location())
	}
	u, _ := url.Parse(p.location())
	for _, k := range []string{"state", "nonce", "code_challenge"} {
		if len(u.Query().Get(k)) < 43 {
			b.t.Fatalf("upstream request without a strong %s: %s", k, u)
		}
	}
	if u.Query().Get("code_challenge_method") != "S256" {
		b.t.Fatalf("upstream request without S256 PKCE: %s", u)
	}
	up := b.walk(p)
	if up.status != http.StatusOK {
		b.t.Fatalf("corp login page: %d %.300s", up.status, up.body)
	}
	return b.walk(b.post("/t/corp/login", form("csrf", match(b.t, csrfRE, up), "id", match(b.t, hiddenIDRE, up),
		"identifier", email, "password", password)))
}

// code checks that p sends the browser to the app with a code, redeems it
// and answers the ID token's subject.
func (w *socialWorld) code(b *browserClient, p page) string {
	b.t.Helper()
	if p.status < 300 || p.status > 399 || !strings.HasPrefix(p.location(), "https://app.example.com/cb?") {
		b.t.Fatalf("want a redirect to the app, got %d %s %.600s", p.status, p.location(), p.body)
	}
	u, _ := url.Parse(p.location())
	if u.Query().Get("state") != "app-state" || u.Query().Get("code") == "" {
		b.t.Fatalf("app redirect %s", u)
	}
	cfg := oauth2.Config{ClientID: w.app.ID, ClientSecret: w.appSecret, RedirectURL: "https://app.example.com/cb",
		Endpoint: oauth2.Endpoint{TokenURL: w.ta.srv.URL + "/t/shop/oauth/token", AuthStyle: oauth2.AuthStyleInHeader}}
	var doc struct {
		Token string `json:"token_endpoint"`
	}
	if err := json.Unmarshal([]byte(b.get("/t/shop/.well-known/openid-configuration").body), &doc); err == nil && doc.Token != "" {
		cfg.Endpoint.TokenURL = doc.Token
	}
	tok, err := cfg.Exchange(context.WithValue(context.Background(), oauth2.HTTPClient, w.ta.srv.Client()),
		u.Query().Get("code"), oauth2.VerifierOption(pkceVerifier))
	if err != nil {
		b.t.Fatalf("code exchange: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		b.t.Fatalf("id_token %q", raw)
	}
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var claims struct {
		Sub string   `json:"sub"`
		AMR []string `json:"amr"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		b.t.Fatal(err)
	}
	return claims.Sub
}

func (w *socialWorld) identities(userID string) []store.Identity {
	w.ta.t.Helper()
	ids, err := w.ta.DB.Connections().Identities().ListUserIdentities(context.Background(), w.shop.ID, userID)
	if err != nil {
		w.ta.t.Fatal(err)
	}
	return ids
}

func (w *socialWorld) shopUser(email string) *store.User {
	w.ta.t.Helper()
	u, err := w.ta.DB.Users().GetUserByEmail(context.Background(), w.shop.ID, directory.NormalizeEmail(email))
	if err != nil {
		w.ta.t.Fatalf("shop user %s: %v", email, err)
	}
	return u
}

// TestSocialLoginThroughGatehouseTenant: tenant corp of the same server is
// shop's upstream OpenID Provider. A first login creates the account just
// in time; a verified address of an existing account links only after its
// password; the linked identity then signs in directly; an unverified
// address never links; the account page lists and removes identities but
// not the last way to sign in; home-realm discovery goes straight to corp.
func TestSocialLoginThroughGatehouseTenant(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ta := openSocialApp(t, be, 0)
		w := newSocialWorld(t, ta)
		w.upstreamUser("alice@corp.example", "Upstream-pass-7391", true)
		w.upstreamUser("bob@corp.example", "Upstream-pass-8402", true)
		w.upstreamUser("carol@corp.example", "Upstream-pass-9513", false)
		bobShop := ta.userWithPassword(w.shop.ID, "bob@corp.example", "Shop-pass-2748")
		carolShop := ta.userWithPassword(w.shop.ID, "carol@corp.example", "Shop-pass-3859")

		// JIT: alice has no shop account yet.
		b := ta.browser()
		sub := w.code(b, w.viaCorp(b, w.authorize(b), "alice@corp.example", "Upstream-pass-7391"))
		alice := w.shopUser("alice@corp.example")
		if sub != alice.ID || !alice.EmailVerified || alice.GivenName != "Given" || alice.FamilyName != "Family" || alice.PasswordHash != "" {
			t.Fatalf("JIT user %+v, token sub %s", alice, sub)
		}
		if ids := w.identities(alice.ID); len(ids) != 1 || ids[0].ConnectionID != w.connID || ids[0].SealedTokens != nil {
			t.Fatalf("alice's identities %+v", ids)
		}
		// A second login of alice signs the same user in.
		b2 := ta.browser()
		if sub2 := w.code(b2, w.viaCorp(b2, w.authorize(b2), "alice@corp.example", "Upstream-pass-7391")); sub2 != alice.ID {
			t.Fatalf("second login: sub %s, want %s", sub2, alice.ID)
		}
		n, _ := ta.DB.Users().CountUsers(context.Background(), w.shop.ID)

		// Link: bob's verified corp address is a shop account's.
		b = ta.browser()
		link := w.viaCorp(b, w.authorize(b), "bob@corp.example", "Upstream-pass-8402")
		if link.status != http.StatusOK || !strings.Contains(link.body, "bob@corp.example") || !strings.Contains(link.body, `action="/t/shop/connections/link"`) {
			t.Fatalf("link page: %d %.600s", link.status, link.body)
		}
		if ids := w.identities(bobShop.ID); len(ids) != 0 {
			t.Fatalf("linked before proof: %+v", ids)
		}
		wrong := b.post("/t/shop/connections/link", form("csrf", match(t, csrfRE, link), "state", match(t, hiddenStRE, link),
			"password", "not-bobs-password"))
		if wrong.status != http.StatusUnauthorized || len(w.identities(bobShop.ID)) != 0 {
			t.Fatalf("wrong password: %d, identities %v", wrong.status, w.identities(bobShop.ID))
		}
		// The spent state cannot be replayed.
		replay := b.post("/t/shop/connections/link", form("csrf", match(t, csrfRE, link), "state", match(t, hiddenStRE, link),
			"password", "Shop-pass-2748"))
		if replay.status != http.StatusBadRequest || len(w.identities(bobShop.ID)) != 0 {
			t.Fatalf("replayed link state: %d", replay.status)
		}
		ok := b.walk(b.post("/t/shop/connections/link", form("csrf", match(t, csrfRE, wrong), "state", match(t, hiddenStRE, wrong),
			"password", "Shop-pass-2748")))
		if sub := w.code(b, ok); sub != bobShop.ID {
			t.Fatalf("linked login sub %s, want %s", sub, bobShop.ID)
		}
		if ids := w.identities(bobShop.ID); len(ids) != 1 {
			t.Fatalf("bob's identities %+v", ids)
		}
		if m, _ := ta.DB.Users().CountUsers(context.Background(), w.shop.ID); m != n {
			t.Fatalf("linking created a user: %d -> %d", n, m)
		}

		// Login by the linked identity: straight through, no password.
		b = ta.browser()
		if sub := w.code(b, w.viaCorp(b, w.authorize(b), "bob@corp.example", "Upstream-pass-8402")); sub != bobShop.ID {
			t.Fatalf("login by linked identity: sub %s", sub)
		}

		// Unverified upstream address colliding with an account: no link.
		b = ta.browser()
		p := w.viaCorp(b, w.authorize(b), "carol@corp.example", "Upstream-pass-9513")
		if p.status != http.StatusConflict || strings.Contains(p.body, `name="password"`) || !strings.Contains(p.body, "/t/shop/login?id=") {
			t.Fatalf("unverified collision: %d %.600s", p.status, p.body)
		}
		if ids := w.identities(carolShop.ID); len(ids) != 0 {
			t.Fatalf("carol linked on an unverified address: %+v", ids)
		}
		if m, _ := ta.DB.Users().CountUsers(context.Background(), w.shop.ID); m != n {
			t.Fatalf("a user was created for carol: %d -> %d", n, m)
		}

		// Home-realm discovery: a corp.example address goes to corp.
		b = ta.browser()
		login := w.authorize(b)
		hrd := b.post("/t/shop/login", form("csrf", match(t, csrfRE, login), "id", match(t, hiddenIDRE, login),
			"identifier", "dave@corp.example"))
		if hrd.status != http.StatusSeeOther || !strings.HasPrefix(hrd.location(), ta.Config.PublicURL+"/t/corp/authorize?") {
			t.Fatalf("home-realm discovery: %d %s", hrd.status, hrd.location())
		}
		if csp := login.header.Get("Content-Security-Policy"); !strings.Contains(csp, ta.Config.PublicURL) {
			t.Errorf("login page form-action does not allow the upstream: %s", csp)
		}

		// Account page: bob sees Corp SSO and removes it (he has a password).
		b = ta.browser()
		b.signIn("shop", "bob@corp.example", "Shop-pass-2748")
		acct := b.get("/t/shop/account")
		ids := w.identities(bobShop.ID)
		if !strings.Contains(acct.body, "Corp SSO") || !strings.Contains(acct.body, ids[0].ID) {
			t.Fatalf("account page without the identity: %.2000s", acct.body)
		}
		rm := b.post("/t/shop/account/identities/remove", form("csrf", match(t, csrfRE, acct), "identity_id", ids[0].ID))
		if rm.status != http.StatusSeeOther || len(w.identities(bobShop.ID)) != 0 {
			t.Fatalf("remove identity: %d, left %v", rm.status, w.identities(bobShop.ID))
		}
		// ... and links it again from the account page (signed in: no password asked).
		acct = b.get("/t/shop/account")
		p = b.post("/t/shop/connections/corp/start", form("csrf", match(t, csrfRE, acct), "link", "1"))
		if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location(), ta.Config.PublicURL+"/t/corp/authorize?") {
			t.Fatalf("link from the account page: %d %s", p.status, p.location())
		}
		up := b.walk(p)
		back := b.walk(b.post("/t/corp/login", form("csrf", match(t, csrfRE, up), "id", match(t, hiddenIDRE, up),
			"identifier", "bob@corp.example", "password", "Upstream-pass-8402")))
		if back.status != http.StatusOK || !strings.Contains(back.body, "The sign-in is linked.") || len(w.identities(bobShop.ID)) != 1 {
			t.Fatalf("linked from the account page: %d %.300s, identities %v", back.status, back.body, w.identities(bobShop.ID))
		}
		// Another account cannot take an identity that is linked already.
		b2 = ta.browser()
		b2.signIn("shop", "carol@corp.example", "Shop-pass-3859")
		acct = b2.get("/t/shop/account")
		up = b2.walk(b2.post("/t/shop/connections/corp/start", form("csrf", match(t, csrfRE, acct), "link", "1")))
		taken := b2.walk(b2.post("/t/corp/login", form("csrf", match(t, csrfRE, up), "id", match(t, hiddenIDRE, up),
			"identifier", "bob@corp.example", "password", "Upstream-pass-8402")))
		if taken.status != http.StatusConflict || len(w.identities(carolShop.ID)) != 0 {
			t.Fatalf("linking bob's identity to carol: %d", taken.status)
		}

		// Alice's only way in is her identity: the API refuses to remove it.
		key := ta.key(w.shop.ID, "admin")
		aliceIDs := w.identities(alice.ID)
		res := ta.do(request{method: http.MethodDelete, auth: "Bearer " + key,
			path: "/api/v1/tenants/shop/users/" + alice.ID + "/identities/" + aliceIDs[0].ID})
		if res.status != http.StatusConflict || len(w.identities(alice.ID)) != 1 {
			t.Fatalf("removing the last way in: %s", res)
		}
		list := ta.get("/api/v1/tenants/shop/users/"+alice.ID+"/identities", key)
		if list.status != http.StatusOK || !strings.Contains(string(list.body), `"connection":"corp"`) {
			t.Fatalf("identities API: %s", list)
		}
	})
}
