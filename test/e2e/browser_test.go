package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/audits"
	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// The hosted login in a real browser (Debian's chromium, headless). The
// test finds the browser at $GATEHOUSE_TEST_CHROMIUM or /usr/bin/chromium and
// skips without one (CI installs it, see .ci/run); it never downloads one.
// Screenshots go to $GATEHOUSE_TEST_ARTIFACTS when set, else to a temporary
// directory.

// browserTimeout bounds everything the browser does in one test.
const browserTimeout = 60 * time.Second

// chromiumPath returns the browser to drive, or skips the test.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("GATEHOUSE_TEST_CHROMIUM"); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("GATEHOUSE_TEST_CHROMIUM: %v", err)
		}
		return p
	}
	const p = "/usr/bin/chromium"
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("no browser at %s in CI: .ci/run installs Debian's chromium", p)
		}
		t.Skipf("no browser at %s (apt-get install chromium, or set GATEHOUSE_TEST_CHROMIUM)", p)
	}
	return p
}

// newBrowser starts a headless chromium with a fresh profile and returns the
// context of its first tab. It stops with the test, or when parent ends.
// extra options apply after the defaults (a later flag replaces one).
func newBrowser(t *testing.T, parent context.Context, exe string, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	out := &syncBuffer{}
	actx, acancel := chromedp.NewExecAllocator(parent, append([]chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1024, 768),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("password-store", "basic"),
		// Hermetic: no proxy, and no host name resolves, so only the
		// loopback addresses of this test can be reached.
		chromedp.Flag("no-proxy-server", true),
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"),
		chromedp.CombinedOutput(out),
	}, extra...)...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		// A graceful close lets chromium's helper processes end before the
		// profile directory is removed.
		cctx, ccancel := context.WithTimeout(ctx, 10*time.Second)
		_ = chromedp.Cancel(cctx)
		ccancel()
		cancel()
		acancel()
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start %s: %v\n%s", exe, err, out.String())
	}
	return ctx
}

// pageLog records what one tab loaded, from the browser's own events.
type pageLog struct {
	mu sync.Mutex
	// requests are the URLs of every request, sub-resources included.
	requests []string
	// documents are the document responses, redirects included, as
	// "status URL".
	documents []string
	// console is what the browser logged about the pages, such as
	// Content-Security-Policy violations.
	console []string
}

