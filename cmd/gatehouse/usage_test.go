package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
)

// TestUsageExport: the billing export lists every tenant of the month in
// CSV (the documented columns) and JSON, with the metered counts; bad
// flags exit 2.
func TestUsageExport(t *testing.T) {
	for _, be := range backendDBs {
		t.Run(be.name, func(t *testing.T) {
			d := newDeployment(t, be.db(t))
			app := d.app()
			ctx := context.Background()
			tn, err := app.Tenants.CreateTenant(ctx, cliActor(), tenancy.NewTenant{Slug: "billed", Name: "Billed"})
			if err != nil {
				t.Fatal(err)
			}
			month := tenancy.Month(time.Now())
			for _, u := range []string{"u1", "u2", "u1"} {
				if _, err := app.DB.Usage().MarkActive(ctx, tn.ID, month, u); err != nil {
					t.Fatal(err)
				}
			}
			if err := app.DB.Usage().AddUsage(ctx, []store.UsageDelta{
				{Tenant: tn.ID, Month: month, Metric: store.MetricLoginsSucceeded, N: 7},
				{Tenant: tn.ID, Month: month, Metric: "tokens.authorization_code", N: 4},
				{Tenant: tn.ID, Month: month, Metric: "tokens.refresh_token", N: 2},
				{Tenant: tn.ID, Month: month, Metric: store.MetricAPICalls, N: 3},
			}); err != nil {
				t.Fatal(err)
			}
			app.Close()

			rows, err := csv.NewReader(strings.NewReader(d.must("usage", "export", "--month", month, "--format", "csv"))).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(rows[0], ",") != "tenant_id,tenant_slug,month,mau,logins,signups,tokens,api_calls" {
				t.Errorf("header = %v", rows[0])
			}
			var found bool
			for _, r := range rows[1:] {
				if r[1] == "billed" {
					found = true
					if got := strings.Join(r, ","); got != string(tn.ID)+",billed,"+month+",2,7,0,6,3" {
						t.Errorf("row = %s", got)
					}
				}
			}
			if !found {
				t.Errorf("no row of billed in %v", rows)
			}
			var items []map[string]any
			if err := json.Unmarshal([]byte(d.must("usage", "export", "--month", month, "--format", "json")), &items); err != nil {
				t.Fatal(err)
			}
			for _, it := range items {
				if it["tenant_slug"] == "billed" && (it["mau"] != 2.0 || it["tokens"].(map[string]any)["refresh_token"] != 2.0) {
					t.Errorf("json item = %v", it)
				}
			}
			d.fails(2, "usage", "export", "--month", "2026-13")
			d.fails(2, "usage", "export", "--month", month, "--format", "xml")
		})
	}
}
