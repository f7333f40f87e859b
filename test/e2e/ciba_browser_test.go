package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/gatehouse-id/gatehouse/test/mailpit"
)

// addAuthenticator enables WebAuthn in the browser and adds a virtual
// platform authenticator (CTAP 2.1, resident keys, user verification,
// presence simulated); it answers the authenticator's id.
func addAuthenticator(t *testing.T, bctx context.Context) webauthn.AuthenticatorID {
	t.Helper()
	if _, err := chromedp.Call(bctx, webauthn.Enable, webauthn.EnableParams{}); err != nil {
		t.Fatalf("WebAuthn.enable: %v", err)
	}
	auth, err := chromedp.Call(bctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
		Options: &webauthn.VirtualAuthenticatorOptions{Protocol: webauthn.AuthenticatorProtocolCtap2,
			Ctap2version: webauthn.Ctap2versionCtap21, Transport: webauthn.AuthenticatorTransportInternal,
			HasResidentKey: true, HasUserVerification: true, IsUserVerified: true, AutomaticPresenceSimulation: true}})
	if err != nil {
		t.Fatalf("addVirtualAuthenticator: %v", err)
	}
	return auth.AuthenticatorID
}

// idTokenAMR answers the amr and acr of a raw ID token (its signature is
// checked elsewhere).
func idTokenAMR(t *testing.T, raw string) ([]string, string) {
	t.Helper()
	_, payload, _ := jwtParts(t, raw)
	b, _ := base64.RawURLEncoding.DecodeString(payload)
	var claims struct {
		AMR []string `json:"amr"`
		ACR string   `json:"acr"`
	}
	if err := json.Unmarshal(b, &claims); err != nil {
		t.Fatalf("ID token payload: %v", err)
	}
	return claims.AMR, claims.ACR
}

// registerPasskey signs the browser in on the account page and registers
// a passkey with the virtual authenticator auth; it fails t unless the
// authenticator then holds one discoverable credential.
func registerPasskey(t *testing.T, bctx context.Context, auth webauthn.AuthenticatorID, base, email, password string) {
	t.Helper()
	if err := chromedp.Do(bctx,
		chromedp.Navigate(base+"/t/default/account/login"),
		chromedp.SendKeys(chromedp.CSS(`#identifier`), email),
		chromedp.SendKeys(chromedp.CSS(`#password`), password),
	); err != nil {
		t.Fatalf("account sign-in form: %v", err)
	}
	if _, err := chromedp.RunResponse(bctx, chromedp.Click(chromedp.CSS(`form button[type="submit"]`))); err != nil {
		t.Fatalf("account sign-in: %v", err)
	}
	if err := chromedp.Do(bctx,
		chromedp.Navigate(base+"/t/default/account/mfa"),
		chromedp.SendKeys(chromedp.CSS(`#passkey-name`), "Test key"),
		chromedp.SendKeys(chromedp.CSS(`#passkey-password`), password),
		chromedp.Click(chromedp.CSS(`#passkey-button`)),
	); err != nil {
		t.Fatalf("add a passkey: %v", err)
	}
	if st := passkeyState(t, bctx); st != "done" && !strings.HasPrefix(st, "gone:") {
		t.Fatalf("registration ended %q", st)
	}
	creds, err := chromedp.Call(bctx, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: auth})
	if err != nil || len(creds.Credentials) != 1 || !creds.Credentials[0].IsResidentCredential {
		t.Fatalf("authenticator holds %d credentials: %v", len(creds.Credentials), err)
	}
}