func (l *pageLog) listen(ctx context.Context, t *testing.T) {
	t.Helper()
	err := chromedp.Listen(ctx, func(ev any) {
		// Runs in the tab's read loop: record and return.
		l.mu.Lock()
		defer l.mu.Unlock()
		switch ev := ev.(type) {
		case *network.EventRequestWillBeSent:
			if r := ev.RedirectResponse; r != nil && ev.Type == network.ResourceTypeDocument {
				l.documents = append(l.documents, fmt.Sprintf("%d %s", r.Status, r.URL))
			}
			if ev.Request != nil {
				l.requests = append(l.requests, ev.Request.URL)
			}
		case *network.EventResponseReceived:
			if ev.Type == network.ResourceTypeDocument && ev.Response != nil {
				l.documents = append(l.documents, fmt.Sprintf("%d %s", ev.Response.Status, ev.Response.URL))
			}
		case *cdplog.EventEntryAdded:
			if ev.Entry != nil {
				l.console = append(l.console, fmt.Sprintf("%s %s: %s", ev.Entry.Level, ev.Entry.Source, ev.Entry.Text))
			}
		case *audits.EventIssueAdded:
			// A CSP that blocks a navigation, such as form-action on a
			// redirect after a POST, shows up here and not in the log.
			if ev.Issue != nil && ev.Issue.Details != nil && ev.Issue.Details.ContentSecurityPolicyIssueDetails != nil {
				d := ev.Issue.Details.ContentSecurityPolicyIssueDetails
				l.console = append(l.console, fmt.Sprintf("Content Security Policy directive %s blocked %s (%s)",
					d.ViolatedDirective, d.BlockedURL, d.ContentSecurityPolicyViolationType))
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, audits.Enable, cdp.Empty{}); err != nil {
		t.Fatalf("Audits.enable: %v", err)
	}
}

// take returns what was recorded since the last take.
func (l *pageLog) take() (requests, documents, console []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	requests, documents, console = l.requests, l.documents, l.console
	l.requests, l.documents, l.console = nil, nil, nil
	return requests, documents, console
}

// noCSPViolation fails the test when the browser reported that a
// Content-Security-Policy blocked something during step.
func noCSPViolation(t *testing.T, step string, console []string) {
	t.Helper()
	for _, c := range console {
		if strings.Contains(c, "Content Security Policy") {
			t.Errorf("%s: %s", step, c)
		}
	}
}

// browserCallbacks is the relying parties' side: one tiny server whose paths are
// the clients' redirect URIs. It records each query and shows a page.
type browserCallbacks struct {
	srv  *httptest.Server
	hits chan browserCallbackHit
}

type browserCallbackHit struct {
	path  string
	query url.Values
}

func newBrowserCallbacks(t *testing.T) *browserCallbacks {
	c := &browserCallbacks{hits: make(chan browserCallbackHit, 16)}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/cb") {
			http.NotFound(w, r)
			return
		}
		select {
		case c.hits <- browserCallbackHit{r.URL.Path, r.URL.Query()}:
		default:
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<!doctype html><title>callback %s</title><h1 id=back>Back at the client (%s)</h1>", r.URL.Path, r.URL.Path)
	}))
	t.Cleanup(c.srv.Close)
	return c
}

// wait returns the next request to path, failing the test when ctx ends
// first.
func (c *browserCallbacks) wait(t *testing.T, ctx context.Context, path string) url.Values {
	t.Helper()
	for {
		select {
		case h := <-c.hits:
			if h.path == path {
				return h.query
			}
			t.Fatalf("callback %s reached, want %s: %v", h.path, path, h.query)
		case <-ctx.Done():
			t.Fatalf("no callback to %s: %v", path, ctx.Err())
		}
	}
}

// browserRP is a confidential client registered through the CLI.
type browserRP struct {
	conf     *oauth2.Config
	verifier *gooidc.IDTokenVerifier
}

func newBrowserRP(t *testing.T, env []string, prov *gooidc.Provider, name, redirect string) *browserRP {
	t.Helper()
	out, errOut, code := cli(t, env, "client", "create", "--tenant", "default", "--name", name,
		"--redirect-uri", redirect, "--json")
	if code != 0 {
		t.Fatalf("client create: %s", errOut)
	}
	var c struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	if err := json.Unmarshal([]byte(lastLine(out)), &c); err != nil || c.ClientSecret == "" {
		t.Fatalf("client create output %q: %v", out, err)
	}
	return &browserRP{
		verifier: prov.Verifier(&gooidc.Config{ClientID: c.ClientID}),
		conf: &oauth2.Config{ClientID: c.ClientID, ClientSecret: c.ClientSecret, Endpoint: prov.Endpoint(),
			RedirectURL: redirect, Scopes: []string{gooidc.ScopeOpenID, "profile", "email"}},
	}
}

// browserAuthReq is one authorization request: state, nonce and PKCE verifier.
type browserAuthReq struct {
	URL, State, Nonce, Verifier string
}

func (r *browserRP) request(extra ...oauth2.AuthCodeOption) browserAuthReq {
	v := oauth2.GenerateVerifier()
	a := browserAuthReq{State: "st-" + oauth2.GenerateVerifier()[:16], Nonce: "n-" + oauth2.GenerateVerifier()[:16], Verifier: v}
	opts := append([]oauth2.AuthCodeOption{oauth2.S256ChallengeOption(v), gooidc.Nonce(a.Nonce)}, extra...)
	a.URL = r.conf.AuthCodeURL(a.State, opts...)
	return a
}

