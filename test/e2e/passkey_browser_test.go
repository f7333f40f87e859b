package e2e

import (
	"context"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
	gooidc "github.com/coreos/go-oidc/v3/oidc"
)

// passkeyState waits until the page's passkey block reports done or
// failed (the script sets data-state), or a navigation replaced it.
func passkeyState(t *testing.T, ctx context.Context) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		s, err := chromedp.Run(ctx, chromedp.Evaluate[string](
			`(function(){var b=document.querySelector('[data-passkey]');if(location.search.indexOf('done=')>=0)return 'done';return b?(b.getAttribute('data-state')||''):'gone:'+location.pathname})()`))
		if err == nil && s != "" {
			return s
		}
		time.Sleep(100 * time.Millisecond)
	}
	return "timeout"
}

// TestBrowserPasskeys: Chromium with a virtual authenticator (the DevTools
// WebAuthn domain) registers a passkey on the account page, then logs in
// passwordless (amr hwk, user, mfa), then with a password and the passkey
// as second factor (amr pwd, hwk, mfa); with the tenant requiring user
// verification, an assertion without the UV flag is refused by the server.
func TestBrowserPasskeys(t *testing.T) {
	exe := chromiumPath(t)
	// WebAuthn needs a domain as relying party id: the public URL names
	// localhost (the server still binds 127.0.0.1 only).
	dataDir := t.TempDir()
	env := append(testEnv(dataDir, "", testMasterKey), "GATEHOUSE_PUBLIC_URL=http://localhost:0")
	n := start(t, env)
	base := strings.Replace(n.URL, "127.0.0.1", "localhost", 1)
	out, _, _ := cli(t, env, "apikey", "create", "--tenant", "default", "--scopes", "admin")
	api := &client{t: t, base: n.URL, token: lastLine(out)}
	const email, password = "ada@example.com", "analytical engine 1843"
	var user struct {
		ID string `json:"id"`
	}
	api.must(201, "POST", "/api/v1/tenants/default/users", map[string]any{
		"email": email, "password": password, "email_verified": true}).json(t, &user)

	prov, err := gooidc.NewProvider(context.Background(), base+"/t/default")
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	cbs := newBrowserCallbacks(t)
	rp := newBrowserRP(t, env, prov, "Passkey App", cbs.srv.URL+"/cb")

	ctx, cancel := context.WithTimeout(context.Background(), 2*browserTimeout)
	defer cancel()
	bctx := newBrowser(t, ctx, exe,
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost"))
	var plog pageLog
	plog.listen(bctx, t)
	auth := addAuthenticator(t, bctx) // ciba_browser_test.go
	clearCookies := func() {
		t.Helper()
		if _, err := chromedp.Call(bctx, network.ClearBrowserCookies, cdp.Empty{}); err != nil {
			t.Fatal(err)
		}
	}

	// 1. Register a passkey on the account page (ciba_browser_test.go).
	registerPasskey(t, bctx, auth, base, email, password)
	var list struct {
		Factors []struct{ Kind, Name string } `json:"factors"`
	}
	api.must(200, "GET", "/api/v1/tenants/default/users/"+user.ID+"/factors", nil).json(t, &list)
	if len(list.Factors) != 1 || list.Factors[0].Kind != "webauthn" || list.Factors[0].Name != "Test key" {
		t.Fatalf("factors after registration: %+v", list.Factors)
	}
	_, _, console := plog.take()
	noCSPViolation(t, "account passkey", console)

	presence := func(on bool) {
		t.Helper()
		if _, err := chromedp.Call(bctx, webauthn.SetAutomaticPresenceSimulation, webauthn.SetAutomaticPresenceSimulationParams{
			AuthenticatorID: auth, Enabled: on}); err != nil {
			t.Fatal(err)
		}
	}

	// 2. Passwordless through conditional UI: the login page asks for a
	// discoverable credential with mediation "conditional" as it loads; the
	// virtual authenticator (simulating presence) answers it, nothing is
	// clicked or typed.
	clearCookies()
	a := rp.request()
	if err := chromedp.Do(bctx, chromedp.Navigate(a.URL)); err != nil {
		t.Fatalf("login page: %v", err)
	}
	q := cbs.wait(t, ctx, "/cb")
	_, c := rp.redeem(t, ctx, a, q.Get("code"))
	if c.Email != email || !slices.Contains(c.AMR, "hwk") || !slices.Contains(c.AMR, "user") || !slices.Contains(c.AMR, "mfa") || slices.Contains(c.AMR, "pwd") {
		t.Fatalf("passwordless claims %+v", c)
	}
	_, _, console = plog.take()
	noCSPViolation(t, "passwordless", console)

	// 3. Password, then the passkey as second factor (the button of the
	// second-factor page). The authenticator's presence is off on the login
	// page so its conditional request stays unanswered.
	clearCookies()
	presence(false)
	a = rp.request()
	if err := chromedp.Do(bctx,
		chromedp.Navigate(a.URL),
		chromedp.SendKeys(chromedp.CSS(`#identifier`), email),
		chromedp.SendKeys(chromedp.CSS(`#password`), password),
	); err != nil {
		t.Fatalf("login form: %v", err)
	}
	res, err := chromedp.RunResponse(bctx, chromedp.Click(chromedp.CSS(`form button[type="submit"]`)))
	if err != nil || res.Status != http.StatusOK || !strings.Contains(res.URL, "/t/default/login/mfa?") {
		t.Fatalf("password step ended at %v: %v", res, err)
	}
	presence(true)
	if err := chromedp.Do(bctx, chromedp.WaitVisible(chromedp.CSS(`#passkey-button`)), chromedp.Click(chromedp.CSS(`#passkey-button`))); err != nil {
		t.Fatalf("second-factor passkey button: %v", err)
	}
	q = cbs.wait(t, ctx, "/cb")
	_, c = rp.redeem(t, ctx, a, q.Get("code"))
	if !slices.Contains(c.AMR, "pwd") || !slices.Contains(c.AMR, "hwk") || !slices.Contains(c.AMR, "mfa") {
		t.Fatalf("password + passkey claims %+v", c)
	}

	// 4. The tenant requires user verification; an assertion whose UV flag
	// is clear (the override bits) is refused by the server.
	api.must(200, "PATCH", "/api/v1/tenants/default", map[string]any{"settings": map[string]any{
		"mfa": map[string]any{"policy": "optional", "require_user_verification": true}}})
	time.Sleep(2100 * time.Millisecond) // pages trust a resolved tenant for 2 s (tenancy slugTTL)
	badUV := true
	if _, err := chromedp.Call(bctx, webauthn.SetResponseOverrideBits, webauthn.SetResponseOverrideBitsParams{
		AuthenticatorID: auth, IsBadUV: &badUV}); err != nil {
		t.Fatalf("setResponseOverrideBits: %v", err)
	}
	clearCookies()
	presence(false)
	a = rp.request()
	if err := chromedp.Do(bctx, chromedp.Navigate(a.URL), chromedp.WaitVisible(chromedp.CSS(`#passkey-button`))); err != nil {
		t.Fatalf("login page (UV required): %v", err)
	}
	presence(true)
	if err := chromedp.Do(bctx, chromedp.Click(chromedp.CSS(`#passkey-button`))); err != nil {
		t.Fatalf("passkey button (UV required): %v", err)
	}
	if st := passkeyState(t, bctx); st != "failed" {
		t.Fatalf("assertion without user verification ended %q, want failed", st)
	}
	shown, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`!document.getElementById('passkey-error').hidden`))
	if err != nil || !shown {
		t.Fatalf("no error shown for the refused passkey: %v", err)
	}
	select {
	case h := <-cbs.hits:
		t.Fatalf("the client was reached without user verification: %v", h.query)
	default:
	}
	loc, _ := chromedp.Run(bctx, chromedp.Evaluate[string](`location.pathname`))
	if loc != "/t/default/login" {
		t.Fatalf("after the refused passkey the browser is at %s", loc)
	}

	// 5. A signature counter that goes backwards (a cloned authenticator):
	// the stored counter is raised past the authenticator's; the next
	// assertion is refused and audited.
	badUV = false
	if _, err := chromedp.Call(bctx, webauthn.SetResponseOverrideBits, webauthn.SetResponseOverrideBitsParams{
		AuthenticatorID: auth, IsBadUV: &badUV}); err != nil {
		t.Fatal(err)
	}
	db, err := openSQLite(filepath.Join(dataDir, "gatehouse.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`UPDATE mfa_factors SET sign_count = 1000000 WHERE kind = 'webauthn'`); err != nil {
		t.Fatal(err)
	}
	clearCookies()
	presence(false)
	a = rp.request()
	if err := chromedp.Do(bctx, chromedp.Navigate(a.URL), chromedp.WaitVisible(chromedp.CSS(`#passkey-button`))); err != nil {
		t.Fatalf("login page (counter): %v", err)
	}
	presence(true)
	if err := chromedp.Do(bctx, chromedp.Click(chromedp.CSS(`#passkey-button`))); err != nil {
		t.Fatal(err)
	}
	if st := passkeyState(t, bctx); st != "failed" {
		t.Fatalf("assertion with a counter regression ended %q, want failed", st)
	}
	var audit struct {
		Items []struct {
			Action string `json:"action"`
			Target struct {
				ID string `json:"id"`
			} `json:"target"`
		} `json:"items"`
	}
	api.must(200, "GET", "/api/v1/tenants/default/audit?action=mfa.passkey.counter_regression", nil).json(t, &audit)
	if len(audit.Items) != 1 || audit.Items[0].Target.ID != user.ID {
		t.Fatalf("counter regression audit: %+v", audit.Items)
	}
}
