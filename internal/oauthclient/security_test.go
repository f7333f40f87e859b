package oauthclient

import (
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// TestSecurityRules: the mTLS fields belong to tls_client_auth clients
// only, exactly one of them; fapi2 and profile are one switch, and a FAPI
// 2.0 client is held to the profile's registration rules.
func TestSecurityRules(t *testing.T) {
	base := func() *store.Client {
		return &store.Client{Name: "c", AuthMethod: AuthTLSClient, GrantTypes: []string{GrantClientCredentials},
			Security: store.ClientSecurity{TLSSubjectDN: "CN=c"}}
	}
	for _, c := range []struct {
		name  string
		edit  func(*store.Client)
		field string // "" when valid
	}{
		{"tls_client_auth with a DN", func(*store.Client) {}, ""},
		{"tls_client_auth with no field", func(c *store.Client) { c.Security.TLSSubjectDN = "" }, "tls_client_auth_subject_dn"},
		{"tls_client_auth with two fields", func(c *store.Client) { c.Security.TLSSANDNS = "c.example" }, "tls_client_auth_subject_dn"},
		{"a DN on a secret client", func(c *store.Client) { c.AuthMethod = AuthSecretBasic }, "tls_client_auth_subject_dn"},
		{"a bad SAN IP", func(c *store.Client) { c.Security = store.ClientSecurity{TLSSANIP: "not-an-ip"} }, "tls_client_auth_san_ip"},
		{"a relative SAN URI", func(c *store.Client) { c.Security = store.ClientSecurity{TLSSANURI: "path/only"} }, "tls_client_auth_san_uri"},
		{"a DN with a newline", func(c *store.Client) { c.Security.TLSSubjectDN = "CN=a\nO=b" }, "tls_client_auth"},
		{"an unknown profile", func(c *store.Client) { c.Security.Profile = "fapi1" }, "profile"},
		{"self-signed without x5c", func(c *store.Client) { c.AuthMethod, c.Security = AuthSelfSignedTLSClient, store.ClientSecurity{} }, "jwks"},
		{"FAPI 2.0 with mTLS and ES256", func(c *store.Client) { c.Security.Profile, c.IDTokenAlg = store.ProfileFAPI2, AlgES256 }, ""},
		{"FAPI 2.0 with RS256 ID tokens", func(c *store.Client) { c.Security.Profile, c.IDTokenAlg = store.ProfileFAPI2, AlgRS256 }, "id_token_signed_response_alg"},
		{"FAPI 2.0 with an http redirect", func(c *store.Client) {
			c.Security.Profile, c.IDTokenAlg = store.ProfileFAPI2, AlgEdDSA
			c.RedirectURIs = []string{"http://app.example/cb"}
		}, "redirect_uris"},
	} {
		cl := base()
		c.edit(cl)
		var col valid.Collector
		checkSecurity(&col, cl)
		err := col.Err()
		switch {
		case c.field == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.field != "" && (err == nil || !hasField(err, c.field)):
			t.Errorf("%s: %v, want a problem with %s", c.name, err, c.field)
		}
	}
	// fapi2 and profile are one switch; a FAPI 2.0 client without an ID
	// token algorithm gets ES256.
	cl := &store.Client{}
	applySecurity(cl, SecurityFields{FAPI2: true})
	if !cl.Security.FAPI2() || cl.IDTokenAlg != AlgES256 {
		t.Errorf("fapi2: true gave %+v, %s", cl.Security, cl.IDTokenAlg)
	}
	off := false
	patchSecurity(cl, SecurityPatch{FAPI2: &off})
	if cl.Security.Profile != "" {
		t.Errorf("fapi2: false left profile %q", cl.Security.Profile)
	}
}

func hasField(err error, field string) bool {
	ve, ok := err.(*valid.Error)
	if !ok {
		return false
	}
	for _, p := range ve.Fields {
		if p.Field == field {
			return true
		}
	}
	return false
}
