package oidc

import (
	"slices"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
)

// profileClaimGate answers whether a client's claim mapping may put an
// attribute into a token granted scopes: a field of the tenant's profile
// schema with a claim_scope only when that scope was granted; any other
// attribute as the mapping says.
func profileClaimGate(tn *store.Tenant, scopes []string) func(attr string) bool {
	sc, err := tenancy.ProfileSchemaOf(tn)
	if err != nil {
		return func(string) bool { return false } // unreadable settings: map nothing
	}
	return func(attr string) bool {
		f, ok := sc.Find(attr)
		return !ok || f.ClaimScope == "" || slices.Contains(scopes, f.ClaimScope)
	}
}
