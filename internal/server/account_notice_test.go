package server

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// auditCount answers how many audit entries of tenant have action.
func (ta *testApp) auditCount(tenant store.TenantID, action string) int {
	ta.t.Helper()
	n := 0
	err := ta.DB.Audit().ScanAudit(context.Background(), tenant, func(e store.AuditEntry) error {
		if e.Action == action {
			n++
		}
		return nil
	})
	if err != nil {
		ta.t.Fatal(err)
	}
	return n
}

// mailTo answers the one mail delivered to to since the last clearMails.
func (ta *testApp) mailTo(to string) deliveredMail {
	ta.t.Helper()
	var out []deliveredMail
	for _, m := range ta.mails() {
		if m.To == to || m.To == "<"+to+">" {
			out = append(out, m)
		}
	}
	if len(out) != 1 {
		ta.t.Fatalf("%d mails to %s, want 1: %v", len(out), to, out)
	}
	return out[0]
}

// TestEmailChangeNoticeReverts: someone who knows the password moves the
// account to their own address. The previous address gets a notice in
// the user's language whose link (single use) puts the address back and
// ends every session, the intruder's included.
func TestEmailChangeNoticeReverts(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		f := newAccountFixture(t, be)
		es := "es"
		if _, err := f.ta.Directory.UpdateUser(context.Background(), testActor, f.tn.ID, f.ada.ID, 0, directory.UserPatch{Locale: &es}); err != nil {
			t.Fatal(err)
		}
		intruder := f.ta.browser()
		intruder.signIn("acme", "ada@example.com", adaPW)
		tok := intruder.csrf("/t/acme/account")
		if p := intruder.post("/t/acme/account/email", form("csrf", tok, "email", "mallory@evil.example", "password", adaPW)); p.status != http.StatusSeeOther {
			t.Fatalf("email change: %d", p.status)
		}
		m := linkRE.FindStringSubmatch(f.ta.mailTo("mallory@evil.example").Text)
		f.ta.clearMails()
		confirm, _ := url.QueryUnescape(m[1])
		if p := intruder.followLink("/t/acme/account/email/confirm", confirm); p.status != http.StatusOK {
			t.Fatalf("confirm: %d", p.status)
		}
		if u := f.user(t, f.ada.ID); u.Email != "mallory@evil.example" {
			t.Fatalf("address after the change: %s", u.Email)
		}

		notice := f.ta.mailTo("ada@example.com")
		if notice.Subject != "Ha cambiado la dirección de correo de tu cuenta de Acme Shop" || !strings.Contains(notice.Text, "7 días") {
			t.Fatalf("notice to the previous address: %v", notice)
		}
		if n := f.ta.auditCount(f.tn.ID, "user.notice"); n != 1 {
			t.Errorf("%d user.notice audit entries, want 1", n)
		}
		path, token := f.ta.mailedLink("ada@example.com", "/t/acme/email/revert")
		token, _ = url.QueryUnescape(token)
		if !strings.HasPrefix(token, "gh_er_") {
			t.Fatalf("revert token %.8q", token)
		}
		owner := f.ta.browser()
		if p := owner.get(path + "?token=" + token + "x"); p.status != http.StatusBadRequest {
			t.Errorf("page of a wrong revert token: %d", p.status)
		}
		if p := owner.post(path, form("csrf", owner.csrf(path+"?token="+token), "token", token+"x")); p.status != http.StatusBadRequest {
			t.Errorf("a wrong revert token: %d", p.status)
		}
		if p := owner.followLink(path, token); p.status != http.StatusOK || !strings.Contains(p.body, "ada@example.com") {
			t.Fatalf("revert: %d %.300s", p.status, p.body)
		}
		if u := f.user(t, f.ada.ID); u.Email != "ada@example.com" || !u.EmailVerified {
			t.Errorf("after the revert: %s verified=%v", u.Email, u.EmailVerified)
		}
		if p := intruder.get("/t/acme/account"); p.status != http.StatusFound {
			t.Errorf("the intruder's session survived the revert: %d", p.status)
		}
		if p := owner.post(path, form("csrf", owner.csrf("/t/acme/password/forgot"), "token", token)); p.status != http.StatusBadRequest {
			t.Errorf("revert link used twice: %d", p.status)
		}
		if n := f.ta.auditCount(f.tn.ID, "user.email_revert"); n != 1 {
			t.Errorf("%d user.email_revert audit entries, want 1", n)
		}
	})
}

// TestPasswordChangeNotices: a password change on the account page and a
// reset by mail each send the user a notice.
func TestPasswordChangeNotices(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		f := newAccountFixture(t, be)
		b := f.ta.browser()
		b.signIn("acme", "ada@example.com", adaPW)
		tok := b.csrf("/t/acme/account")
		const next = "a brand new passphrase"
		if p := b.post("/t/acme/account/password", form("csrf", tok, "current_password", adaPW, "new_password", next)); p.status != http.StatusSeeOther {
			t.Fatalf("change: %d", p.status)
		}
		if m := f.ta.mailTo("ada@example.com"); m.Subject != "Your Acme Shop password was changed" ||
			!strings.Contains(m.Text, "http://127.0.0.1/t/acme/password/forgot") {
			t.Fatalf("notice of a password change: %v", m)
		}
		f.ta.resetPassword(f.ta.browser(), "acme", "ada@example.com", "yet another passphrase")
		var notices int
		for _, m := range f.ta.mails() {
			if m.Subject == "Your Acme Shop password was changed" {
				notices++
			}
		}
		if notices != 1 {
			t.Errorf("%d notices after a reset, want 1", notices)
		}
		if n := f.ta.auditCount(f.tn.ID, "user.notice"); n != 2 {
			t.Errorf("%d user.notice audit entries, want 2", n)
		}
	})
}
