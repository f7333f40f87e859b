package e2e

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	crewjam "github.com/crewjam/saml"
	"golang.org/x/oauth2"
)

// TestLogoutReachesEveryone: one browser session used by an OpenID
// Connect client and a crewjam/saml service provider. RP-initiated OIDC
// logout sends the browser through the provider's single logout (a signed
// LogoutRequest for the user) before the client's post-logout URI; the
// handoff is single use. The other way, the provider's LogoutRequest ends
// the session and the OIDC client gets its back-channel logout token. On
// every backend.
func TestLogoutReachesEveryone(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			logoutEveryoneScenario(t, b)
		})
	}
}

// sharedSession signs the browser of r in with OIDC and then into sp by
// single sign-on; it answers the OIDC tokens.
func sharedSession(t *testing.T, r *rp, sp *crewjam.ServiceProvider) *oauth2.Token {
	t.Helper()
	tok := r.tokens(samlUser, samlPassword)
	sso := sp.GetSSOBindingLocation(crewjam.HTTPRedirectBinding)
	req, err := sp.MakeAuthenticationRequest(sso, crewjam.HTTPRedirectBinding, crewjam.HTTPPostBinding)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := req.Redirect("", sp)
	a := visit(t, samlBrowser(r.browser.Jar), getReq(t, u.String()), "", "")
	if _, err := acs(t, sp, a, req.ID); err != nil {
		t.Fatalf("SAML single sign-on after OIDC: %v", err)
	}
	return tok
}

func logoutEveryoneScenario(t *testing.T, b backend) {
	n, env, api := setupSAML(t, b)
	mkUser(api, map[string]any{"email": samlUser, "password": samlPassword, "email_verified": true})
	sp := newSP(t, n.URL, "default", "wiki", true)
	registerSP(t, env, sp, "--name", "Wiki", "--slo-url", sp.SloURL.String())
	logoutTokens := make(chan string, 4)
	bc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		logoutTokens <- r.PostForm.Get("logout_token")
	}))
	defer bc.Close()
	postLogout := "http://127.0.0.1:9/bye"
	r := newRP(t, env, n.URL, "default", "--post-logout-redirect-uri", postLogout)
	api.must(200, "PATCH", "/api/v1/tenants/default/clients/"+r.conf.ClientID,
		map[string]any{"backchannel_logout_uri": bc.URL + "/logout"})

	// OIDC RP-initiated logout reaches the SAML provider.
	tok := sharedSession(t, r, sp)
	raw, _ := tok.Extra("id_token").(string)
	c := samlBrowser(r.browser.Jar)
	end := n.URL + "/t/default/end_session?" + url.Values{"id_token_hint": {raw},
		"post_logout_redirect_uri": {postLogout}, "state": {"bye-state"}}.Encode()
	out := visit(t, c, getReq(t, end), "", "")
	if out.location == nil || !strings.HasPrefix(out.location.String(), sp.SloURL.String()) {
		t.Fatalf("OIDC logout did not reach the SAML provider: %d %v %.300s\n%s", out.status, out.location, out.body, n.Logs())
	}
	lr, err := sp.ValidateLogoutRequest(getReq(t, out.location.String()))
	if err != nil {
		t.Fatalf("LogoutRequest: %v", err)
	}
	if lr.NameID == nil || lr.NameID.Value != samlUser {
		t.Errorf("LogoutRequest NameID = %+v", lr.NameID)
	}
	back, err := sp.MakeRedirectLogoutResponse(lr.ID, out.location.Query().Get("RelayState"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := noFollow.Do(withJar(t, c, getReq(t, back.String())))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if loc := res.Header.Get("Location"); !strings.HasPrefix(loc, postLogout) || !strings.Contains(loc, "state=bye-state") {
		t.Fatalf("after the provider answered: %d %q, want the post-logout URI with state", res.StatusCode, loc)
	}
	select {
	case <-logoutTokens:
	case <-time.After(10 * time.Second):
		t.Fatal("no back-channel logout token to the OIDC client")
	}
	// The handoff (the chain's URL) is single use.
	<-logoutTokensAfter(t, logoutTokens, func() {
		h := chainURL(t, n.URL, r, sp)
		if again := visit(t, samlBrowser(nil), getReq(t, h), "", ""); again.status != http.StatusBadRequest {
			t.Errorf("handoff used twice: %d %v", again.status, again.location)
		}
	})

	// SAML SP-initiated logout reaches the OIDC client.
	tok = sharedSession(t, r, sp)
	lr2, err := sp.MakeRedirectLogoutRequest(samlUser, "")
	if err != nil {
		t.Fatal(err)
	}
	if out := visit(t, samlBrowser(r.browser.Jar), getReq(t, lr2.String()), "", ""); out.location == nil ||
		!strings.HasPrefix(out.location.String(), sp.SloURL.String()) {
		t.Fatalf("SP-initiated logout: %d %v", out.status, out.location)
	}
	select {
	case lt := <-logoutTokens:
		if _, err := r.provider.Verifier(&gooidc.Config{ClientID: r.conf.ClientID}).Verify(context.Background(), lt); err != nil {
			t.Fatalf("logout token after SAML logout: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("SAML logout sent no back-channel logout token to the OIDC client")
	}
	if _, err := r.provider.UserInfo(context.Background(), oauth2.StaticTokenSource(tok)); err == nil {
		t.Error("the OIDC access token still works after SAML logout")
	}
}

// chainURL runs one more shared session and OIDC logout, stops at the
// handoff URL, follows it once (the provider is sent its LogoutRequest)
// and answers the URL for a second use.
func chainURL(t *testing.T, base string, r *rp, sp *crewjam.ServiceProvider) string {
	t.Helper()
	tok := sharedSession(t, r, sp)
	raw, _ := tok.Extra("id_token").(string)
	end := base + "/t/default/end_session?" + url.Values{"id_token_hint": {raw}}.Encode()
	res, err := noFollow.Do(withJar(t, samlBrowser(r.browser.Jar), getReq(t, end)))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	loc := res.Header.Get("Location")
	if !strings.Contains(loc, "/saml/logout/chain?h=") {
		t.Fatalf("OIDC logout of a session with a SAML provider went to %q", loc)
	}
	u, _ := res.Request.URL.Parse(loc)
	if first := visit(t, samlBrowser(r.browser.Jar), getReq(t, u.String()), "", ""); first.location == nil ||
		!strings.HasPrefix(first.location.String(), sp.SloURL.String()) {
		t.Fatalf("first use of the handoff: %d %v", first.status, first.location)
	}
	return u.String()
}

// withJar adds c's cookies for req's URL to req (for clients that do not
// follow redirects).
func withJar(t *testing.T, c *http.Client, req *http.Request) *http.Request {
	t.Helper()
	for _, ck := range c.Jar.Cookies(req.URL) {
		req.AddCookie(ck)
	}
	return req
}

// logoutTokensAfter runs fn and answers a channel that yields once the
// back-channel logout token fn's logout causes has arrived (or 10 s).
func logoutTokensAfter(t *testing.T, tokens chan string, fn func()) <-chan struct{} {
	t.Helper()
	fn()
	done := make(chan struct{})
	select {
	case <-tokens:
	case <-time.After(10 * time.Second):
		t.Error("no back-channel logout token")
	}
	close(done)
	return done
}

// TestSessionEndReachesSOAPProviders: a session ended by an administrator
// (no browser at hand) is told to the crewjam/saml service provider that
// took part in it and registered a SOAP SingleLogoutService: a signed
// LogoutRequest for the user, server to server. On every backend.
func TestSessionEndReachesSOAPProviders(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			soapLogoutScenario(t, b)
		})
	}
}