type browserClaims struct {
	Email string   `json:"email"`
	Nonce string   `json:"nonce"`
	AMR   []string `json:"amr"`
	SID   string   `json:"sid"`
}

// redeem exchanges the code with the verifier and verifies the ID token.
func (r *browserRP) redeem(t *testing.T, ctx context.Context, a browserAuthReq, code string) (*gooidc.IDToken, browserClaims) {
	t.Helper()
	tok, err := r.conf.Exchange(ctx, code, oauth2.VerifierOption(a.Verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := r.verifier.Verify(ctx, raw)
	if err != nil {
		t.Fatalf("id token: %v", err)
	}
	var c browserClaims
	if err := idt.Claims(&c); err != nil {
		t.Fatal(err)
	}
	if c.Nonce != a.Nonce {
		t.Fatalf("nonce %q, want %q", c.Nonce, a.Nonce)
	}
	if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
		t.Fatalf("at_hash: %v", err)
	}
	return idt, c
}

// browserScreenshot writes a PNG and returns its path.
func browserScreenshot(t *testing.T, ctx context.Context, name string) string {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	dir := os.Getenv("GATEHOUSE_TEST_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s (%d bytes)", p, len(png))
	return p
}

var (
	htmlRefRE    = regexp.MustCompile(`(?i)\s(?:src|href|action|srcset|poster|data)\s*=\s*["']?([^"'\s>]*)`)
	inlineCodeRE = regexp.MustCompile(`(?i)<style|<script\s*>|\sstyle\s*=|\son[a-z]+\s*=`) // <script src> is not inline
)

// sameOrigin reports whether ref, as found in a page of base, stays on
// base's origin.
func sameOriginRef(base *url.URL, ref string) bool {
	u, err := base.Parse(ref)
	return err == nil && u.Scheme == base.Scheme && u.Host == base.Host
}

// checkLoginPageHeaders fetches the login page with net/http and checks its
// security headers and that it references nothing off its own origin.
func checkLoginPageHeaders(t *testing.T, authURL, base string) {
	t.Helper()
	res, err := http.Get(authURL) // follows /authorize to /login
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || res.Request.URL.Path != "/t/default/login" ||
		!strings.Contains(string(body), `autocomplete="current-password"`) {
		t.Fatalf("login page: %d at %s: %.300s", res.StatusCode, res.Request.URL, body)
	}
	csp := res.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe-inline") ||
		strings.Contains(csp, "unsafe-eval") {
		t.Errorf("login page CSP %q", csp)
	}
	if got := res.Header.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("login page X-Content-Type-Options %q", got)
	}
	if got := res.Header.Get("Cache-Control"); !strings.Contains(got, "no-store") {
		t.Errorf("login page Cache-Control %q", got)
	}
	b, _ := url.Parse(base)
	refs := htmlRefRE.FindAllStringSubmatch(string(body), -1)
	if len(refs) == 0 {
		t.Fatalf("no src/href in the login page: %s", body)
	}
	for _, m := range refs {
		if !sameOriginRef(b, m[1]) {
			t.Errorf("login page references %q, off %s", m[1], base)
		}
	}
	if m := inlineCodeRE.FindString(string(body)); m != "" {
		t.Errorf("login page has inline script or style (%q), which its CSP would block", m)
	}
}

