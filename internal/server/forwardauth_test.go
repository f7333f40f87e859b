package server

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"

	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/proxyapp"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Forward authentication through the served handler, with a browser whose
// requests to any host reach the test server (so the application's domain
// and Gatehouse's have separate cookies, as in a real browser) and the
// proxy's check played by the test. test/e2e has the same through nginx
// and chromium.

// proxyApp registers an application behind a reverse proxy on domain,
// open to members of the named groups (everyone when none).
func (ta *testApp) proxyApp(tenant store.TenantID, domain string, groups ...string) *store.ProxyApp {
	ta.t.Helper()
	return ta.proxyAppWith(tenant, proxyapp.NewApp{Name: "App " + domain, Domains: []string{domain}, AllowedGroups: groups})
}

func (ta *testApp) proxyAppWith(tenant store.TenantID, in proxyapp.NewApp) *store.ProxyApp {
	ta.t.Helper()
	a, err := ta.ProxyApps.Create(context.Background(), testActor, tenant, in)
	if err != nil {
		ta.t.Fatalf("Create proxy app(%v): %v", in.Domains, err)
	}
	return a
}

// anyHostBrowser is ta.browser() whose connections all reach the test
// server, whatever the URL's host.
func (ta *testApp) anyHostBrowser() *browserClient {
	b := ta.browser()
	addr := ta.srv.Listener.Addr().String()
	b.c.Transport = &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}}
	return b
}

// abs GETs an absolute URL.
func (b *browserClient) abs(raw string) page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, raw, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.send(req)
}

