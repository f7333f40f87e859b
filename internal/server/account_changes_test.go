package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

var linkRE = regexp.MustCompile(`http://127\.0\.0\.1/t/acme/account/email/confirm\?token=([A-Za-z0-9_%-]+)`)

func TestAccountEmailChange(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		f := newAccountFixture(t, be)
		b := f.ta.browser()
		b.signIn("acme", "ada@example.com", adaPW)
		tok := b.csrf("/t/acme/account")

		if p := b.post("/t/acme/account/email", form("csrf", tok, "email", "ada@new.example", "password", "not my password")); p.status != http.StatusUnauthorized ||
			!strings.Contains(p.body, "The password is not correct.") {
			t.Errorf("wrong password: %d", p.status)
		}
		if p := b.post("/t/acme/account/email", form("email", "ada@new.example", "password", adaPW)); p.status != http.StatusForbidden {
			t.Errorf("no CSRF: %d", p.status)
		}
		for _, bad := range []string{"not an address", "ada@example.com", "Ada <ada@x.example>", strings.Repeat("a", 250) + "@x.example"} {
			if p := b.post("/t/acme/account/email", form("csrf", tok, "email", bad, "password", adaPW)); p.status != http.StatusBadRequest {
				t.Errorf("email %.40q: %d, want 400", bad, p.status)
			}
		}
		if n := len(f.ta.mails()); n != 0 {
			t.Fatalf("%d mails after refused requests", n)
		}
		// Bob's address: the same answer as any other; Bob gets a notice, no link.
		taken := b.post("/t/acme/account/email", form("csrf", tok, "email", "BOB@example.com", "password", adaPW))
		if taken.status != http.StatusSeeOther || !strings.Contains(taken.location(), "done=email") {
			t.Errorf("taken address: %d %q", taken.status, taken.location())
		}
		if ms := f.ta.mails(); len(ms) != 1 || ms[0].To != "BOB@example.com" ||
			ms[0].Subject != "Someone tried to use your address at Acme Shop" || linkRE.MatchString(ms[0].String()) ||
			!strings.Contains(ms[0].Text, "http://127.0.0.1/t/acme/account/login") || !strings.Contains(ms[0].HTML, "help@acme.example") {
			t.Fatalf("mails after a taken address: %v", ms)
		}
		f.ta.clearMails()
		b.lang = "de"
		p := b.post("/t/acme/account/email", form("csrf", tok, "email", "ada@new.example", "password", adaPW, "ui_locales", "de"))
		if p.status != http.StatusSeeOther || !strings.Contains(p.location(), "done=email") {
			t.Errorf("new address: %d %q", p.status, p.location())
		}
		// Queuing logs no link (only the file sender does, by design, when
		// no SMTP server is configured).
		if strings.Contains(f.ta.logs.String(), "gh_ec_") {
			t.Error("the link token is in the log")
		}
		mails := f.ta.mails()
		if len(mails) != 1 || mails[0].To != "ada@new.example" || mails[0].Subject != "Bestätigen Sie Ihre neue E-Mail-Adresse für Acme Shop" ||
			!strings.Contains(mails[0].HTML, `<html lang="de">`) || !strings.Contains(mails[0].Text, "60 Minuten lang") ||
			!strings.Contains(mails[0].HTML, "<h1 style=\"font-size:20px;margin:0 0 16px\">Acme Shop</h1>") ||
			!strings.Contains(mails[0].Text, "Gesendet von Acme Shop.") || !strings.Contains(mails[0].Text, "help@acme.example") {
			t.Fatalf("mail: %v", mails)
		}
		if u := f.user(t, f.ada.ID); u.Email != "ada@example.com" {
			t.Fatalf("the address changed before the link was followed: %s", u.Email)
		}
		m := linkRE.FindStringSubmatch(mails[0].Text)
		if m == nil {
			t.Fatalf("no link in %s", mails[0])
		}
		token, _ := url.QueryUnescape(m[1])

		// Following the link shows a form (a GET changes nothing).
		other := f.ta.browser() // the mail may be opened on another device
		page := other.get("/t/acme/account/email/confirm?token=" + url.QueryEscape(token))
		if page.status != http.StatusOK || f.user(t, f.ada.ID).Email != "ada@example.com" {
			t.Fatalf("confirm page: %d", page.status)
		}
		ctok := csrfRE.FindStringSubmatch(page.body)[1]
		if p := other.post("/t/acme/account/email/confirm", form("token", token)); p.status != http.StatusForbidden {
			t.Errorf("confirm without CSRF: %d", p.status)
		}
		if p := other.post("/t/acme/account/email/confirm", form("csrf", ctok, "token", token+"x")); p.status != http.StatusBadRequest {
			t.Errorf("wrong token: %d", p.status)
		}
		if p := other.post("/t/acme/account/email/confirm", form("csrf", ctok, "token", token)); p.status != http.StatusOK ||
			!strings.Contains(p.body, "ada@new.example") {
			t.Fatalf("confirm: %d %.300s", p.status, p.body)
		}
		if u := f.user(t, f.ada.ID); u.Email != "ada@new.example" || !u.EmailVerified {
			t.Errorf("after confirming: %s verified=%v", u.Email, u.EmailVerified)
		}
		if p := other.post("/t/acme/account/email/confirm", form("csrf", ctok, "token", token)); p.status != http.StatusBadRequest {
			t.Errorf("link used twice: %d", p.status)
		}
		// A newer request replaces an older one: the first link dies.
		b.post("/t/acme/account/email", form("csrf", tok, "email", "ada@third.example", "password", adaPW))
		b.post("/t/acme/account/email", form("csrf", tok, "email", "ada@fourth.example", "password", adaPW))
		var first string
		for _, m := range f.ta.mails() {
			if m.To == "ada@third.example" {
				first = linkRE.FindStringSubmatch(m.Text)[1]
			}
		}
		first, _ = url.QueryUnescape(first)
		if p := other.post("/t/acme/account/email/confirm", form("csrf", ctok, "token", first)); p.status != http.StatusBadRequest {
			t.Errorf("replaced link still works: %d", p.status)
		}
		if got := f.ta.userAuditActions(f.tn.ID); got["user.email_change_request"] != 4 || got["user.update"] != 1 {
			t.Errorf("audit: %v", got)
		}
	})
}

