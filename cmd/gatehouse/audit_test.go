package main

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// TestAuditVerifyNewestDeleted: with the three newest entries of a
// tenant's chain deleted behind the server's back, `gatehouse audit
// verify` fails (exit 1) and says what the chain head records and how many
// entries are missing; the untouched chain verified before.
func TestAuditVerifyNewestDeleted(t *testing.T) {
	for _, be := range backendDBs {
		t.Run(be.name, func(t *testing.T) {
			d := newDeployment(t, be.db(t))
			d.must("tenant", "create", "--slug", "acme", "--name", "Acme")
			for range 6 {
				d.createKey("--tenant", "acme", "--scopes", "read")
			}
			out := d.must("audit", "verify", "--tenant", "acme")
			m := regexp.MustCompile(`^audit chain intact: (\d+) entries verified\n$`).FindStringSubmatch(out)
			if m == nil {
				t.Fatalf("audit verify before: %q", out)
			}
			var n int
			fmt.Sscan(m[1], &n)
			if n < 5 {
				t.Fatalf("only %d entries to work with", n)
			}

			app := d.app()
			ctx := context.Background()
			tn, err := app.DB.Tenants().GetTenantBySlug(ctx, "acme")
			if err != nil {
				t.Fatal(err)
			}
			var head string
			if err := app.DB.SQL().QueryRowContext(ctx, `SELECT hash FROM audit_entries WHERE tenant_id = $1 AND seq = $2`,
				string(tn.ID), n).Scan(&head); err != nil {
				t.Fatal(err)
			}
			res, err := app.DB.SQL().ExecContext(ctx, `DELETE FROM audit_entries WHERE tenant_id = $1 AND seq > $2`, string(tn.ID), n-3)
			if k, _ := res.RowsAffected(); err != nil || k != 3 {
				t.Fatalf("delete the newest 3: %d rows (%v)", k, err)
			}

			msg := d.fails(1, "audit", "verify", "--tenant", "acme")
			want := fmt.Sprintf("chain head says %d entries ending in hash %s; found %d: the newest 3 entries are missing", n, head, n-3)
			if !strings.Contains(msg, "BROKEN") || !strings.Contains(msg, want) {
				t.Errorf("audit verify after deleting the newest 3 printed %q\nwant it to say %q", msg, want)
			}
		})
	}
}
