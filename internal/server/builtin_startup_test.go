package server

import (
	"context"
	"io"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// TestBuiltinRolesAtStartup: a tenant written without its built-in roles
// (by the store's bulk path, or a release that had fewer) gets them at the
// next start-up, and one that lost a single role gets that one back; the
// tenants that have them all are left as they are.
func TestBuiltinRolesAtStartup(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		cfg := testConfig(t, be.db(t))
		ta := openApp(t, cfg)
		bare := &store.Tenant{ID: store.TenantID("t-bare-" + randomSuffix(t)), Slug: "bare-" + randomSuffix(t), Name: "bare"}
		if err := ta.DB.Tenants().CreateTenant(ctx, bare); err != nil {
			t.Fatal(err)
		}
		full := ta.tenant("full")
		lost := authz.BuiltinRoles[len(authz.BuiltinRoles)-1].Name
		r, err := ta.DB.Authz().Roles().GetRoleByName(ctx, full.ID, lost)
		if err != nil {
			t.Fatal(err)
		}
		if err := ta.DB.Authz().Roles().DeleteRole(ctx, full.ID, r.ID); err != nil {
			t.Fatal(err)
		}
		kept := authz.BuiltinRoles[0].Name
		before, err := ta.DB.Authz().Roles().GetRoleByName(ctx, full.ID, kept)
		if err != nil {
			t.Fatal(err)
		}

		ta2 := openApp(t, cfg)
		if err := ta2.Bootstrap(ctx, io.Discard); err != nil {
			t.Fatal(err)
		}
		for _, tn := range []store.TenantID{bare.ID, full.ID} {
			for _, b := range authz.BuiltinRoles {
				if _, err := ta2.DB.Authz().Roles().GetRoleByName(ctx, tn, b.Name); err != nil {
					t.Errorf("tenant %s after start-up: role %s: %v", tn, b.Name, err)
				}
			}
		}
		if after, err := ta2.DB.Authz().Roles().GetRoleByName(ctx, full.ID, kept); err != nil || after.ID != before.ID {
			t.Errorf("a role the tenant had was replaced: %+v %v, was %s", after, err, before.ID)
		}
	})
}
