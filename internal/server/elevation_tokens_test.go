package server

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/oauthclient"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// jwtPayload decodes a JWT's claims without checking the signature (the
// client library and the introspection endpoint are what check it).
func jwtPayload(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", tok)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	var claims map[string]any
	if err == nil {
		err = json.Unmarshal(raw, &claims)
	}
	if err != nil {
		t.Fatalf("JWT payload: %v", err)
	}
	return claims
}

// hasRole reports whether the token's roles claim names role.
func hasRole(t *testing.T, tok, role string) bool {
	roles, _ := jwtPayload(t, tok)["roles"].([]any)
	return slices.Contains(roles, any(role))
}

// introspect asks the token endpoint's sibling whether tok is active, as
// the confidential client conf.
func introspect(t *testing.T, ta *testApp, conf *oauth2.Config, tok string) bool {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, ta.srv.URL+"/t/acme/oauth/introspect",
		strings.NewReader(url.Values{"token": {tok}, "client_id": {conf.ClientID}, "client_secret": {conf.ClientSecret}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct {
		Active bool `json:"active"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("introspect: %d %v", res.StatusCode, err)
	}
	return out.Active
}

// TestElevationEndRevokesItsTokens: the role's approver approves on the
// account page as the signed-in user (the requester cannot, and a posted
// approver is refused); revoking the active elevation early makes the
// access tokens that carry its role inactive at introspection, and a
// refresh yields a token without the role; a token carrying the role
// never outlives the elevation.
func TestElevationEndRevokesItsTokens(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ta := newTestApp(t, be)
		tn := ta.tenant("acme")
		admin := "Bearer " + ta.key(tn.ID, "admin")
		tp := "/api/v1/tenants/acme"
		const pw = "correct horse battery"
		ada := ta.userWithPassword(tn.ID, "ada@example.com", pw)
		bob := ta.userWithPassword(tn.ID, "bob@example.com", "bobs own password 1")
		if r := ta.do(request{method: "POST", path: tp + "/roles", auth: admin, body: map[string]any{
			"name": "prod-admin", "permissions": []string{"prod:deploy"}, "privileged": true,
			"approval": "approvers", "approvers": []string{bob.ID}, "max_duration": "1h", "require_mfa": false}}); r.status != http.StatusCreated {
			t.Fatalf("create role: %s", r)
		}
		if r := ta.do(request{method: "POST", path: tp + "/users/" + ada.ID + "/roles", auth: admin,
			body: map[string]string{"role": "prod-admin"}}); r.status != http.StatusCreated {
			t.Fatalf("assign: %s", r)
		}
		c, secret, err := ta.Clients.CreateClient(context.Background(), testActor, tn.ID, oauthclient.NewClient{
			Name: "Ops console", GrantTypes: []string{deviceGrantType, "refresh_token"}, TokenEndpointAuthMethod: "client_secret_post",
			AuthzClaims: store.AuthzClaims{RolesClaim: "roles"}})
		if err != nil {
			t.Fatal(err)
		}
		conf := &oauth2.Config{ClientID: c.ID, ClientSecret: secret, Scopes: []string{"openid", "offline_access"},
			Endpoint: oauth2.Endpoint{DeviceAuthURL: ta.srv.URL + "/t/acme/device_authorization",
				TokenURL: ta.srv.URL + "/t/acme/oauth/token", AuthStyle: oauth2.AuthStyleInParams}}

		var el struct {
			ID        string    `json:"id"`
			State     string    `json:"state"`
			DecidedBy string    `json:"decided_by"`
			ExpiresAt time.Time `json:"expires_at"`
		}
		r := ta.do(request{method: "POST", path: tp + "/users/" + ada.ID + "/elevations", auth: admin,
			body: map[string]string{"role": "prod-admin", "reason": "INC-7", "duration": "1h"}})
		if r.status != http.StatusCreated || json.Unmarshal(r.body, &el) != nil {
			t.Fatalf("request elevation: %s", r)
		}
		b := ta.browser()
		b.signIn("acme", "ada@example.com", pw)
		// The requester cannot decide her own request: no form, and a
		// forged one is refused.
		if strings.Contains(b.get("/t/acme/account").body, `id="approvals"`) {
			t.Error("the requester is offered her own request")
		}
		tok := b.csrf("/t/acme/account")
		if p := b.post("/t/acme/account/elevations/decide", form("csrf", tok, "elevation_id", el.ID, "action", "approve")); p.status != http.StatusForbidden {
			t.Errorf("self-approval on the account page: %d", p.status)
		}
		// A posted approver is refused, not used.
		if p := b.post("/t/acme/account/elevations/decide", form("csrf", tok, "elevation_id", el.ID, "action", "approve", "approver_id", bob.ID)); p.status != http.StatusBadRequest {
			t.Errorf("approver named in the form: %d", p.status)
		}
		approver := ta.browser()
		approver.signIn("acme", "bob@example.com", "bobs own password 1")
		approveOnPage(t, approver, el.ID)
		grant := deviceToken(t, b, conf, oauth2.SetAuthURLParam("client_secret", secret))
		if !hasRole(t, grant.AccessToken, "prod-admin") {
			t.Fatalf("the token lacks the elevated role: %v", jwtPayload(t, grant.AccessToken))
		}
		r = ta.do(request{method: "GET", path: tp + "/elevations/" + el.ID, auth: admin})
		if json.Unmarshal(r.body, &el) != nil || el.State != "active" || el.DecidedBy != bob.ID {
			t.Fatalf("elevation: %s", r)
		}
		if exp, _ := jwtPayload(t, grant.AccessToken)["exp"].(float64); time.Unix(int64(exp), 0).After(el.ExpiresAt) {
			t.Errorf("the token (exp %v) outlives the elevation (%v)", time.Unix(int64(exp), 0), el.ExpiresAt)
		}
		if !introspect(t, ta, conf, grant.AccessToken) {
			t.Fatal("a fresh token is inactive")
		}

		if r := ta.do(request{method: "POST", path: tp + "/elevations/" + el.ID + "/revoke", auth: admin}); r.status != http.StatusOK {
			t.Fatalf("revoke: %s", r)
		}
		if introspect(t, ta, conf, grant.AccessToken) {
			t.Error("introspection says a token carrying a revoked elevation is active")
		}
		next, err := conf.TokenSource(context.Background(), &oauth2.Token{RefreshToken: grant.RefreshToken}).Token()
		if err != nil {
			t.Fatalf("refresh: %v", err)
		}
		if hasRole(t, next.AccessToken, "prod-admin") {
			t.Error("a refreshed token still carries the revoked role")
		}
		if !introspect(t, ta, conf, next.AccessToken) {
			t.Error("the refreshed token is inactive")
		}
	})
}

// approveOnPage approves the pending elevation id from browser b, signed
// in as one of its role's approvers, on the account page.
func approveOnPage(t *testing.T, b *browserClient, id string) {
	t.Helper()
	p := b.get("/t/acme/account")
	if !strings.Contains(section(p.body, "approvals", "h-export"), `value="`+id+`"`) {
		t.Fatalf("the approver's page does not offer %s: %d", id, p.status)
	}
	tok := csrfRE.FindStringSubmatch(p.body)[1]
	if p := b.post("/t/acme/account/elevations/decide", form("csrf", tok, "elevation_id", id, "action", "approve")); p.status != http.StatusSeeOther ||
		!strings.Contains(p.location(), "done=elevation_approved") {
		t.Fatalf("approve on the account page: %d %q", p.status, p.location())
	}
}
