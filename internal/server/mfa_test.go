package server

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/pquerna/otp/totp"

	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

var (
	totpSecretRE = regexp.MustCompile(`id="totp-secret">([A-Z2-7]+)<`)
	factorIDRE   = regexp.MustCompile(`name="factor_id" value="([^"]+)"`)
	recoveryRE   = regexp.MustCompile(`<code>([a-z2-7]{5}-[a-z2-7]{5})</code>`)
)

// enrolTOTP enrols a first authenticator app for b's signed-in user
// through the account page (with the password signIn used) and answers
// its secret and recovery codes.
func enrolTOTP(t *testing.T, b *browserClient, slug string) (string, []string) {
	t.Helper()
	tok := b.csrf("/t/" + slug + "/account/mfa")
	p := b.post("/t/"+slug+"/account/mfa/totp", form("csrf", tok, "name", "phone", "current_password", b.password))
	sec, fid := totpSecretRE.FindStringSubmatch(p.body), factorIDRE.FindStringSubmatch(p.body)
	if p.status != http.StatusOK || sec == nil || fid == nil {
		t.Fatalf("enrol: %d, secret or factor id missing", p.status)
	}
	if q := b.get("/t/" + slug + "/account/mfa/totp/qr?factor=" + fid[1]); q.status != http.StatusOK || q.header.Get("Content-Type") != "image/png" || !strings.HasPrefix(q.body, "\x89PNG") {
		t.Fatalf("QR code: %d %s", q.status, q.header.Get("Content-Type"))
	}
	if p := b.post("/t/"+slug+"/account/mfa/totp/confirm", form("csrf", tok, "factor_id", fid[1], "code", "000000")); p.status != http.StatusBadRequest {
		t.Fatalf("confirm with a wrong code: %d", p.status)
	}
	code, _ := totp.GenerateCode(sec[1], time.Now())
	p = b.post("/t/"+slug+"/account/mfa/totp/confirm", form("csrf", tok, "factor_id", fid[1], "code", code))
	codes := recoveryRE.FindAllStringSubmatch(p.body, -1)
	if p.status != http.StatusOK || len(codes) != 10 {
		t.Fatalf("confirm: %d, %d recovery codes shown", p.status, len(codes))
	}
	var out []string
	for _, c := range codes {
		out = append(out, c[1])
	}
	if q := b.get("/t/" + slug + "/account/mfa/totp/qr?factor=" + fid[1]); q.status != http.StatusNotFound {
		t.Fatalf("QR code of a confirmed factor: %d", q.status)
	}
	return sec[1], out
}

// authRequest stores a pending authorization request of client.
func (ta *testApp) authRequest(tn *store.Tenant, c *store.Client, acr ...string) string {
	return ta.authRequestPrompt(tn, c, nil, acr...)
}

// authRequestPrompt is authRequest with prompt values (login: no SSO).
func (ta *testApp) authRequestPrompt(tn *store.Tenant, c *store.Client, prompt []string, acr ...string) string {
	ta.t.Helper()
	now := time.Now()
	ar := &store.AuthRequest{ID: uuid.Must(uuid.NewV7()).String(), Tenant: tn.ID, ClientID: c.ID,
		RedirectURI: "https://app.example.com/cb", Scopes: []string{"openid"}, ResponseType: "code",
		Prompt: prompt, ACRValues: acr, CreatedAt: now, ExpiresAt: now.Add(10 * time.Minute)}
	// As the OpenID provider does: the authorization request and the
	// flow's login request named after it.
	err := ta.DB.InTx(context.Background(), func(tx store.Repos) error {
		if err := tx.OAuth().AuthRequests().CreateAuthRequest(context.Background(), ar); err != nil {
			return err
		}
		return tx.Logins().CreateLoginRequest(context.Background(), &store.LoginRequest{ID: ar.ID, Tenant: tn.ID,
			Origin: flow.OriginOIDC, Return: ar.ID, ClientID: c.ID, ReturnURI: ar.RedirectURI, Scopes: ar.Scopes,
			Prompt: prompt, ACRValues: acr, CreatedAt: now, ExpiresAt: ar.ExpiresAt})
	})
	if err != nil {
		ta.t.Fatal(err)
	}
	return ar.ID
}

