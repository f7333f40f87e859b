package storetest

import (
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

var clientSecurityTests = []test{
	{"OAuth/ClientSecurity/RoundTrip", testClientSecurityRoundTrip},
}

// testClientSecurityRoundTrip: a client's mTLS registration and profile
// round-trip through create, list and update; a client created without
// them reads back empty.
func testClientSecurityRoundTrip(t *testing.T, s store.Store) {
	tn := mkTenant(t, s)
	cs := s.OAuth().Clients()
	sec := store.ClientSecurity{Profile: store.ProfileFAPI2, TLSSubjectDN: "CN=client-a,O=Acme", TLSBound: true}
	c := &store.Client{ID: "mtls", Tenant: tn, Name: "mTLS", AuthMethod: "tls_client_auth",
		GrantTypes: []string{"client_credentials"}, Security: sec}
	noErr(t, "CreateClient", cs.CreateClient(ctx(t), c))
	plain := &store.Client{ID: "plain", Tenant: tn, Name: "plain", AuthMethod: "none", Public: true,
		RedirectURIs: []string{"https://p.example/cb"}, GrantTypes: []string{"authorization_code"}}
	noErr(t, "CreateClient(plain)", cs.CreateClient(ctx(t), plain))
	got, err := cs.GetClient(ctx(t), tn, "mtls")
	noErr(t, "GetClient", err)
	if got.Security != sec || !got.Security.FAPI2() {
		t.Errorf("created: %+v, want %+v", got.Security, sec)
	}
	if p, err := cs.GetClient(ctx(t), tn, "plain"); err != nil || p.Security != (store.ClientSecurity{}) {
		t.Errorf("plain client: %+v %v, want empty", p, err)
	}
	next := store.ClientSecurity{TLSSANDNS: "client-a.example"}
	up, err := cs.UpdateClient(ctx(t), tn, "mtls", func(x *store.Client) error {
		x.Security = next
		return nil
	})
	noErr(t, "UpdateClient", err)
	list, err := cs.ListClients(ctx(t), tn, store.Page{Limit: 10})
	noErr(t, "ListClients", err)
	if up.Security != next || len(list) != 2 || list[0].Security != next {
		t.Errorf("updated: answered %+v, listed %+v; want %+v", up.Security, list, next)
	}
}
