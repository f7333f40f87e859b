package store

import (
	"context"
	"encoding/json"
)

// TenantData handles a tenant's rows as one unit, for the purge of a
// deleted tenant and for export and import. It finds the tenant's tables
// from the database schema (every table with a tenant_id column), so a
// table added later is covered without a change here.
type TenantData interface {
	// TenantTables names every table with a tenant_id column, parents
	// before the tables whose foreign keys reference them.
	TenantTables(ctx context.Context) ([]string, error)
	// PurgeTenant removes the tenants row of id and every row whose
	// tenant_id is id, answering how many rows each table held (tables
	// without any are left out). ErrNotFound when the tenant does not exist.
	PurgeTenant(ctx context.Context, id TenantID) (map[string]int64, error)
	// ExportTenant calls emit with the tenants row of id (table "tenants")
	// and then every row of the tenant's tables, parents first; a row is a
	// JSON object in the backend's own encoding. ErrNotFound when the
	// tenant does not exist.
	ExportTenant(ctx context.Context, id TenantID, emit func(table string, row json.RawMessage) error) error
	// ImportRow inserts one row that ExportTenant of the same backend
	// produced. The row must belong to tenant id (its tenant_id, or its id
	// for table "tenants") and table must be "tenants" or a tenant table;
	// anything else is an error and changes nothing. ErrConflict when the
	// row exists.
	ImportRow(ctx context.Context, id TenantID, table string, row json.RawMessage) error
}
