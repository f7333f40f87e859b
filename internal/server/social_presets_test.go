package server

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/oauthclient"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// newShop is a relying tenant "shop" with a client "app" and an admin key.
func newShop(t *testing.T, ta *testApp) (*socialWorld, string) {
	t.Helper()
	w := &socialWorld{ta: ta, shop: ta.tenant("shop")}
	var err error
	w.app, w.appSecret, err = ta.Clients.CreateClient(context.Background(), testActor, w.shop.ID, oauthclient.NewClient{
		Name: "Shop app", RedirectURIs: []string{"https://app.example.com/cb"}})
	if err != nil {
		t.Fatal(err)
	}
	return w, ta.key(w.shop.ID, "admin")
}

// addConnection creates a connection through the API.
func (w *socialWorld) addConnection(key string, body map[string]any) {
	w.ta.t.Helper()
	res := w.ta.do(request{method: http.MethodPost, path: "/api/v1/tenants/shop/connections", auth: "Bearer " + key, body: body})
	if res.status != http.StatusCreated {
		w.ta.t.Fatalf("POST connection %v: %s", body["name"], res)
	}
}

// start clicks connection name's button on shop's login page and answers
// the upstream authorization URL.
func (w *socialWorld) start(b *browserClient, name string) string {
	b.t.Helper()
	sumPage := w.authorizePage(b)
	action := "/t/shop/connections/" + name + "/start"
	if !strings.Contains(sumPage.body, `action="`+action+`"`) {
		b.t.Fatalf("no %s button on the login page: %.1500s", name, sumPage.body)
	}
	p := b.post(action, form("csrf", match(b.t, csrfRE, sumPage), "id", match(b.t, hiddenIDRE, sumPage)))
	if p.status != http.StatusSeeOther {
		b.t.Fatalf("start %s: %d %.500s", name, p.status, p.body)
	}
	return p.location()
}

func (w *socialWorld) authorizePage(b *browserClient) page {
	b.t.Helper()
	q := url.Values{"client_id": {w.app.ID}, "redirect_uri": {"https://app.example.com/cb"}, "response_type": {"code"},
		"scope": {"openid email"}, "state": {"app-state"}}
	p := b.walk(b.get("/t/shop/authorize?" + q.Encode()))
	if p.status != http.StatusOK {
		b.t.Fatalf("shop login page: %d %.500s", p.status, p.body)
	}
	return p
}

// toApp checks that p sends the browser to the app with a code.
func toApp(t *testing.T, p page) {
	t.Helper()
	if p.status < 300 || p.status > 399 || !strings.HasPrefix(p.location(), "https://app.example.com/cb?code=") {
		t.Fatalf("want a redirect to the app with a code, got %d %s %.800s", p.status, p.location(), p.body)
	}
}

func (w *socialWorld) mustUser(email string) *store.User { return w.shopUser(email) }

