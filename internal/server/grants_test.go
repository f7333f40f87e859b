package server

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/oauthclient"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// deviceTV registers a public device-flow client of tenant acme and
// answers an x/oauth2 configuration for it.
func deviceTV(t *testing.T, ta *testApp, tn *store.Tenant) (*store.Client, *oauth2.Config) {
	t.Helper()
	tv, _, err := ta.Clients.CreateClient(context.Background(), testActor, tn.ID, oauthclient.NewClient{
		Name: "Living Room TV", Public: true, GrantTypes: []string{deviceGrantType, "refresh_token"}})
	if err != nil {
		t.Fatal(err)
	}
	return tv, &oauth2.Config{ClientID: tv.ID, Scopes: []string{"openid", "offline_access"},
		Endpoint: oauth2.Endpoint{DeviceAuthURL: ta.srv.URL + "/t/acme/device_authorization",
			TokenURL: ta.srv.URL + "/t/acme/oauth/token", AuthStyle: oauth2.AuthStyleInParams}}
}

// deviceToken runs the device flow with x/oauth2, approved in browser b
// (signed in), and answers the tokens. opts go with the device
// authorization request (x/oauth2 sends no client secret there).
func deviceToken(t *testing.T, b *browserClient, conf *oauth2.Config, opts ...oauth2.AuthCodeOption) *oauth2.Token {
	t.Helper()
	ctx := context.Background()
	da, err := conf.DeviceAuth(ctx, opts...)
	if err != nil {
		t.Fatalf("device authorization: %v", err)
	}
	if p := approveDevice(b, da.UserCode); p.status != http.StatusOK {
		t.Fatalf("approval: %d %q", p.status, p.location())
	}
	da.Interval = 1 // approved before the first poll: no need to wait the server's interval
	tok, err := conf.DeviceAccessToken(ctx, da)
	if err != nil || tok.RefreshToken == "" {
		t.Fatalf("device token: %+v %v", tok, err)
	}
	return tok
}

