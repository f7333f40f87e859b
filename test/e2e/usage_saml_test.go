package e2e

import (
	"testing"

	crewjam "github.com/crewjam/saml"
)

// TestSAMLAssertionsMetered: each SAML response with an assertion counts
// in the tenant's usage, the first sign-in counts the user active, and a
// second assertion from the same session counts no one twice.
func TestSAMLAssertionsMetered(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			n, env, api := setupSAML(t, b)
			mkUser(api, map[string]any{"email": samlUser, "password": samlPassword})
			sp := newSP(t, n.URL, "default", "metered", true)
			registerSP(t, env, sp, "--name", "Metered")
			sso := sp.GetSSOBindingLocation(crewjam.HTTPRedirectBinding)
			c := samlBrowser(nil)
			for i := range 2 {
				req, err := sp.MakeAuthenticationRequest(sso, crewjam.HTTPRedirectBinding, crewjam.HTTPPostBinding)
				if err != nil {
					t.Fatal(err)
				}
				u, err := req.Redirect("", sp)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := acs(t, sp, visit(t, c, getReq(t, u.String()), samlUser, samlPassword), req.ID); err != nil {
					t.Fatalf("assertion %d: %v", i+1, err)
				}
			}
			var u struct {
				MAU            int `json:"mau"`
				SAMLAssertions int `json:"saml_assertions"`
			}
			api.must(200, "GET", "/api/v1/tenants/default/usage", nil).json(t, &u)
			if u.SAMLAssertions != 2 || u.MAU != 1 {
				t.Errorf("usage = %+v, want 2 SAML assertions and 1 active user", u)
			}
		})
	}
}
