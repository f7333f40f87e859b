package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
)

// Forward authentication through a real reverse proxy in front of a small
// application, driven by headless chromium, per database. The proxies and
// their configurations are in forwardauth_proxies_test.go.

// headerApp is the protected application: it shows the identity headers
// nginx passed and counts the requests that reached it.
type headerApp struct {
	srv  *httptest.Server
	mu   sync.Mutex
	hits []string
}

func newHeaderApp(t *testing.T) *headerApp {
	a := &headerApp{}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		a.hits = append(a.hits, r.Header.Get("X-Auth-Request-Email")+" "+r.URL.RequestURI())
		a.mu.Unlock()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "user=%s\nemail=%s\ngroups=%s\nroles=%s\nusername=%s\npath=%s\n",
			r.Header.Get("X-Auth-Request-User"), r.Header.Get("X-Auth-Request-Email"),
			r.Header.Get("X-Auth-Request-Groups"), r.Header.Get("X-Auth-Request-Roles"),
			r.Header.Get("X-Auth-Request-Preferred-Username"), r.URL.RequestURI())
	}))
	t.Cleanup(a.srv.Close)
	return a
}

func (a *headerApp) hitsBy(email string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, h := range a.hits {
		if strings.HasPrefix(h, email+" ") {
			n++
		}
	}
	return n
}

// appHost is the protected application's domain; chromium resolves it to
// 127.0.0.1, where the proxy listens.
const appHost = "wiki.test"

// startProxy starts a reverse proxy for appHost in front of the
// application at app (host:port) that asks Gatehouse at gh (host:port),
// and answers the application's base URL through it.
type startProxy func(t *testing.T, gh, app string) string

// TestForwardAuthNginx: an application behind nginx auth_request, per
// database: unauthenticated -> Gatehouse's login -> back to the URL first
// asked for with the identity headers; a user outside the allowed group
// gets 403; signing out of Gatehouse, and an administrator ending the
// user's sessions, end access at the next request.
func TestForwardAuthNginx(t *testing.T) {
	exe := nginxPath(t)
	chrome := chromiumPath(t)
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) { forwardAuthScenario(t, deploy(t, b), chrome, nginxProxy(exe)) })
	}
}

// TestForwardAuthCaddy is the same scenario behind Caddy's forward_auth
// (Debian's caddy), which hands Gatehouse's redirect to the browser as is.
func TestForwardAuthCaddy(t *testing.T) {
	exe := caddyPath(t)
	chrome := chromiumPath(t)
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) { forwardAuthScenario(t, deploy(t, b), chrome, caddyProxy(exe)) })
	}
}

