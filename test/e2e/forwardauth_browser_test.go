package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Forward authentication through a real reverse proxy: Debian's nginx,
// started by the test with auth_request in front of a small application,
// driven by headless chromium. The nginx configuration is the one
// docs/integrations.md gives (with the test's ports).

// nginxConf is the nginx configuration of docs/integrations.md: %[1]s the
// directory for nginx's own files, %[2]d the port nginx listens on, %[3]s
// the application's host name, %[4]s Gatehouse's address (host:port),
// %[5]s the tenant, %[6]s the application's address.
const nginxConf = `daemon off;
master_process off;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log info;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path %[1]s/body;
  proxy_temp_path %[1]s/proxy;
  fastcgi_temp_path %[1]s/fastcgi;
  uwsgi_temp_path %[1]s/uwsgi;
  scgi_temp_path %[1]s/scgi;

  server {
    listen 127.0.0.1:%[2]d;
    server_name %[3]s;

    # Gatehouse's sign-in start, callback and sign-out on the
    # application's own domain (they set and read its cookie).
    location /t/%[5]s/forward-auth/ {
      proxy_pass http://%[4]s;
      # Keep Gatehouse's redirects to its own login page as they are.
      proxy_redirect off;
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-Proto $scheme;
    }

    # The check nginx makes on every request.
    location = /_gatehouse_auth {
      internal;
      proxy_pass http://%[4]s/t/%[5]s/forward-auth;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Original-URL $scheme://$http_host$request_uri;
      proxy_set_header X-Forwarded-Method $request_method;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $http_host;
      proxy_set_header X-Forwarded-Uri $request_uri;
    }

    location / {
      auth_request /_gatehouse_auth;
      auth_request_set $gh_user $upstream_http_x_auth_request_user;
      auth_request_set $gh_email $upstream_http_x_auth_request_email;
      auth_request_set $gh_groups $upstream_http_x_auth_request_groups;
      auth_request_set $gh_roles $upstream_http_x_auth_request_roles;
      auth_request_set $gh_username $upstream_http_x_auth_request_preferred_username;
      auth_request_set $gh_location $upstream_http_location;
      # Not signed in: Gatehouse answers 401 naming where to sign in.
      error_page 401 =302 $gh_location;

      # Set (or cleared) here, so a client cannot send its own.
      proxy_set_header X-Auth-Request-User $gh_user;
      proxy_set_header X-Auth-Request-Email $gh_email;
      proxy_set_header X-Auth-Request-Groups $gh_groups;
      proxy_set_header X-Auth-Request-Roles $gh_roles;
      proxy_set_header X-Auth-Request-Preferred-Username $gh_username;
      proxy_set_header Host $http_host;
      proxy_pass http://%[6]s;
    }
  }
}
`

// nginxPath finds Debian's nginx; in CI its absence fails the test
// (.ci/run installs it), elsewhere it skips.
func nginxPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("GATEHOUSE_TEST_NGINX"), "/usr/sbin/nginx"} {
		if p != "" {
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
	}
	if p, err := exec.LookPath("nginx"); err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("no nginx in CI: .ci/run installs Debian's nginx (apt-get install -y nginx)")
	}
	t.Skipf("no nginx (apt-get install -y nginx, or set GATEHOUSE_TEST_NGINX)")
	return ""
}

// freePort answers a 127.0.0.1 port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startNginx runs nginx with conf in its own directory until the test
// ends, and waits until it answers on port.
func startNginx(t *testing.T, exe, dir string, port int, conf string) {
	t.Helper()
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	out := &syncBuffer{}
	cmd := exec.Command(exe, "-p", dir, "-c", path, "-e", filepath.Join(dir, "error.log"))
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start nginx: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Fatalf("nginx exited: %s\n%s", out.String(), log)
		default:
		}
		if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 200*time.Millisecond); err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("nginx did not listen on %d: %s", port, out.String())
}

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

// TestForwardAuthNginx: an application behind nginx auth_request, per
// database: unauthenticated -> Gatehouse's login -> back to the URL first
// asked for with the identity headers; a user outside the allowed group
// gets 403; signing out of Gatehouse, and an administrator ending the
// user's sessions, end access at the next request.
func TestForwardAuthNginx(t *testing.T) {
	exe := nginxPath(t)
	chrome := chromiumPath(t)
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) { forwardAuthNginx(t, deploy(t, b), exe, chrome) })
	}
}

func forwardAuthNginx(t *testing.T, d *deployment, nginx, chrome string) {
	const tp = "/api/v1/tenants/default"
	const appHost = "wiki.test"
	api := d.platform(t)
	alice := d.user(t, "default", "alice@example.com", "violet sunrise 1843")
	bob := d.user(t, "default", "bob@example.com", "granite meadow 2291")
	var g map[string]any
	api.must(201, "POST", tp+"/groups", map[string]string{"name": "wiki-users"}).json(t, &g)
	group, _ := g["id"].(string)
	api.must(201, "POST", tp+"/groups/"+group+"/members", map[string]string{"user_id": alice})
	api.must(201, "POST", tp+"/proxy-apps", map[string]any{"name": "Wiki", "domains": []string{appHost},
		"allowed_groups": []string{"wiki-users"}, "session_lifetime": "8h"})

	app := newHeaderApp(t)
	port := freePort(t)
	gh := strings.TrimPrefix(d.base, "http://")
	startNginx(t, nginx, t.TempDir(), port, fmt.Sprintf(nginxConf, t.TempDir(), port, appHost, gh, "default",
		strings.TrimPrefix(app.srv.URL, "http://")))
	appURL := fmt.Sprintf("http://%s:%d", appHost, port)
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
	_ = bob
}