// passwordStep logs in with a password for request id and answers the
// login page's answer.
func passwordStep(t *testing.T, b *browserClient, slug, id, email, password string) page {
	t.Helper()
	tok := b.csrf("/t/" + slug + "/login?id=" + id)
	return b.post("/t/"+slug+"/login", form("csrf", tok, "id", id, "identifier", email, "password", password))
}

func codeStep(t *testing.T, b *browserClient, slug, id, code string) page {
	t.Helper()
	tok := b.csrf("/t/" + slug + "/login/mfa?id=" + id)
	return b.post("/t/"+slug+"/login/mfa", form("csrf", tok, "id", id, "code", code))
}

func hasSessionCookie(p page) bool {
	for _, c := range p.header.Values("Set-Cookie") {
		if strings.HasPrefix(c, "gh_session_") && !strings.Contains(c, "Max-Age=0") {
			return true
		}
	}
	return false
}

// TestMFALogin: with an authenticator app enrolled, a right password
// starts no session but asks for a code; a right code finishes the login
// with amr pwd+otp+mfa; a code cannot be replayed; a recovery code works
// once; the ticket belongs to its browser; wrong codes are throttled; an
// administrator's reset (audited) turns the step off again.
func TestMFALogin(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ta := newTestApp(t, be)
		tn := ta.tenant("acme")
		c := ta.client(tn.ID, "app")
		const pw = "correct horse battery"
		u := ta.userWithPassword(tn.ID, "ada@example.com", pw)
		acct := ta.browser()
		acct.signIn("acme", "ada@example.com", pw)
		secret, recovery := enrolTOTP(t, acct, "acme")

		b := ta.browser()
		id := ta.authRequest(tn, c)
		p := passwordStep(t, b, "acme", id, "ada@example.com", pw)
		if p.status != http.StatusSeeOther || p.location() != "/t/acme/login/mfa?id="+id || hasSessionCookie(p) {
			t.Fatalf("password step: %d %q (session cookie: %v)", p.status, p.location(), hasSessionCookie(p))
		}
		if p := ta.browser().post("/t/acme/login/mfa", form("id", id, "code", "123456")); p.status != http.StatusForbidden {
			t.Fatalf("code without CSRF: %d", p.status)
		}
		if p := codeStep(t, b, "acme", id, "000000"); p.status != http.StatusUnauthorized || hasSessionCookie(p) {
			t.Fatalf("wrong code: %d", p.status)
		}
		// The enrolment spent this step: the next one (drift +1) logs in.
		code, _ := totp.GenerateCode(secret, time.Now().Add(30*time.Second))
		// Another browser (no ticket cookie) cannot use the code.
		other := ta.browser()
		if p := other.get("/t/acme/login/mfa?id=" + id); p.status != http.StatusBadRequest {
			t.Fatalf("code page without the ticket: %d", p.status)
		}
		p = codeStep(t, b, "acme", id, code)
		if p.status != http.StatusSeeOther || p.location() != "/t/acme/authorize/callback?id="+id || !hasSessionCookie(p) {
			t.Fatalf("right code: %d %q", p.status, p.location())
		}
		ar, err := ta.DB.Logins().GetLoginRequest(context.Background(), tn.ID, id)
		if err != nil || !ar.Done || !slices.Equal(ar.AMR, []string{"pwd", "otp", "mfa"}) {
			t.Fatalf("request after MFA: done %v amr %v (%v)", ar.Done, ar.AMR, err)
		}

		// Replay: the same code in a fresh login is refused.
		b2 := ta.browser()
		id2 := ta.authRequestPrompt(tn, c, []string{"login"})
		passwordStep(t, b2, "acme", id2, "ada@example.com", pw)
		if p := codeStep(t, b2, "acme", id2, code); p.status != http.StatusUnauthorized {
			t.Fatalf("replayed code: %d", p.status)
		}
		// A recovery code works once and only once.
		if p := codeStep(t, b2, "acme", id2, strings.ToUpper(recovery[3])); p.status != http.StatusSeeOther {
			t.Fatalf("recovery code: %d", p.status)
		}
		b3 := ta.browser()
		id3 := ta.authRequest(tn, c)
		passwordStep(t, b3, "acme", id3, "ada@example.com", pw)
		if p := codeStep(t, b3, "acme", id3, recovery[3]); p.status != http.StatusUnauthorized {
			t.Fatalf("recovery code used twice: %d", p.status)
		}
		// Wrong codes are throttled per user in the database.
		throttled := false
		for range 8 {
			if p := codeStep(t, b3, "acme", id3, "999999"); p.status == http.StatusTooManyRequests {
				throttled = p.header.Get("Retry-After") != ""
				break
			}
		}
		if !throttled {
			t.Fatal("8 wrong codes in a row were never throttled")
		}

		// The administrator lists and resets the factors.
		key := ta.key(tn.ID, "admin")
		r := ta.get("/api/v1/tenants/"+string(tn.ID)+"/users/"+u.ID+"/factors", key)
		var list struct {
			Factors []map[string]any `json:"factors"`
			Left    int              `json:"recovery_codes_left"`
		}
		if r.status != http.StatusOK || json.Unmarshal(r.body, &list) != nil || len(list.Factors) != 1 || list.Left != 9 {
			t.Fatalf("list factors: %d %s", r.status, r.body)
		}
		if strings.Contains(string(r.body), secret) || strings.Contains(string(r.body), "secret") {
			t.Fatal("the factor list shows a secret")
		}
		if r := ta.do(request{method: http.MethodDelete, path: "/api/v1/tenants/" + string(tn.ID) + "/users/" + u.ID + "/factors", auth: "Bearer " + key}); r.status != http.StatusNoContent {
			t.Fatalf("reset factors: %d %s", r.status, r.body)
		}
		resets := 0
		_ = ta.DB.Audit().ScanAudit(context.Background(), tn.ID, func(e store.AuditEntry) error {
			if e.Action == "mfa.reset" && e.TargetID == u.ID && e.ActorType == "apikey" {
				resets++
			}
			return nil
		})
		if resets != 1 || ta.userAuditActions(tn.ID)["mfa.factor.add"] != 1 {
			t.Fatalf("audit: %d resets by the API key, user actions %v", resets, ta.userAuditActions(tn.ID))
		}
		b4 := ta.browser()
		id4 := ta.authRequest(tn, c)
		if p := passwordStep(t, b4, "acme", id4, "ada@example.com", pw); p.status != http.StatusSeeOther || !strings.Contains(p.location(), "/authorize/callback") {
			t.Fatalf("password after reset: %d %q", p.status, p.location())
		}
	})
}

