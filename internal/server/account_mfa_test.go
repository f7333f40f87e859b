package server

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// confirmedFactors counts the user's confirmed factors in the store.
func (ta *testApp) confirmedFactors(tenant store.TenantID, userID string) int {
	ta.t.Helper()
	fs, err := ta.DB.MFA().Factors().ListFactors(context.Background(), tenant, userID)
	if err != nil {
		ta.t.Fatal(err)
	}
	n := 0
	for _, f := range fs {
		if f.Confirmed {
			n++
		}
	}
	return n
}

// mfaSettings sets the tenant's mfa settings through the API.
func (ta *testApp) mfaSettings(tn *store.Tenant, settings map[string]any) {
	ta.t.Helper()
	if r := ta.do(request{method: http.MethodPatch, path: "/api/v1/tenants/" + string(tn.ID), auth: "Bearer " + ta.key(tn.ID, "admin"),
		body: map[string]any{"settings": map[string]any{"mfa": settings}}}); r.status != http.StatusOK {
		ta.t.Fatalf("patch mfa settings: %d %s", r.status, r.body)
	}
}

// TestAccountMFANotBypassedByPassword: with the tenant's MFA policy off and
// one client requiring it, someone who knows only the password of a user
// with an authenticator app cannot get in at that client by way of the
// account page. The account sign-in asks for the second factor (no
// session from the password alone); a password-only session from another
// client's login can neither remove the factor nor add one, not even with
// the password re-entered; so the protected client still asks for a code
// the attacker does not have. The owner, with a code, still can.
func TestAccountMFANotBypassedByPassword(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ta := newTestApp(t, be)
		tn := ta.tenant("acme")
		protected, other := ta.client(tn.ID, "payroll"), ta.client(tn.ID, "wiki")
		ta.mfaSettings(tn, map[string]any{"policy": "off", "clients": map[string]any{protected.ID: "required"}})
		const email, pw = "ada@example.com", "correct horse battery"
		u := ta.userWithPassword(tn.ID, email, pw)
		owner := ta.browser()
		owner.signIn("acme", email, pw)
		secret, recovery := enrolTOTP(t, owner, "acme")

		// 1. The account page's sign-in with the password alone.
		atk := ta.browser()
		tok := atk.csrf("/t/acme/account/login")
		p := atk.post("/t/acme/account/login", form("csrf", tok, "identifier", email, "password", pw))
		if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location(), "/t/acme/account/login/mfa") || hasSessionCookie(p) {
			t.Fatalf("account sign-in with the password alone: %d %q (session cookie %v)", p.status, p.location(), hasSessionCookie(p))
		}
		if p := atk.get("/t/acme/account/mfa"); p.status != http.StatusFound {
			t.Fatalf("factors page after the password alone: %d", p.status)
		}

		// 2. A password-only session from the unprotected client's login.
		id := ta.authRequest(tn, other)
		if p := passwordStep(t, atk, "acme", id, email, pw); p.status != http.StatusSeeOther || !hasSessionCookie(p) {
			t.Fatalf("login at the unprotected client: %d %q", p.status, p.location())
		}
		page := atk.get("/t/acme/account/mfa")
		fid := factorIDRE.FindStringSubmatch(page.body)
		if page.status != http.StatusOK || fid == nil || !strings.Contains(page.body, `name="current_code"`) || strings.Contains(page.body, `name="current_password"`) {
			t.Fatalf("factors page of a password-only session: %d, asks for a code %v", page.status, strings.Contains(page.body, `name="current_code"`))
		}
		tok = csrfRE.FindStringSubmatch(page.body)[1]
		for _, c := range []struct{ path, field, value string }{
			{"/mfa/remove", "", ""},
			{"/mfa/remove", "current_password", pw},
			{"/mfa/remove", "current_code", "000000"},
			{"/mfa/totp", "current_password", pw},
			{"/mfa/recovery", "current_password", pw},
			{"/mfa/passkey/begin", "current_password", pw},
		} {
			f := form("csrf", tok, "factor_id", fid[1], "name", "attacker")
			if c.field != "" {
				f.Set(c.field, c.value)
			}
			p := atk.post("/t/acme/account"+c.path, f)
			if p.status != http.StatusForbidden || strings.Contains(p.body, `id="totp-secret"`) || strings.Contains(p.body, `id="recovery-codes"`) {
				t.Fatalf("POST %s with %s from a password-only session: %d", c.path, c.field, p.status)
			}
		}
		if n := ta.confirmedFactors(tn.ID, u.ID); n != 1 {
			t.Fatalf("after the attempts the user has %d confirmed factors", n)
		}

		// 3. The protected client still asks for the code.
		id = ta.authRequestPrompt(tn, protected, []string{"login"})
		if p := passwordStep(t, atk, "acme", id, email, pw); p.status != http.StatusSeeOther || !strings.HasPrefix(p.location(), "/t/acme/login/mfa") {
			t.Fatalf("protected client after the attempts: %d %q", p.status, p.location())
		}
		if ar, err := ta.DB.OAuth().AuthRequests().GetAuthRequest(context.Background(), tn.ID, id); err != nil || ar.Done {
			t.Fatalf("protected client's request done %v (%v)", ar != nil && ar.Done, err)
		}

		// A sign-in with the second factor (a recovery code) just now needs
		// nothing more.
		fresh := ta.browser()
		tok = fresh.csrf("/t/acme/account/login")
		fresh.post("/t/acme/account/login", form("csrf", tok, "identifier", email, "password", pw))
		tok = fresh.csrf("/t/acme/account/login/mfa")
		if p := fresh.post("/t/acme/account/login/mfa", form("csrf", tok, "code", recovery[1])); p.status != http.StatusSeeOther || !hasSessionCookie(p) {
			t.Fatalf("account sign-in with the code: %d %q", p.status, p.location())
		}
		page = fresh.get("/t/acme/account/mfa")
		if strings.Contains(page.body, `name="current_code"`) || strings.Contains(page.body, `name="current_password"`) {
			t.Fatal("the factors page asks a fresh second-factor sign-in for more proof")
		}
		tok = csrfRE.FindStringSubmatch(page.body)[1]
		p = fresh.post("/t/acme/account/mfa/recovery", form("csrf", tok))
		newCodes := recoveryRE.FindAllStringSubmatch(p.body, -1)
		if p.status != http.StatusOK || len(newCodes) != 10 {
			t.Fatalf("regenerate after a fresh second-factor sign-in: %d", p.status)
		}

		// The owner's password-only session changes factors with a code:
		// a recovery code regenerates the codes, the app's code removes it.
		page = owner.get("/t/acme/account/mfa")
		tok = csrfRE.FindStringSubmatch(page.body)[1]
		if p := owner.post("/t/acme/account/mfa/recovery", form("csrf", tok, "current_code", newCodes[0][1])); p.status != http.StatusOK || !strings.Contains(p.body, `id="recovery-codes"`) {
			t.Fatalf("regenerate with a recovery code: %d", p.status)
		}
		code, _ := totp.GenerateCode(secret, time.Now().Add(30*time.Second))
		if p := owner.post("/t/acme/account/mfa/remove", form("csrf", tok, "factor_id", fid[1], "current_code", code)); p.status != http.StatusSeeOther {
			t.Fatalf("remove with the current code: %d", p.status)
		}
		if n := ta.confirmedFactors(tn.ID, u.ID); n != 0 {
			t.Fatalf("after removal with a code the user has %d confirmed factors", n)
		}
	})
}

