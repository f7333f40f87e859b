package server

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// TestConfigClientSecurity: a client's mTLS registration and FAPI 2.0
// profile travel through configuration as code: an API-built client
// exports them and plans nothing; a changed DN plans one change and
// applies it.
func TestConfigClientSecurity(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ta := newTestApp(t, be)
		platform := ta.key(store.PlatformTenant, "admin")
		ta.mustAPI("POST", "/api/v1/tenants", platform, map[string]string{"slug": "acme", "name": "Acme"})
		created := ta.mustAPI("POST", "/api/v1/tenants/acme/clients", platform, map[string]any{"name": "bank",
			"fapi2": true, "token_endpoint_auth_method": "tls_client_auth", "tls_client_auth_subject_dn": "CN=bank,O=Acme",
			"tls_client_certificate_bound_access_tokens": true, "grant_types": []string{"client_credentials"}})
		exported := ta.export("acme")
		for _, want := range []string{"profile: fapi2", "tls_client_auth_subject_dn: CN=bank,O=Acme", "tls_client_certificate_bound_access_tokens: true"} {
			if !strings.Contains(exported, want) {
				t.Fatalf("export lacks %q:\n%s", want, exported)
			}
		}
		if res, out := ta.config("plan", platform, configFiles(exported)); res.status != http.StatusOK || out.Changes != 0 {
			t.Fatalf("plan of the export: %s", res)
		}
		changed := strings.Replace(exported, "CN=bank,O=Acme", "CN=bank2,O=Acme", 1)
		res, out := ta.config("apply", platform, configFiles(changed))
		if got := planLines(out.Plan); res.status != http.StatusOK || strings.Join(got, ",") != "update client bank tls_client_auth_subject_dn" {
			t.Fatalf("apply of a new DN: %v %s", got, res)
		}
		tn, _ := ta.Tenants.Resolve(t.Context(), "acme")
		cl, err := ta.Clients.GetClient(t.Context(), tn.ID, created["client_id"].(string))
		if err != nil || cl.Security.TLSSubjectDN != "CN=bank2,O=Acme" || !cl.Security.FAPI2() || !cl.Security.TLSBound {
			t.Errorf("client after apply: %+v, %v", cl.Security, err)
		}
	})
}
