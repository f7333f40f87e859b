package sqlstore

import (
	"context"
	"errors"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

type consentRepo struct{ *scope }

const consentCols = `tenant_id, user_id, client_id, scopes, created_at, updated_at`

func scanConsent(r scanner) (*store.Consent, error) {
	var (
		c                store.Consent
		tenant, scopes   string
		created, updated int64
	)
	if err := r.Scan(&tenant, &c.UserID, &c.ClientID, &scopes, &created, &updated); err != nil {
		return nil, err
	}
	c.Tenant = store.TenantID(tenant)
	if err := parseList(scopes, &c.Scopes); err != nil {
		return nil, err
	}
	c.CreatedAt, c.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &c, nil
}

// PutConsent is one upsert. UpdatedAt is now; CreatedAt is c's (now when
// unset) for a new consent, and stays for a replaced one. c is updated with
// the stored times. ErrNotFound when the user or client does
// not exist in the tenant.
func (r consentRepo) PutConsent(ctx context.Context, c *store.Consent) error {
	if c.Tenant == "" || c.UserID == "" || c.ClientID == "" {
		return errors.New("sqlstore: consent needs a tenant, a user and a client")
	}
	n := *c
	n.Scopes = normList(n.Scopes)
	var err error
	n.CreatedAt, n.UpdatedAt, err = r.putGrant(ctx, grantTable{"consents", "client_id", "scopes"},
		n.Tenant, n.UserID, n.ClientID, n.Scopes, n.CreatedAt)
	if err != nil {
		return err
	}
	*c = n
	return nil
}

// grantTable names a table of per-user grants: (tenant_id, user_id, key)
// is the primary key, list a JSON list, created_at and updated_at times.
type grantTable struct{ table, key, list string }

// putGrant upserts one grant of g in one statement. UpdatedAt is now;
// created (now when zero) is kept only for a new row. It answers the
// stored times. ErrNotFound when the user or the key's record is missing.
func (r *scope) putGrant(ctx context.Context, g grantTable, tenant store.TenantID, userID, key string, list []string, created time.Time) (time.Time, time.Time, error) {
	now := r.db.nowMicro()
	if created.IsZero() {
		created = now
	}
	var c, u int64
	// g's names are constants of this package, never input.
	err := r.single(ctx, func(q querier) error {
		err := q.QueryRowContext(ctx, `INSERT INTO `+g.table+` (tenant_id, user_id, `+g.key+`, `+g.list+`, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (tenant_id, user_id, `+g.key+`) DO UPDATE SET `+g.list+` = excluded.`+g.list+`, updated_at = excluded.updated_at
RETURNING created_at, updated_at`,
			string(tenant), userID, key, listJSON(list), micro(created).UnixMicro(), now.UnixMicro()).Scan(&c, &u)
		return wrapErr("put "+g.table, err)
	})
	return fromMicros(c), fromMicros(u), err
}

func (r consentRepo) GetConsent(ctx context.Context, tenant store.TenantID, userID, clientID string) (*store.Consent, error) {
	c, err := scanConsent(r.q.QueryRowContext(ctx, `SELECT `+consentCols+` FROM consents
WHERE tenant_id = $1 AND user_id = $2 AND client_id = $3`, string(tenant), userID, clientID))
	return c, wrapErr("get consent", err)
}

// ListConsents answers the user's consents by client id.
func (r consentRepo) ListConsents(ctx context.Context, tenant store.TenantID, userID string) ([]store.Consent, error) {
	rows, err := r.q.QueryContext(ctx, `SELECT `+consentCols+` FROM consents WHERE tenant_id = $1 AND user_id = $2 ORDER BY client_id`,
		string(tenant), userID)
	if err != nil {
		return nil, wrapErr("list consents", err)
	}
	return collect(rows, "list consents", scanConsent)
}

func (r consentRepo) DeleteConsent(ctx context.Context, tenant store.TenantID, userID, clientID string) error {
	return r.single(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `DELETE FROM consents WHERE tenant_id = $1 AND user_id = $2 AND client_id = $3`,
			string(tenant), userID, clientID)
		if err != nil {
			return wrapErr("delete consent", err)
		}
		return oneRow(res, "delete consent")
	})
}
