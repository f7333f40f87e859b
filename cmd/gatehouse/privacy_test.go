package main

import (
	"context"
	"regexp"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// TestAuditVerifyAfterErasure: `gatehouse audit verify` passes after a
// user's erasure destroyed the key their audit entries are sealed under,
// and the entries are all still there.
func TestAuditVerifyAfterErasure(t *testing.T) {
	for _, be := range backendDBs {
		t.Run(be.name, func(t *testing.T) {
			d := newDeployment(t, be.db(t))
			d.must("tenant", "create", "--slug", "acme", "--name", "Acme")
			app := d.app()
			ctx := context.Background()
			tn, err := app.DB.Tenants().GetTenantBySlug(ctx, "acme")
			if err != nil {
				t.Fatal(err)
			}
			actor := events.Actor{Type: "cli", ID: "test"}
			u, err := app.Directory.CreateUser(ctx, actor, tn.ID, directory.NewUser{Email: "erase-me@example.com", GivenName: "Ernestine"})
			if err != nil {
				t.Fatal(err)
			}
			given := "Eberhardine"
			if _, err := app.Directory.UpdateUser(ctx, actor, tn.ID, u.ID, 0, directory.UserPatch{GivenName: &given}); err != nil {
				t.Fatal(err)
			}
			before, _ := app.DB.Audit().AuditHead(ctx, tn.ID)
			if _, err := app.Privacy.Erase(ctx, actor, tn.ID, u.ID); err != nil {
				t.Fatal(err)
			}
			out := d.must("audit", "verify", "--tenant", "acme")
			if !regexp.MustCompile(`^audit chain intact: \d+ entries verified\n$`).MatchString(out) {
				t.Fatalf("audit verify after the erasure: %q", out)
			}
			es, err := app.DB.Audit().ListAudit(ctx, tn.ID, store.AuditQuery{TargetID: u.ID})
			if err != nil || len(es) != 3 {
				t.Fatalf("entries about the user after erasure: %d %v", len(es), err)
			}
			if after, _ := app.DB.Audit().AuditHead(ctx, tn.ID); after.Seq != before.Seq+1 {
				t.Errorf("head %d after erasure, %d before", after.Seq, before.Seq)
			}
		})
	}
}
