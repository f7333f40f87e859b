package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

type importRepo struct{ *scope }

var _ store.Imports = importRepo{}

func (s *scope) Imports() store.Imports { return importRepo{s} }

const importCols = `tenant_id, id, format, source, digest, on_conflict, dry_run, status, total, checkpoint,
created, updated, skipped, failed, errors, message, created_at, updated_at`

func scanImport(r scanner) (*store.ImportJob, error) {
	var (
		j                store.ImportJob
		tenant, errs     string
		created, updated int64
	)
	if err := r.Scan(&tenant, &j.ID, &j.Format, &j.Source, &j.Digest, &j.OnConflict, &j.DryRun, &j.Status,
		&j.Total, &j.Checkpoint, &j.Created, &j.Updated, &j.Skipped, &j.Failed, &errs, &j.Message, &created, &updated); err != nil {
		return nil, err
	}
	j.Tenant = store.TenantID(tenant)
	if err := json.Unmarshal([]byte(errs), &j.Errors); err != nil {
		return nil, fmt.Errorf("import job errors: %w", err)
	}
	j.CreatedAt, j.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &j, nil
}

func importArgs(j *store.ImportJob) ([]any, error) {
	errs := j.Errors
	if errs == nil {
		errs = []store.ImportError{}
	}
	raw, err := json.Marshal(errs)
	if err != nil {
		return nil, err
	}
	return []any{string(j.Tenant), j.ID, j.Format, j.Source, j.Digest, j.OnConflict, j.DryRun, j.Status,
		j.Total, j.Checkpoint, j.Created, j.Updated, j.Skipped, j.Failed, string(raw), j.Message,
		j.CreatedAt.UnixMicro(), j.UpdatedAt.UnixMicro()}, nil
}

