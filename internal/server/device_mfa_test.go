package server

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/gatehouse-id/gatehouse/internal/oauthclient"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

const deviceGrantType = "urn:ietf:params:oauth:grant-type:device_code"

// deviceStart asks for a device authorization of the public client id and
// answers its device code and user code.
func deviceStart(t *testing.T, ta *testApp, clientID string) (string, string) {
	t.Helper()
	res, err := http.PostForm(ta.srv.URL+"/t/acme/device_authorization", url.Values{"client_id": {clientID}, "scope": {"openid"}})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var da struct {
		DeviceCode string `json:"device_code"`
		UserCode   string `json:"user_code"`
	}
	if err := json.NewDecoder(res.Body).Decode(&da); err != nil || res.StatusCode != http.StatusOK || da.UserCode == "" {
		t.Fatalf("device authorization: %d %v", res.StatusCode, err)
	}
	return da.DeviceCode, da.UserCode
}

// deviceState answers the stored state of the device authorization.
func deviceState(t *testing.T, ta *testApp, tn *store.Tenant, userCode string) *store.DeviceCode {
	t.Helper()
	d, err := ta.DB.OAuth().DeviceCodes().GetByUserCode(context.Background(), tn.ID, strings.ReplaceAll(userCode, "-", ""))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// approveDevice posts the approval of userCode from b.
func approveDevice(b *browserClient, userCode string) page {
	tok := b.csrf("/t/acme/device")
	return b.post("/t/acme/device", form("csrf", tok, "user_code", userCode, "action", "approve"))
}

// TestDeviceApprovalHonoursMFAPolicy: approving a device
// code with an existing browser session goes through the device client's
// MFA policy. A password-only session cannot approve; it is sent to the
// second-factor step and back, and the device's tokens then carry
// amr mfa. A user with no factor enrolled sees a refusal and the device
// code stays pending.
func TestDeviceApprovalHonoursMFAPolicy(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ta := newTestApp(t, be)
		tn := ta.tenant("acme")
		tv, _, err := ta.Clients.CreateClient(context.Background(), testActor, tn.ID, oauthclient.NewClient{
			Name: "Living Room TV", Public: true, GrantTypes: []string{deviceGrantType}})
		if err != nil {
			t.Fatal(err)
		}
		if r := ta.do(request{method: http.MethodPatch, path: "/api/v1/tenants/" + string(tn.ID), auth: "Bearer " + ta.key(tn.ID, "admin"),
			body: map[string]any{"settings": map[string]any{"mfa": map[string]any{"policy": "off",
				"clients": map[string]any{tv.ID: "required"}}}}}); r.status != http.StatusOK {
			t.Fatalf("patch settings: %d %s", r.status, r.body)
		}
		const pw = "correct horse battery"
		ta.userWithPassword(tn.ID, "ada@example.com", pw)
		b := ta.browser()
		b.signIn("acme", "ada@example.com", pw) // amr pwd only (policy off for the account page)
		secret, _ := enrolTOTP(t, b, "acme")

		deviceCode, userCode := deviceStart(t, ta, tv.ID)
		// The password-only session is sent to the second factor, not to
		// the confirmation.
		p := b.get("/t/acme/device?user_code=" + url.QueryEscape(userCode))
		if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location(), "/t/acme/login/mfa?id=") {
			t.Fatalf("device page with a password-only session: %d %q", p.status, p.location())
		}
		// Posting the approval directly approves nothing either (and
		// starts a new second-factor step, whose ticket replaces the first).
		p = approveDevice(b, userCode)
		if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location(), "/t/acme/login/mfa?id=") {
			t.Fatalf("approval with a password-only session: %d %q", p.status, p.location())
		}
		mfaURL := p.location()
		if d := deviceState(t, ta, tn, userCode); d.State != "pending" || d.UserID != "" {
			t.Fatalf("after a password-only approval: state %q user %q", d.State, d.UserID)
		}

		// The second factor, then back to the device page and approve.
		id := strings.TrimPrefix(mfaURL, "/t/acme/login/mfa?id=")
		code, _ := totp.GenerateCode(secret, time.Now().Add(30*time.Second))
		p = codeStep(t, b, "acme", id, code)
		if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location(), "/t/acme/device?user_code=") {
			t.Fatalf("code step: %d %q", p.status, p.location())
		}
		if p := b.get(strings.TrimPrefix(p.location(), "http://127.0.0.1")); p.status != http.StatusOK || !strings.Contains(p.body, `value="approve"`) {
			t.Fatalf("device page after the second factor: %d", p.status)
		}
		if p := approveDevice(b, userCode); p.status != http.StatusOK {
			t.Fatalf("approval after the second factor: %d %q", p.status, p.location())
		}
		d := deviceState(t, ta, tn, userCode)
		if d.State != "approved" || !slices.Contains(d.AMR, "mfa") {
			t.Fatalf("after approval: state %q amr %v", d.State, d.AMR)
		}
		res, err := http.PostForm(ta.srv.URL+"/t/acme/oauth/token", url.Values{"grant_type": {deviceGrantType},
			"device_code": {deviceCode}, "client_id": {tv.ID}})
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var tok struct {
			IDToken string `json:"id_token"`
		}
		if err := json.NewDecoder(res.Body).Decode(&tok); err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("token: %d %v", res.StatusCode, err)
		}
		parts := strings.Split(tok.IDToken, ".")
		var claims struct {
			AMR []string `json:"amr"`
		}
		if len(parts) != 3 {
			t.Fatalf("id_token %q", tok.IDToken)
		}
		raw, err := base64.RawURLEncoding.DecodeString(parts[1])
		if err != nil || json.Unmarshal(raw, &claims) != nil || !slices.Contains(claims.AMR, "mfa") {
			t.Fatalf("id_token amr %v (%v)", claims.AMR, err)
		}

		// No factor enrolled: a clear refusal, and the code stays pending.
		ta.userWithPassword(tn.ID, "bob@example.com", pw)
		bob := ta.browser()
		bob.signIn("acme", "bob@example.com", pw)
		_, userCode2 := deviceStart(t, ta, tv.ID)
		for _, p := range []page{bob.get("/t/acme/device?user_code=" + url.QueryEscape(userCode2)), approveDevice(bob, userCode2)} {
			if p.status != http.StatusForbidden || !strings.Contains(p.body, "second factor") {
				t.Fatalf("device page without a factor: %d", p.status)
			}
		}
		if d := deviceState(t, ta, tn, userCode2); d.State != "pending" || d.UserID != "" {
			t.Fatalf("after a refused approval: state %q user %q", d.State, d.UserID)
		}
		// Denying needs no second factor.
		bobTok := bob.csrf("/t/acme/device")
		if p := bob.post("/t/acme/device", form("csrf", bobTok, "user_code", userCode2, "action", "deny")); p.status != http.StatusOK {
			t.Fatalf("deny without a factor: %d", p.status)
		}
		if d := deviceState(t, ta, tn, userCode2); d.State != "denied" || d.UserID != "" {
			t.Fatalf("after a denial: state %q user %q", d.State, d.UserID)
		}
	})
}
