package server

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/samlreg"
)

// TestSAMLConsentRequired: a service provider registered through the API
// with consent_required gets no assertion until the user approves the
// attributes it receives (the login's consent step); the approval is
// remembered, and a provider that would now receive a further attribute
// asks again.
func TestSAMLConsentRequired(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ta := newTestApp(t, be)
		tn := ta.tenant("acme")
		const pw = "correct horse battery"
		ta.userWithPassword(tn.ID, "ada@example.com", pw)
		admin := "Bearer " + ta.key(tn.ID, "admin")
		spPath := "/api/v1/tenants/" + string(tn.ID) + "/saml/sps"
		r := ta.do(request{method: http.MethodPost, path: spPath, auth: admin, body: map[string]any{
			"name": "Payroll", "entity_id": "https://payroll.example.com", "consent_required": true,
			"acs":               []map[string]any{{"location": "https://payroll.example.com/acs"}},
			"attribute_mapping": map[string]string{"mail": "email"},
		}})
		var sp struct {
			ID              string `json:"id"`
			ConsentRequired bool   `json:"consent_required"`
		}
		if r.status != http.StatusCreated || json.Unmarshal(r.body, &sp) != nil || !sp.ConsentRequired {
			t.Fatalf("create SP: %d %s", r.status, r.body)
		}

		// launch starts an IdP-initiated login in b and answers the login id.
		launch := func(b *browserClient) string {
			t.Helper()
			p := b.get(samlreg.LaunchPath("acme", sp.ID))
			id, ok := strings.CutPrefix(p.location(), "/t/acme/login?id=")
			if p.status != http.StatusFound || !ok {
				t.Fatalf("SAML launch: %d %q", p.status, p.location())
			}
			return id
		}
		b := ta.browser()
		id := launch(b)
		p := passwordStep(t, b, "acme", id, "ada@example.com", pw)
		if p.status != http.StatusSeeOther || p.location() != "/t/acme/consent?id="+id {
			t.Fatalf("login to a provider that requires consent: %d %q", p.status, p.location())
		}
		// No assertion while the consent step waits.
		if p := b.get("/t/acme/saml/continue?id=" + id); p.status != http.StatusBadRequest || strings.Contains(p.body, "SAMLResponse") {
			t.Fatalf("continue before consent: %d", p.status)
		}
		p = b.get("/t/acme/consent?id=" + id)
		if p.status != http.StatusOK || !strings.Contains(p.body, "Payroll") || !strings.Contains(p.body, "Receive your mail") {
			t.Fatalf("consent page: %d %s", p.status, p.body)
		}
		tok := b.csrf("/t/acme/consent?id=" + id)
		p = b.post("/t/acme/consent", form("csrf", tok, "id", id, "decision", "approve"))
		if p.status != http.StatusSeeOther || p.location() != "/t/acme/saml/continue?id="+id {
			t.Fatalf("approve: %d %q", p.status, p.location())
		}
		if p = b.get(p.location()); p.status != http.StatusOK || !strings.Contains(p.body, "SAMLResponse") {
			t.Fatalf("continue after consent: %d", p.status)
		}

		// Approved once: the next login goes straight to the provider.
		id = launch(b)
		if p := b.get("/t/acme/login?id=" + id); p.status != http.StatusFound || p.location() != "/t/acme/saml/continue?id="+id {
			t.Fatalf("second login: %d %q", p.status, p.location())
		}

		// The provider now receives a further attribute: asked again.
		r = ta.do(request{method: http.MethodPatch, path: spPath + "/" + sp.ID, auth: admin, body: map[string]any{
			"attribute_mapping": map[string]string{"mail": "email", "displayName": "name"}}})
		if r.status != http.StatusOK {
			t.Fatalf("patch SP: %d %s", r.status, r.body)
		}
		id = launch(b)
		if p := b.get("/t/acme/login?id=" + id); p.status != http.StatusSeeOther || p.location() != "/t/acme/consent?id="+id {
			t.Fatalf("login after a new attribute: %d %q", p.status, p.location())
		}
	})
}