// TestSocialPresets: each preset against a local server answering with
// that provider's documented shapes, endpoints overridden to 127.0.0.1.
func TestSocialPresets(t *testing.T) {
	ta := openSocialApp(t, backends[0], 0)
	w, key := newShop(t, ta)

	t.Run("google", func(t *testing.T) {
		f := newFakeProvider(t)
		w.addConnection(key, map[string]any{"type": "google", "name": "google", "display_name": "Google",
			"issuer": f.srv.URL, "client_id": f.clientID, "client_secret": f.secret})
		// https://developers.google.com/identity/openid-connect/openid-connect#an-id-tokens-payload
		f.set(func(f *fakeProvider) {
			f.claims = map[string]any{"sub": "110169484474386276334", "azp": f.clientID, "email": "jane.google@example.com",
				"email_verified": true, "at_hash": "HK6E_P6Dh8Y93mRNtsDB1Q", "name": "Jane Doe", "given_name": "Jane",
				"family_name": "Doe", "picture": "https://lh3.googleusercontent.com/a/x", "locale": "en", "hd": "example.com"}
		})
		b := ta.browser()
		authURL := w.start(b, "google")
		q := f.expect(t, authURL, "google-code")
		if q.Get("nonce") == "" || q.Get("scope") != "openid email profile" || q.Get("redirect_uri") != ta.Config.PublicURL+"/t/shop/connections/google/callback" {
			t.Fatalf("google request %s", authURL)
		}
		toApp(t, b.walk(b.get("/t/shop/connections/google/callback?"+url.Values{"code": {"google-code"}, "state": {q.Get("state")},
			"scope": {"email profile openid"}, "authuser": {"0"}, "prompt": {"consent"}}.Encode())))
		u := w.mustUser("jane.google@example.com")
		if !u.EmailVerified || u.GivenName != "Jane" || u.FamilyName != "Doe" {
			t.Fatalf("google user %+v", u)
		}
	})

	t.Run("microsoft", func(t *testing.T) {
		f := newFakeProvider(t)
		const tid = "9188040d-6c67-4c5b-b112-36a304b66dad"
		f.set(func(f *fakeProvider) { f.issuer = f.srv.URL + "/{tenantid}/v2.0" })
		w.addConnection(key, map[string]any{"type": "microsoft", "name": "microsoft", "display_name": "Microsoft",
			"issuer": f.srv.URL + "/common/v2.0", "client_id": f.clientID, "client_secret": f.secret,
			"domains": []string{"contoso.example"}})
		// https://learn.microsoft.com/entra/identity-platform/id-token-claims-reference
		claims := func(iss string) map[string]any {
			return map[string]any{"ver": "2.0", "iss": iss, "tid": tid, "sub": "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ",
				"oid": "00000000-0000-0000-66f3-3332eca7ea81", "name": "Megan Bowen", "preferred_username": "megan@contoso.example",
				"email": "megan@contoso.example", "aio": "Df2UVXL1ix!lMCWMSOJBcFatzcGfvFGhjKv8q5g0x732dR5MB5BisvGQO7YWByjd8iQDLq!eGbIDakyp5mnOrcdqHeYSnltepQmRp6AIZ8jY"}
		}
		// An ID token whose iss names another directory than its tid: refused.
		f.set(func(f *fakeProvider) { f.claims = claims(f.srv.URL + "/00000000-0000-0000-0000-000000000000/v2.0") })
		b := ta.browser()
		q := f.expect(t, w.start(b, "microsoft"), "ms-bad")
		if p := b.get("/t/shop/connections/microsoft/callback?code=ms-bad&state=" + url.QueryEscape(q.Get("state"))); p.status != http.StatusBadGateway {
			t.Fatalf("mismatched tid: %d", p.status)
		}
		f.set(func(f *fakeProvider) { f.claims = claims(f.srv.URL + "/" + tid + "/v2.0") })
		b = ta.browser()
		q = f.expect(t, w.start(b, "microsoft"), "ms-code")
		toApp(t, b.walk(b.get("/t/shop/connections/microsoft/callback?code=ms-code&state="+url.QueryEscape(q.Get("state")))))
		// Microsoft sends no email_verified: the address is unverified.
		if u := w.mustUser("megan@contoso.example"); u.EmailVerified {
			t.Fatalf("microsoft user verified without email_verified: %+v", u)
		}
		// Unverified and outside the connection's domains (Microsoft's email
		// claim is whatever the directory's admin typed): no account, and
		// the same answer whether or not one has the address.
		for _, email := range []string{"eve@elsewhere.example", "megan@contoso.example.evil"} {
			f.set(func(f *fakeProvider) {
				c := claims(f.srv.URL + "/" + tid + "/v2.0")
				c["sub"], c["email"], c["preferred_username"] = "sub-"+email, email, email
				f.claims = c
			})
			b = ta.browser()
			q = f.expect(t, w.start(b, "microsoft"), "ms-eve")
			p := b.get("/t/shop/connections/microsoft/callback?code=ms-eve&state=" + url.QueryEscape(q.Get("state")))
			if p.status != http.StatusForbidden || !strings.Contains(p.body, "has not verified this email address") {
				t.Fatalf("unverified %s outside the domains: %d %.400s", email, p.status, p.body)
			}
			if _, err := ta.DB.Users().GetUserByEmail(context.Background(), w.shop.ID, email); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("a user was created for unverified %s: %v", email, err)
			}
		}
	})

	t.Run("apple", func(t *testing.T) {
		f := newFakeProvider(t)
		pemKey, pub := appleKeyPEM(t)
		f.set(func(f *fakeProvider) { f.appleKey = pub })
		w.addConnection(key, map[string]any{"type": "apple", "name": "apple", "display_name": "Apple",
			"issuer": f.srv.URL, "client_id": f.clientID, "client_secret": pemKey, "team_id": "TEAM123", "key_id": "KEY123"})
		// https://developer.apple.com/documentation/sign_in_with_apple/authenticating-users-with-sign-in-with-apple
		f.set(func(f *fakeProvider) {
			f.claims = map[string]any{"sub": "001234.0123456789abcdef0123456789abcdef.1234", "at_hash": "x",
				"email": "ada@privaterelay.appleid.com", "email_verified": "true", "is_private_email": "true",
				"auth_time": time.Now().Unix(), "nonce_supported": true}
		})
		b := ta.browser()
		authURL := w.start(b, "apple")
		q := f.expect(t, authURL, "apple-code")
		if q.Get("response_mode") != "form_post" || q.Get("scope") != "openid email name" {
			t.Fatalf("apple request %s", authURL)
		}
		// form_post: the browser posts code, state and, on the first login only, user.
		toApp(t, b.walk(b.post("/t/shop/connections/apple/callback", form("code", "apple-code", "state", q.Get("state"),
			"user", `{"name":{"firstName":"Ada","lastName":"Lovelace"},"email":"ada@privaterelay.appleid.com"}`))))
		u := w.mustUser("ada@privaterelay.appleid.com")
		if !u.EmailVerified || u.GivenName != "Ada" || u.FamilyName != "Lovelace" {
			t.Fatalf("apple user %+v", u)
		}
		if strings.Contains(f.gotSecret, "PRIVATE KEY") || strings.Count(f.gotSecret, ".") != 2 {
			t.Fatalf("apple client secret is not a JWT: %.40q", f.gotSecret)
		}
		// Later logins carry no name; the account keeps it.
		b = ta.browser()
		q = f.expect(t, w.start(b, "apple"), "apple-code-2")
		toApp(t, b.walk(b.post("/t/shop/connections/apple/callback", form("code", "apple-code-2", "state", q.Get("state")))))
		if u2 := w.mustUser("ada@privaterelay.appleid.com"); u2.ID != u.ID || u2.GivenName != "Ada" {
			t.Fatalf("apple second login %+v", u2)
		}
	})

	t.Run("facebook", func(t *testing.T) {
		f := newFakeProvider(t)
		w.addConnection(key, map[string]any{"type": "facebook", "name": "facebook", "display_name": "Facebook",
			"client_id": f.clientID, "client_secret": f.secret, "authorization_endpoint": f.srv.URL + "/v19.0/dialog/oauth",
			"token_endpoint": f.srv.URL + "/token", "userinfo_endpoint": f.srv.URL + "/me?fields=id,name,email,first_name,last_name",
			// Facebook does not say an address is verified: only an admin's
			// trust lets it create accounts (microsoft shows the refusal).
			"trust_email": true})
		// https://developers.facebook.com/docs/graph-api/reference/user
		f.set(func(f *fakeProvider) {
			f.profile = map[string]any{"id": "10158000000000000", "name": "Jane Doe", "email": "jane.fb@example.com",
				"first_name": "Jane", "last_name": "Doe"}
		})
		b := ta.browser()
		q := f.expect(t, w.start(b, "facebook"), "fb-code")
		toApp(t, b.walk(b.get("/t/shop/connections/facebook/callback?code=fb-code&state="+url.QueryEscape(q.Get("state")))))
		u := w.mustUser("jane.fb@example.com")
		ids := w.identities(u.ID)
		if u.EmailVerified || u.GivenName != "Jane" || len(ids) != 1 || ids[0].Subject != "10158000000000000" {
			t.Fatalf("facebook user %+v %+v", u, ids)
		}
		// Facebook's address is not verified: it never links an account.
		owner := ta.userWithPassword(w.shop.ID, "owner.fb@example.com", "Shop-pass-5521")
		f.set(func(f *fakeProvider) {
			f.profile = map[string]any{"id": "10158000000000001", "email": "owner.fb@example.com"}
		})
		b = ta.browser()
		q = f.expect(t, w.start(b, "facebook"), "fb-code-2")
		p := b.get("/t/shop/connections/facebook/callback?code=fb-code-2&state=" + url.QueryEscape(q.Get("state")))
		if p.status != http.StatusConflict || len(w.identities(owner.ID)) != 0 {
			t.Fatalf("facebook address of an existing account: %d", p.status)
		}
	})

	t.Run("github", func(t *testing.T) {
		f := newFakeProvider(t)
		w.addConnection(key, map[string]any{"type": "github", "name": "github", "display_name": "GitHub",
			"client_id": f.clientID, "client_secret": f.secret, "authorization_endpoint": f.srv.URL + "/login/oauth/authorize",
			"token_endpoint": f.srv.URL + "/token", "userinfo_endpoint": f.srv.URL + "/user", "emails_endpoint": f.srv.URL + "/user/emails"})
		// https://docs.github.com/rest/users/users#get-the-authenticated-user, .../emails
		f.set(func(f *fakeProvider) {
			f.form = true
			f.profile = map[string]any{"login": "octocat", "id": 583231, "node_id": "MDQ6VXNlcjU4MzIzMQ==",
				"name": "The Octocat", "email": nil, "type": "User"}
			f.emails = []map[string]any{
				{"email": "octo.private@example.com", "verified": true, "primary": false, "visibility": nil},
				{"email": "octocat@example.com", "verified": true, "primary": true, "visibility": "public"},
				{"email": "unverified@example.com", "verified": false, "primary": false, "visibility": nil}}
		})
		b := ta.browser()
		q := f.expect(t, w.start(b, "github"), "gh-code")
		if q.Get("nonce") != "" || q.Get("scope") != "read:user user:email" {
			t.Fatalf("github request %v", q)
		}
		toApp(t, b.walk(b.get("/t/shop/connections/github/callback?code=gh-code&state="+url.QueryEscape(q.Get("state")))))
		u := w.mustUser("octocat@example.com")
		ids := w.identities(u.ID)
		if !u.EmailVerified || len(ids) != 1 || ids[0].Subject != "583231" {
			t.Fatalf("github user %+v %+v", u, ids)
		}
	})
}

