package e2e

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"github.com/pquerna/otp/totp"
	"golang.org/x/oauth2"
)

var (
	totpSecretRE = regexp.MustCompile(`id="totp-secret">([A-Z2-7]+)<`)
	factorIDRE   = regexp.MustCompile(`name="factor_id" value="([^"]+)"`)
)

// page fetches u in r's browser and answers the response and its body.
func (r *rp) page(method, u string, form url.Values) (*http.Response, string) {
	r.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, u, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := r.browser.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	return res, string(b)
}

// enrolTOTP signs r's browser in on the account page and enrols an
// authenticator app; it answers the secret.
func (r *rp) enrolTOTP(base, tenant, email, password string) string {
	r.t.Helper()
	acct := base + "/t/" + tenant + "/account"
	res, body := r.page("GET", acct+"/login", nil)
	res, body = r.submit(res, body, url.Values{"identifier": {email}, "password": {password}})
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "/account/mfa") {
		r.t.Fatalf("account sign-in: %d", res.StatusCode)
	}
	res, body = r.page("GET", acct+"/mfa", nil)
	csrf := hiddenRE.FindStringSubmatch(body)
	if res.StatusCode != http.StatusOK || csrf == nil {
		r.t.Fatalf("account mfa page: %d", res.StatusCode)
	}
	_, body = r.page("POST", acct+"/mfa/totp", url.Values{"csrf": {csrf[2]}, "name": {"phone"}, "current_password": {password}})
	sec, fid := totpSecretRE.FindStringSubmatch(body), factorIDRE.FindStringSubmatch(body)
	if sec == nil || fid == nil {
		r.t.Fatalf("enrolment page without a secret: %.300s", body)
	}
	code, _ := totp.GenerateCode(sec[1], time.Now())
	res, body = r.page("POST", acct+"/mfa/totp/confirm", url.Values{"csrf": {csrf[2]}, "factor_id": {fid[1]}, "code": {code}})
	if res.StatusCode != http.StatusOK || !strings.Contains(body, `id="recovery-codes"`) {
		r.t.Fatalf("confirm: %d", res.StatusCode)
	}
	return sec[1]
}

// claimsOf exchanges a code and answers the verified ID token's amr and acr.
func (r *rp) claimsOf(q url.Values, verifier string) (amr []string, acr string) {
	r.t.Helper()
	tok, err := r.conf.Exchange(context.Background(), q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		r.t.Fatalf("exchange: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := r.verifier.Verify(context.Background(), raw)
	if err != nil {
		r.t.Fatalf("verify: %v", err)
	}
	var c struct {
		AMR []string `json:"amr"`
		ACR string   `json:"acr"`
	}
	if err := idt.Claims(&c); err != nil {
		r.t.Fatal(err)
	}
	return c.AMR, c.ACR
}

// TestMFAStepUp: with the tenant's policy off, a user with an
// authenticator app logs in with a password alone (amr pwd, acr 1). A
// client then asking acr_values=mfa in that same session gets the code
// page, not the client; after the code, the new ID token says amr
// pwd+otp+mfa and acr mfa. A third request with acr_values=mfa rides the
// raised session without a prompt. Real client libraries, real binary.
func TestMFAStepUp(t *testing.T) {
	n, env, api := setupOIDC(t)
	const email, pw = "grace@example.com", "compiler cobol 1959"
	mkUser(api, map[string]any{"email": email, "password": pw, "email_verified": true})
	api.must(200, "PATCH", "/api/v1/tenants/default", map[string]any{"settings": map[string]any{"mfa": map[string]any{"policy": "off"}}})
	r := newRP(t, env, n.URL, "default")
	var disc struct {
		ACR []string `json:"acr_values_supported"`
	}
	if err := r.provider.Claims(&disc); err != nil || !slices.Contains(disc.ACR, "mfa") {
		t.Fatalf("discovery acr_values_supported %v: %v", disc.ACR, err)
	}
	secret := r.enrolTOTP(n.URL, "default", email, pw)

	// The account sign-in left a password-only session in this browser.
	v := oauth2.GenerateVerifier()
	q := r.authorize(r.conf.AuthCodeURL("st-1", oauth2.S256ChallengeOption(v), gooidc.Nonce("n-1")), "", "")
	if amr, acr := r.claimsOf(q, v); !slices.Equal(amr, []string{"pwd"}) || acr != "1" {
		t.Fatalf("password-only login: amr %v acr %q", amr, acr)
	}

	// Step-up: acr_values=mfa inside that session.
	v = oauth2.GenerateVerifier()
	u := r.conf.AuthCodeURL("st-2", oauth2.S256ChallengeOption(v), gooidc.Nonce("n-2"), oauth2.SetAuthURLParam("acr_values", "mfa"))
	res, body := r.page("GET", u, nil)
	if res.StatusCode != http.StatusOK || !strings.Contains(res.Request.URL.Path, "/login/mfa") || !strings.Contains(body, `autocomplete="one-time-code"`) {
		t.Fatalf("step-up did not ask for a code: %d at %s", res.StatusCode, res.Request.URL)
	}
	res, body = r.submit(res, body, url.Values{"code": {"000000"}})
	if res.StatusCode != http.StatusUnauthorized || !strings.Contains(body, `autocomplete="one-time-code"`) {
		t.Fatalf("wrong code: %d", res.StatusCode)
	}
	code, _ := totp.GenerateCode(secret, time.Now().Add(30*time.Second)) // the enrolment spent this step
	res, _ = r.submit(res, body, url.Values{"code": {code}})
	loc, err := url.Parse(res.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(loc.String(), r.redirect) || loc.Query().Get("state") != "st-2" {
		t.Fatalf("after the code: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	amr, acr := r.claimsOf(loc.Query(), v)
	if !slices.Contains(amr, "pwd") || !slices.Contains(amr, "otp") || !slices.Contains(amr, "mfa") || acr != "mfa" {
		t.Fatalf("stepped-up ID token: amr %v acr %q", amr, acr)
	}

	// The raised session satisfies the next acr_values=mfa without a prompt.
	v = oauth2.GenerateVerifier()
	q = r.authorize(r.conf.AuthCodeURL("st-3", oauth2.S256ChallengeOption(v), gooidc.Nonce("n-3"), oauth2.SetAuthURLParam("acr_values", "mfa")), "", "")
	if _, acr := r.claimsOf(q, v); acr != "mfa" {
		t.Fatalf("SSO after step-up: acr %q", acr)
	}
}