// TestMFARememberDevice: where the tenant offers it, a user who ticks
// "remember this device" skips the second factor on that browser only;
// an explicit step-up still asks; forgetting devices (account page)
// revokes it.
func TestMFARememberDevice(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ta := newTestApp(t, be)
		tn := ta.tenant("acme")
		if r := ta.do(request{method: http.MethodPatch, path: "/api/v1/tenants/" + string(tn.ID), auth: "Bearer " + ta.key(tn.ID, "admin"),
			body: map[string]any{"settings": map[string]any{"mfa": map[string]any{"policy": "optional", "remember_days": 30}}}}); r.status != http.StatusOK {
			t.Fatalf("patch settings: %d %s", r.status, r.body)
		}
		c := ta.client(tn.ID, "app")
		const pw = "correct horse battery"
		ta.userWithPassword(tn.ID, "ada@example.com", pw)
		acct := ta.browser()
		acct.signIn("acme", "ada@example.com", pw)
		secret, _ := enrolTOTP(t, acct, "acme")

		b := ta.browser()
		id := ta.authRequest(tn, c)
		passwordStep(t, b, "acme", id, "ada@example.com", pw)
		if p := b.get("/t/acme/login/mfa?id=" + id); !strings.Contains(p.body, `name="remember"`) {
			t.Fatalf("no remember-device choice on the code page (%d)", p.status)
		}
		code, _ := totp.GenerateCode(secret, time.Now().Add(30*time.Second))
		tok := b.csrf("/t/acme/login/mfa?id=" + id)
		p := b.post("/t/acme/login/mfa", form("csrf", tok, "id", id, "code", code, "remember", "1"))
		remembered := false
		for _, ck := range p.header.Values("Set-Cookie") {
			remembered = remembered || (strings.HasPrefix(ck, "gh_mfa_rd_acme=gh_rd_") && strings.Contains(ck, "HttpOnly"))
		}
		if p.status != http.StatusSeeOther || !remembered {
			t.Fatalf("code with remember: %d, cookie set %v", p.status, remembered)
		}
		// This browser now logs in with the password alone...
		id2 := ta.authRequestPrompt(tn, c, []string{"login"})
		if p := passwordStep(t, b, "acme", id2, "ada@example.com", pw); p.status != http.StatusSeeOther || !strings.Contains(p.location(), "/authorize/callback") {
			t.Fatalf("remembered browser: %d %q", p.status, p.location())
		}
		// ...but not when the client asks for MFA,
		id3 := ta.authRequestPrompt(tn, c, []string{"login"}, "mfa")
		if p := passwordStep(t, b, "acme", id3, "ada@example.com", pw); !strings.Contains(p.location(), "/login/mfa") {
			t.Fatalf("step-up on a remembered browser: %d %q", p.status, p.location())
		}
		// ...and another browser is asked.
		o := ta.browser()
		id4 := ta.authRequest(tn, c)
		if p := passwordStep(t, o, "acme", id4, "ada@example.com", pw); !strings.Contains(p.location(), "/login/mfa") {
			t.Fatalf("another browser: %d %q", p.status, p.location())
		}
		// Forgetting devices revokes the remembered one.
		ftok := acct.csrf("/t/acme/account/mfa")
		if p := acct.post("/t/acme/account/mfa/forget", form("csrf", ftok)); p.status != http.StatusSeeOther {
			t.Fatalf("forget devices: %d", p.status)
		}
		id5 := ta.authRequestPrompt(tn, c, []string{"login"})
		if p := passwordStep(t, b, "acme", id5, "ada@example.com", pw); !strings.Contains(p.location(), "/login/mfa") {
			t.Fatalf("after forgetting devices: %d %q", p.status, p.location())
		}
	})
}