// TestAccountFirstFactorNeedsPassword: a session cookie alone, however
// fresh its sign-in, does not add a first factor; the current password
// posted with the form does.
func TestAccountFirstFactorNeedsPassword(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ta := newTestApp(t, be)
		tn := ta.tenant("acme")
		const email, pw = "ada@example.com", "correct horse battery"
		u := ta.userWithPassword(tn.ID, email, pw)
		b := ta.browser()
		b.signIn("acme", email, pw)
		page := b.get("/t/acme/account/mfa")
		if !strings.Contains(page.body, `name="current_password"`) {
			t.Fatalf("factors page of a user without a factor: %d, no password field", page.status)
		}
		tok := csrfRE.FindStringSubmatch(page.body)[1]
		for _, f := range [][]string{{"name", "x"}, {"name", "x", "current_password", "wrong password here"}} {
			p := b.post("/t/acme/account/mfa/totp", form(append([]string{"csrf", tok}, f...)...))
			if p.status != http.StatusForbidden || strings.Contains(p.body, `id="totp-secret"`) {
				t.Fatalf("first enrolment with %v right after signing in: %d", f, p.status)
			}
		}
		if fs, err := ta.DB.MFA().Factors().ListFactors(context.Background(), tn.ID, u.ID); err != nil || len(fs) != 0 {
			t.Fatalf("factors after refused enrolments: %d (%v)", len(fs), err)
		}
		enrolTOTP(t, b, "acme") // with the password
	})
}

