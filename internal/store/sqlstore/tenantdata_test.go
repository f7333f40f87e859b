package sqlstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
)

// TestTenantDataImportRefusals: ImportRow takes only rows of the tenant
// being imported, into tables of this schema that carry a tenant_id, with
// plain column names; anything else is an error and writes nothing.
func TestTenantDataImportRefusals(t *testing.T) {
	sqltest.ForEachDB(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		tn := tenantT1(t, db)
		td := db.TenantData()
		tables, err := td.TenantTables(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// Parents first: users before group_users, clients before tokens.
		idx := func(n string) int { return slices.Index(tables, n) }
		if idx("users") < 0 || idx("users") > idx("group_users") || idx("clients") > idx("refresh_tokens") {
			t.Errorf("tenant tables not in foreign-key order: %v", tables)
		}
		if slices.Contains(tables, "schema_migrations") || slices.Contains(tables, "tenants") {
			t.Errorf("tables without tenant_id listed: %v", tables)
		}
		for _, c := range []struct {
			desc, table, row string
		}{
			{"another tenant's row", "groups", `{"tenant_id":"t2","id":"g1","name":"x","description":"","version":1,"created_at":1,"updated_at":1}`},
			{"no owner", "groups", `{"id":"g1","name":"x"}`},
			{"a table without tenant_id", "schema_migrations", `{"tenant_id":"t1","version":999,"applied_at":1}`},
			{"an unknown table", "nosuch", `{"tenant_id":"t1"}`},
			{"a crafted table name", "groups; DROP TABLE users", `{"tenant_id":"t1"}`},
			{"a crafted column name", "groups", `{"tenant_id":"t1","id":"g1","name":"x","version":1,"created_at":1,"updated_at":1,"name) VALUES (1); --":1}`},
			{"not an object", "groups", `[1,2]`},
			{"another tenants row", "tenants", `{"id":"t2","slug":"t2","name":"x","settings":"{}","status":"active","version":1,"created_at":1,"updated_at":1}`},
		} {
			if err := td.ImportRow(ctx, tn, c.table, json.RawMessage(c.row)); err == nil {
				t.Errorf("%s: imported", c.desc)
			}
		}
		gs, err := db.Groups().ListGroups(ctx, tn, store.Page{})
		if err != nil || len(gs) != 0 {
			t.Errorf("groups after refused imports: %v, %v", gs, err)
		}
		if _, err := db.Tenants().GetTenant(ctx, "t2"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("tenant t2 after a refused import: %v", err)
		}
	})
}