// TestBrowserCIBAPasskey: a user with a passkey approves a CIBA request in
// chromium: the mailed link (mailpit), the password, then the passkey
// asked by the approval's second-factor step (a virtual authenticator),
// the page with the binding message, Approve; the client's poll then gets
// an ID token whose amr says hwk.
func TestBrowserCIBAPasskey(t *testing.T) {
	exe := chromiumPath(t)
	mp := mailpit.Start(t)
	env := append(testEnv(t.TempDir(), "", testMasterKey), "GATEHOUSE_PUBLIC_URL=http://localhost:0",
		"GATEHOUSE_SMTP_HOST="+mp.SMTPHost, "GATEHOUSE_SMTP_PORT="+strconv.Itoa(mp.SMTPPort))
	n := start(t, env)
	base := strings.Replace(n.URL, "127.0.0.1", "localhost", 1)
	out, _, _ := cli(t, env, "apikey", "create", "--tenant", "default", "--scopes", "admin")
	e := &cibaEnv{t: t, n: n, env: env, api: &client{t: t, base: n.URL, token: lastLine(out)}, mp: mp,
		bcURL: n.URL + "/t/default/bc-authorize", tokenURL: n.URL + "/t/default/oauth/token"}
	const email, password = "ada@example.com", "analytical engine 1843"
	mkUser(e.api, map[string]any{"email": email, "password": password, "email_verified": true})
	id, secret := e.cibaClient("poll", "")

	ctx, cancel := context.WithTimeout(context.Background(), 2*browserTimeout)
	defer cancel()
	bctx := newBrowser(t, ctx, exe,
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost"))
	auth := addAuthenticator(t, bctx)
	registerPasskey(t, bctx, auth, base, email, password)
	presence := func(on bool) {
		t.Helper()
		if _, err := chromedp.Call(bctx, webauthn.SetAutomaticPresenceSimulation, webauthn.SetAutomaticPresenceSimulationParams{
			AuthenticatorID: auth, Enabled: on}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := chromedp.Call(bctx, network.ClearBrowserCookies, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}

	ar := e.authenticate(id, secret, url.Values{"scope": {"openid"}, "login_hint": {email},
		"binding_message": {"Terminal 7: 42.00 EUR"}})
	link := mailLink(t, mp.WaitFor(t, email, "Approve a sign-in", 30*time.Second), base+"/t/default/ciba?token=")
	// The login page's conditional passkey request stays unanswered: the
	// password goes first, and the passkey is asked by the second step.
	presence(false)
	if err := chromedp.Do(bctx,
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.CSS(`#password`)),
		chromedp.SendKeys(chromedp.CSS(`#password`), password),
	); err != nil {
		t.Fatalf("sign-in from the mailed link: %v", err)
	}
	res, err := chromedp.RunResponse(bctx, chromedp.Click(chromedp.CSS(`form button[type="submit"]`)))
	if err != nil || res.Status != http.StatusOK || !strings.Contains(res.URL, "/t/default/login/mfa?") {
		t.Fatalf("the password step ended at %v: %v\n%s", res, err, n.Logs())
	}
	presence(true)
	if err := chromedp.Do(bctx,
		chromedp.WaitVisible(chromedp.CSS(`#passkey-button`)), chromedp.Click(chromedp.CSS(`#passkey-button`)),
		chromedp.WaitVisible(chromedp.CSS(`#binding-message`)),
	); err != nil {
		t.Fatalf("passkey, then the approval page: %v", err)
	}
	if binding, err := chromedp.Run(bctx, chromedp.Evaluate[string](`document.querySelector('#binding-message').textContent`)); err != nil ||
		binding != "Terminal 7: 42.00 EUR" {
		t.Fatalf("binding message shown: %q %v", binding, err)
	}
	if _, err := chromedp.RunResponse(bctx, chromedp.Click(chromedp.CSS(`button[value="approve"]`))); err != nil {
		t.Fatalf("approve: %v", err)
	}
	if done, err := chromedp.Run(bctx, chromedp.Evaluate[string](`document.body.textContent`)); err != nil ||
		!strings.Contains(done, "Sign-in approved") {
		t.Fatalf("after approving: %v %.300q", err, done)
	}
	time.Sleep(100 * time.Millisecond)
	tok, code := e.poll(id, secret, ar.str("auth_req_id"))
	if code != "" {
		t.Fatalf("poll: %q", code)
	}
	if amr, _ := idTokenAMR(t, tok.Extra("id_token").(string)); !slices.Contains(amr, "hwk") || !slices.Contains(amr, "pwd") {
		t.Fatalf("ID token after the passkey: amr %v", amr)
	}
}
