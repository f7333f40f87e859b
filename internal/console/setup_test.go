package console_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/authz"
)

var setupLinkRE = regexp.MustCompile(`http://[^\s"]+/setup\?token=[A-Za-z0-9_%-]+`)

// setupPath answers the path of the setup link the first start printed
// and logged.
func (e *env) setupPath() string {
	e.t.Helper()
	link := setupLinkRE.FindString(e.out)
	if link == "" || !strings.Contains(e.logs.String(), link) {
		e.t.Fatalf("no setup link printed and logged:\n%s\n%s", e.out, e.logs.String())
	}
	u, err := url.Parse(link)
	if err != nil {
		e.t.Fatal(err)
	}
	return u.RequestURI()
}

// TestFirstRunSetup: the first start prints a one-time link; its page asks
// for an email and a new password; a refused password leaves the link
// live; the first administrator is created once, holds the platform role
// and signs in to the console; the link is then spent.
func TestFirstRunSetup(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db string) {
		e := newEnv(t, db)
		path := e.setupPath()
		b := e.browser()
		p := b.get(path)
		if p.status != http.StatusOK || !strings.Contains(p.body, `autocomplete="email"`) || !strings.Contains(p.body, `autocomplete="new-password"`) {
			t.Fatalf("setup page: %d\n%s", p.status, p.body)
		}
		if p.header.Get("X-Frame-Options") != "DENY" {
			t.Errorf("setup page may be framed")
		}
		tok, _ := url.ParseQuery(strings.SplitN(path, "?", 2)[1])
		csrf := csrfOf(t, p)
		p = b.post("/setup", form("csrf", csrf, "token", tok.Get("token"), "email", "root@example.com", "password", "short"))
		if p.status != http.StatusBadRequest || !strings.Contains(p.body, `id="password-error"`) {
			t.Fatalf("short password: %d\n%s", p.status, p.body)
		}
		p = b.post("/setup", form("csrf", csrf, "token", tok.Get("token"), "email", "root@example.com", "password", "correct horse battery"))
		if p.status != http.StatusOK || !strings.Contains(p.body, "/admin/login") {
			t.Fatalf("setup: %d\n%s", p.status, p.body)
		}
		// Spent: the page and a second post refuse, and nobody else is made.
		if p = b.get(path); p.status != http.StatusBadRequest {
			t.Errorf("spent link: %d", p.status)
		}
		p = b.post("/setup", form("csrf", csrf, "token", tok.Get("token"), "email", "eve@example.com", "password", "correct horse battery"))
		if p.status != http.StatusBadRequest {
			t.Errorf("second setup: %d", p.status)
		}
		ctx := context.Background()
		tn := e.tenant("default")
		if _, err := e.Directory.UserForEmail(ctx, tn.ID, "eve@example.com"); err == nil {
			t.Errorf("a spent link created a second administrator")
		}
		root, err := e.Directory.UserForEmail(ctx, tn.ID, "root@example.com")
		if err != nil {
			t.Fatal(err)
		}
		perms, _ := e.Authz.Permissions(ctx, tn.ID, root.ID)
		if !authz.Holds(perms, authz.PermPlatform) {
			t.Errorf("first administrator holds %v", perms)
		}
		if p = b.signIn("default", "root@example.com", "correct horse battery", "/admin/users"); p.status != http.StatusOK {
			t.Fatalf("first administrator's console: %d\n%s", p.status, p.body)
		}
		// A new link is refused once an administrator exists.
		if link, err := e.Setup.SetupLink(ctx); err != nil || link != "" {
			t.Errorf("SetupLink with an administrator: %q %v", link, err)
		}
	})
}

// TestSetupLinkExpires: the link works for one hour.
func TestSetupLinkExpires(t *testing.T) {
	e := newEnv(t, "")
	path := e.setupPath()
	b := e.browser()
	if p := b.get(path); p.status != http.StatusOK {
		t.Fatalf("fresh link: %d", p.status)
	}
	e.clock.add(time.Hour + time.Second)
	if p := b.get(path); p.status != http.StatusBadRequest || !strings.Contains(p.body, "gatehouse admin setup-link") {
		t.Fatalf("expired link: %d\n%s", p.status, p.body)
	}
	if p := b.get("/setup?token=forged"); p.status != http.StatusBadRequest {
		t.Fatalf("forged link: %d", p.status)
	}
}

// TestWelcomePage: / greets in the browser's language and links to the
// console, the account page and the docs.
func TestWelcomePage(t *testing.T) {
	e := newEnv(t, "")
	for lang, want := range map[string]string{"en": "Welcome to Gatehouse", "de": "Willkommen bei Gatehouse", "es": "Bienvenido a Gatehouse"} {
		b := e.browser()
		b.lang = lang
		p := b.get("/")
		if p.status != http.StatusOK || !strings.Contains(p.body, want) || !strings.Contains(p.body, `href="/admin/"`) ||
			!strings.Contains(p.body, `href="/t/default/account"`) || !strings.Contains(p.body, "docs") {
			t.Errorf("%s: %d\n%s", lang, p.status, p.body)
		}
	}
	if p := e.browser().get("/no-such-page"); p.status != http.StatusNotFound {
		t.Errorf("/no-such-page: %d", p.status)
	}
}
