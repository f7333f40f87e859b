package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// catalogueRepo is the global tenant catalogue on the pool (never inside a
// tenant's transaction: it may live in another database than the tenant).
type catalogueRepo struct{ db *DB }

// Catalogue answers the tenant catalogue kept in this database.
func (d *DB) Catalogue() store.Catalogue { return catalogueRepo{db: d} }

const catalogueCols = `id, slug, region, domains, plan, updated_at`

func scanCatalogue(r interface{ Scan(...any) error }) (*store.CatalogueEntry, error) {
	var (
		e       store.CatalogueEntry
		id      string
		domains string
		updated int64
	)
	if err := r.Scan(&id, &e.Slug, &e.Region, &domains, &e.Plan, &updated); err != nil {
		return nil, err
	}
	e.ID = store.TenantID(id)
	if err := json.Unmarshal([]byte(domains), &e.Domains); err != nil {
		return nil, fmt.Errorf("sqlstore: catalogue %s: domains: %w", id, err)
	}
	if len(e.Domains) == 0 {
		e.Domains = nil
	}
	e.UpdatedAt = fromMicros(updated)
	return &e, nil
}

func (r catalogueRepo) PutCatalogue(ctx context.Context, e *store.CatalogueEntry) error {
	if e.ID == "" || e.Slug == "" || e.Region == "" {
		return errors.New("sqlstore: a catalogue entry needs an id, a slug and a region")
	}
	domains := e.Domains
	if domains == nil {
		domains = []string{}
	}
	b, err := json.Marshal(domains)
	if err != nil {
		return err
	}
	e.UpdatedAt = r.db.nowMicro()
	_, err = r.db.sql.ExecContext(ctx, `INSERT INTO tenant_catalogue (`+catalogueCols+`) VALUES ($1, $2, $3, $4, $5, $6)`,
		string(e.ID), e.Slug, e.Region, string(b), e.Plan, e.UpdatedAt.UnixMicro())
	return wrapErr("put catalogue entry", err)
}

func (r catalogueRepo) get(ctx context.Context, where string, arg any) (*store.CatalogueEntry, error) {
	e, err := scanCatalogue(r.db.sql.QueryRowContext(ctx, `SELECT `+catalogueCols+` FROM tenant_catalogue WHERE `+where+` = $1`, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, wrapErr("get catalogue entry", err)
	}
	return e, nil
}

func (r catalogueRepo) GetCatalogue(ctx context.Context, id store.TenantID) (*store.CatalogueEntry, error) {
	return r.get(ctx, "id", string(id))
}

func (r catalogueRepo) GetCatalogueBySlug(ctx context.Context, slug string) (*store.CatalogueEntry, error) {
	return r.get(ctx, "slug", slug)
}

func (r catalogueRepo) MoveCatalogue(ctx context.Context, id store.TenantID, from, to string) error {
	res, err := r.db.sql.ExecContext(ctx, `UPDATE tenant_catalogue SET region = $1, updated_at = $2 WHERE id = $3 AND region = $4`,
		to, r.db.nowMicro().UnixMicro(), string(id), from)
	if err != nil {
		return wrapErr("move catalogue entry", err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return nil
	}
	if _, err := r.GetCatalogue(ctx, id); err != nil {
		return err
	}
	return fmt.Errorf("sqlstore: tenant %s is no longer in region %s: %w", id, from, store.ErrConflict)
}

func (r catalogueRepo) SetCataloguePlan(ctx context.Context, id store.TenantID, plan string) error {
	res, err := r.db.sql.ExecContext(ctx, `UPDATE tenant_catalogue SET plan = $1, updated_at = $2 WHERE id = $3`,
		plan, r.db.nowMicro().UnixMicro(), string(id))
	if err != nil {
		return wrapErr("set catalogue plan", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return store.ErrNotFound
	}
	return nil
}

func (r catalogueRepo) DeleteCatalogue(ctx context.Context, id store.TenantID) error {
	_, err := r.db.sql.ExecContext(ctx, `DELETE FROM tenant_catalogue WHERE id = $1`, string(id))
	return wrapErr("delete catalogue entry", err)
}

func (r catalogueRepo) ListCatalogue(ctx context.Context, p store.Page) ([]store.CatalogueEntry, error) {
	rows, err := r.db.sql.QueryContext(ctx, `SELECT `+catalogueCols+` FROM tenant_catalogue WHERE id > $1 ORDER BY id LIMIT $2`,
		p.After, p.ClampLimit())
	if err != nil {
		return nil, wrapErr("list catalogue", err)
	}
	defer rows.Close()
	var out []store.CatalogueEntry
	for rows.Next() {
		e, err := scanCatalogue(rows)
		if err != nil {
			return nil, wrapErr("list catalogue", err)
		}
		out = append(out, *e)
	}
	return out, wrapErr("list catalogue", rows.Err())
}
