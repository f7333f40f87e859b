package oauthclient

import (
	"slices"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// profileClaims are the OpenID Connect claims userinfo fills from the user
// record; an authorization claim may not take one of their names.
var profileClaims = []string{"name", "given_name", "family_name", "middle_name", "nickname", "preferred_username",
	"profile", "picture", "website", "email", "email_verified", "gender", "birthdate", "zoneinfo", "locale",
	"phone_number", "phone_number_verified", "address", "updated_at", "groups", "consents"}

// checkAuthzClaims: the role and permission claim names are claim names
// no protocol, profile or mapped claim already uses, and differ.
func checkAuthzClaims(c *valid.Collector, cl *store.Client) {
	a := cl.AuthzClaims
	seen := ""
	for _, f := range []struct{ field, name string }{
		{"authz_claims.roles_claim", a.RolesClaim}, {"authz_claims.permissions_claim", a.PermissionsClaim}} {
		switch {
		case f.name == "":
		case !claimRE.MatchString(f.name):
			c.Add(f.field, "invalid", "A claim name has 1 to 128 letters, digits, _ . : / or -, starting with a letter or _.")
		case slices.Contains(reservedClaims, f.name) || slices.Contains(profileClaims, f.name):
			c.Add(f.field, "reserved", "Protocol and profile claims (sub, email, groups, ...) cannot carry roles or permissions.")
		case cl.ClaimMappings[f.name] != "":
			c.Add(f.field, "conflict", "That claim is already mapped from a user attribute.")
		case f.name == seen:
			c.Add(f.field, "conflict", "Roles and permissions need two different claims.")
		}
		if f.name != "" {
			seen = f.name
		}
	}
	if a.ApplicationOnly && a.RolesClaim == "" && a.PermissionsClaim == "" {
		c.Add("authz_claims.application_only", "invalid", "application_only needs roles_claim or permissions_claim.")
	}
}