var retryRE = regexp.MustCompile(`<a href="(/t/shop/login\?id=[^"]+)">`)

// retryAccountRE: a callback that names no login of this browser (a
// replayed one) retries from the account page.
var retryAccountRE = regexp.MustCompile(`<a href="/t/shop/account">`)

// failed checks a friendly failure page with a retry, and that the
// failure was audited with reason.
func (w *socialWorld) failed(t *testing.T, p page, status int, reason string) {
	t.Helper()
	if p.status != status || !(retryRE.MatchString(p.body) || reason == "state_mismatch" && retryAccountRE.MatchString(p.body)) ||
		!strings.Contains(p.body, "did not work") {
		t.Fatalf("want a %d page with a retry, got %d %.800s", status, p.status, p.body)
	}
	es, err := w.ta.DB.Audit().ListAudit(context.Background(), w.shop.ID, store.AuditQuery{Action: "connection.login_failed", Limit: 1})
	if err != nil || len(es) != 1 {
		t.Fatalf("no audit entry: %v %v", es, err)
	}
	var ch map[string]struct{ After string }
	if err := json.Unmarshal(es[0].Changes, &ch); err != nil || ch["reason"].After != reason {
		t.Fatalf("audited %s, want reason %s", es[0].Changes, reason)
	}
}