func soapLogoutScenario(t *testing.T, b backend) {
	n, env, api := setupSAML(t, b)
	userID := mkUser(api, map[string]any{"email": samlUser, "password": samlPassword, "email_verified": true})
	got := make(chan string, 4)
	var sp *crewjam.ServiceProvider
	soap := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lr, err := sp.ValidateSOAPLogoutRequest(r)
		if err != nil {
			http.Error(w, "invalid", http.StatusBadRequest)
			got <- "invalid: " + err.Error()
			return
		}
		resp, err := sp.MakeSOAPLogoutResponse(lr.ID, crewjam.Status{StatusCode: crewjam.StatusCode{Value: crewjam.StatusSuccess}})
		if err == nil {
			err = crewjam.WriteSOAPLogoutResponse(w, resp)
		}
		if err != nil || lr.NameID == nil {
			got <- "cannot answer"
			return
		}
		got <- lr.NameID.Value
	}))
	defer soap.Close()
	sp = newSP(t, n.URL, "default", "hr", true)
	sp.SloURL = mustParse(t, soap.URL+"/soap")
	registerSP(t, env, sp, "--name", "HR", "--slo-url", soap.URL+"/soap", "--slo-binding", "urn:oasis:names:tc:SAML:2.0:bindings:SOAP")

	c := samlBrowser(nil)
	req, err := sp.MakeAuthenticationRequest(sp.GetSSOBindingLocation(crewjam.HTTPRedirectBinding), crewjam.HTTPRedirectBinding, crewjam.HTTPPostBinding)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := req.Redirect("", sp)
	if _, err := acs(t, sp, visit(t, c, getReq(t, u.String()), samlUser, samlPassword), req.ID); err != nil {
		t.Fatalf("SAML sign-in: %v", err)
	}
	select {
	case v := <-got:
		t.Fatalf("a LogoutRequest before any logout: %s", v)
	default:
	}
	api.must(204, "DELETE", "/api/v1/tenants/default/users/"+userID+"/sessions", nil)
	select {
	case v := <-got:
		if v != samlUser {
			t.Fatalf("SOAP LogoutRequest: %s", v)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no SOAP LogoutRequest after the administrator ended the session\n%s", n.Logs())
	}
}