var mailCodeRE = regexp.MustCompile(`code: (\d{6})\b`)

// TestMFAEmailCode: where the tenant allows it, a user turns on codes by
// email; at login the code page mails a code (through the mail queue),
// which works once; an older mailed code dies when a new one is sent.
func TestMFAEmailCode(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ta := newTestApp(t, be)
		tn := ta.tenant("acme")
		if r := ta.do(request{method: http.MethodPatch, path: "/api/v1/tenants/" + string(tn.ID), auth: "Bearer " + ta.key(tn.ID, "admin"),
			body: map[string]any{"settings": map[string]any{"mfa": map[string]any{"policy": "optional", "email_code": true}}}}); r.status != http.StatusOK {
			t.Fatalf("patch settings: %d %s", r.status, r.body)
		}
		c := ta.client(tn.ID, "app")
		const pw = "correct horse battery"
		u := ta.userWithPassword(tn.ID, "ada@example.com", pw)
		if _, err := ta.DB.Users().UpdateUser(context.Background(), tn.ID, u.ID, func(u *store.User) error { u.EmailVerified = true; return nil }); err != nil {
			t.Fatal(err)
		}
		acct := ta.browser()
		acct.signIn("acme", "ada@example.com", pw)
		tok := acct.csrf("/t/acme/account/mfa")
		if p := acct.post("/t/acme/account/mfa/email", form("csrf", tok, "current_password", pw)); p.status != http.StatusOK || len(recoveryRE.FindAllString(p.body, -1)) != 10 {
			t.Fatalf("enable email codes: %d", p.status)
		}

		b := ta.browser()
		id := ta.authRequest(tn, c)
		if p := passwordStep(t, b, "acme", id, "ada@example.com", pw); !strings.Contains(p.location(), "/login/mfa") {
			t.Fatalf("password step: %d %q", p.status, p.location())
		}
		mailCode := func() (code, ticket string) {
			t.Helper()
			ta.clearMails()
			tk := b.csrf("/t/acme/login/mfa?id=" + id)
			p := b.post("/t/acme/login/mfa/email", form("csrf", tk, "id", id))
			m := regexp.MustCompile(`name="email_ticket" value="([^"]+)"`).FindStringSubmatch(p.body)
			if p.status != http.StatusOK || m == nil {
				t.Fatalf("send a code: %d", p.status)
			}
			if _, err := ta.MailWorker().RunOnce(context.Background()); err != nil {
				t.Fatal(err)
			}
			files, _ := filepath.Glob(filepath.Join(ta.Config.DataDir, "mail", "*.eml"))
			var mails []string
			for _, f := range files {
				raw, _ := os.ReadFile(f)
				mails = append(mails, string(raw))
			}
			if len(mails) != 1 || !strings.Contains(mails[0], "ada@example.com") {
				t.Fatalf("%d mails", len(mails))
			}
			cm := mailCodeRE.FindStringSubmatch(mails[0])
			if cm == nil {
				t.Fatalf("no code in the mail")
			}
			return cm[1], m[1]
		}
		old, oldTicket := mailCode()
		code, ticket := mailCode()
		post := func(code, ticket string) page {
			tk := b.csrf("/t/acme/login/mfa?id=" + id)
			return b.post("/t/acme/login/mfa", form("csrf", tk, "id", id, "code", code, "email_ticket", ticket))
		}
		if p := post(old, oldTicket); p.status != http.StatusUnauthorized {
			t.Fatalf("superseded mailed code: %d", p.status)
		}
		if p := post(code, ticket); p.status != http.StatusSeeOther || !strings.Contains(p.location(), "/authorize/callback") {
			t.Fatalf("mailed code: %d %q", p.status, p.location())
		}
		ar, _ := ta.DB.Logins().GetLoginRequest(context.Background(), tn.ID, id)
		if !slices.Equal(ar.AMR, []string{"pwd", "otp", "mfa"}) {
			t.Fatalf("amr %v", ar.AMR)
		}
	})
}

