package e2e

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/xml"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	gooidc "github.com/coreos/go-oidc/v3/oidc"
	crewjam "github.com/crewjam/saml"
	"golang.org/x/oauth2"
)

// consoleSignInFresh opens path of the console in a signed-out browser, signs
// in on the tenant's login page it is sent to, and answers the URL it
// lands on.
func consoleSignInFresh(t *testing.T, bctx context.Context, base, path, email, password string) string {
	t.Helper()
	if _, err := chromedp.Call(bctx, network.ClearBrowserCookies, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	res, err := chromedp.Run(bctx, chromedp.NavigateResponse(base+path))
	if err != nil || res.Status != http.StatusOK || !strings.Contains(res.URL, "/login") {
		t.Fatalf("console %s signed out: %v %v", path, res, err)
	}
	typeLogin(t, bctx, email, password)
	loc, err := chromedp.Run(bctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// typeLogin fills the login form and submits it (the identifier field may
// already hold the identifier after a failed attempt: it is replaced).
func typeLogin(t *testing.T, bctx context.Context, email, password string) {
	t.Helper()
	if _, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`(document.querySelector('input[autocomplete~="username"]') || {}).value = "", true`)); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(bctx,
		chromedp.SendKeys(chromedp.CSS(`input[autocomplete~="username"]`), email),
		chromedp.SendKeys(chromedp.CSS(`input[autocomplete="current-password"]`), password),
	); err != nil {
		t.Fatalf("fill the login form: %v", err)
	}
	if _, err := chromedp.RunResponse(bctx, chromedp.Click(chromedp.CSS(`form button[type="submit"]`))); err != nil {
		t.Fatalf("submit the login form: %v", err)
	}
}

// e2eSPMetadata is the metadata of a crewjam/saml service provider.
func e2eSPMetadata(t *testing.T, entity, acs string) []byte {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "wiki"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	sp := &crewjam.ServiceProvider{EntityID: entity, Key: key, Certificate: cert,
		MetadataURL: mustParse(t, entity), AcsURL: mustParse(t, acs)}
	b, err := xml.Marshal(sp.Metadata())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestConsoleAppsBrowser: in Chromium, on each backend, an administrator
// signs in to the console, creates a web application through the wizard
// and a person completes a real login with it (golang.org/x/oauth2 and
// go-oidc with the client id and secret the wizard showed), the
// administrator registers a SAML service provider from its metadata URL,
// the dashboard draws a chart whose data includes those sign-ins and a
// failed one, and a branding change in the console shows on the login
// page. No page loads anything from another origin or trips the
// Content-Security-Policy. With GATEHOUSE_SCREENSHOTS set (docs/img), the
// sqlite run also writes the dashboard and wizard screenshots.
func TestConsoleAppsBrowser(t *testing.T) {
	exe := chromiumPath(t)
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) { consoleAppsScenario(t, b, exe) })
	}
}