func TestAccountPasswordChange(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		f := newAccountFixture(t, be)
		b, phone := f.ta.browser(), f.ta.browser()
		b.signIn("acme", "ada@example.com", adaPW)
		phone.signIn("acme", "ada@example.com", adaPW)
		rt, _ := f.grant(t, f.ada, f.sessions(t, f.ada)[1].ID, "phone")
		tok := b.csrf("/t/acme/account")
		const next = "a brand new passphrase"
		if p := b.post("/t/acme/account/password", form("csrf", tok, "current_password", "wrong guess here", "new_password", next)); p.status != http.StatusUnauthorized {
			t.Errorf("wrong current password: %d", p.status)
		}
		if p := b.post("/t/acme/account/password", form("csrf", tok, "current_password", adaPW, "new_password", "short")); p.status != http.StatusBadRequest ||
			!strings.Contains(p.body, "at least 8 characters") {
			t.Errorf("weak new password: %d", p.status)
		}
		if p := b.post("/t/acme/account/password", form("current_password", adaPW, "new_password", next)); p.status != http.StatusForbidden {
			t.Errorf("no CSRF: %d", p.status)
		}
		if len(f.sessions(t, f.ada)) != 2 {
			t.Fatal("a refused change ended sessions")
		}
		p := b.post("/t/acme/account/password", form("csrf", tok, "current_password", adaPW, "new_password", next))
		if p.status != http.StatusSeeOther {
			t.Fatalf("change: %d %.300s", p.status, p.body)
		}
		if p = b.get(p.location()); p.status != http.StatusOK || !strings.Contains(p.body, "Your password has been changed.") {
			t.Errorf("this browser lost its session: %d", p.status)
		}
		if p := phone.get("/t/acme/account"); p.status != http.StatusFound {
			t.Errorf("the other device is still signed in: %d", p.status)
		}
		if got, _ := f.ta.DB.OAuth().Tokens().GetRefreshToken(context.Background(), f.tn.ID, rt); got == nil || got.RevokedAt == nil {
			t.Error("the other device's tokens survived")
		}
		if n := len(f.sessions(t, f.ada)); n != 1 {
			t.Errorf("%d sessions, want this browser's new one", n)
		}
		fresh := f.ta.browser()
		tk := fresh.csrf("/t/acme/account/login")
		if p := fresh.post("/t/acme/account/login", form("csrf", tk, "identifier", "ada@example.com", "password", adaPW)); p.status != http.StatusUnauthorized {
			t.Errorf("the old password still works: %d", p.status)
		}
		fresh.signIn("acme", "ada@example.com", next)
		if strings.Contains(f.ta.logs.String(), next) || strings.Contains(f.ta.logs.String(), adaPW) {
			t.Error("a password is in the log")
		}
	})
}