// refreshes reports whether the client can still refresh tok, keeping
// the rotated refresh token in it (a second use of the old one would be a
// reuse, which revokes the grant by itself).
func refreshes(conf *oauth2.Config, tok *oauth2.Token) bool {
	next, err := conf.TokenSource(context.Background(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if err != nil {
		return false
	}
	*tok = *next
	return true
}

var resetLinkRE = regexp.MustCompile(`/t/acme/password/reset\?token=([A-Za-z0-9_%-]+)`)

// TestDeviceGrantsEndWithCredentials: a device-flow grant (a refresh token
// bound to no browser session) stops working after a password reset, a
// password change on the account page, an administrator's "end all
// sessions" and an administrator's reset of the second factors; the API
// lists it with kind "device" and revokes it by id, and the account page
// lists it and signs it out.
func TestDeviceGrantsEndWithCredentials(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ta := newTestApp(t, be)
		tn := ta.tenant("acme")
		_, conf := deviceTV(t, ta, tn)
		pw := "correct horse battery"
		ada := ta.userWithPassword(tn.ID, "ada@example.com", pw)
		admin := "Bearer " + ta.key(tn.ID, "admin")
		grantsPath := "/api/v1/tenants/acme/users/" + ada.ID + "/grants"
		listGrants := func() []map[string]any {
			t.Helper()
			res := ta.do(request{method: http.MethodGet, path: grantsPath, auth: "Bearer " + ta.key(tn.ID, "read")})
			var out map[string][]map[string]any
			if err := json.Unmarshal(res.body, &out); err != nil || res.status != http.StatusOK || len(out) != 1 {
				t.Fatalf("list grants: %s %v", res, err)
			}
			return out["items"]
		}
		fresh := func() *browserClient {
			b := ta.browser()
			b.signIn("acme", "ada@example.com", pw)
			return b
		}

		// The API lists the grant as a device grant, and DELETE revokes it.
		b := fresh()
		tok := deviceToken(t, b, conf)
		if !refreshes(conf, tok) {
			t.Fatal("a fresh device grant does not refresh")
		}
		gs := listGrants()
		if len(gs) != 1 || gs[0]["kind"] != "device" || gs[0]["client_id"] != conf.ClientID || len(gs[0]) != 5 ||
			gs[0]["created_at"] == nil || gs[0]["last_used_at"] == nil {
			t.Fatalf("grants: %v", gs)
		}
		id, _ := gs[0]["id"].(string)
		if r := ta.do(request{method: http.MethodDelete, path: grantsPath + "/" + id, auth: "Bearer " + ta.key(tn.ID, "read")}); r.status != http.StatusForbidden {
			t.Errorf("DELETE with a read key: %s", r)
		}
		other := ta.userWithPassword(tn.ID, "bob@example.com", "bobs own password 1")
		if r := ta.do(request{method: http.MethodDelete, path: "/api/v1/tenants/acme/users/" + other.ID + "/grants/" + id, auth: admin}); r.status != http.StatusNotFound {
			t.Errorf("DELETE as another user's grant: %s", r)
		}
		if r := ta.do(request{method: http.MethodDelete, path: grantsPath + "/" + id, auth: admin}); r.status != http.StatusNoContent {
			t.Fatalf("DELETE grant: %s", r)
		}
		if refreshes(conf, tok) {
			t.Error("the device grant refreshes after DELETE")
		}
		if gs := listGrants(); len(gs) != 0 {
			t.Errorf("grants after DELETE: %v", gs)
		}
		if r := ta.do(request{method: http.MethodDelete, path: grantsPath + "/" + id, auth: admin}); r.status != http.StatusNotFound {
			t.Errorf("DELETE again: %s", r)
		}

		// The account page lists it under the apps and signs it out.
		tok = deviceToken(t, b, conf)
		p := b.get("/t/acme/account")
		grants := section(p.body, "grants", "h-identities")
		if !strings.Contains(grants, "Living Room TV") || !strings.Contains(grants, "Device sign-in") {
			t.Fatalf("account page grants: %.600s", grants)
		}
		gid := regexp.MustCompile(`name="grant_id" value="([^"]+)"`).FindStringSubmatch(grants)
		if gid == nil {
			t.Fatalf("no grant form: %.600s", grants)
		}
		if p := b.post("/t/acme/account/grants/revoke", form("grant_id", gid[1])); p.status != http.StatusForbidden {
			t.Errorf("revoke without CSRF: %d", p.status)
		}
		if !refreshes(conf, tok) {
			t.Fatal("a refused revocation revoked")
		}
		csrf := b.csrf("/t/acme/account")
		if p := b.post("/t/acme/account/grants/revoke", form("csrf", csrf, "grant_id", gid[1])); p.status != http.StatusSeeOther ||
			!strings.Contains(p.location(), "done=grant") {
			t.Fatalf("revoke on the account page: %d %q", p.status, p.location())
		}
		if refreshes(conf, tok) {
			t.Error("the device grant refreshes after the account page signed it out")
		}

		// (a) A password reset ends it.
		tok = deviceToken(t, b, conf)
		anon := ta.browser()
		tk := anon.csrf("/t/acme/password/forgot")
		if p := anon.post("/t/acme/password/forgot", form("csrf", tk, "email", "ada@example.com")); p.status >= 400 {
			t.Fatalf("forgot: %d", p.status)
		}
		var link []string
		for _, m := range ta.mails() {
			if l := resetLinkRE.FindStringSubmatch(m.Text); l != nil && strings.Contains(m.To, "ada@example.com") {
				link = l
			}
		}
		if link == nil {
			t.Fatal("no reset link mailed")
		}
		tk = anon.csrf("/t/acme/password/reset?token=" + link[1])
		pw = "a brand new passphrase"
		if p := anon.post("/t/acme/password/reset", form("csrf", tk, "token", link[1], "password", pw)); p.status != http.StatusOK {
			t.Fatalf("reset: %d %.300s", p.status, p.body)
		}
		if refreshes(conf, tok) {
			t.Error("the device grant refreshes after a password reset")
		}

		// (b) A password change on the account page ends it.
		b = fresh()
		tok = deviceToken(t, b, conf)
		next := "another new passphrase"
		csrf = b.csrf("/t/acme/account")
		if p := b.post("/t/acme/account/password", form("csrf", csrf, "current_password", pw, "new_password", next)); p.status != http.StatusSeeOther {
			t.Fatalf("password change: %d", p.status)
		}
		pw = next
		if refreshes(conf, tok) {
			t.Error("the device grant refreshes after a password change")
		}

		// (c) An administrator's "end all sessions" and (d) reset of the
		// second factors end it.
		for _, what := range []string{"sessions", "factors"} {
			b = fresh()
			tok = deviceToken(t, b, conf)
			if r := ta.do(request{method: http.MethodDelete, path: "/api/v1/tenants/acme/users/" + ada.ID + "/" + what, auth: admin}); r.status != http.StatusNoContent {
				t.Fatalf("DELETE %s: %s", what, r)
			}
			if refreshes(conf, tok) {
				t.Errorf("the device grant refreshes after the administrator's DELETE of the %s", what)
			}
		}
		if gs := listGrants(); len(gs) != 0 {
			t.Errorf("grants left: %v", gs)
		}
	})
}
