package e2e

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse-id/gatehouse/test/mailpit"
)

// deviceSignIn signs a second device (a plain HTTP client with its own
// cookies) in on the account page; it answers the client, the final
// status and the page.
func deviceSignIn(t *testing.T, base, email, password string) (*http.Client, int, string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 15 * time.Second}
	res, err := c.Get(base + "/t/default/account/login")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	var csrf string
	u, _ := url.Parse(base)
	for _, ck := range jar.Cookies(u) {
		if ck.Name == "gh_csrf" {
			csrf = ck.Value
		}
	}
	res, err = c.PostForm(base+"/t/default/account/login", url.Values{"csrf": {csrf}, "identifier": {email}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return c, res.StatusCode, string(body)
}

// onAccountPage reports whether the device's session still opens the
// account page (else it is sent to sign in).
func onAccountPage(t *testing.T, c *http.Client, base string) bool {
	t.Helper()
	res, err := c.Get(base + "/t/default/account")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode == http.StatusOK && res.Request.URL.Path == "/t/default/account"
}

var mailCodeRE = regexp.MustCompile(`\b[0-9]{6}\b`)

// mailLink is the first link to base in a mail's text.
func mailLink(t *testing.T, m mailpit.Message, base string) string {
	t.Helper()
	for _, f := range strings.Fields(m.Text) {
		if strings.HasPrefix(f, base) {
			return f
		}
	}
	t.Fatalf("no link to %s in %q", base, m.Text)
	return ""
}

// TestBrowserSelfServiceJourney is the self-service journey in chromium against
// the real binary and a real SMTP server (mailpit): sign up -> read the
// mail -> verify -> log in -> change the password -> reset it by mail ->
// the other device's session is gone -> delete the account -> login fails.
func TestBrowserSelfServiceJourney(t *testing.T) {
	exe := chromiumPath(t)
	mp := mailpit.Start(t)
	env := append(testEnv(t.TempDir(), "", testMasterKey),
		"GATEHOUSE_SMTP_HOST="+mp.SMTPHost, "GATEHOUSE_SMTP_PORT="+strconv.Itoa(mp.SMTPPort),
		"GATEHOUSE_SMTP_FROM=Acme Identity <id@acme.example>")
	n := start(t, env)
	out, _, _ := cli(t, env, "apikey", "create", "--tenant", "default", "--scopes", "admin")
	api := &client{t: t, base: n.URL, token: lastLine(out)}
	api.must(200, "PATCH", "/api/v1/tenants/default", map[string]any{"settings": map[string]any{
		"self_service": map[string]any{"signup": "open", "require_verified_email": true,
			"terms_url": "https://acme.example/terms", "terms_version": "2026-11",
			"privacy_url": "https://acme.example/privacy", "privacy_version": "3"}}})
	const email = "mary.jackson@example.com"
	const pw1, pw2, pw3 = "wind tunnel 1958 hampton", "supersonic flow studies", "boundary layer research"

	ctx, cancel := context.WithTimeout(context.Background(), 3*browserTimeout)
	defer cancel()
	bctx := newBrowser(t, ctx, exe)
	var plog pageLog
	plog.listen(bctx, t)
	run := func(step string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(bctx, actions...); err != nil {
			t.Fatalf("%s: %v\n%s", step, err, n.Logs())
		}
	}
	text := func() string {
		t.Helper()
		s, err := chromedp.Run(bctx, chromedp.Text("main"))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	submit := func(step, form string) {
		t.Helper()
		if _, err := chromedp.RunResponse(bctx, chromedp.Click(chromedp.CSS(form+` button[type="submit"]`))); err != nil {
			t.Fatalf("%s: %v\n%s", step, err, n.Logs())
		}
		_, _, console := plog.take()
		noCSPViolation(t, step, console)
	}

	// 1. Sign up. The policy shows as the user types (the page's script
	// runs under the strict CSP), the terms must be accepted.
	run("sign-up page", chromedp.Navigate(n.URL+"/t/default/signup"))
	if _, err := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelectorAll('input[autocomplete="email"], input[autocomplete="new-password"]').length`)); err != nil {
		t.Fatal(err)
	}
	run("type", chromedp.SendKeys(chromedp.CSS(`input[autocomplete="email"]`), email),
		chromedp.SendKeys(chromedp.CSS(`input[autocomplete="new-password"]`), "short"))
	rule := func(r string) string {
		s, _ := chromedp.Run(bctx, chromedp.Evaluate[string](`document.querySelector('[data-rule="`+r+`"]').className`))
		return s
	}
	if rule("min") != "todo" {
		t.Fatalf("a 5-character password shows the length rule as %q", rule("min"))
	}
	run("type more", chromedp.SendKeys(chromedp.CSS(`input[autocomplete="new-password"]`), " "+pw1))
	if rule("min") != "ok" || rule("identifier") != "ok" {
		t.Fatalf("rules after a good password: min %q, identifier %q", rule("min"), rule("identifier"))
	}
	clear := func(sel string) {
		t.Helper()
		if _, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`(e => (e.value = '', true))(document.querySelector('`+sel+`'))`)); err != nil {
			t.Fatal(err)
		}
	}
	clear("#password")
	run("retype", chromedp.SendKeys(chromedp.CSS(`#password`), pw1))
	_, _, console := plog.take()
	noCSPViolation(t, "sign-up page", console)
	// Without accepting the terms: refused, and the server says why.
	submit("sign-up without terms", "form")
	if !strings.Contains(text(), "Accept the terms of service") {
		t.Fatalf("sign-up without accepting: %q", text())
	}
	run("retype", chromedp.SendKeys(chromedp.CSS(`#password`), pw1), chromedp.Click(chromedp.CSS(`#accept`)))
	submit("sign-up", "form")
	if page := text(); !strings.Contains(page, "We sent a link and a 6-digit code to "+email) {
		t.Fatalf("after sign-up: %q", page)
	}

	// 2. The mail, through real SMTP.
	verify := mp.WaitFor(t, email, "Verify your email", 30*time.Second)
	code := mailCodeRE.FindString(verify.Text)
	link := mailLink(t, verify, n.URL+"/t/default/verify?token=gh_ml_")
	if code == "" || !strings.Contains(verify.HTML, link) {
		t.Fatalf("verification mail: %q", verify.Text)
	}

	// Unverified: the password is right, but this tenant wants a verified email.
	_, status, page := deviceSignIn(t, n.URL, email, pw1)
	if status != http.StatusForbidden || !strings.Contains(page, "Verify your email address first") {
		t.Fatalf("unverified sign-in: %d", status)
	}
	// ... and a fresh link is on its way; the first code still works.
	again := mp.WaitFor(t, email, "Verify your email", 30*time.Second, verify.ID)
	if mailCodeRE.FindString(again.Text) == "" {
		t.Fatalf("second verification mail: %q", again.Text)
	}

	// 3. Verify with the code.
	run("code", chromedp.SendKeys(chromedp.CSS(`input[autocomplete="one-time-code"]`), code))
	submit("verify", "form")
	if !strings.Contains(text(), "Your email address is verified") {
		t.Fatalf("after the code: %q", text())
	}

	// 4. Log in on the account page.
	signIn := func(step, password string) {
		t.Helper()
		run(step, chromedp.Navigate(n.URL+"/t/default/account"),
			chromedp.SendKeys(chromedp.CSS(`input[autocomplete~="username"]`), email),
			chromedp.SendKeys(chromedp.CSS(`input[autocomplete="current-password"]`), password))
		submit(step, "form")
		if loc, _ := chromedp.Run(bctx, chromedp.Location()); !strings.Contains(loc, "/t/default/account") || strings.Contains(loc, "/login") {
			t.Fatalf("%s ended at %s: %q", step, loc, text())
		}
	}
	signIn("log in", pw1)

	// 5. Change the password on the account page.
	run("change password", chromedp.SendKeys(chromedp.CSS(`#current_password`), pw1),
		chromedp.SendKeys(chromedp.CSS(`#new_password`), pw2))
	submit("change password", `form[action$="/account/password"]`)
	phone, status, _ := deviceSignIn(t, n.URL, email, pw2)
	if status != http.StatusOK || !onAccountPage(t, phone, n.URL) {
		t.Fatalf("the other device cannot sign in with the changed password (%d)", status)
	}

	// 6. Forgotten password: the reset mail, its link, a new password.
	run("forgot", chromedp.Navigate(n.URL+"/t/default/password/forgot"),
		chromedp.SendKeys(chromedp.CSS(`input[autocomplete="email"]`), email))
	submit("forgot", "form")
	if !strings.Contains(text(), "If an account uses "+email) {
		t.Fatalf("after asking for a reset: %q", text())
	}
	reset := mp.WaitFor(t, email, "Reset your", 30*time.Second, verify.ID, again.ID)
	run("reset link", chromedp.Navigate(mailLink(t, reset, n.URL+"/t/default/password/reset?token=gh_ml_")),
		chromedp.SendKeys(chromedp.CSS(`input[autocomplete="new-password"]`), pw3))
	submit("reset", "form")
	if !strings.Contains(text(), "Your password is changed") {
		t.Fatalf("after the reset: %q", text())
	}

	// 7. The other device's session is gone.
	if onAccountPage(t, phone, n.URL) {
		t.Fatal("the other device is still signed in after the reset")
	}

	// 8. Delete the account (after re-entering the password).
	signIn("log in after the reset", pw3)
	run("delete", chromedp.SendKeys(chromedp.CSS(`#delete_password`), pw3))
	if _, err := chromedp.RunResponse(bctx, chromedp.Click(chromedp.CSS(`button.danger`))); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if !strings.Contains(text(), "Your account has been deleted") {
		t.Fatalf("after deleting: %q", text())
	}

	// 9. Login fails.
	if _, status, page := deviceSignIn(t, n.URL, email, pw3); status != http.StatusUnauthorized || !strings.Contains(page, "Incorrect email") {
		t.Fatalf("sign-in after deletion: %d", status)
	}
	if logs := n.Logs(); strings.Contains(logs, pw1) || strings.Contains(logs, pw3) || strings.Contains(logs, code) && strings.Contains(logs, "code") {
		t.Error("a password or the code reached the log")
	}
}
