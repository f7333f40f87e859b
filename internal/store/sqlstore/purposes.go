package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

type purposeRepo struct{ *scope }

var _ store.ConsentPurposes = purposeRepo{}

func (s *scope) Purposes() store.ConsentPurposes { return purposeRepo{s} }

// purposeDoc is the JSON of consent_purposes.doc.
type purposeDoc struct {
	Title       map[string]string `json:"title"`
	Description map[string]string `json:"description"`
}

const purposeCols = `tenant_id, name, version, doc, required, created_at`

func scanPurpose(r scanner) (store.ConsentPurpose, error) {
	var (
		p       store.ConsentPurpose
		tenant  string
		doc     string
		created int64
		d       purposeDoc
	)
	if err := r.Scan(&tenant, &p.Name, &p.Version, &doc, &p.Required, &created); err != nil {
		return p, err
	}
	if err := json.Unmarshal([]byte(doc), &d); err != nil {
		return p, err
	}
	p.Tenant, p.Title, p.Description, p.CreatedAt = store.TenantID(tenant), d.Title, d.Description, fromMicros(created)
	return p, nil
}

// CreatePurpose inserts one version; the primary key refuses a second
// insert of a name and version.
func (r purposeRepo) CreatePurpose(ctx context.Context, p *store.ConsentPurpose) error {
	if p.Tenant == "" || p.Name == "" || p.Version == "" {
		return errors.New("sqlstore: consent purpose needs a tenant, a name and a version")
	}
	doc, err := json.Marshal(purposeDoc{Title: p.Title, Description: p.Description})
	if err != nil {
		return err
	}
	if p.CreatedAt.IsZero() {
		p.CreatedAt = r.db.nowMicro()
	}
	p.CreatedAt = micro(p.CreatedAt)
	return r.single(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO consent_purposes (`+purposeCols+`) VALUES ($1, $2, $3, $4, $5, $6)`,
			string(p.Tenant), p.Name, p.Version, string(doc), p.Required, p.CreatedAt.UnixMicro())
		return wrapErr("create consent purpose", err)
	})
}

// ListPurposes orders each name's versions newest first; latest keeps the
// first of each name.
func (r purposeRepo) ListPurposes(ctx context.Context, tenant store.TenantID, latest bool) ([]store.ConsentPurpose, error) {
	all, err := r.purposes(ctx, `SELECT `+purposeCols+` FROM consent_purposes WHERE tenant_id = $1
ORDER BY name, created_at DESC, version DESC`, string(tenant))
	if err != nil || !latest {
		return all, err
	}
	var out []store.ConsentPurpose
	for _, p := range all {
		if len(out) == 0 || out[len(out)-1].Name != p.Name {
			out = append(out, p)
		}
	}
	return out, nil
}

func (r purposeRepo) GetPurpose(ctx context.Context, tenant store.TenantID, name string) ([]store.ConsentPurpose, error) {
	out, err := r.purposes(ctx, `SELECT `+purposeCols+` FROM consent_purposes WHERE tenant_id = $1 AND name = $2
ORDER BY created_at DESC, version DESC`, string(tenant), name)
	if err == nil && len(out) == 0 {
		return nil, notFound("get consent purpose")
	}
	return out, err
}

func (r purposeRepo) purposes(ctx context.Context, query string, args ...any) ([]store.ConsentPurpose, error) {
	rows, err := r.q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, wrapErr("list consent purposes", err)
	}
	defer rows.Close()
	var out []store.ConsentPurpose
	for rows.Next() {
		p, err := scanPurpose(rows)
		if err != nil {
			return nil, wrapErr("list consent purposes", err)
		}
		out = append(out, p)
	}
	return out, wrapErr("list consent purposes", rows.Err())
}

const recordCols = `tenant_id, id, user_id, purpose, version, state, how, ip, user_agent, at`

// AppendConsentRecord inserts r; the foreign key to users answers
// ErrNotFound for an unknown user.
func (r purposeRepo) AppendConsentRecord(ctx context.Context, rec *store.ConsentRecord) error {
	if rec.Tenant == "" || rec.ID == "" || rec.UserID == "" {
		return errors.New("sqlstore: consent record needs a tenant, an id and a user")
	}
	if rec.At.IsZero() {
		rec.At = r.db.nowMicro()
	}
	rec.At = micro(rec.At)
	return r.single(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO consent_records (`+recordCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			string(rec.Tenant), rec.ID, rec.UserID, rec.Purpose, rec.Version, rec.State, rec.How, rec.IP, rec.UserAgent,
			rec.At.UnixMicro())
		return wrapErr("append consent record", err)
	})
}

func (r purposeRepo) ListConsentRecords(ctx context.Context, tenant store.TenantID, userID string) ([]store.ConsentRecord, error) {
	rows, err := r.q.QueryContext(ctx, `SELECT `+recordCols+` FROM consent_records WHERE tenant_id = $1 AND user_id = $2
ORDER BY id`, string(tenant), userID)
	if err != nil {
		return nil, wrapErr("list consent records", err)
	}
	defer rows.Close()
	var out []store.ConsentRecord
	for rows.Next() {
		var (
			c      store.ConsentRecord
			tn     string
			atUnix int64
		)
		if err := rows.Scan(&tn, &c.ID, &c.UserID, &c.Purpose, &c.Version, &c.State, &c.How, &c.IP, &c.UserAgent, &atUnix); err != nil {
			return nil, wrapErr("list consent records", err)
		}
		c.Tenant, c.At = store.TenantID(tn), fromMicros(atUnix)
		out = append(out, c)
	}
	return out, wrapErr("list consent records", rows.Err())
}

