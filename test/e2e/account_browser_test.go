package e2e

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse-id/gatehouse/internal/branding"
)

// phoneWidth is the viewport of the phone-fit checks (an iPhone 12-15).
const phoneWidth, phoneHeight = 390, 844

// pageFacts are what the accessibility and phone-fit checks read from the
// rendered page.
type pageFacts struct {
	Lang        string   `json:"lang"`
	ScrollWidth int      `json:"scrollWidth"`
	InnerWidth  int      `json:"innerWidth"`
	Unlabelled  []string `json:"unlabelled"`
	Viewport    bool     `json:"viewport"`
	Button      string   `json:"button"`
	ButtonText  string   `json:"buttonText"`
}

// factsJS: document width against the window, inputs without an
// accessible name (a bound <label>, aria-label or aria-labelledby), the
// viewport meta, and the colours of the first primary button.
const factsJS = `(() => {
  const visible = e => e.type !== 'hidden' && !e.hidden && e.getClientRects().length > 0;
  const unlabelled = Array.from(document.querySelectorAll('input, select, textarea')).filter(visible)
    .filter(e => !(e.labels && e.labels.length && e.labels[0].textContent.trim()) &&
                 !e.getAttribute('aria-label') && !e.getAttribute('aria-labelledby'))
    .map(e => e.name || e.id || e.outerHTML);
  const b = document.querySelector('button:not(.secondary):not(.danger)');
  return {lang: document.documentElement.lang, scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth, unlabelled,
    viewport: !!document.querySelector('meta[name=viewport][content*="width=device-width"]'),
    button: b ? getComputedStyle(b).backgroundColor : '', buttonText: b ? getComputedStyle(b).color : ''};
})()`

var rgbRE = regexp.MustCompile(`^rgba?\((\d+), (\d+), (\d+)`)

// hexOf turns a computed rgb() colour into #rrggbb.
func hexOf(t *testing.T, css string) string {
	t.Helper()
	m := rgbRE.FindStringSubmatch(css)
	if m == nil {
		t.Fatalf("colour %q", css)
	}
	var r, g, b int
	fmt.Sscan(m[1], &r)
	fmt.Sscan(m[2], &g)
	fmt.Sscan(m[3], &b)
	return fmt.Sprintf("#%02x%02x%02x", r, g, b)
}

// checkPage asserts the page fits a phone, labels every input, says its
// language, and keeps the brand colour readable (4.5:1).
func checkPage(t *testing.T, ctx context.Context, step, lang string) {
	t.Helper()
	f, err := chromedp.Run(ctx, chromedp.Evaluate[pageFacts](factsJS))
	if err != nil {
		t.Fatalf("%s: %v", step, err)
	}
	if f.InnerWidth != phoneWidth || f.ScrollWidth > f.InnerWidth {
		t.Errorf("%s: document %dpx wide in a %dpx window (horizontal overflow)", step, f.ScrollWidth, f.InnerWidth)
	}
	if len(f.Unlabelled) > 0 {
		t.Errorf("%s: inputs without an accessible label: %v", step, f.Unlabelled)
	}
	if f.Lang != lang || !f.Viewport {
		t.Errorf("%s: lang %q (want %q), viewport meta %v", step, f.Lang, lang, f.Viewport)
	}
	if f.Button != "" {
		if c := branding.Contrast(hexOf(t, f.Button), hexOf(t, f.ButtonText)); c < branding.MinContrast {
			t.Errorf("%s: button %s on %s has contrast %.2f", step, f.ButtonText, f.Button, c)
		}
	}
}

// activeName answers what has the keyboard focus.
func activeName(t *testing.T, ctx context.Context) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](
		`(e => e.id || e.name || e.className || e.tagName)(document.activeElement)`))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestBrowserAccountPage walks the account page in chromium at phone
