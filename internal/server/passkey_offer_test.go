package server

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// TestPasskeyOfferAfterPasswordLogin: with mfa.passkey_nudge_days set, a
// password login for an application offers passkey enrolment once (the
// session exists; "not now" goes on to the application); the next login
// within the days goes straight through; a passkey added later counts as
// the offer's uptake in the adoption counts. Without the setting there is
// no offer.
func TestPasskeyOfferAfterPasswordLogin(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ta := newTestApp(t, be)
		tn := ta.tenant("acme")
		c := ta.client(tn.ID, "wiki")
		const email, pw = "ada@example.com", "correct horse battery"
		u := ta.userWithPassword(tn.ID, email, pw)
		login := func(b *browserClient) page {
			t.Helper()
			return passwordStep(t, b, "acme", ta.authRequest(tn, c), email, pw)
		}
		if p := login(ta.browser()); p.status != http.StatusSeeOther || !strings.Contains(p.location(), "/authorize/callback") {
			t.Fatalf("login without the setting: %d %q", p.status, p.location())
		}
		ta.mfaSettings(tn, map[string]any{"passkey_nudge_days": 30})

		b := ta.browser()
		id := ta.authRequest(tn, c)
		p := passwordStep(t, b, "acme", id, email, pw)
		if p.status != http.StatusSeeOther || p.location() != "/t/acme/passkey-offer?id="+id || !hasSessionCookie(p) {
			t.Fatalf("password login: %d %q (session %v)", p.status, p.location(), hasSessionCookie(p))
		}
		offer := b.get(p.location())
		if offer.status != http.StatusOK || !strings.Contains(offer.body, "/t/acme/account/mfa") {
			t.Fatalf("offer page: %d", offer.status)
		}
		if other := ta.browser().get(p.location()); other.status != http.StatusBadRequest {
			t.Errorf("offer page in a browser without the session: %d", other.status)
		}
		if p := b.post("/t/acme/passkey-offer", form("csrf", csrfRE.FindStringSubmatch(offer.body)[1], "id", id)); p.status != http.StatusSeeOther ||
			p.location() != "/t/acme/authorize/callback?id="+id {
			t.Fatalf("not now: %d %q", p.status, p.location())
		}
		if p := login(ta.browser()); p.status != http.StatusSeeOther || !strings.Contains(p.location(), "/authorize/callback") {
			t.Errorf("second login within 30 days: %d %q", p.status, p.location())
		}

		adoption := func() store.Adoption {
			t.Helper()
			r := ta.do(request{method: http.MethodGet, path: "/api/v1/tenants/" + string(tn.ID) + "/adoption",
				auth: "Bearer " + ta.key(tn.ID, "read")})
			var a store.Adoption
			if r.status != http.StatusOK || json.Unmarshal([]byte(r.body), &a) != nil {
				t.Fatalf("adoption: %d %s", r.status, r.body)
			}
			return a
		}
		if a := adoption(); a.NudgesShown != 1 || a.NudgesEnrolled != 0 || a.Users != 1 {
			t.Errorf("adoption after the offer: %+v", a)
		}
		// The entry the passkey enrolment records.
		if err := ta.DB.InTx(context.Background(), func(tx store.Repos) error {
			return ta.Audit.Record(context.Background(), tx, events.Actor{Type: "user", ID: u.ID}, events.Entry{Tenant: tn.ID,
				Action: "mfa.factor.add", TargetType: "user", TargetID: u.ID,
				Changes: events.Changes{"factor": {After: map[string]any{"id": "f1", "kind": "webauthn"}}}})
		}); err != nil {
			t.Fatal(err)
		}
		if a := adoption(); a.NudgesShown != 1 || a.NudgesEnrolled != 1 {
			t.Errorf("adoption after a passkey: %+v", a)
		}
	})
}
