package e2e

import (
	"context"
	"encoding/base64"
	"encoding/xml"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	crewjam "github.com/crewjam/saml"
	"golang.org/x/oauth2"
)

const (
	samlUser     = "grace@example.com"
	samlPassword = "cobol compiler 1959"
)

// TestSAML drives the running server with crewjam/saml's ServiceProvider
// as a real SP: SP-initiated login over HTTP-Redirect and HTTP-POST,
// attributes, IdP-initiated login, ForceAuthn and IsPassive, one session
// shared with OpenID Connect both ways, and single logout started by the
// SP and by the IdP.
func TestSAML(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			testSAML(t, b)
		})
	}
}

func testSAML(t *testing.T, b backend) {
	n, env, api := setupSAML(t, b)
	userID := mkUser(api, map[string]any{"email": samlUser, "password": samlPassword, "given_name": "Grace",
		"family_name": "Hopper", "email_verified": true, "attributes": map[string]any{"dept": "navy"}})
	var g map[string]any
	api.must(201, "POST", "/api/v1/tenants/default/groups", map[string]any{"name": "staff"}).json(t, &g)
	api.must(201, "POST", "/api/v1/tenants/default/groups/"+g["id"].(string)+"/members", map[string]any{"user_id": userID})

	sp := newSP(t, n.URL, "default", "wiki", true)
	spID := registerSP(t, env, sp, "--name", "Wiki", "--slo-url", sp.SloURL.String(), "--attribute", "mail=email", "--attribute", "memberOf=groups",
		"--attribute", "department=attr:dept", "--attribute", "displayName=name")
	sso := sp.GetSSOBindingLocation(crewjam.HTTPRedirectBinding)
	if sso != n.URL+"/t/default/saml/sso" {
		t.Fatalf("SSO location from metadata = %q", sso)
	}
	sessions := "/api/v1/tenants/default/users/" + userID + "/sessions"

	t.Run("SPInitiatedRedirect", func(t *testing.T) {
		c := samlBrowser(nil)
		req, err := sp.MakeAuthenticationRequest(sso, crewjam.HTTPRedirectBinding, crewjam.HTTPPostBinding)
		if err != nil {
			t.Fatal(err)
		}
		u, err := req.Redirect("deep/link?x=1", sp)
		if err != nil {
			t.Fatal(err)
		}
		a := visit(t, c, getReq(t, u.String()), samlUser, samlPassword)
		if !a.loginShown {
			t.Error("no login page for a browser without a session")
		}
		as, err := acs(t, sp, a, req.ID)
		if err != nil {
			t.Fatalf("ParseResponse: %v", err)
		}
		if a.fields.Get("RelayState") != "deep/link?x=1" {
			t.Errorf("RelayState = %q", a.fields.Get("RelayState"))
		}
		if as.Subject.NameID.Value != samlUser {
			t.Errorf("NameID = %+v", as.Subject.NameID)
		}
		if got := attr(as, "mail"); !slices.Equal(got, []string{samlUser}) {
			t.Errorf("mail = %v", got)
		}
		if got := attr(as, "memberOf"); !slices.Equal(got, []string{"staff"}) {
			t.Errorf("memberOf = %v", got)
		}
		if got := attr(as, "department"); !slices.Equal(got, []string{"navy"}) {
			t.Errorf("department = %v", got)
		}
		if got := attr(as, "displayName"); !slices.Equal(got, []string{"Grace Hopper"}) {
			t.Errorf("displayName = %v", got)
		}
		if as.Signature == nil {
			t.Error("assertion is not signed")
		}
		// The same response cannot be answered to another request ID.
		if _, err := acs(t, sp, a, "id-other"); err == nil {
			t.Error("response accepted for another request ID")
		}

		// HTTP-POST binding, same browser: single sign-on, no password.
		req2, _ := sp.MakeAuthenticationRequest(sso, crewjam.HTTPPostBinding, crewjam.HTTPPostBinding)
		action, form := postBindingForm(t, req2.Post("rs-post"))
		a2 := visit(t, c, postReq(t, action, form), "", "")
		as2, err := acs(t, sp, a2, req2.ID)
		if err != nil {
			t.Fatalf("ParseResponse (POST binding): %v", err)
		}
		if a2.fields.Get("RelayState") != "rs-post" || as2.Subject.NameID.Value != samlUser {
			t.Errorf("POST binding: RelayState %q NameID %q", a2.fields.Get("RelayState"), as2.Subject.NameID.Value)
		}

		// ForceAuthn: the password is asked again despite the session.
		force := true
		req3, _ := sp.MakeAuthenticationRequest(sso, crewjam.HTTPRedirectBinding, crewjam.HTTPPostBinding)
		req3.ForceAuthn = &force
		u3, _ := req3.Redirect("", sp)
		a3 := visit(t, c, getReq(t, u3.String()), samlUser, samlPassword)
		if !a3.loginShown {
			t.Error("ForceAuthn: no login page")
		}
		if _, err := acs(t, sp, a3, req3.ID); err != nil {
			t.Errorf("ForceAuthn response: %v", err)
		}
	})

	t.Run("IsPassiveWithoutSession", func(t *testing.T) {
		c := samlBrowser(nil)
		passive := true
		req, _ := sp.MakeAuthenticationRequest(sso, crewjam.HTTPRedirectBinding, crewjam.HTTPPostBinding)
		req.IsPassive = &passive
		u, _ := req.Redirect("", sp)
		a := visit(t, c, getReq(t, u.String()), "", "") // fails if a login page shows
		if _, err := acs(t, sp, a, req.ID); err == nil {
			t.Fatal("a passive request without a session got an assertion")
		}
		raw, _ := base64.StdEncoding.DecodeString(a.fields.Get("SAMLResponse"))
		if !strings.Contains(string(raw), crewjam.StatusNoPassive) {
			t.Errorf("passive refusal is not NoPassive: %s", raw)
		}
	})

	t.Run("IdPInitiated", func(t *testing.T) {
		c := samlBrowser(nil)
		// The launch link's RelayState is anyone's to craft: it is ignored
		// (no open redirect); the registered
		// default_relay_state is what the unsolicited response carries.
		a := visit(t, c, getReq(t, n.URL+"/t/default/saml/launch/"+spID+"?RelayState=https://evil.example/phish"), samlUser, samlPassword)
		sp.AllowIDPInitiated = true
		defer func() { sp.AllowIDPInitiated = false }()
		as, err := acs(t, sp, a)
		if err != nil {
			t.Fatalf("unsolicited response: %v", err)
		}
		if _, set := a.fields["RelayState"]; set || as.Subject.NameID.Value != samlUser {
			t.Errorf("RelayState %q (want none) NameID %q", a.fields.Get("RelayState"), as.Subject.NameID.Value)
		}
		spPath := "/api/v1/tenants/default/saml/sps/" + spID
		for _, bad := range []string{"https://evil.example@/x", "//evil.example/x", "javascript:alert(1)", "http://sp.example/"} {
			api.must(400, "PATCH", spPath, map[string]any{"default_relay_state": bad})
		}
		var got map[string]any
		api.must(200, "PATCH", spPath, map[string]any{"default_relay_state": "/home?tab=1"}).json(t, &got)
		if got["default_relay_state"] != "/home?tab=1" {
			t.Fatalf("PATCH default_relay_state answered %v", got["default_relay_state"])
		}
		a = visit(t, c, getReq(t, n.URL+"/t/default/saml/launch/"+spID+"?RelayState=https://evil.example/phish"), samlUser, samlPassword)
		if _, err := acs(t, sp, a); err != nil {
			t.Fatalf("unsolicited response: %v", err)
		}
		if a.fields.Get("RelayState") != "/home?tab=1" {
			t.Errorf("RelayState %q, want the registered /home?tab=1", a.fields.Get("RelayState"))
		}
		api.must(200, "PATCH", spPath, map[string]any{"default_relay_state": ""})
		// The CLI flag: validated the same way, stored as given.
		if _, errOut, code := cli(t, env, "saml", "sp", "create", "--tenant", "default", "--entity-id", "https://rs.example",
			"--acs", "https://rs.example/acs", "--default-relay-state", "//evil.example/x"); code == 0 || !strings.Contains(errOut, "default_relay_state") {
			t.Errorf("--default-relay-state //evil.example/x: exit %d, %s", code, errOut)
		}
		other := registerSP(t, env, newSP(t, n.URL, "default", "rs", true), "--default-relay-state", "https://sp.example/welcome")
		api.must(200, "GET", "/api/v1/tenants/default/saml/sps/"+other, nil).json(t, &got)
		if got["default_relay_state"] != "https://sp.example/welcome" {
			t.Errorf("--default-relay-state stored %v", got["default_relay_state"])
		}
		api.must(204, "DELETE", "/api/v1/tenants/default/saml/sps/"+other, nil)
		res := visit(t, c, getReq(t, n.URL+"/t/default/saml/launch/0190aaaa-0000-7000-8000-000000000000"), "", "")
		if res.status != http.StatusNotFound {
			t.Errorf("launch of an unknown provider: %d", res.status)
		}
	})

	t.Run("OneSessionBothProtocols", func(t *testing.T) {
		// SAML first, then an OpenID client signs in without a prompt.
		r := newRP(t, env, n.URL, "default")
		a := visit(t, samlBrowser(r.browser.Jar), getReq(t, n.URL+"/t/default/saml/launch/"+spID), samlUser, samlPassword)
		if a.action != sp.AcsURL.String() {
			t.Fatalf("SAML login did not reach the ACS: %d %.200s", a.status, a.body)
		}
		v := oauth2.GenerateVerifier()
		q := r.authorize(r.conf.AuthCodeURL("st", oauth2.S256ChallengeOption(v), gooidc.Nonce("nn")), "", "")
		if q.Get("code") == "" {
			t.Fatalf("OIDC after SAML: %v", q)
		}
		// OpenID first, then SAML without a prompt.
		r2 := newRP(t, env, n.URL, "default")
		v2 := oauth2.GenerateVerifier()
		q2 := r2.authorize(r2.conf.AuthCodeURL("st", oauth2.S256ChallengeOption(v2), gooidc.Nonce("nn")), samlUser, samlPassword)
		if q2.Get("code") == "" {
			t.Fatalf("OIDC login: %v", q2)
		}
		req, _ := sp.MakeAuthenticationRequest(sso, crewjam.HTTPRedirectBinding, crewjam.HTTPPostBinding)
		u, _ := req.Redirect("", sp)
		a2 := visit(t, samlBrowser(r2.browser.Jar), getReq(t, u.String()), "", "")
		if _, err := acs(t, sp, a2, req.ID); err != nil {
			t.Fatalf("SAML after OIDC: %v", err)
		}
		tok, err := r2.conf.Exchange(context.Background(), q2.Get("code"), oauth2.VerifierOption(v2))
		if err != nil {
			t.Fatal(err)
		}
		// SP-initiated logout ends that shared session: its tokens die.
		lr, err := sp.MakeRedirectLogoutRequest(samlUser, "bye")
		if err != nil {
			t.Fatal(err)
		}
		out := visit(t, samlBrowser(r2.browser.Jar), getReq(t, lr.String()), "", "")
		if out.location == nil || !strings.HasPrefix(out.location.String(), sp.SloURL.String()) {
			t.Fatalf("logout answered %d %v %.300s", out.status, out.location, out.body)
		}
		if err := sp.ValidateLogoutResponseRequest(getReq(t, out.location.String())); err != nil {
			t.Errorf("LogoutResponse: %v", err)
		}
		if out.location.Query().Get("RelayState") != "bye" {
			t.Errorf("logout RelayState = %q", out.location.Query().Get("RelayState"))
		}
		m := d0(n.URL).discover(t, "default")
		if active(introspect(t, m, tok.AccessToken, r2.conf.ClientID, r2.conf.ClientSecret)) {
			t.Error("access token of the ended session still active")
		}
		// The browser must log in again.
		req2, _ := sp.MakeAuthenticationRequest(sso, crewjam.HTTPRedirectBinding, crewjam.HTTPPostBinding)
		u2, _ := req2.Redirect("", sp)
		again := visit(t, samlBrowser(r2.browser.Jar), getReq(t, u2.String()), samlUser, samlPassword)
		if !again.loginShown {
			t.Error("no login page after single logout")
		}
	})

	t.Run("IdPInitiatedLogout", func(t *testing.T) {
		for _, s := range sessionsOf(t, api, sessions) {
			api.must(204, "DELETE", sessions, nil)
			_ = s
			break
		}
		c := samlBrowser(nil)
		a := visit(t, c, getReq(t, n.URL+"/t/default/saml/launch/"+spID), samlUser, samlPassword)
		if a.action != sp.AcsURL.String() {
			t.Fatalf("login: %d", a.status)
		}
		if len(sessionsOf(t, api, sessions)) != 1 {
			t.Fatalf("sessions before logout: %v", sessionsOf(t, api, sessions))
		}
		confirm := visit(t, c, getReq(t, n.URL+"/t/default/saml/logout"), "", "")
		form := url.Values{}
		for _, m := range hiddenRE.FindAllStringSubmatch(confirm.body, -1) {
			form.Set(m[1], m[2])
		}
		// Without the CSRF token nothing happens.
		if res := visit(t, c, postReq(t, n.URL+"/t/default/saml/logout", url.Values{}), "", ""); res.status != http.StatusForbidden {
			t.Errorf("logout without CSRF token: %d", res.status)
		}
		out := visit(t, c, postReq(t, n.URL+"/t/default/saml/logout", form), "", "")
		if out.location == nil || !strings.HasPrefix(out.location.String(), sp.SloURL.String()) {
			t.Fatalf("IdP logout did not visit the SP: %d %v %.300s\n%s", out.status, out.location, out.body, n.Logs())
		}
		httpReq := getReq(t, out.location.String())
		lr, err := sp.ValidateLogoutRequest(httpReq)
		if err != nil {
			t.Fatalf("LogoutRequest from the IdP: %v", err)
		}
		if lr.NameID == nil || lr.NameID.Value != samlUser {
			t.Errorf("LogoutRequest NameID = %+v", lr.NameID)
		}
		back, err := sp.MakeRedirectLogoutResponse(lr.ID, out.location.Query().Get("RelayState"))
		if err != nil {
			t.Fatal(err)
		}
		res, err := c.Get(back.String())
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK || !strings.HasSuffix(res.Request.URL.Path, "/t/default/logged-out") {
			t.Errorf("after the SP answered: %d at %s", res.StatusCode, res.Request.URL)
		}
		if s := sessionsOf(t, api, sessions); len(s) != 0 {
			t.Errorf("sessions after IdP logout: %v", s)
		}
	})

	t.Run("Metadata", func(t *testing.T) {
		res, err := http.Get(n.URL + "/t/default/saml/metadata")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var md crewjam.EntityDescriptor
		if err := xml.NewDecoder(res.Body).Decode(&md); err != nil {
			t.Fatal(err)
		}
		if md.EntityID != n.URL+"/t/default/saml/metadata" || len(md.IDPSSODescriptors) != 1 {
			t.Fatalf("metadata %+v", md)
		}
		// The active key and the next one are both published.
		var certs []string
		for _, k := range md.IDPSSODescriptors[0].KeyDescriptors {
			for _, c := range k.KeyInfo.X509Data.X509Certificates {
				if !slices.Contains(certs, c.Data) {
					certs = append(certs, c.Data)
				}
			}
		}
		if len(certs) != 2 {
			t.Errorf("%d certificates published; want the active and the next", len(certs))
		}
	})
}

// d0 is a deployment around a node, for the OIDC helpers.
func d0(base string) *deployment { return &deployment{base: base} }

func sessionsOf(t *testing.T, api *client, path string) []any {
	var v struct{ Items []any }
	api.must(200, "GET", path, nil).json(t, &v)
	return v.Items
}