// TestSocialUpstreamFailures: what an upstream (or an attacker between
// it and the browser) can do wrong ends on a friendly page with a retry,
// is audited, and signs nobody in.
func TestSocialUpstreamFailures(t *testing.T) {
	ta := openSocialApp(t, backends[0], 300*time.Millisecond)
	w, key := newShop(t, ta)
	f := newFakeProvider(t)
	w.addConnection(key, map[string]any{"type": "oidc", "name": "idp", "display_name": "IdP", "issuer": f.srv.URL,
		"client_id": f.clientID, "client_secret": f.secret, "store_tokens": true})
	f.set(func(f *fakeProvider) {
		f.claims = map[string]any{"sub": "user-1", "email": "one@idp.example", "email_verified": true}
	})
	users := func() int64 { n, _ := ta.DB.Users().CountUsers(context.Background(), w.shop.ID); return n }
	callback := func(b *browserClient, code, state string) page {
		return b.walk(b.get("/t/shop/connections/idp/callback?" + url.Values{"code": {code}, "state": {state}}.Encode()))
	}

	// A good login first: its nonce is replayed below; tokens kept sealed.
	b := ta.browser()
	first := f.expect(t, w.start(b, "idp"), "good")
	toApp(t, callback(b, "good", first.Get("state")))
	u := w.mustUser("one@idp.example")
	ids := w.identities(u.ID)
	if len(ids) != 1 || len(ids[0].SealedTokens) == 0 || strings.Contains(string(ids[0].SealedTokens), "upstream-access-token") {
		t.Fatalf("stored tokens %+v", ids)
	}
	plain, err := ta.Connections.Open(w.shop.ID, ids[0].ID, "upstream_tokens", ids[0].SealedTokens)
	if err != nil || !strings.Contains(string(plain), "upstream-refresh-token") {
		t.Fatalf("sealed tokens do not open: %v", err)
	}
	n := users()

	t.Run("replayed callback", func(t *testing.T) {
		w.failed(t, callback(b, "good", first.Get("state")), http.StatusBadRequest, "state_mismatch")
	})
	t.Run("state mismatch", func(t *testing.T) {
		b := ta.browser()
		f.expect(t, w.start(b, "idp"), "c-state")
		// An attacker's state (from their own login) in the victim's browser.
		other := ta.browser()
		theirs := f.expect(t, w.start(other, "idp"), "c-theirs")
		w.failed(t, callback(b, "c-theirs", theirs.Get("state")), http.StatusBadRequest, "state_mismatch")
	})
	t.Run("upstream error", func(t *testing.T) {
		b := ta.browser()
		q := f.expect(t, w.start(b, "idp"), "c-err")
		w.failed(t, b.walk(b.get("/t/shop/connections/idp/callback?error=access_denied&state="+url.QueryEscape(q.Get("state")))),
			http.StatusBadGateway, "upstream_error")
	})
	t.Run("nonce replay", func(t *testing.T) {
		f.set(func(f *fakeProvider) { f.claims["nonce"] = first.Get("nonce") })
		defer f.set(func(f *fakeProvider) { delete(f.claims, "nonce") })
		b := ta.browser()
		q := f.expect(t, w.start(b, "idp"), "c-nonce")
		w.failed(t, callback(b, "c-nonce", q.Get("state")), http.StatusBadGateway, "nonce_mismatch")
	})
	t.Run("another audience", func(t *testing.T) {
		f.set(func(f *fakeProvider) { f.claims["aud"] = "another-client" })
		defer f.set(func(f *fakeProvider) { delete(f.claims, "aud") })
		b := ta.browser()
		q := f.expect(t, w.start(b, "idp"), "c-aud")
		w.failed(t, callback(b, "c-aud", q.Get("state")), http.StatusBadGateway, "invalid_id_token")
	})
	t.Run("wrong signature", func(t *testing.T) {
		other, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		f.set(func(f *fakeProvider) { f.signKey = other })
		defer f.set(func(f *fakeProvider) { f.signKey = nil })
		b := ta.browser()
		q := f.expect(t, w.start(b, "idp"), "c-sig")
		w.failed(t, callback(b, "c-sig", q.Get("state")), http.StatusBadGateway, "invalid_id_token")
	})
	t.Run("expired", func(t *testing.T) {
		f.set(func(f *fakeProvider) { f.claims["exp"] = time.Now().Add(-time.Hour).Unix() })
		defer f.set(func(f *fakeProvider) { delete(f.claims, "exp") })
		b := ta.browser()
		q := f.expect(t, w.start(b, "idp"), "c-exp")
		w.failed(t, callback(b, "c-exp", q.Get("state")), http.StatusBadGateway, "invalid_id_token")
	})
	t.Run("hangs", func(t *testing.T) {
		f.set(func(f *fakeProvider) { f.hang = 5 * time.Second })
		defer f.set(func(f *fakeProvider) { f.hang = 0 })
		b := ta.browser()
		q := f.expect(t, w.start(b, "idp"), "c-hang")
		began := time.Now()
		p := callback(b, "c-hang", q.Get("state"))
		if d := time.Since(began); d > 3*time.Second {
			t.Fatalf("a hanging upstream held the login %s", d)
		}
		w.failed(t, p, http.StatusBadGateway, "upstream_unreachable")
	})
	if m := users(); m != n {
		t.Fatalf("failed logins created users: %d -> %d", n, m)
	}
	if strings.Contains(ta.logs.String(), f.secret) || strings.Contains(ta.logs.String(), "upstream-access-token") {
		t.Fatal("a secret or an upstream token reached the log")
	}

	t.Run("http issuer refused", func(t *testing.T) {
		res := ta.do(request{method: http.MethodPost, path: "/api/v1/tenants/shop/connections", auth: "Bearer " + key,
			body: map[string]any{"type": "oidc", "name": "plain", "issuer": "http://idp.example.com", "client_id": "x", "client_secret": "y"}})
		if res.status != http.StatusBadRequest || res.problem(t)["field"] != "issuer" {
			t.Fatalf("http issuer: %s", res)
		}
	})
}
