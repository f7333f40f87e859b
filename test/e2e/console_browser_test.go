package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
)

// TestConsoleBrowser is the admin console's first run in a real browser,
// on SQLite and PostgreSQL, at a phone's width: the welcome page, the
// setup link from the server log, the first administrator, the sign-in to
// the console through the tenant's own login, a user created through the
// form and found in the search, a helpdesk user who may not open an
// administrator's page (403) but resets the user's second factors.
func TestConsoleBrowser(t *testing.T) {
	for _, be := range []struct {
		name string
		db   func(t *testing.T) string
	}{
		{"sqlite", func(*testing.T) string { return "" }},
		{"postgres", func(t *testing.T) string { return sqltest.PostgresDSN(t) }},
	} {
		t.Run(be.name, func(t *testing.T) { testConsoleBrowser(t, be.db(t)) })
	}
}

// setupLinkOf answers the setup link the server logged.
func setupLinkOf(t *testing.T, n *node) string {
	t.Helper()
	var link string
	if !eventually(func() bool {
		for _, line := range strings.Split(n.Logs(), "\n") {
			var rec struct {
				URL string `json:"setup_url"`
			}
			if json.Unmarshal([]byte(line), &rec) == nil && rec.URL != "" {
				link = rec.URL
				return true
			}
		}
		return false
	}) {
		t.Fatalf("no setup link in the log:\n%s", n.Logs())
	}
	return link
}

// consoleSignIn fills the tenant's login page the console sent the browser
// to, and answers where the browser ended.
func consoleSignIn(t *testing.T, bctx context.Context, email, password string) string {
	t.Helper()
	if err := chromedp.Do(bctx,
		chromedp.WaitVisible(chromedp.CSS(`input[autocomplete~="username"]`)),
		chromedp.SendKeys(chromedp.CSS(`input[autocomplete~="username"]`), email),
		chromedp.SendKeys(chromedp.CSS(`input[autocomplete="current-password"]`), password),
	); err != nil {
		t.Fatalf("fill the login form: %v", err)
	}
	if _, err := chromedp.RunResponse(bctx, chromedp.Click(chromedp.CSS(`form button[type="submit"]`))); err != nil {
		t.Fatalf("submit the login form: %v", err)
	}
	loc, _ := chromedp.Run(bctx, chromedp.Location())
	return loc
}

