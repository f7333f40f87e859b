package server

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
)

// subjectsTo answers the subjects of the mails delivered to to since the
// last clearMails.
func (ta *testApp) subjectsTo(to string) []string {
	ta.t.Helper()
	var out []string
	for _, m := range ta.mails() {
		if m.To == to || m.To == "<"+to+">" {
			out = append(out, m.Subject)
		}
	}
	return out
}

// TestAccountNoticeKinds: each kind of notice reaches a German user in
// German through the mail queue; the "this was not me" link of a new
// sign-in ends every session (single use) and starts a reset; a muted
// user still gets the security kinds and no longer the others.
func TestAccountNoticeKinds(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		f := newAccountFixture(t, be)
		ctx := context.Background()
		de := "de"
		if _, err := f.ta.Directory.UpdateUser(ctx, testActor, f.tn.ID, f.ada.ID, 0, directory.UserPatch{Locale: &de}); err != nil {
			t.Fatal(err)
		}
		const to = "ada@example.com"
		expect := func(what, subject string) {
			t.Helper()
			got := f.ta.subjectsTo(to)
			if len(got) != 1 || got[0] != subject {
				t.Errorf("%s: mails %q, want one %q", what, got, subject)
			}
			f.ta.clearMails()
		}

		// The first sign-in has no device to compare with; a second
		// browser is a new device.
		first := f.ta.browser()
		first.signIn("acme", to, adaPW)
		if got := f.ta.subjectsTo(to); len(got) != 0 {
			t.Errorf("first sign-in mailed %q", got)
		}
		second := f.ta.browser()
		second.signIn("acme", to, adaPW)
		m := f.ta.mailTo(to)
		if m.Subject != "Neue Anmeldung bei Ihrem Acme Shop-Konto" || !strings.Contains(m.Text, "Das war ich nicht") ||
			!strings.Contains(m.Text, "7 Tage") {
			t.Fatalf("new device notice: %v", m)
		}
		path, token := f.ta.mailedLink(to, "/t/acme/account/secure")
		token, _ = url.QueryUnescape(token)
		f.ta.clearMails()

		// The link ends every session and sends the browser to a reset.
		owner := f.ta.browser()
		if p := owner.get(path + "?token=" + token + "x"); p.status != http.StatusBadRequest {
			t.Errorf("page of a wrong token: %d", p.status)
		}
		p := owner.followLink(path, token)
		if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location(), "/t/acme/password/reset?token=") {
			t.Fatalf("secure: %d %q", p.status, p.location())
		}
		for i, b := range []*browserClient{first, second} {
			if p := b.get("/t/acme/account"); p.status != http.StatusFound {
				t.Errorf("session %d survived the link: %d", i, p.status)
			}
		}
		reset, _ := url.QueryUnescape(strings.TrimPrefix(p.location(), "/t/acme/password/reset?token="))
		if err := f.ta.SelfService.CheckResetLink(ctx, f.tn, reset); err != nil {
			t.Errorf("the reset the link started: %v", err)
		}
		if p := owner.post(path, form("csrf", owner.csrf("/t/acme/password/forgot"), "token", token)); p.status != http.StatusBadRequest {
			t.Errorf("link used twice: %d", p.status)
		}
		if n := f.ta.auditCount(f.tn.ID, "user.secure"); n != 1 {
			t.Errorf("%d user.secure entries", n)
		}

		// Administrators disable and enable the account.
		for _, c := range []struct{ status, subject string }{
			{"disabled", "Ihr Acme Shop-Konto wurde deaktiviert"},
			{"active", "Ihr Acme Shop-Konto wurde aktiviert"},
		} {
			if _, err := f.ta.Directory.UpdateUser(ctx, testActor, f.tn.ID, f.ada.ID, 0, directory.UserPatch{Status: &c.status}); err != nil {
				t.Fatal(err)
			}
			expect("status "+c.status, c.subject)
		}

		// A second factor through the account page, new recovery codes and
		// an administrator's reset, through the real services. (The link
		// forgot every device: this sign-in has none to compare with.)
		mfaB := f.ta.browser()
		mfaB.signIn("acme", to, adaPW)
		if got := f.ta.subjectsTo(to); len(got) != 0 {
			t.Errorf("sign-in after the devices were forgotten mailed %q", got)
		}
		enrolTOTP(t, mfaB, "acme")
		expect("factor added", "Ihrem Acme Shop-Konto wurde ein zweiter Faktor hinzugefügt")
		if _, err := f.ta.MFA.RegenerateRecoveryCodes(ctx, events.Actor{Type: "user", ID: f.ada.ID}, f.tn.ID, f.ada.ID); err != nil {
			t.Fatal(err)
		}
		expect("recovery codes", "Neue Wiederherstellungscodes für Ihr Acme Shop-Konto")
		if _, err := f.ta.MFA.Reset(ctx, testActor, f.tn.ID, f.ada.ID); err != nil {
			t.Fatal(err)
		}
		expect("factors reset", "Ein zweiter Faktor wurde von Ihrem Acme Shop-Konto entfernt")

		// The entries the WebAuthn and social services record (their
		// ceremonies need a browser authenticator and an upstream), through
		// the same recorder.
		record := func(e events.Entry) {
			t.Helper()
			e.Tenant = f.tn.ID
			if err := f.ta.DB.InTx(ctx, func(tx store.Repos) error {
				return f.ta.Audit.Record(ctx, tx, events.Actor{Type: "user", ID: f.ada.ID}, e)
			}); err != nil {
				t.Fatal(err)
			}
		}
		record(events.Entry{Action: "mfa.factor.add", TargetType: "user", TargetID: f.ada.ID,
			Changes: events.Changes{"factor": {After: map[string]any{"id": "f1", "kind": "webauthn"}}}})
		expect("passkey added", "Ihrem Acme Shop-Konto wurde ein Passkey hinzugefügt")
		record(events.Entry{Action: "mfa.factor.remove", TargetType: "user", TargetID: f.ada.ID})
		expect("factor removed", "Ein zweiter Faktor wurde von Ihrem Acme Shop-Konto entfernt")
		record(events.Entry{Action: "identity.link", TargetType: "user", TargetID: f.ada.ID})
		expect("identity linked", "Eine Anmeldung wurde mit Ihrem Acme Shop-Konto verknüpft")

		// An approver grants a privileged role.
		priv, err := f.ta.Authz.CreateRole(ctx, testActor, f.tn.ID, authz.NewRole{Name: "prod-admin", Permissions: []string{"prod:write"},
			Privileged: true, MaxDuration: "2h", Approvers: []string{f.bob.ID}})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.ta.Authz.AssignUser(ctx, testActor, f.tn.ID, f.ada.ID, priv.ID); err != nil {
			t.Fatal(err)
		}
		el, err := f.ta.Authz.RequestElevation(ctx, events.Actor{Type: "user", ID: f.ada.ID}, f.tn.ID, f.ada.ID,
			authz.ElevationRequest{Role: priv.ID, Reason: "incident", Duration: "1h"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		f.ta.clearMails()
		if _, err := f.ta.Authz.Decide(ctx, events.Actor{Type: "user", ID: f.bob.ID}, f.tn.ID, el.ID, true); err != nil {
			t.Fatal(err)
		}
		expect("elevation granted", "Ihrem Acme Shop-Konto wurde eine privilegierte Rolle gewährt")

		// Muted: a new device is not told, a security kind still is.
		b := mfaB
		if p := b.post("/t/acme/account/notices", form("csrf", b.csrf("/t/acme/account"), "muted", "on")); p.status != http.StatusSeeOther {
			t.Fatalf("mute: %d", p.status)
		}
		if p := b.get("/t/acme/account"); !strings.Contains(p.body, `name="muted" checked`) {
			t.Error("the account page does not show the mute")
		}
		f.ta.browser().signIn("acme", to, adaPW)
		f.ta.browser().signIn("acme", to, adaPW)
		if got := f.ta.subjectsTo(to); len(got) != 0 {
			t.Errorf("muted user got %q", got)
		}
		record(events.Entry{Action: "mfa.factor.remove", TargetType: "user", TargetID: f.ada.ID})
		expect("muted, factor removed", "Ein zweiter Faktor wurde von Ihrem Acme Shop-Konto entfernt")

		// The tenant turns kinds off: a security kind is sent anyway.
		noErr := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		noErr(f.ta.DB.SelfService().NoticePrefs().SetNoticesMuted(ctx, f.tn.ID, f.ada.ID, false))
		_, err = f.ta.Tenants.UpdateTenant(ctx, testActor, f.tn.ID, 0, tenancy.TenantPatch{Settings: json.RawMessage(
			`{"notices":{"off":["account_enabled","factor_removed"]}}`)})
		noErr(err)
		for _, st := range []string{"disabled", "active"} {
			_, err := f.ta.Directory.UpdateUser(ctx, testActor, f.tn.ID, f.ada.ID, 0, directory.UserPatch{Status: &st})
			noErr(err)
		}
		expect("tenant turned account_enabled off", "Ihr Acme Shop-Konto wurde deaktiviert")
		record(events.Entry{Action: "mfa.factor.remove", TargetType: "user", TargetID: f.ada.ID})
		expect("tenant turned factor_removed off", "Ein zweiter Faktor wurde von Ihrem Acme Shop-Konto entfernt")
	})
}