func consoleAppsScenario(t *testing.T, b backend, exe string) {
	d := deploy(t, b)
	api := d.platform(t)
	const adminEmail, adminPw = "ops@example.com", "operator passphrase 1"
	const userEmail, userPw = "ada@example.com", "analytical engine 1843"
	adminID := d.user(t, "default", adminEmail, adminPw)
	api.must(201, "POST", "/api/v1/tenants/default/users/"+adminID+"/roles", map[string]string{"role": "gatehouse.admin"})
	d.user(t, "default", userEmail, userPw)
	cbs := newBrowserCallbacks(t)
	base, _ := url.Parse(d.base)

	ctx, cancel := context.WithTimeout(context.Background(), 3*browserTimeout)
	defer cancel()
	bctx := newBrowser(t, ctx, exe)
	var plog pageLog
	plog.listen(bctx, t)
	checkPages := func(step string) {
		t.Helper()
		requests, _, console := plog.take()
		noCSPViolation(t, step, console)
		for _, r := range requests {
			if !sameOriginRef(base, r) && !strings.HasPrefix(r, cbs.srv.URL) && !strings.HasPrefix(r, "data:") {
				t.Errorf("%s: loaded %s, off %s", step, r, d.base)
			}
		}
	}

	// 1. The administrator signs in; /admin opens on the dashboard.
	if loc := consoleSignInFresh(t, bctx, d.base, "/admin", adminEmail, adminPw); loc != d.base+"/admin/dashboard" {
		t.Fatalf("console sign-in ended at %s", loc)
	}
	checkPages("console sign-in")

	// 2. The wizard: kind, name, redirect URI; the page shows the id, the
	// secret once and the snippets.
	redirect := cbs.srv.URL + "/cb1"
	if err := chromedp.Do(bctx, chromedp.Navigate(d.base+"/admin/apps/new")); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.RunResponse(bctx, chromedp.Click(chromedp.CSS("#kind-web"))); err != nil {
		t.Fatalf("choose web: %v", err)
	}
	issuer, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS("#issuer")))
	if err != nil || issuer != d.base+"/t/default" {
		t.Fatalf("wizard issuer %q: %v", issuer, err)
	}
	if err := chromedp.Do(bctx, chromedp.SendKeys(chromedp.CSS("#name"), "Shop"),
		chromedp.SendKeys(chromedp.CSS("#redirect_uris"), redirect)); err != nil {
		t.Fatal(err)
	}
	if os.Getenv("GATEHOUSE_SCREENSHOTS") != "" && b.name == "sqlite" {
		consoleScreenshots(t, bctx, d.base, "wizard", "")
	}
	if _, err := chromedp.RunResponse(bctx, chromedp.Click(chromedp.CSS("#create-app"))); err != nil {
		t.Fatalf("create the application: %v", err)
	}
	clientID, err1 := chromedp.Run(bctx, chromedp.Evaluate[string](`(document.getElementById("client-id") || {}).textContent || ""`))
	secret, err2 := chromedp.Run(bctx, chromedp.Evaluate[string](`(document.getElementById("client-secret") || {}).value || ""`))
	snippet, err3 := chromedp.Run(bctx, chromedp.Evaluate[string](`(document.getElementById("snip-go") || {}).textContent || ""`))
	if err1 != nil || err2 != nil || err3 != nil || clientID == "" || !strings.HasPrefix(secret, "gh_cs_") ||
		!strings.Contains(snippet, `"`+clientID+`"`) || !strings.Contains(snippet, redirect) {
		body, _ := chromedp.Run(bctx, chromedp.Evaluate[string](`document.body.innerText`))
		t.Fatalf("created page: id %q secret %q (%v %v %v)\n%s", clientID, secret, err1, err2, err3, body)
	}
	checkPages("wizard")

	// 3. A real login with that client: a person signs in (one wrong
	// password first), the code is redeemed with the shown secret.
	prov, err := gooidc.NewProvider(ctx, issuer)
	if err != nil {
		t.Fatal(err)
	}
	conf := &oauth2.Config{ClientID: clientID, ClientSecret: secret, Endpoint: prov.Endpoint(), RedirectURL: redirect,
		Scopes: []string{gooidc.ScopeOpenID, "profile", "email"}}
	if _, err := chromedp.Call(bctx, network.ClearBrowserCookies, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	state, pkce := oauth2.GenerateVerifier(), oauth2.GenerateVerifier()
	if err := chromedp.Do(bctx, chromedp.Navigate(conf.AuthCodeURL(state, oauth2.S256ChallengeOption(pkce)))); err != nil {
		t.Fatal(err)
	}
	typeLogin(t, bctx, userEmail, "not the password")
	typeLogin(t, bctx, userEmail, userPw)
	q := cbs.wait(t, ctx, "/cb1")
	if q.Get("state") != state || q.Get("code") == "" {
		t.Fatalf("callback %v", q)
	}
	tok, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(pkce))
	if err != nil {
		t.Fatalf("exchange with the wizard's secret: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := prov.Verifier(&gooidc.Config{ClientID: clientID}).Verify(ctx, raw)
	var claims struct {
		Email string `json:"email"`
	}
	if err != nil || idt.Claims(&claims) != nil || claims.Email != userEmail {
		t.Fatalf("ID token %v: %+v", err, claims)
	}
	plog.take()

	// 4. A SAML service provider from its metadata URL.
	md := e2eSPMetadata(t, "https://wiki.example.com/saml", "https://wiki.example.com/saml/acs")
	mdSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/samlmetadata+xml")
		w.Write(md)
	}))
	defer mdSrv.Close()
	if loc := consoleSignInFresh(t, bctx, d.base, "/admin/apps/saml/new", adminEmail, adminPw); loc != d.base+"/admin/apps/saml/new" {
		t.Fatalf("second console sign-in ended at %s", loc)
	}
	if err := chromedp.Do(bctx, chromedp.SendKeys(chromedp.CSS("#name"), "Wiki"),
		chromedp.SendKeys(chromedp.CSS("#metadata_url"), mdSrv.URL+"/metadata")); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.RunResponse(bctx, chromedp.Click(chromedp.CSS("#create-saml"))); err != nil {
		t.Fatalf("create the service provider: %v", err)
	}
	entity, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS("#sp-entity-id")))
	if err != nil || entity != "https://wiki.example.com/saml" {
		t.Fatalf("provider page entity %q: %v", entity, err)
	}
	if cert, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS("#idp-cert"))); err != nil || !strings.Contains(cert, "BEGIN CERTIFICATE") {
		t.Fatalf("provider page IdP certificate %q: %v", cert, err)
	}
	checkPages("saml")

	// 5. The dashboard's minute chart is drawn and its data holds the
	// three sign-ins (the administrator twice, the person once) and the
	// failure.
	if err := chromedp.Do(bctx, chromedp.Navigate(d.base+"/admin/dashboard"),
		chromedp.WaitVisible(chromedp.CSS("#signins-minute canvas"))); err != nil {
		t.Fatalf("dashboard chart: %v", err)
	}
	type series struct {
		Label  string  `json:"label"`
		Values []int64 `json:"values"`
	}
	spec, err := chromedp.Run(bctx, chromedp.Evaluate[string](`document.getElementById("signins-minute").getAttribute("data-chart")`))
	var chart struct {
		X      []int64  `json:"x"`
		Series []series `json:"series"`
	}
	if err != nil || json.Unmarshal([]byte(spec), &chart) != nil || len(chart.Series) != 2 {
		t.Fatalf("chart data %q: %v", spec, err)
	}
	total := func(s series) (n int64) {
		for _, v := range s.Values {
			n += v
		}
		return n
	}
	if ok, failed := total(chart.Series[0]), total(chart.Series[1]); ok < 3 || failed < 1 {
		t.Fatalf("minute chart: %d sign-ins, %d failures; want at least 3 and 1", ok, failed)
	}
	drawn, err := chromedp.Run(bctx, chromedp.Evaluate[string](`document.getElementById("signins-minute").getAttribute("data-drawn")`))
	if err != nil || drawn != "60" {
		t.Fatalf("uPlot drew %q points: %v", drawn, err)
	}
	checkPages("dashboard")

	// 6. Branding changed in the console shows on the login page.
	if err := chromedp.Do(bctx, chromedp.Navigate(d.base+"/admin/branding"),
		chromedp.SendKeys(chromedp.CSS("#display_name"), "Acme Travel"),
		chromedp.SendKeys(chromedp.CSS("#support_email"), "help@acme.example")); err != nil {
		t.Fatalf("branding form: %v", err)
	}
	if _, err := chromedp.RunResponse(bctx, chromedp.Click(chromedp.CSS("#save-branding"))); err != nil {
		t.Fatalf("save branding: %v", err)
	}
	if err := chromedp.Do(bctx, chromedp.Navigate(d.base+"/t/default/account/login?ui_locales=de")); err != nil {
		t.Fatal(err)
	}
	if txt, err := chromedp.Run(bctx, chromedp.Evaluate[string](`document.body.innerText`)); err != nil ||
		!strings.Contains(txt, "Acme Travel") || !strings.Contains(txt, "help@acme.example") {
		t.Fatalf("login page after the branding change: %v\n%s", err, txt)
	}
	checkPages("branding")
	if os.Getenv("GATEHOUSE_SCREENSHOTS") != "" && b.name == "sqlite" {
		// The users page's pictures are TestConsoleBrowser's.
		consoleScreenshots(t, bctx, d.base, "dashboard", "/admin/dashboard")
	}
}