func TestAccountExportAndDelete(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		f := newAccountFixture(t, be)
		g := f.ta.group(f.tn.ID, "Engineers")
		f.ta.addMember(f.tn.ID, g.ID, f.ada.ID)
		b, bob := f.ta.browser(), f.ta.browser()
		b.signIn("acme", "ada@example.com", adaPW)
		bob.signIn("acme", "bob@example.com", bobPW)
		f.grant(t, f.ada, f.sessions(t, f.ada)[0].ID, "ada")
		tok := b.csrf("/t/acme/account")

		if p := b.post("/t/acme/account/export", url.Values{}); p.status != http.StatusForbidden {
			t.Errorf("export without CSRF: %d", p.status)
		}
		p := b.post("/t/acme/account/export", form("csrf", tok))
		if p.status != http.StatusOK || p.header.Get("Content-Type") != "application/json" ||
			!strings.Contains(p.header.Get("Content-Disposition"), "attachment") {
			t.Fatalf("export: %d %v", p.status, p.header)
		}
		var out struct {
			Profile struct {
				ID, Email string
			} `json:"profile"`
			Groups   []struct{ Name string } `json:"groups"`
			Sessions []struct{ ID string }   `json:"sessions"`
			Consents []struct {
				ClientID string `json:"client_id"`
			} `json:"consents"`
			Audit []struct{ Action string } `json:"audit_events"`
		}
		if err := json.Unmarshal([]byte(p.body), &out); err != nil {
			t.Fatal(err)
		}
		if out.Profile.ID != f.ada.ID || out.Profile.Email != "ada@example.com" || len(out.Groups) != 1 || out.Groups[0].Name != "Engineers" ||
			len(out.Sessions) != 1 || len(out.Consents) != 1 || out.Consents[0].ClientID != f.client.ID || len(out.Audit) == 0 || out.Audit[len(out.Audit)-1].Action != "user.create" {
			t.Errorf("export: %+v", out)
		}
		for _, secret := range []string{"argon2", "password_hash", "token_hash", "bob@example.com"} {
			if strings.Contains(p.body, secret) {
				t.Errorf("export contains %q", secret)
			}
		}

		// Deletion needs the password re-entered, and CSRF.
		for name, fm := range map[string]url.Values{
			"no password":    form("csrf", tok),
			"wrong password": form("csrf", tok, "password", "not the password"),
			"Bob's password": form("csrf", tok, "password", bobPW),
		} {
			if p := b.post("/t/acme/account/delete", fm); p.status != http.StatusUnauthorized {
				t.Errorf("%s: %d, want 401", name, p.status)
			}
		}
		if p := b.post("/t/acme/account/delete", form("password", adaPW)); p.status != http.StatusForbidden {
			t.Errorf("delete without CSRF: %d", p.status)
		}
		f.user(t, f.ada.ID) // still there
		b.lang = "es"
		p = b.post("/t/acme/account/delete", form("csrf", tok, "password", adaPW))
		if p.status != http.StatusOK || !strings.Contains(p.body, "Se ha eliminado su cuenta.") {
			t.Fatalf("delete: %d %.300s", p.status, p.body)
		}
		if _, err := f.ta.DB.Users().GetUser(context.Background(), f.tn.ID, f.ada.ID); !errors.Is(err, store.ErrNotFound) {
			t.Error("the user survived")
		}
		if p := b.get("/t/acme/account"); p.status != http.StatusFound {
			t.Errorf("signed in after deletion: %d", p.status)
		}
		fresh := f.ta.browser()
		tk := fresh.csrf("/t/acme/account/login")
		if p := fresh.post("/t/acme/account/login", form("csrf", tk, "identifier", "ada@example.com", "password", adaPW)); p.status != http.StatusUnauthorized {
			t.Errorf("login after deletion: %d", p.status)
		}
		if p := bob.get("/t/acme/account"); p.status != http.StatusOK {
			t.Errorf("Bob was signed out: %d", p.status)
		}
		if got := f.ta.userAuditActions(f.tn.ID); got["user.export"] != 1 || got["user.erased"] != 1 {
			t.Errorf("audit: %v", got)
		}
	})
}
