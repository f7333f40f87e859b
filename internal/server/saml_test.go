package server

import (
	"context"

	"github.com/gatehouse-id/gatehouse/internal/samlreg"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// samlSP registers a service provider of tenant with entity ID entityID.
func (ta *testApp) samlSP(tenant store.TenantID, entityID string) *store.SAMLServiceProvider {
	ta.t.Helper()
	sp, err := ta.SAMLSPs.Create(context.Background(), testActor, tenant, samlreg.NewSP{
		Name: "SP " + entityID, EntityID: entityID, ACS: []store.SAMLEndpoint{{Location: entityID + "/acs"}}})
	if err != nil {
		ta.t.Fatalf("Create SAML SP(%s): %v", entityID, err)
	}
	return sp
}