func (r importRepo) CreateImportJob(ctx context.Context, j *store.ImportJob) error {
	if j.ID == "" || j.Tenant == "" || j.Format == "" || j.Status == "" {
		return errors.New("sqlstore: import job needs an id, a tenant, a format and a status")
	}
	n := *j
	if n.CreatedAt.IsZero() {
		n.CreatedAt = r.db.now()
	}
	n.CreatedAt = micro(n.CreatedAt)
	if n.UpdatedAt.IsZero() {
		n.UpdatedAt = n.CreatedAt
	}
	n.UpdatedAt = micro(n.UpdatedAt)
	args, err := importArgs(&n)
	if err != nil {
		return err
	}
	err = r.single(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO import_jobs (`+importCols+`) VALUES (`+placeholders(0, 18)+`)`, args...)
		return wrapErr("create import job", err)
	})
	if err == nil {
		*j = n
	}
	return err
}

func (r importRepo) get(ctx context.Context, q querier, lock string, tenant store.TenantID, id string) (*store.ImportJob, error) {
	j, err := scanImport(q.QueryRowContext(ctx, `SELECT `+importCols+` FROM import_jobs WHERE tenant_id = $1 AND id = $2`+lock, string(tenant), id))
	return j, wrapErr("get import job", err)
}

func (r importRepo) GetImportJob(ctx context.Context, tenant store.TenantID, id string) (*store.ImportJob, error) {
	return r.get(ctx, r.q, "", tenant, id)
}

// UpdateImportJob is the closure update of doc.go; the id, tenant and
// creation time stay as they were.
func (r importRepo) UpdateImportJob(ctx context.Context, tenant store.TenantID, id string, fn func(*store.ImportJob) error) (*store.ImportJob, error) {
	var out *store.ImportJob
	err := r.write(ctx, func(q querier) error {
		old, err := r.get(ctx, q, r.forUpdate(), tenant, id)
		if err != nil {
			return err
		}
		n := *old
		n.Errors = append([]store.ImportError(nil), old.Errors...)
		if err := fn(&n); err != nil {
			return err
		}
		n.ID, n.Tenant, n.CreatedAt = old.ID, old.Tenant, old.CreatedAt
		n.UpdatedAt = micro(r.db.now())
		args, err := importArgs(&n)
		if err != nil {
			return err
		}
		_, err = q.ExecContext(ctx, `UPDATE import_jobs SET format = $3, source = $4, digest = $5, on_conflict = $6,
dry_run = $7, status = $8, total = $9, checkpoint = $10, created = $11, updated = $12, skipped = $13, failed = $14,
errors = $15, message = $16, updated_at = $17 WHERE tenant_id = $1 AND id = $2`, append(args[:16], args[17])...)
		if err != nil {
			return wrapErr("update import job", err)
		}
		out = &n
		return nil
	})
	return out, err
}

func (r importRepo) LatestImportJob(ctx context.Context, tenant store.TenantID, digest string) (*store.ImportJob, error) {
	j, err := scanImport(r.q.QueryRowContext(ctx, `SELECT `+importCols+` FROM import_jobs
WHERE tenant_id = $1 AND digest = $2 AND status <> $3 AND dry_run = $4 ORDER BY id DESC LIMIT 1`, string(tenant), digest, store.ImportFinished, false))
	return j, wrapErr("latest import job", err)
}

// lookupPairs answers valCol by keyCol of table for the values of keyCol
// in vals, in chunks that stay under both backends' parameter limits.
// table, keyCol and valCol are constants of this file, never input.
func (r importRepo) lookupPairs(ctx context.Context, tenant store.TenantID, table, keyCol, valCol string, vals []string) (map[string]string, error) {
	out := make(map[string]string, len(vals))
	if r.db.d.postgres {
		// One array parameter: no statement with hundreds of parameters
		// to parse and plan for every batch.
		rows, err := r.q.QueryContext(ctx, `SELECT `+keyCol+`, `+valCol+` FROM `+table+`
WHERE tenant_id = $1 AND `+keyCol+` = ANY($2)`, string(tenant), vals)
		if err != nil {
			return nil, wrapErr("lookup external ids", err)
		}
		return out, scanPairs(rows, out)
	}
	const chunk = 500
	for start := 0; start < len(vals); start += chunk {
		part := vals[start:min(start+chunk, len(vals))]
		args := make([]any, 0, len(part)+1)
		args = append(args, string(tenant))
		for _, v := range part {
			args = append(args, v)
		}
		rows, err := r.q.QueryContext(ctx, `SELECT `+keyCol+`, `+valCol+` FROM `+table+`
WHERE tenant_id = $1 AND `+keyCol+` IN (`+placeholders(1, len(part))+`)`, args...)
		if err != nil {
			return nil, wrapErr("lookup external ids", err)
		}
		if err := scanPairs(rows, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// scanPairs reads two-column rows into out and closes them.
func scanPairs(rows *sql.Rows, out map[string]string) error {
	defer rows.Close()
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return wrapErr("lookup external ids", err)
		}
		out[k] = v
	}
	return wrapErr("lookup external ids", rows.Err())
}

func (r importRepo) ExternalIDs(ctx context.Context, tenant store.TenantID, ids []string) (map[string]string, error) {
	return r.lookupPairs(ctx, tenant, "user_external_ids", "external_id", "user_id", ids)
}

func (r importRepo) UserExternalIDs(ctx context.Context, tenant store.TenantID, userIDs []string) (map[string]string, error) {
	return r.lookupPairs(ctx, tenant, "user_external_ids", "user_id", "external_id", userIDs)
}

func (r importRepo) IdentifierOwners(ctx context.Context, tenant store.TenantID, emailNorms, usernameNorms []string) (map[string]string, map[string]string, error) {
	byEmail, err := r.lookupPairs(ctx, tenant, "users", "email_norm", "id", emailNorms)
	if err != nil {
		return nil, nil, err
	}
	byUsername, err := r.lookupPairs(ctx, tenant, "users", "username_norm", "id", usernameNorms)
	return byEmail, byUsername, err
}

// LinkExternalIDs inserts the pairs in external id order, many per
// statement on PostgreSQL.
func (r importRepo) LinkExternalIDs(ctx context.Context, tenant store.TenantID, links map[string]string) error {
	keys := make([]string, 0, len(links))
	for k := range links {
		if k == "" || links[k] == "" {
			return errors.New("sqlstore: external id links need both ids")
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return r.write(ctx, func(q querier) error {
		if !r.db.d.postgres {
			// One prepared row at a time: SQLite has no round trip to
			// save and resolves many parameters slowly (insertUsersPrepared).
			stmt, err := q.PrepareContext(ctx, `INSERT INTO user_external_ids (tenant_id, external_id, user_id) VALUES ($1, $2, $3)`)
			if err != nil {
				return wrapErr("link external ids", err)
			}
			defer stmt.Close()
			for _, k := range keys {
				if _, err := stmt.ExecContext(ctx, string(tenant), k, links[k]); err != nil {
					return wrapErr("link external ids", err)
				}
			}
			return nil
		}
		const chunk = 300
		for start := 0; start < len(keys); start += chunk {
			part := keys[start:min(start+chunk, len(keys))]
			var sb strings.Builder
			args := make([]any, 0, 3*len(part))
			sb.WriteString(`INSERT INTO user_external_ids (tenant_id, external_id, user_id) VALUES `)
			for i, k := range part {
				if i > 0 {
					sb.WriteString(", ")
				}
				sb.WriteString("(" + placeholders(len(args), 3) + ")")
				args = append(args, string(tenant), k, links[k])
			}
			if _, err := q.ExecContext(ctx, sb.String(), args...); err != nil {
				return wrapErr("link external ids", err)
			}
		}
		return nil
	})
}

func (r importRepo) ScanPasswordHashes(ctx context.Context, tenant store.TenantID, fn func(string) error) error {
	rows, err := r.q.QueryContext(ctx, `SELECT password_hash FROM users WHERE tenant_id = $1`, string(tenant))
	if err != nil {
		return wrapErr("scan password hashes", err)
	}
	defer rows.Close()
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			return wrapErr("scan password hashes", err)
		}
		if err := fn(h); err != nil {
			return err
		}
	}
	return wrapErr("scan password hashes", rows.Err())
}