// fwdCheck is the proxy's question about a browser request to appURL:
// nginx style (X-Original-URL) or, with nginx false, Traefik/Caddy style.
func (ta *testApp) fwdCheck(b *browserClient, slug, appURL string, nginx bool) *response {
	ta.t.Helper()
	u, err := url.Parse(appURL)
	if err != nil {
		ta.t.Fatal(err)
	}
	hdr := map[string]string{"X-Forwarded-Method": "GET"}
	if nginx {
		hdr["X-Original-URL"] = appURL
	} else {
		hdr["X-Forwarded-Proto"], hdr["X-Forwarded-Host"], hdr["X-Forwarded-Uri"] = u.Scheme, u.Host, u.RequestURI()
	}
	if b != nil {
		var cs []string
		for _, c := range b.c.Jar.Cookies(u) {
			cs = append(cs, c.Name+"="+c.Value)
		}
		hdr["Cookie"] = strings.Join(cs, "; ")
	}
	req, err := http.NewRequest(http.MethodGet, ta.srv.URL+"/t/"+slug+"/forward-auth", nil)
	if err != nil {
		ta.t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	// The proxy answers the browser itself: no redirect is followed here.
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Do(req)
	if err != nil {
		ta.t.Fatalf("check %s: %v", appURL, err)
	}
	res.Body.Close()
	return &response{status: res.StatusCode, header: res.Header}
}

// fwdSignIn runs the browser's sign-in to appURL: the check's Location,
// the start on the application's domain, the password on Gatehouse's
// login page, continue, and answers the callback URL (not yet followed).
func fwdSignIn(t *testing.T, ta *testApp, b *browserClient, slug, appURL, email, password string) string {
	t.Helper()
	loc := ta.fwdCheck(b, slug, appURL, true).header.Get("Location")
	p := b.abs(loc)
	if p.status != http.StatusSeeOther || !strings.Contains(p.location(), "/t/"+slug+"/login?id=") {
		t.Fatalf("start: %d %s", p.status, p.location())
	}
	id := strings.SplitN(p.location(), "id=", 2)[1]
	// With a Gatehouse session the login page reuses it (single sign-on).
	if p = b.get("/t/" + slug + "/login?id=" + id); p.status != http.StatusFound {
		p = passwordStep(t, b, slug, id, email, password)
	}
	if (p.status != http.StatusSeeOther && p.status != http.StatusFound) ||
		!strings.HasPrefix(p.location(), "/t/"+slug+"/forward-auth/continue?id=") {
		t.Fatalf("login: %d %s", p.status, p.location())
	}
	p = b.get(p.location())
	if p.status != http.StatusSeeOther {
		t.Fatalf("continue: %d %s", p.status, p.body)
	}
	return p.location()
}

func TestForwardAuthHandler(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ta := newTestApp(t, be)
		ctx := context.Background()
		tn := ta.tenant("acme")
		const pw = "violet sunrise 1843"
		alice := ta.userWithPassword(tn.ID, "alice@acme.test", pw)
		ta.userWithPassword(tn.ID, "bob@acme.test", pw)
		staff := ta.group(tn.ID, "staff")
		ta.addMember(tn.ID, staff.ID, alice.ID)
		ta.proxyApp(tn.ID, "wiki.acme.test", "staff")
		otherApp := ta.proxyAppWith(tn.ID, proxyapp.NewApp{Name: "Other", Domains: []string{"other.acme.test"},
			Headers: map[string]string{"user": "Remote-User", "jwt": "Authorization"}})
		const appURL = "http://wiki.acme.test:8080/doc?a=1"

		// No session: nginx gets 401 naming the start on the app's
		// domain; Traefik and Caddy a 302 to the same place.
		want := "http://wiki.acme.test:8080/t/acme/forward-auth/start?rd=" + url.QueryEscape(appURL)
		if r := ta.fwdCheck(nil, "acme", appURL, true); r.status != 401 || r.header.Get("Location") != want {
			t.Fatalf("nginx check without a session: %d %q, want 401 %q", r.status, r.header.Get("Location"), want)
		}
		if r := ta.fwdCheck(nil, "acme", appURL, false); r.status != 302 || r.header.Get("Location") != want {
			t.Fatalf("forwarded check without a session: %d %q", r.status, r.header.Get("Location"))
		}
		if r := ta.fwdCheck(nil, "acme", "http://unknown.acme.test/", true); r.status != 403 {
			t.Fatalf("unregistered host: %d, want 403", r.status)
		}
		// A hostile return URL is refused at the start.
		b := ta.anyHostBrowser()
		for _, rd := range []string{"http://evil.test/", "//evil.test/", "http://other.acme.test/", "javascript:alert(1)"} {
			p := b.abs("http://wiki.acme.test/t/acme/forward-auth/start?rd=" + url.QueryEscape(rd))
			if p.status != http.StatusBadRequest {
				t.Errorf("start with rd=%q: %d %s, want 400", rd, p.status, p.location())
			}
		}

		// The sign-in: the callback on the application's domain sets its
		// cookie and returns to the URL first asked for.
		cb := fwdSignIn(t, ta, b, "acme", appURL, "alice@acme.test", pw)
		if !strings.HasPrefix(cb, "http://wiki.acme.test:8080/t/acme/forward-auth/callback?code=gh_fac_") {
			t.Fatalf("continue went to %q", cb)
		}
		// Another browser (no state cookie of this sign-in) gets nothing
		// for the code: no login CSRF. Then the code is spent.
		if p := ta.anyHostBrowser().abs(cb); p.status != http.StatusBadRequest || len(p.header.Values("Set-Cookie")) != 0 {
			t.Fatalf("code from another browser: %d %v", p.status, p.header.Values("Set-Cookie"))
		}
		if p := b.abs(cb); p.status != http.StatusBadRequest {
			t.Fatalf("spent code: %d, want 400", p.status)
		}
		cb = fwdSignIn(t, ta, b, "acme", appURL, "alice@acme.test", pw)
		// The code is bound to its application: at another's callback it
		// is refused (and spent).
		other := strings.Replace(cb, "wiki.acme.test", "other.acme.test", 1)
		if p := b.abs(other); p.status != http.StatusBadRequest {
			t.Fatalf("code at another application's callback: %d, want 400", p.status)
		}
		cb = fwdSignIn(t, ta, b, "acme", appURL, "alice@acme.test", pw)
		p := b.abs(cb)
		if p.status != http.StatusSeeOther || p.location() != appURL {
			t.Fatalf("callback: %d %q, want 303 %q", p.status, p.location(), appURL)
		}
		if sc := strings.Join(p.header.Values("Set-Cookie"), "\n"); !strings.Contains(sc, "gh_fa_acme=gh_fas_") ||
			!strings.Contains(sc, "HttpOnly") || !strings.Contains(sc, "SameSite=Lax") || strings.Contains(sc, "Domain=") {
			t.Fatalf("the application's cookie: %s", sc)
		}
		if p := b.abs(cb); p.status != http.StatusBadRequest {
			t.Fatalf("callback replayed: %d, want 400", p.status)
		}

		// With the cookie: 200 and the identity headers, either style.
		for _, nginx := range []bool{true, false} {
			r := ta.fwdCheck(b, "acme", appURL, nginx)
			if r.status != 200 || r.header.Get("X-Auth-Request-User") != alice.ID ||
				r.header.Get("X-Auth-Request-Email") != "alice@acme.test" || r.header.Get("X-Auth-Request-Groups") != "staff" ||
				r.header.Get("X-Auth-Request-Preferred-Username") != "alice@acme.test" {
				t.Fatalf("check with the cookie (nginx %v): %d %v", nginx, r.status, r.header)
			}
		}
		// The cookie is the wiki's: the other application's check (its
		// host has no cookie) asks for a sign-in.
		if r := ta.fwdCheck(b, "acme", "http://other.acme.test/", true); r.status != 401 {
			t.Fatalf("other application: %d, want 401", r.status)
		}

		// Removed from the group: 403 at the next request.
		if err := ta.Directory.RemoveMember(ctx, testActor, tn.ID, staff.ID, store.Member{Type: store.MemberUser, ID: alice.ID}); err != nil {
			t.Fatal(err)
		}
		if r := ta.fwdCheck(b, "acme", appURL, true); r.status != 403 {
			t.Fatalf("removed from the group: %d, want 403", r.status)
		}
		ta.addMember(tn.ID, staff.ID, alice.ID)
		if r := ta.fwdCheck(b, "acme", appURL, true); r.status != 200 {
			t.Fatalf("back in the group: %d", r.status)
		}

		// An administrator ending the user's sessions ends access.
		if r := ta.do(request{method: "DELETE", path: "/api/v1/tenants/acme/users/" + alice.ID + "/sessions",
			auth: "Bearer " + ta.key(tn.ID, "admin")}); r.status != 204 {
			t.Fatalf("end sessions: %s", r)
		}
		if r := ta.fwdCheck(b, "acme", appURL, true); r.status != 401 {
			t.Fatalf("after the administrator ended the sessions: %d, want 401", r.status)
		}

		// Signing out on the application's domain ends the application's
		// session and the Gatehouse session it came from.
		b = ta.anyHostBrowser()
		b.abs(fwdSignIn(t, ta, b, "acme", appURL, "alice@acme.test", pw))
		if r := ta.fwdCheck(b, "acme", appURL, true); r.status != 200 {
			t.Fatalf("signed in again: %d", r.status)
		}
		req, _ := http.NewRequest(http.MethodPost, "http://wiki.acme.test/t/acme/forward-auth/logout", nil)
		req.Header.Set("Origin", "http://evil.acme.test")
		if p := b.send(req); p.status != http.StatusForbidden {
			t.Fatalf("logout from another origin: %d, want 403", p.status)
		}
		if r := ta.fwdCheck(b, "acme", appURL, true); r.status != 200 {
			t.Fatalf("after a refused logout: %d", r.status)
		}
		req, _ = http.NewRequest(http.MethodPost, "http://wiki.acme.test/t/acme/forward-auth/logout", nil)
		req.Header.Set("Origin", "http://wiki.acme.test")
		if p := b.send(req); p.status != 200 {
			t.Fatalf("logout: %d", p.status)
		}
		if r := ta.fwdCheck(b, "acme", appURL, true); r.status != 401 {
			t.Fatalf("after logout: %d, want 401", r.status)
		}
		if p := b.get("/t/acme/account"); p.status == 200 {
			t.Fatal("the Gatehouse session outlived the application's sign-out")
		}

		// A user outside the allowed groups is refused after the login;
		// no code is issued.
		bb := ta.anyHostBrowser()
		loc := ta.fwdCheck(bb, "acme", appURL, true).header.Get("Location")
		id := strings.SplitN(bb.abs(loc).location(), "id=", 2)[1]
		if p := bb.get(passwordStep(t, bb, "acme", id, "bob@acme.test", pw).location()); p.status != 403 {
			t.Fatalf("outside the group: %d %s, want 403", p.status, p.location())
		}

		// Renamed headers; a disabled user is refused.
		b = ta.anyHostBrowser()
		b.abs(fwdSignIn(t, ta, b, "acme", "http://other.acme.test/x", "alice@acme.test", pw))
		r := ta.fwdCheck(b, "acme", "http://other.acme.test/x", false)
		if r.status != 200 || r.header.Get("Remote-User") != alice.ID || r.header.Get("X-Auth-Request-User") != "" {
			t.Fatalf("renamed header: %d %v", r.status, r.header)
		}
		// The signed identity token verifies with the tenant's published
		// keys and names the user and the application.
		bearer, ok := strings.CutPrefix(r.header.Get("Authorization"), "Bearer ")
		if !ok {
			t.Fatalf("no identity token: %v", r.header)
		}
		ks := gooidc.NewRemoteKeySet(ctx, ta.srv.URL+"/t/acme/keys")
		v := gooidc.NewVerifier("http://127.0.0.1/t/acme", ks, &gooidc.Config{ClientID: otherApp.ID,
			SupportedSigningAlgs: []string{"RS256"}})
		idt, err := v.Verify(ctx, bearer)
		if err != nil {
			t.Fatalf("identity token: %v", err)
		}
		var claims struct {
			Email  string   `json:"email"`
			Groups []string `json:"groups"`
		}
		if err := idt.Claims(&claims); err != nil || idt.Subject != alice.ID || claims.Email != "alice@acme.test" ||
			len(claims.Groups) != 1 || idt.Expiry.Sub(idt.IssuedAt) != time.Minute {
			t.Fatalf("identity token claims: %+v %+v %v", idt, claims, err)
		}
		if _, err := gooidc.NewVerifier("http://127.0.0.1/t/acme", ks, &gooidc.Config{ClientID: "another-app"}).Verify(ctx, bearer); err == nil {
			t.Fatal("the identity token verified for another audience")
		}
		// An application that asks for a second factor refuses a session
		// that signed in with a password only, even with its cookie.
		secure := ta.proxyAppWith(tn.ID, proxyapp.NewApp{Name: "Secure", Domains: []string{"secure.acme.test"},
			MFA: proxyapp.MFARequired})
		pwdOnly, _, err := ta.Sessions.Create(ctx, tn.ID, alice.ID, []string{"pwd"}, "test", "127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		state, stateHash, err := proxyapp.NewBrowserState()
		if err != nil {
			t.Fatal(err)
		}
		code, err := ta.ProxyApps.IssueCode(ctx, secure, pwdOnly, "http://secure.acme.test/", stateHash)
		if err != nil {
			t.Fatal(err)
		}
		token, _, _, err := ta.ProxyApps.Redeem(ctx, secure, code, []string{state})
		if err != nil {
			t.Fatal(err)
		}
		r = ta.do(request{method: http.MethodGet, path: "/t/acme/forward-auth", header: map[string]string{
			"X-Original-URL": "http://secure.acme.test/", "Cookie": "gh_fa_acme=" + token}})
		if r.status == 200 {
			t.Fatalf("MFA-required application let a password-only session in: %v", r.header)
		}
		if _, err := ta.ProxyApps.Check(ctx, secure, token); !errors.Is(err, proxyapp.ErrStepUp) {
			t.Fatalf("Check(password-only session, mfa required) = %v, want ErrStepUp", err)
		}

		disabled := "disabled"
		if _, err := ta.Directory.UpdateUser(ctx, testActor, tn.ID, alice.ID, 0, directory.UserPatch{Status: &disabled}); err != nil {
			t.Fatal(err)
		}
		if r := ta.fwdCheck(b, "acme", "http://other.acme.test/x", false); r.status == 200 {
			t.Fatalf("disabled user: %d", r.status)
		}
	})
}
