package server

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// refreshError refreshes tok, keeping the rotated refresh token in it,
// and answers the OAuth error code ("" when the refresh succeeded).
func refreshError(t *testing.T, conf *oauth2.Config, tok *oauth2.Token) string {
	t.Helper()
	next, err := conf.TokenSource(context.Background(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if err == nil {
		*tok = *next
		return ""
	}
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		t.Fatalf("refresh: %v", err)
	}
	return re.ErrorCode
}

// TestRefreshRechecksPolicy: a refresh applies the user's status and the
// MFA policy as they are now. Tightening the device client's policy to
// required after a password-only grant was issued makes its refresh
// invalid_grant (the client signs the user in again), unless a remembered
// device let that login through and the user still has one; a disabled
// user's refresh is invalid_grant.
func TestRefreshRechecksPolicy(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ta := newTestApp(t, be)
		ctx := context.Background()
		tn := ta.tenant("acme")
		tv, conf := deviceTV(t, ta, tn)
		const pw = "correct horse battery"
		ada := ta.userWithPassword(tn.ID, "ada@example.com", pw)
		setPolicy := func(p string) {
			t.Helper()
			if r := ta.do(request{method: http.MethodPatch, path: "/api/v1/tenants/acme", auth: "Bearer " + ta.key(tn.ID, "admin"),
				body: map[string]any{"settings": map[string]any{"mfa": map[string]any{"policy": "off",
					"clients": map[string]any{tv.ID: p}}}}}); r.status != http.StatusOK {
				t.Fatalf("patch settings: %s", r)
			}
		}
		setPolicy("off")
		b := ta.browser()
		b.signIn("acme", "ada@example.com", pw)
		// Ada has an authenticator app; the policy asks for nothing yet.
		en, err := ta.MFA.EnrolTOTP(ctx, tn.ID, ada.ID, "phone", "acme", "ada@example.com")
		if err != nil {
			t.Fatal(err)
		}
		code, _ := totp.GenerateCode(en.Secret, time.Now())
		if _, err := ta.MFA.ConfirmTOTP(ctx, testActor, tn.ID, ada.ID, en.FactorID, code); err != nil {
			t.Fatal(err)
		}
		tok := deviceToken(t, b, conf)
		if e := refreshError(t, conf, tok); e != "" {
			t.Fatalf("refresh under policy off: %s", e)
		}

		setPolicy("required")
		if e := refreshError(t, conf, tok); e != "invalid_grant" {
			t.Errorf("refresh of a password-only grant under a required policy: %q, want invalid_grant", e)
		}
		// The same grant let in by a remembered device still meets it, as
		// the login would (checked at the flow, where the refresh asks).
		u, err := ta.Directory.GetUser(ctx, tn.ID, ada.ID)
		if err != nil {
			t.Fatal(err)
		}
		fl := &flow.Service{Store: ta.DB, Directory: ta.Directory, Sessions: ta.Sessions, MFA: ta.MFA, Now: time.Now}
		tnNow := func() *store.Tenant { // with the policy as set above
			t.Helper()
			x, err := ta.DB.Tenants().GetTenant(ctx, tn.ID)
			if err != nil {
				t.Fatal(err)
			}
			return x
		}
		if err := fl.GrantMeetsPolicy(ctx, tnNow(), u, tv.ID, []string{"pwd"}); !errors.Is(err, flow.ErrStepUpRequired) {
			t.Errorf("password-only grant: %v", err)
		}
		if err := fl.GrantMeetsPolicy(ctx, tnNow(), u, tv.ID, []string{"pwd", "otp", "mfa"}); err != nil {
			t.Errorf("MFA grant: %v", err)
		}
		if _, err := fl.RememberDevice(ctx, tn.ID, ada.ID, 30); err != nil {
			t.Fatal(err)
		}
		if err := fl.GrantMeetsPolicy(ctx, tnNow(), u, tv.ID, []string{"pwd"}); err != nil {
			t.Errorf("password-only grant with a remembered device: %v", err)
		}

		// Back to off: a new grant refreshes; disabling Ada ends it.
		setPolicy("off")
		tok = deviceToken(t, b, conf)
		if e := refreshError(t, conf, tok); e != "" {
			t.Fatalf("refresh under policy off: %s", e)
		}
		disabled := string(store.UserDisabled)
		if r := ta.do(request{method: http.MethodPatch, path: "/api/v1/tenants/acme/users/" + ada.ID,
			auth: "Bearer " + ta.key(tn.ID, "admin"), body: map[string]any{"status": disabled}}); r.status != http.StatusOK {
			t.Fatalf("disable: %s", r)
		}
		if e := refreshError(t, conf, tok); e != "invalid_grant" {
			t.Errorf("refresh of a disabled user's grant: %q", e)
		}
		if strings.Contains(ta.logs.String(), tok.RefreshToken) {
			t.Error("a refresh token is in the log")
		}
	})
}
