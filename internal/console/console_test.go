package console_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// TestConsoleSignInThroughOIDC: /admin sends a signed-out browser through
// the tenant's OpenID provider (code flow with PKCE) and back; the page it
// asked for opens with the console's headers; a user without console
// roles gets the 403 page.
func TestConsoleSignInThroughOIDC(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db string) {
		e := newEnv(t, db)
		e.user("default", "admin@example.com", "correct horse battery", authz.RoleAdmin)
		e.user("default", "nobody@example.com", "correct horse battery")

		b := e.browser()
		p := b.get("/admin/users")
		if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location(), "/admin/login?return_to=%2Fadmin%2Fusers") {
			t.Fatalf("signed out /admin/users: %d %q", p.status, p.location())
		}
		p = b.signIn("default", "admin@example.com", "correct horse battery", "/admin/users")
		if p.status != http.StatusOK || !strings.Contains(p.url, "/admin/users") || !strings.Contains(p.body, "admin@example.com") {
			t.Fatalf("console after sign-in: %d %s\n%s", p.status, p.url, p.body)
		}
		for h, want := range map[string]string{"X-Frame-Options": "DENY", "Cache-Control": "no-store"} {
			if got := p.header.Get(h); got != want {
				t.Errorf("%s = %q, want %q", h, got, want)
			}
		}
		if csp := p.header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("CSP %q does not refuse framing", csp)
		}
		// The console client is a first-party client of the tenant: no
		// consent page came in between, and a second sign-in reuses it.
		cl, err := e.DB.Console().ConsoleClient(context.Background(), e.tenant("default").ID)
		if err != nil || cl == "" {
			t.Fatalf("console client: %q %v", cl, err)
		}

		nb := e.browser()
		p = nb.signIn("default", "nobody@example.com", "correct horse battery", "/admin/users")
		if p.status != http.StatusForbidden || !strings.Contains(p.body, "permission") {
			t.Fatalf("user without roles: %d\n%s", p.status, p.body)
		}
	})
}

// signedIn answers a browser holding a console session of u (minted as
// the callback mints it) with its CSRF token.
func signedIn(t *testing.T, e *env, u *store.User) (*browser, string) {
	t.Helper()
	ctx := context.Background()
	sess, _, err := e.Sessions.Create(ctx, u.Tenant, u.ID, []string{"pwd"}, "test", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	now := e.clock.now()
	ck, csrf := e.Console().SessionCookieForTest(u.Tenant, u.ID, sess.ID, now, now)
	b := e.browser()
	base, _ := http.NewRequest(http.MethodGet, e.url+"/", nil)
	b.c.Jar.SetCookies(base.URL, []*http.Cookie{ck})
	return b, csrf
}

// TestConsolePermissions: each page checks the permission of its API
// route. A viewer reads but cannot open the create form or post it; a
// helpdesk user cannot create users either, nor open any configuration
// page; an admin can.
func TestConsolePermissions(t *testing.T) {
	e := newEnv(t, "")
	viewer := e.user("default", "viewer@example.com", "correct horse battery", authz.RoleViewer)
	helpdesk := e.user("default", "helpdesk@example.com", "correct horse battery", authz.RoleHelpdesk)
	admin := e.user("default", "admin@example.com", "correct horse battery", authz.RoleAdmin)
	for _, c := range []struct {
		who                  *store.User
		list, form, settings int
	}{
		{viewer, 200, 403, 200},
		{helpdesk, 200, 403, 403},
		{admin, 200, 200, 200},
	} {
		b, csrf := signedIn(t, e, c.who)
		if p := b.get("/admin/users"); p.status != c.list {
			t.Errorf("%s GET /admin/users: %d, want %d", c.who.Email, p.status, c.list)
		}
		// Helpdesk staff see no configuration: settings, roles, apps.
		for _, page := range []string{"/admin/settings", "/admin/roles", "/admin/apps", "/admin/branding", "/admin/connections"} {
			if p := b.get(page); p.status != c.settings {
				t.Errorf("%s GET %s: %d, want %d", c.who.Email, page, p.status, c.settings)
			}
		}
		p := b.get("/admin/users/new")
		if p.status != c.form {
			t.Errorf("%s GET /admin/users/new: %d, want %d", c.who.Email, p.status, c.form)
		}
		if c.form == 403 && !strings.Contains(p.body, "do not have permission") {
			t.Errorf("%s: the 403 is not the friendly page:\n%s", c.who.Email, p.body)
		}
		email := "new-" + c.who.Email
		p = b.post("/admin/users", form("csrf", csrf, "email", email))
		_, err := e.Directory.UserForEmail(context.Background(), c.who.Tenant, email)
		if created := err == nil; created != (c.form == 200) {
			t.Errorf("%s POST /admin/users: %d, created %v", c.who.Email, p.status, created)
		}
	}
}

// TestConsoleCSRF: a POST without the session's token, with another
// token, or from another origin is refused with 403 and changes nothing.
func TestConsoleCSRF(t *testing.T) {
	e := newEnv(t, "")
	admin := e.user("default", "admin@example.com", "correct horse battery", authz.RoleAdmin)
	b, csrf := signedIn(t, e, admin)
	for name, c := range map[string]struct {
		form []string
		hdr  []string
	}{
		"no token":     {},
		"wrong token":  {form: []string{"csrf", strings.Repeat("A", 43)}},
		"other origin": {form: []string{"csrf", csrf}, hdr: []string{"Origin", "https://evil.example"}},
	} {
		f := form(append(c.form, "email", "csrf-"+strings.ReplaceAll(name, " ", "")+"@example.com")...)
		p := b.post("/admin/users", f, c.hdr...)
		if p.status != http.StatusForbidden || !strings.Contains(p.body, "expired") {
			t.Errorf("%s: %d\n%s", name, p.status, p.body)
		}
		if _, err := e.Directory.UserForEmail(context.Background(), admin.Tenant, f.Get("email")); err == nil {
			t.Errorf("%s: the user was created", name)
		}
	}
	p := b.post("/admin/users", form("csrf", csrf, "email", "ok@example.com"))
	if p.status != http.StatusSeeOther {
		t.Fatalf("with the token: %d\n%s", p.status, p.body)
	}
}

// TestConsoleIdleTimeout: a session unused past the idle timeout is over
// (back to the login); one used within it lives on.
func TestConsoleIdleTimeout(t *testing.T) {
	e := newEnv(t, "")
	admin := e.user("default", "admin@example.com", "correct horse battery", authz.RoleAdmin)
	b, _ := signedIn(t, e, admin)
	for i := 0; i < 3; i++ {
		e.clock.add(20 * time.Minute)
		if p := b.get("/admin/users"); p.status != http.StatusOK {
			t.Fatalf("after %d×20 min of use: %d %s", i+1, p.status, p.location())
		}
	}
	e.clock.add(31 * time.Minute)
	p := b.get("/admin/users")
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location(), "/admin/login") {
		t.Fatalf("after 31 idle minutes: %d %q", p.status, p.location())
	}
}