// TestMFAAccountSignIn: the account page's own sign-in asks an enrolled
// user for the second factor as well: the password alone gives no
// session, so it cannot be used to remove the factors.
func TestMFAAccountSignIn(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ta := newTestApp(t, be)
		tn := ta.tenant("acme")
		const pw = "correct horse battery"
		ta.userWithPassword(tn.ID, "ada@example.com", pw)
		first := ta.browser()
		first.signIn("acme", "ada@example.com", pw) // no factor yet
		secret, _ := enrolTOTP(t, first, "acme")

		b := ta.browser()
		tok := b.csrf("/t/acme/account/login")
		p := b.post("/t/acme/account/login", form("csrf", tok, "identifier", "ada@example.com", "password", pw))
		if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location(), "/t/acme/account/login/mfa") || hasSessionCookie(p) {
			t.Fatalf("account sign-in of an enrolled user: %d %q (session cookie %v)", p.status, p.location(), hasSessionCookie(p))
		}
		if p := b.get("/t/acme/account/mfa"); p.status != http.StatusFound || !strings.Contains(p.location(), "/account/login") {
			t.Fatalf("factor page with the password alone: %d %q", p.status, p.location())
		}
		tok = b.csrf("/t/acme/account/login/mfa")
		if p := b.post("/t/acme/account/login/mfa", form("csrf", tok, "code", "000000")); p.status != http.StatusUnauthorized {
			t.Fatalf("wrong code: %d", p.status)
		}
		code, _ := totp.GenerateCode(secret, time.Now().Add(30*time.Second))
		p = b.post("/t/acme/account/login/mfa", form("csrf", tok, "code", code))
		if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location(), "/t/acme/account") || !hasSessionCookie(p) {
			t.Fatalf("right code: %d %q", p.status, p.location())
		}
		if p := b.get("/t/acme/account/mfa"); p.status != http.StatusOK {
			t.Fatalf("factor page after the second factor: %d", p.status)
		}
	})
}