// TestBrowserLogin drives the hosted login in headless chromium: code flow
// with PKCE through the login form, SSO to a second client without the form,
// prompt=none in a fresh profile, and the page's headers.
func TestBrowserLogin(t *testing.T) {
	began := time.Now()
	var timings []string
	lap := func(what string) {
		timings = append(timings, fmt.Sprintf("%s %v", what, time.Since(began).Round(time.Millisecond)))
		began = time.Now()
	}
	env := testEnv(t.TempDir(), "", testMasterKey)
	n := start(t, env)
	out, _, _ := cli(t, env, "apikey", "create", "--tenant", "default", "--scopes", "admin")
	api := &client{t: t, base: n.URL, token: lastLine(out)}
	const email, password = "grace@example.com", "compiler 1952 cobol"
	api.must(201, "POST", "/api/v1/tenants/default/users", map[string]any{
		"email": email, "password": password, "given_name": "Grace", "family_name": "Hopper",
		"email_verified": true})

	issuer := n.URL + "/t/default"
	prov, err := gooidc.NewProvider(context.Background(), issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	cbs := newBrowserCallbacks(t)
	rp1 := newBrowserRP(t, env, prov, "Browser App One", cbs.srv.URL+"/cb1")
	rp2 := newBrowserRP(t, env, prov, "Browser App Two", cbs.srv.URL+"/cb2")

	checkLoginPageHeaders(t, rp1.request().URL, n.URL)

	exe := chromiumPath(t)
	ctx, cancel := context.WithTimeout(context.Background(), browserTimeout)
	defer cancel()
	lap("server, user, clients, headers")
	bctx := newBrowser(t, ctx, exe)
	lap("browser start")
	var plog pageLog
	plog.listen(bctx, t)

	// 1. Client 1: the login form, typed into as a person would.
	a1 := rp1.request()
	res, err := chromedp.Run(bctx, chromedp.NavigateResponse(a1.URL))
	if err != nil {
		t.Fatalf("navigate to authorize: %v", err)
	}
	if res.Status != http.StatusOK || !strings.HasPrefix(res.URL, n.URL+"/t/default/login?") {
		t.Fatalf("authorize ended at %d %s", res.Status, res.URL)
	}
	title, err := chromedp.Run(bctx, chromedp.Title())
	if err != nil || !strings.HasPrefix(title, "Sign in") {
		t.Fatalf("login page title %q: %v", title, err)
	}
	// The stylesheet loaded under the CSP (scripts are the test's, through
	// the DevTools protocol, not the page's).
	rules, err := chromedp.Run(bctx, chromedp.Evaluate[int](
		`Array.from(document.styleSheets).reduce((n, s) => n + s.cssRules.length, 0)`))
	if err != nil || rules == 0 {
		t.Fatalf("login page stylesheet rules: %d, %v", rules, err)
	}
	requests, documents, console := plog.take()
	noCSPViolation(t, "login page", console)
	base, _ := url.Parse(n.URL)
	for _, r := range requests {
		if !sameOriginRef(base, r) {
			t.Errorf("login page loaded %s, off %s", r, n.URL)
		}
	}
	t.Logf("to the login page: %v", documents)
	browserScreenshot(t, bctx, "login.png")

	lap("login page")
	user := chromedp.CSS(`input[autocomplete~="username"]`)
	pass := chromedp.CSS(`input[autocomplete="current-password"]`)
	if err := chromedp.Do(bctx,
		chromedp.SendKeys(user, email),
		chromedp.SendKeys(pass, password),
	); err != nil {
		t.Fatalf("fill the login form: %v", err)
	}
	if v, err := chromedp.Run(bctx, chromedp.Value(user)); err != nil || v != email {
		t.Fatalf("identifier field holds %q: %v", v, err)
	}
	res, err = chromedp.RunResponse(bctx, chromedp.Click(chromedp.CSS(`form button[type="submit"]`)))
	if err != nil {
		// The browser says why a navigation was blocked a moment later.
		_ = chromedp.Do(bctx, chromedp.Sleep(time.Second))
	}
	_, documents, console = plog.take()
	noCSPViolation(t, "login", console)
	if err != nil {
		t.Fatalf("submit the login form: %v (documents %v, console %q)\n%s", err, documents, console, n.Logs())
	}
	q := cbs.wait(t, ctx, "/cb1")
	if !strings.HasPrefix(res.URL, rp1.conf.RedirectURL+"?") || res.Status != http.StatusOK {
		t.Fatalf("login ended at %d %s (documents %v)", res.Status, res.URL, documents)
	}
	t.Logf("login: %v", documents)
	if q.Get("code") == "" || q.Get("state") != a1.State || q.Get("iss") != issuer || q.Get("error") != "" {
		t.Fatalf("client 1 got %v", q)
	}
	idt1, c1 := rp1.redeem(t, ctx, a1, q.Get("code"))
	if c1.Email != email || fmt.Sprint(c1.AMR) != "[pwd]" || c1.SID == "" {
		t.Fatalf("client 1 claims %+v", c1)
	}

	lap("login and code exchange")

	// 2. Client 2, same browser: single sign-on, no login form.
	a2 := rp2.request()
	res, err = chromedp.Run(bctx, chromedp.NavigateResponse(a2.URL))
	_, documents, console = plog.take()
	noCSPViolation(t, "SSO", console)
	if err != nil {
		t.Fatalf("navigate to client 2's authorize: %v (documents %v, console %q)", err, documents, console)
	}
	q = cbs.wait(t, ctx, "/cb2")
	t.Logf("SSO: %v", documents)
	if !strings.HasPrefix(res.URL, rp2.conf.RedirectURL+"?") || res.Status != http.StatusOK {
		t.Fatalf("SSO ended at %d %s (documents %v)", res.Status, res.URL, documents)
	}
	// The browser's own record: the only document it rendered is client
	// 2's page; /login only ever answered with a redirect.
	var rendered []string
	for _, d := range documents {
		if !strings.HasPrefix(d, "3") {
			rendered = append(rendered, d)
		}
		if strings.Contains(d, "/t/default/login") && !strings.HasPrefix(d, "302 ") {
			t.Errorf("SSO showed the login page: %s", d)
		}
	}
	if len(rendered) != 1 || !strings.HasPrefix(rendered[0], "200 "+rp2.conf.RedirectURL+"?") {
		t.Errorf("SSO rendered %v, want only client 2's page", rendered)
	}
	forms, err := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelectorAll('input[type=password]').length`))
	if err != nil || forms != 0 {
		t.Errorf("password inputs on the page after SSO: %d, %v", forms, err)
	}
	if q.Get("code") == "" || q.Get("state") != a2.State || q.Get("iss") != issuer {
		t.Fatalf("client 2 got %v", q)
	}
	idt2, c2 := rp2.redeem(t, ctx, a2, q.Get("code"))
	if idt2.Subject != idt1.Subject || c2.SID != c1.SID || fmt.Sprint(c2.AMR) != "[pwd]" {
		t.Fatalf("client 2: subject %q sid %q amr %v; client 1: subject %q sid %q",
			idt2.Subject, c2.SID, c2.AMR, idt1.Subject, c1.SID)
	}

	lap("SSO and code exchange")

	// 3. A fresh profile: prompt=none cannot sign in silently.
	fresh := newBrowser(t, ctx, exe)
	lap("second browser start")
	a3 := rp1.request(oauth2.SetAuthURLParam("prompt", "none"))
	res, err = chromedp.Run(fresh, chromedp.NavigateResponse(a3.URL))
	if err != nil {
		t.Fatalf("navigate with prompt=none: %v", err)
	}
	q = cbs.wait(t, ctx, "/cb1")
	if !strings.HasPrefix(res.URL, rp1.conf.RedirectURL+"?") {
		t.Fatalf("prompt=none ended at %d %s", res.Status, res.URL)
	}
	if q.Get("error") != "login_required" || q.Get("state") != a3.State || q.Get("code") != "" ||
		q.Get("iss") != issuer {
		t.Fatalf("prompt=none answer %v", q)
	}
	lap("prompt=none")
	_, _, console = plog.take()
	noCSPViolation(t, "after SSO", console)
	t.Logf("timings: %s", strings.Join(timings, ", "))
}