func text(t *testing.T, bctx context.Context, sel string) string {
	t.Helper()
	tctx, cancel := context.WithTimeout(bctx, 5*time.Second)
	defer cancel()
	s, err := chromedp.Run(tctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		loc, _ := chromedp.Run(bctx, chromedp.Location())
		body, _ := chromedp.Run(bctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
		t.Fatalf("text of %s at %s: %v\n%s", sel, loc, err, body)
	}
	return s
}

func testConsoleBrowser(t *testing.T, db string) {
	env := testEnv(t.TempDir(), db, testMasterKey)
	n := start(t, env)
	exe := chromiumPath(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*browserTimeout)
	defer cancel()
	bctx := newBrowser(t, ctx, exe)
	var plog pageLog
	plog.listen(bctx, t)
	if err := chromedp.Do(bctx, chromedp.EmulateViewport(phoneWidth, phoneHeight)); err != nil {
		t.Fatal(err)
	}

	// 1. The welcome page.
	res, err := chromedp.Run(bctx, chromedp.NavigateResponse(n.URL+"/"))
	if err != nil || res.Status != http.StatusOK {
		t.Fatalf("open /: %v %+v", err, res)
	}
	if h := text(t, bctx, "h1"); !strings.Contains(h, "Welcome") {
		t.Fatalf("welcome page heading %q", h)
	}
	checkPage(t, bctx, "welcome", "en")

	// 2. The first-run link from the log: the first administrator.
	link := setupLinkOf(t, n)
	if res, err = chromedp.Run(bctx, chromedp.NavigateResponse(link)); err != nil || res.Status != http.StatusOK {
		t.Fatalf("open the setup link: %v %+v", err, res)
	}
	checkPage(t, bctx, "setup", "en")
	const adminEmail, adminPassword = "root@example.com", "correct horse battery staple"
	if err := chromedp.Do(bctx,
		chromedp.SendKeys(chromedp.CSS(`input[autocomplete="email"]`), adminEmail),
		chromedp.SendKeys(chromedp.CSS(`input[autocomplete="new-password"]`), adminPassword),
	); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.RunResponse(bctx, chromedp.Click(chromedp.CSS(`form button[type="submit"]`))); err != nil {
		t.Fatalf("submit setup: %v", err)
	}
	if body := text(t, bctx, "main"); !strings.Contains(body, "administrator was created") {
		t.Fatalf("after setup: %q", body)
	}

	// 3. Sign in to the console through the tenant's own login.
	if _, err := chromedp.RunResponse(bctx, chromedp.Click(chromedp.CSS(`a[href="/admin/login"]`))); err != nil {
		t.Fatalf("open the console: %v", err)
	}
	// The console opens on its dashboard.
	if loc := consoleSignIn(t, bctx, adminEmail, adminPassword); !strings.HasPrefix(loc, n.URL+"/admin/dashboard") {
		t.Fatalf("after sign-in: %s\n%s", loc, n.Logs())
	}
	if err := chromedp.Do(bctx, chromedp.Navigate(n.URL+"/admin/users")); err != nil {
		t.Fatal(err)
	}
	checkPage(t, bctx, "users", "en")
	_, _, console := plog.take()
	noCSPViolation(t, "console", console)
	browserScreenshot(t, bctx, "console-users-390.png")

	// 4. Create a user through the form, then find it in the search.
	createUser := func(email, given, password string) {
		t.Helper()
		if err := chromedp.Do(bctx, chromedp.Navigate(n.URL+"/admin/users/new")); err != nil {
			t.Fatal(err)
		}
		checkPage(t, bctx, "new user", "en")
		if err := chromedp.Do(bctx,
			chromedp.SendKeys(chromedp.CSS(`#email`), email),
			chromedp.SendKeys(chromedp.CSS(`#given_name`), given),
			chromedp.SendKeys(chromedp.CSS(`#password`), password),
		); err != nil {
			t.Fatal(err)
		}
		if _, err := chromedp.RunResponse(bctx, chromedp.Click(chromedp.CSS(`main form button[type="submit"]`))); err != nil {
			t.Fatalf("create %s: %v", email, err)
		}
		if f := text(t, bctx, ".flash"); !strings.Contains(f, "was created") {
			t.Fatalf("after creating %s: %q", email, f)
		}
	}
	createUser("ada@example.com", "Ada", "analytical engine 1843")
	adaPage, _ := chromedp.Run(bctx, chromedp.Location())
	if err := chromedp.Do(bctx,
		chromedp.Navigate(n.URL+"/admin/users"),
		chromedp.SendKeys(chromedp.CSS(`#q`), "ada"),
	); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.RunResponse(bctx, chromedp.Click(chromedp.CSS(`form.search button[type="submit"]`))); err != nil {
		t.Fatal(err)
	}
	if rows := text(t, bctx, "table tbody"); !strings.Contains(rows, "ada@example.com") {
		t.Fatalf("search for ada: %q", rows)
	}
	checkPage(t, bctx, "search", "en")

	// 5. A helpdesk user, made through the console: created, then given
	// the built-in role on their page.
	createUser("help@example.com", "Hal", "kettle orange 42 stairs")
	if err := chromedp.Do(bctx, chromedp.SetValue(chromedp.CSS(`#role`), "gatehouse.helpdesk")); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.RunResponse(bctx, chromedp.Click(chromedp.CSS(`form[action$="/roles"] button`))); err != nil {
		t.Fatal(err)
	}
	if f := text(t, bctx, ".flash"); !strings.Contains(f, "role was assigned") {
		t.Fatalf("assign helpdesk: %q", f)
	}

	// 6. The helpdesk user, in a browser of their own.
	hctx := newBrowser(t, ctx, exe)
	if err := chromedp.Do(hctx, chromedp.EmulateViewport(phoneWidth, phoneHeight), chromedp.Navigate(n.URL+"/admin/")); err != nil {
		t.Fatal(err)
	}
	if loc := consoleSignIn(t, hctx, "help@example.com", "kettle orange 42 stairs"); !strings.HasPrefix(loc, n.URL+"/admin/dashboard") {
		t.Fatalf("helpdesk sign-in ended at %s", loc)
	}
	for _, page := range []string{"/admin/settings", "/admin/roles", "/admin/users/new"} {
		res, err = chromedp.Run(hctx, chromedp.NavigateResponse(n.URL+page))
		if err != nil || res.Status != http.StatusForbidden {
			t.Fatalf("helpdesk opens %s: %v %+v", page, err, res)
		}
	}
	if msg := text(t, hctx, "main"); !strings.Contains(msg, "do not have permission") {
		t.Fatalf("403 page says %q", msg)
	}
	checkPage(t, hctx, "403", "en")
	if err := chromedp.Do(hctx, chromedp.Navigate(adaPage)); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.RunResponse(hctx, chromedp.Click(chromedp.CSS(`form[action$="/mfa-reset"] button`))); err != nil {
		t.Fatal(err)
	}
	if f := text(t, hctx, ".flash"); !strings.Contains(f, "second factors were removed") {
		t.Fatalf("helpdesk MFA reset: %q", f)
	}

	// The README's pictures of the console ($GATEHOUSE_SCREENSHOTS, as
	// TestScreenshots), taken by the administrator, on SQLite only.
	if dir := os.Getenv("GATEHOUSE_SCREENSHOTS"); dir != "" && db == "" {
		for _, shot := range []struct {
			name, url     string
			width, height int64
		}{
			{"console-users-desktop", n.URL + "/admin/users", 1280, 800},
			{"console-users-phone", n.URL + "/admin/users", phoneWidth, phoneHeight},
			{"console-user-desktop", adaPage, 1280, 800},
			{"console-user-phone", adaPage, phoneWidth, phoneHeight},
		} {
			if err := chromedp.Do(bctx, chromedp.EmulateViewport(shot.width, shot.height), chromedp.Navigate(shot.url)); err != nil {
				t.Fatal(err)
			}
			png, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, shot.name+".png"), png, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