// consoleScreenshots writes console-NAME-{desktop,phone}.png of path ("":
// the page as it is) into $GATEHOUSE_SCREENSHOTS at 1280 and 390 px.
func consoleScreenshots(t *testing.T, bctx context.Context, base, name, path string) {
	t.Helper()
	dir := os.Getenv("GATEHOUSE_SCREENSHOTS")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, size := range []struct {
		name          string
		width, height int64
	}{{"desktop", 1280, 800}, {"phone", 390, 844}} {
		steps := []chromedp.Action[chromedp.Void]{chromedp.EmulateViewport(size.width, size.height)}
		if path != "" {
			steps = append(steps, chromedp.Navigate(base+path))
		}
		steps = append(steps, chromedp.Sleep(300*time.Millisecond))
		if err := chromedp.Do(bctx, steps...); err != nil {
			t.Fatalf("%s %s: %v", name, size.name, err)
		}
		_, _ = chromedp.Run(bctx, chromedp.Evaluate[bool](`(document.activeElement && document.activeElement.blur(), true)`))
		png, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		p := filepath.Join(dir, "console-"+name+"-"+size.name+".png")
		if err := os.WriteFile(p, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s (%d bytes)", p, len(png))
	}
	if err := chromedp.Do(bctx, chromedp.EmulateViewport(1024, 768)); err != nil {
		t.Fatal(err)
	}
}