func forwardAuthScenario(t *testing.T, d *deployment, chrome string, proxy startProxy) {
	const tp = "/api/v1/tenants/default"
	api := d.platform(t)
	alice := d.user(t, "default", "alice@example.com", "violet sunrise 1843")
	d.user(t, "default", "bob@example.com", "granite meadow 2291")
	var g map[string]any
	api.must(201, "POST", tp+"/groups", map[string]string{"name": "wiki-users"}).json(t, &g)
	group, _ := g["id"].(string)
	api.must(201, "POST", tp+"/groups/"+group+"/members", map[string]string{"user_id": alice})
	api.must(201, "POST", tp+"/proxy-apps", map[string]any{"name": "Wiki", "domains": []string{appHost},
		"allowed_groups": []string{"wiki-users"}, "session_lifetime": "8h"})

	app := newHeaderApp(t)
	appURL := proxy(t, strings.TrimPrefix(d.base, "http://"), strings.TrimPrefix(app.srv.URL, "http://"))
	loginPrefix := d.base + "/t/default/login?"

	ctx, cancel := context.WithTimeout(context.Background(), 2*browserTimeout)
	defer cancel()
	browser := func() context.Context {
		return newBrowser(t, ctx, chrome, chromedp.Flag("host-resolver-rules",
			"MAP "+appHost+" 127.0.0.1, MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"))
	}
	visit := func(bctx context.Context, u string) (int, string) {
		t.Helper()
		res, err := chromedp.Run(bctx, chromedp.NavigateResponse(u))
		if err != nil {
			t.Fatalf("navigate to %s: %v\n%s", u, err, d.n.Logs())
		}
		return int(res.Status), res.URL
	}
	signIn := func(bctx context.Context, email, password string) (int, string) {
		t.Helper()
		res, err := chromedp.RunResponse(bctx,
			chromedp.SendKeys(chromedp.CSS(`input[autocomplete~="username"]`), email),
			chromedp.SendKeys(chromedp.CSS(`input[autocomplete="current-password"]`), password),
			chromedp.Click(chromedp.CSS(`form button[type="submit"]`)))
		if err != nil {
			t.Fatalf("sign in as %s: %v\n%s", email, err, d.n.Logs())
		}
		return int(res.Status), res.URL
	}
	body := func(bctx context.Context) string {
		t.Helper()
		s, err := chromedp.Run(bctx, chromedp.Evaluate[string](`document.body.innerText`))
		if err != nil {
			t.Fatalf("read page: %v", err)
		}
		return s
	}
	toLogin := func(bctx context.Context, what string) {
		t.Helper()
		if st, u := visit(bctx, appURL+"/page?x=1"); st != 200 || !strings.HasPrefix(u, loginPrefix) {
			t.Fatalf("%s: the application answered %d at %s, want Gatehouse's login page", what, st, u)
		}
	}

	// 1. Unauthenticated: nginx's 401 leads to Gatehouse's login page, and
	// after the login back to the URL first asked for, with the headers.
	a := browser()
	toLogin(a, "unauthenticated")
	if n := app.hitsBy("") + app.hitsBy("alice@example.com"); n != 0 {
		t.Fatalf("the application was reached %d times before the login", n)
	}
	st, u := signIn(a, "alice@example.com", "violet sunrise 1843")
	want := appURL + "/page?x=1"
	if st != 200 || u != want {
		t.Fatalf("after the login: %d %s, want 200 %s\n%s", st, u, want, d.n.Logs())
	}
	got := body(a)
	for _, line := range []string{"user=" + alice, "email=alice@example.com", "groups=wiki-users",
		"username=alice@example.com", "path=/page?x=1"} {
		if !strings.Contains(got, line) {
			t.Errorf("the application saw %q, want the line %q", got, line)
		}
	}
	// A second request passes on the application's cookie alone.
	if st, u := visit(a, appURL+"/other"); st != 200 || u != appURL+"/other" || !strings.Contains(body(a), "email=alice@example.com") {
		t.Fatalf("second request: %d %s", st, u)
	}

	// 2. Signing out of Gatehouse ends access at the next request.
	visit(a, d.base+"/t/default/end_session")
	if _, err := chromedp.RunResponse(a, chromedp.Click(chromedp.CSS(`form button[type="submit"]`))); err != nil {
		t.Fatalf("sign out: %v", err)
	}
	hits := app.hitsBy("alice@example.com")
	toLogin(a, "after signing out")
	if app.hitsBy("alice@example.com") != hits {
		t.Fatal("the application was reached after signing out")
	}

	// 3. An administrator ending the user's sessions ends access too.
	if st, u := signIn(a, "alice@example.com", "violet sunrise 1843"); st != 200 || u != want {
		t.Fatalf("second login: %d %s", st, u)
	}
	api.must(204, "DELETE", tp+"/users/"+alice+"/sessions", nil)
	toLogin(a, "after the administrator ended the sessions")

	// 4. Removed from the group: the signed-in user gets nginx's 403.
	if st, u := signIn(a, "alice@example.com", "violet sunrise 1843"); st != 200 || u != want {
		t.Fatalf("third login: %d %s\n%s", st, u, d.n.Logs())
	}
	api.must(204, "DELETE", tp+"/groups/"+group+"/members/"+alice, nil)
	if st, _ := visit(a, appURL+"/page?x=1"); st != http.StatusForbidden {
		t.Fatalf("removed from the group: the application answered %d, want 403", st)
	}

	// 5. A user outside the allowed group: 403 after the login, and the
	// application never sees a request of theirs.
	bb := browser()
	toLogin(bb, "bob unauthenticated")
	if st, u := signIn(bb, "bob@example.com", "granite meadow 2291"); st != http.StatusForbidden {
		t.Fatalf("outside the group: %d %s, want 403", st, u)
	}
	if st, _ := visit(bb, appURL+"/page?x=1"); st != http.StatusForbidden {
		t.Fatalf("outside the group, signed in: %d, want 403", st)
	}
	if n := app.hitsBy("bob@example.com"); n != 0 {
		t.Fatalf("the application was reached %d times by a user outside the group", n)
	}
}
