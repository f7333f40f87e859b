package sqlstore

import (
	"context"
	"errors"

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
	now := r.db.nowMicro()
	if n.CreatedAt.IsZero() {
		n.CreatedAt = now
	}
	n.CreatedAt, n.UpdatedAt = micro(n.CreatedAt), now
	var created, updated int64
	err := r.single(ctx, func(q querier) error {
		err := q.QueryRowContext(ctx, `INSERT INTO consents (`+consentCols+`) VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (tenant_id, user_id, client_id) DO UPDATE SET scopes = excluded.scopes, updated_at = excluded.updated_at
RETURNING created_at, updated_at`,
			string(n.Tenant), n.UserID, n.ClientID, listJSON(n.Scopes), n.CreatedAt.UnixMicro(), n.UpdatedAt.UnixMicro()).Scan(&created, &updated)
		return wrapErr("put consent", err)
	})
	if err != nil {
		return err
	}
	n.CreatedAt, n.UpdatedAt = fromMicros(created), fromMicros(updated)
	*c = n
	return nil
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
