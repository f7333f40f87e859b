package sqlstore

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

type tenantDataRepo struct{ *scope }

// identRE bounds the table and column names this file puts into SQL text.
// They come from the schema or, on import, from a file checked against the
// schema; the pattern keeps anything else out of a statement.
var identRE = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

const (
	sqliteTenantTables = `SELECT m.name FROM sqlite_master m JOIN pragma_table_info(m.name) c
WHERE m.type = 'table' AND c.name = 'tenant_id' ORDER BY m.name`
	sqliteForeignKeys = `SELECT m.name, f."table" FROM sqlite_master m JOIN pragma_foreign_key_list(m.name) f
WHERE m.type = 'table'`
	pgTenantTables = `SELECT c.table_name FROM information_schema.columns c
JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
WHERE c.table_schema = current_schema() AND c.column_name = 'tenant_id' AND t.table_type = 'BASE TABLE'
ORDER BY c.table_name`
	pgForeignKeys = `SELECT c.relname, p.relname FROM pg_constraint k
JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class p ON p.oid = k.confrelid
WHERE k.contype = 'f' AND c.relnamespace = current_schema()::regnamespace`
)

func (r tenantDataRepo) TenantTables(ctx context.Context) ([]string, error) {
	return tenantTables(ctx, r.q, r.db.d.postgres)
}

// tenantTables answers the tenant tables ordered so that every table comes
// after the tables it references (a depth-first topological order).
func tenantTables(ctx context.Context, q querier, postgres bool) ([]string, error) {
	listQ, fkQ := sqliteTenantTables, sqliteForeignKeys
	if postgres {
		listQ, fkQ = pgTenantTables, pgForeignKeys
	}
	names, err := queryStrings(ctx, q, listQ)
	if err != nil {
		return nil, wrapErr("list tenant tables", err)
	}
	rows, err := q.QueryContext(ctx, fkQ)
	if err != nil {
		return nil, wrapErr("list foreign keys", err)
	}
	parents := map[string][]string{}
	for rows.Next() {
		var child, parent string
		if err := rows.Scan(&child, &parent); err != nil {
			rows.Close()
			return nil, wrapErr("list foreign keys", err)
		}
		if child != parent {
			parents[child] = append(parents[child], parent)
		}
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, wrapErr("list foreign keys", err)
	}
	in := map[string]bool{}
	for _, n := range names {
		if !identRE.MatchString(n) {
			return nil, fmt.Errorf("sqlstore: table name %q is outside the expected form", n)
		}
		in[n] = true
	}
	var out []string
	seen := map[string]bool{}
	var visit func(n string, depth int)
	visit = func(n string, depth int) {
		if seen[n] || depth > len(names) {
			return
		}
		seen[n] = true
		for _, p := range parents[n] {
			if in[p] {
				visit(p, depth+1)
			}
		}
		out = append(out, n)
	}
	for _, n := range names {
		visit(n, 0)
	}
	return out, nil
}