// TestAccountEmailChangeNeedsEmailFactor: with the tenant's policy off and
// a client requiring MFA, a user whose second factor is codes by email
// cannot have their address moved by someone who knows only the password:
// the codes would follow it. A password-only session's email change needs
// a current code too; with one (a recovery code) it goes through.
func TestAccountEmailChangeNeedsEmailFactor(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ta := newTestApp(t, be)
		tn := ta.tenant("acme")
		protected, other := ta.client(tn.ID, "payroll"), ta.client(tn.ID, "wiki")
		ta.mfaSettings(tn, map[string]any{"policy": "off", "email_code": true, "clients": map[string]any{protected.ID: "required"}})
		const email, pw = "ada@example.com", "correct horse battery"
		u := ta.userWithPassword(tn.ID, email, pw)
		if _, err := ta.DB.Users().UpdateUser(context.Background(), tn.ID, u.ID, func(u *store.User) error { u.EmailVerified = true; return nil }); err != nil {
			t.Fatal(err)
		}
		owner := ta.browser()
		owner.signIn("acme", email, pw)
		tok := owner.csrf("/t/acme/account/mfa")
		p := owner.post("/t/acme/account/mfa/email", form("csrf", tok, "current_password", pw))
		codes := recoveryRE.FindAllStringSubmatch(p.body, -1)
		if p.status != http.StatusOK || len(codes) != 10 {
			t.Fatalf("enable email codes: %d", p.status)
		}
		ta.clearMails()

		// A password-only session from the unprotected client.
		atk := ta.browser()
		if p := passwordStep(t, atk, "acme", ta.authRequest(tn, other), email, pw); p.status != http.StatusSeeOther || !hasSessionCookie(p) {
			t.Fatalf("login at the unprotected client: %d %q", p.status, p.location())
		}
		// The owner hears of the new browser.
		if got := ta.subjectsTo(email); len(got) != 1 || !strings.Contains(got[0], "New sign-in") {
			t.Errorf("new device notice: %q", got)
		}
		ta.clearMails()
		page := atk.get("/t/acme/account")
		if !strings.Contains(page.body, `id="email_code"`) {
			t.Fatalf("account page of a password-only session: %d, no code field for the email change", page.status)
		}
		tok = csrfRE.FindStringSubmatch(page.body)[1]
		for _, extra := range [][]string{nil, {"current_code", "000000"}} {
			f := form(append([]string{"csrf", tok, "email", "eve@attacker.example", "password", pw}, extra...)...)
			if p := atk.post("/t/acme/account/email", f); p.status != http.StatusForbidden {
				t.Fatalf("email change from a password-only session (%v): %d %q", extra, p.status, p.location())
			}
		}
		if ms := ta.mails(); len(ms) != 0 {
			t.Fatalf("mails after refused email changes: %v", ms)
		}
		// The owner, with a recovery code, may.
		p = owner.post("/t/acme/account/email", form("csrf", owner.csrf("/t/acme/account"), "email", "ada@new.example", "password", pw, "current_code", codes[0][1]))
		if p.status != http.StatusSeeOther || !strings.Contains(p.location(), "done=email") {
			t.Fatalf("email change with a recovery code: %d %q", p.status, p.location())
		}
	})
}