func (r purposeRepo) MarkAsked(ctx context.Context, tenant store.TenantID, userID, purpose, version string, at time.Time) error {
	return r.single(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO consent_asks (tenant_id, user_id, purpose, version, asked_at)
VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`, string(tenant), userID, purpose, version, micro(at).UnixMicro())
		return wrapErr("mark consent asked", err)
	})
}

func (r purposeRepo) AskedVersions(ctx context.Context, tenant store.TenantID, userID string) (map[string][]string, error) {
	rows, err := r.q.QueryContext(ctx, `SELECT purpose, version FROM consent_asks WHERE tenant_id = $1 AND user_id = $2
ORDER BY purpose, version`, string(tenant), userID)
	if err != nil {
		return nil, wrapErr("asked consent versions", err)
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var p, v string
		if err := rows.Scan(&p, &v); err != nil {
			return nil, wrapErr("asked consent versions", err)
		}
		out[p] = append(out[p], v)
	}
	return out, wrapErr("asked consent versions", rows.Err())
}

func (r purposeRepo) GetPreferences(ctx context.Context, tenant store.TenantID, userID string) (*store.Preferences, error) {
	p := &store.Preferences{Tenant: tenant, UserID: userID, Channels: map[string]bool{}, Topics: map[string]bool{}}
	var (
		channels, topics string
		updated          int64
	)
	err := r.q.QueryRowContext(ctx, `SELECT channels, topics, updated_at FROM user_preferences
WHERE tenant_id = $1 AND user_id = $2`, string(tenant), userID).Scan(&channels, &topics, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return p, nil
	}
	if err != nil {
		return nil, wrapErr("get preferences", err)
	}
	if err := json.Unmarshal([]byte(channels), &p.Channels); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(topics), &p.Topics); err != nil {
		return nil, err
	}
	p.UpdatedAt = fromMicros(updated)
	return p, nil
}

func (r purposeRepo) PutPreferences(ctx context.Context, p *store.Preferences) error {
	channels, err := json.Marshal(boolMap(p.Channels))
	if err != nil {
		return err
	}
	topics, err := json.Marshal(boolMap(p.Topics))
	if err != nil {
		return err
	}
	if p.UpdatedAt.IsZero() {
		p.UpdatedAt = r.db.nowMicro()
	}
	p.UpdatedAt = micro(p.UpdatedAt)
	return r.single(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO user_preferences (tenant_id, user_id, channels, topics, updated_at)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (tenant_id, user_id) DO UPDATE SET channels = excluded.channels, topics = excluded.topics,
updated_at = excluded.updated_at`, string(p.Tenant), p.UserID, string(channels), string(topics), p.UpdatedAt.UnixMicro())
		return wrapErr("put preferences", err)
	})
}

func boolMap(m map[string]bool) map[string]bool {
	if m == nil {
		return map[string]bool{}
	}
	return m
}

// EraseConsents folds the user's records into consent_counts and deletes
// them, the skipped asks and the preferences, in one transaction.
func (r purposeRepo) EraseConsents(ctx context.Context, tenant store.TenantID, userID string) (int, error) {
	n := 0
	err := r.write(ctx, func(q querier) error {
		rows, err := q.QueryContext(ctx, `SELECT purpose, version, state, COUNT(*) FROM consent_records
WHERE tenant_id = $1 AND user_id = $2 GROUP BY purpose, version, state`, string(tenant), userID)
		if err != nil {
			return wrapErr("erase consents", err)
		}
		var counts []store.ConsentCount
		for rows.Next() {
			var c store.ConsentCount
			if err := rows.Scan(&c.Purpose, &c.Version, &c.State, &c.Count); err != nil {
				rows.Close()
				return wrapErr("erase consents", err)
			}
			counts = append(counts, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return wrapErr("erase consents", err)
		}
		for _, c := range counts {
			if _, err := q.ExecContext(ctx, `INSERT INTO consent_counts (tenant_id, purpose, version, state, count)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (tenant_id, purpose, version, state) DO UPDATE SET count = consent_counts.count + excluded.count`,
				string(tenant), c.Purpose, c.Version, c.State, c.Count); err != nil {
				return wrapErr("erase consents", err)
			}
			n += int(c.Count)
		}
		for _, stmt := range []string{
			`DELETE FROM consent_records WHERE tenant_id = $1 AND user_id = $2`,
			`DELETE FROM consent_asks WHERE tenant_id = $1 AND user_id = $2`,
			`DELETE FROM user_preferences WHERE tenant_id = $1 AND user_id = $2`,
		} {
			if _, err := q.ExecContext(ctx, stmt, string(tenant), userID); err != nil {
				return wrapErr("erase consents", err)
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

func (r purposeRepo) ConsentCounts(ctx context.Context, tenant store.TenantID) ([]store.ConsentCount, error) {
	rows, err := r.q.QueryContext(ctx, `SELECT purpose, version, state, count FROM consent_counts WHERE tenant_id = $1
ORDER BY purpose, version, state`, string(tenant))
	if err != nil {
		return nil, wrapErr("consent counts", err)
	}
	defer rows.Close()
	var out []store.ConsentCount
	for rows.Next() {
		var c store.ConsentCount
		if err := rows.Scan(&c.Purpose, &c.Version, &c.State, &c.Count); err != nil {
			return nil, wrapErr("consent counts", err)
		}
		out = append(out, c)
	}
	return out, wrapErr("consent counts", rows.Err())
}