func queryStrings(ctx context.Context, q querier, query string, args ...any) ([]string, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

func (r tenantDataRepo) PurgeTenant(ctx context.Context, id store.TenantID) (map[string]int64, error) {
	counts := map[string]int64{}
	err := r.write(ctx, func(q querier) error {
		tables, err := tenantTables(ctx, q, r.db.d.postgres)
		if err != nil {
			return err
		}
		// Count first: the tenants row's foreign keys cascade, so after its
		// delete the per-table figures would be gone.
		for _, t := range tables {
			var n int64
			if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+t+` WHERE tenant_id = $1`, string(id)).Scan(&n); err != nil {
				return wrapErr("count "+t, err)
			}
			if n > 0 {
				counts[t] = n
			}
		}
		res, err := q.ExecContext(ctx, `DELETE FROM tenants WHERE id = $1`, string(id))
		if err != nil {
			return wrapErr("purge tenant", err)
		}
		if err := oneRow(res, "purge tenant"); err != nil {
			return err
		}
		counts["tenants"] = 1
		// Children first, so a foreign key without a cascade never blocks.
		for _, t := range slices.Backward(tables) {
			if _, err := q.ExecContext(ctx, `DELETE FROM `+t+` WHERE tenant_id = $1`, string(id)); err != nil {
				return wrapErr("purge "+t, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return counts, nil
}

func (r tenantDataRepo) ExportTenant(ctx context.Context, id store.TenantID, emit func(string, json.RawMessage) error) error {
	if _, err := (tenantRepo{r.scope}).GetTenant(ctx, id); err != nil {
		return err
	}
	tables, err := tenantTables(ctx, r.q, r.db.d.postgres)
	if err != nil {
		return err
	}
	if err := r.exportTable(ctx, "tenants", "id", id, emit); err != nil {
		return err
	}
	for _, t := range tables {
		if err := r.exportTable(ctx, t, "tenant_id", id, emit); err != nil {
			return err
		}
	}
	return nil
}

// exportTable emits the rows of table whose column col is id. PostgreSQL
// writes each row as JSON itself (row_to_json), which its import reads
// back with json_populate_record, so every column type round-trips; SQLite
// rows are scanned and encoded here (BLOBs as {"$bytes": base64}).
func (r tenantDataRepo) exportTable(ctx context.Context, table, col string, id store.TenantID, emit func(string, json.RawMessage) error) error {
	if r.db.d.postgres {
		rows, err := r.q.QueryContext(ctx, `SELECT row_to_json(x)::text FROM `+table+` x WHERE `+col+` = $1`, string(id))
		if err != nil {
			return wrapErr("export "+table, err)
		}
		defer rows.Close()
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				return wrapErr("export "+table, err)
			}
			if err := emit(table, json.RawMessage(s)); err != nil {
				return err
			}
		}
		return wrapErr("export "+table, rows.Err())
	}
	rows, err := r.q.QueryContext(ctx, `SELECT * FROM `+table+` WHERE `+col+` = $1`, string(id))
	if err != nil {
		return wrapErr("export "+table, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return wrapErr("export "+table, err)
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return wrapErr("export "+table, err)
		}
		m := make(map[string]any, len(cols))
		for i, c := range cols {
			if b, ok := vals[i].([]byte); ok {
				m[c] = map[string]string{"$bytes": base64.StdEncoding.EncodeToString(b)}
			} else {
				m[c] = vals[i]
			}
		}
		raw, err := json.Marshal(m)
		if err != nil {
			return err
		}
		if err := emit(table, raw); err != nil {
			return err
		}
	}
	return wrapErr("export "+table, rows.Err())
}

// errImport is the cause of every refusal of a malformed import row.
var errImport = errors.New("sqlstore: import row refused")

func (r tenantDataRepo) ImportRow(ctx context.Context, id store.TenantID, table string, row json.RawMessage) error {
	dec := json.NewDecoder(bytes.NewReader(row))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || m == nil {
		return fmt.Errorf("%w: a row of %q is not a JSON object", errImport, table)
	}
	owner := "tenant_id"
	if table == "tenants" {
		owner = "id"
	} else {
		tables, err := tenantTables(ctx, r.q, r.db.d.postgres)
		if err != nil {
			return err
		}
		if !slices.Contains(tables, table) {
			return fmt.Errorf("%w: %q is no tenant table of this database", errImport, table)
		}
	}
	if v, _ := m[owner].(string); v != string(id) {
		return fmt.Errorf("%w: a row of %q belongs to another tenant", errImport, table)
	}
	// An imported revocation takes this database's next seq (SQLite) and
	// reaches every node's memory of the revocations (revmemory.go).
	announce := func(ctx context.Context, q querier) error { return nil }
	if table == "token_revocations" {
		delete(m, "seq")
		announce = func(ctx context.Context, q querier) error { return importedRevocation(ctx, q, id, m) }
	}
	if r.db.d.postgres {
		return r.single(ctx, func(q querier) error {
			_, err := q.ExecContext(ctx, `INSERT INTO `+table+` SELECT * FROM json_populate_record(NULL::`+table+`, $1::json)`, string(row))
			if err != nil {
				return wrapErr("import "+table, err)
			}
			return announce(ctx, q)
		})
	}
	cols := make([]string, 0, len(m))
	for c := range m {
		if !identRE.MatchString(c) {
			return fmt.Errorf("%w: a column name of %q is outside the expected form", errImport, table)
		}
		cols = append(cols, c)
	}
	slices.Sort(cols)
	args := make([]any, len(cols))
	marks := make([]string, len(cols))
	for i, c := range cols {
		v, err := sqliteValue(m[c])
		if err != nil {
			return fmt.Errorf("%w: %s.%s: %v", errImport, table, c, err)
		}
		args[i], marks[i] = v, fmt.Sprintf("$%d", i+1)
	}
	return r.single(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO `+table+` (`+strings.Join(cols, ", ")+`) VALUES (`+strings.Join(marks, ", ")+`)`, args...)
		if err != nil {
			return wrapErr("import "+table, err)
		}
		return announce(ctx, q)
	})
}

// sqliteValue turns a decoded JSON value back into what SQLite stored.
func sqliteValue(v any) (any, error) {
	switch x := v.(type) {
	case nil, string:
		return x, nil
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return n, nil
		}
		return x.Float64()
	case map[string]any:
		s, ok := x["$bytes"].(string)
		if !ok || len(x) != 1 {
			return nil, errors.New("an object value is not encoded bytes")
		}
		return base64.StdEncoding.DecodeString(s)
	}
	return nil, fmt.Errorf("unexpected value of type %T", v)
}