// width with a branded tenant: signed out to sign-in and back, keyboard
// only through the sign-in form (focus order, visible focus), the page in
// three languages (no overflow, every input labelled, readable colours),
// a profile edit, ending another device's session, and deletion.
func TestBrowserAccountPage(t *testing.T) {
	exe := chromiumPath(t)
	env := testEnv(t.TempDir(), "", testMasterKey)
	n := start(t, env)
	out, _, _ := cli(t, env, "apikey", "create", "--tenant", "default", "--scopes", "admin")
	api := &client{t: t, base: n.URL, token: lastLine(out)}
	const email, password = "katherine@example.com", "orbital mechanics 1962"
	api.must(201, "POST", "/api/v1/tenants/default/users", map[string]any{"email": email, "password": password, "given_name": "Katherine"})
	logo := "data:image/png;base64," + base64.StdEncoding.EncodeToString([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"))
	api.must(200, "PATCH", "/api/v1/tenants/default", map[string]any{"settings": map[string]any{
		"branding": map[string]any{"display_name": "Langley Research Centre with a very long display name", "primary_color": "#ffd000",
			"logo_url": logo, "support_email": "help@langley.example"},
		"profile_attributes": []string{"department", "building_number"}}})

	// Another device of the same user, signed in over plain HTTP.
	jar, _ := cookiejar.New(nil)
	phone := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	res, err := phone.Get(n.URL + "/t/default/account/login")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	var csrf string
	u, _ := url.Parse(n.URL)
	for _, c := range jar.Cookies(u) {
		if c.Name == "gh_csrf" {
			csrf = c.Value
		}
	}
	res, err = phone.PostForm(n.URL+"/t/default/account/login", url.Values{"csrf": {csrf}, "identifier": {email}, "password": {password}})
	if err != nil || res.Request.URL.Path != "/t/default/account" {
		t.Fatalf("phone sign-in: %v %v", err, res)
	}
	res.Body.Close()

	ctx, cancel := context.WithTimeout(context.Background(), browserTimeout)
	defer cancel()
	bctx := newBrowser(t, ctx, exe)
	var plog pageLog
	plog.listen(bctx, t)
	if err := chromedp.Do(bctx, chromedp.EmulateViewport(phoneWidth, phoneHeight)); err != nil {
		t.Fatal(err)
	}

	// Signed out: to the sign-in page, which fits and is labelled.
	if err := chromedp.Do(bctx, chromedp.Navigate(n.URL+"/t/default/account")); err != nil {
		t.Fatal(err)
	}
	if loc, _ := chromedp.Run(bctx, chromedp.Location()); !strings.Contains(loc, "/t/default/account/login") {
		t.Fatalf("signed out, the account page went to %s", loc)
	}
	checkPage(t, bctx, "sign-in", "en")
	if w, err := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelector('.brand img').naturalWidth >= 0 ? 1 : 0`)); err != nil || w != 1 {
		t.Errorf("logo: %v", err)
	}

	// Keyboard only: Tab order follows the form, focus is visible, Enter submits.
	order := []string{activeName(t, bctx)} // the identifier has autofocus
	for range 3 {
		if err := chromedp.Do(bctx, chromedp.KeyEvent("\t")); err != nil {
			t.Fatal(err)
		}
		order = append(order, activeName(t, bctx))
		if len(order) == 2 { // the password field, focused by keyboard
			outline, _ := chromedp.Run(bctx, chromedp.Evaluate[string](
				`(s => s.outlineStyle + ' ' + s.outlineWidth)(getComputedStyle(document.activeElement))`))
			if strings.HasPrefix(outline, "none") || strings.HasSuffix(outline, " 0px") {
				t.Errorf("no visible focus on the password field: %q", outline)
			}
		}
	}
	// Then the support address link at the end of the card.
	if got := strings.Join(order, ","); got != "identifier,password,BUTTON,A" {
		t.Errorf("focus order %s, want identifier, password, the button, the support link", got)
	}
	if err := chromedp.Do(bctx, chromedp.Focus(chromedp.CSS("#identifier")), chromedp.KeyEvent(email), chromedp.KeyEvent("\t"),
		chromedp.KeyEvent(password)); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.RunResponse(bctx, chromedp.KeyEvent("\r")); err != nil {
		t.Fatalf("submit with Enter: %v", err)
	}
	title, _ := chromedp.Run(bctx, chromedp.Title())
	if !strings.HasPrefix(title, "Your account") {
		t.Fatalf("after sign-in: %q", title)
	}
	checkPage(t, bctx, "account page", "en")
	browserScreenshot(t, bctx, "account-phone.png")

	// The page in German and Spanish fits too (longer words).
	for _, lang := range []string{"de", "es"} {
		if err := chromedp.Do(bctx, chromedp.Navigate(n.URL+"/t/default/account?ui_locales="+lang)); err != nil {
			t.Fatal(err)
		}
		checkPage(t, bctx, "account page "+lang, lang)
	}

	// The other pages fit and are labelled too.
	for _, pg := range []struct{ path, lang string }{
		{"/t/default/device?ui_locales=de", "de"},
		{"/t/default/end_session?ui_locales=es", "es"},
		{"/t/default/logged-out", "en"},
		{"/t/default/login?id=unknown", "en"},
	} {
		if err := chromedp.Do(bctx, chromedp.Navigate(n.URL+pg.path)); err != nil {
			t.Fatal(err)
		}
		checkPage(t, bctx, pg.path, pg.lang)
	}

	// Edit the profile by typing and clicking.
	if err := chromedp.Do(bctx, chromedp.Navigate(n.URL+"/t/default/account"),
		chromedp.SendKeys(chromedp.CSS("#attr_department"), "Flight Research"),
	); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.RunResponse(bctx, chromedp.Click(chromedp.CSS(`form[action$="/account/profile"] button`))); err != nil {
		t.Fatalf("save profile: %v", err)
	}
	if txt, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS(".notice"))); err != nil || !strings.Contains(txt, "profile has been saved") {
		t.Errorf("profile notice %q: %v", txt, err)
	}
	var users struct {
		Items []struct {
			Attributes map[string]any `json:"attributes"`
		} `json:"items"`
	}
	api.must(200, "GET", "/api/v1/tenants/default/users", nil).json(t, &users)
	if len(users.Items) != 1 || users.Items[0].Attributes["department"] != "Flight Research" {
		t.Errorf("stored attributes: %+v", users.Items)
	}

	// End the phone's session from here.
	if _, err := chromedp.RunResponse(bctx, chromedp.Click(chromedp.CSS(`form[action$="/account/sessions/end"] button`))); err != nil {
		t.Fatalf("end the other session: %v", err)
	}
	if txt, _ := chromedp.Run(bctx, chromedp.Text(chromedp.CSS(".notice"))); !strings.Contains(txt, "device has been signed out") {
		t.Errorf("session notice %q", txt)
	}
	res, err = phone.Get(n.URL + "/t/default/account")
	if err != nil || res.Request.URL.Path != "/t/default/account/login" {
		t.Errorf("the phone is still signed in: %v %v", err, res.Request.URL)
	}
	res.Body.Close()

	// Delete the account with the password re-entered.
	if err := chromedp.Do(bctx, chromedp.SendKeys(chromedp.CSS("#delete_password"), password)); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.RunResponse(bctx, chromedp.Click(chromedp.CSS(`button.danger`))); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if title, _ := chromedp.Run(bctx, chromedp.Title()); !strings.HasPrefix(title, "Account deleted") {
		t.Errorf("after deletion: %q", title)
	}
	checkPage(t, bctx, "deleted page", "en")
	api.must(200, "GET", "/api/v1/tenants/default/users", nil).json(t, &users)
	if len(users.Items) != 0 {
		t.Errorf("%d users after deletion", len(users.Items))
	}
	_, _, console := plog.take()
	noCSPViolation(t, "account page", console)
}
