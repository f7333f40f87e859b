package sqlstore

import (
	"context"
	"errors"
	"slices"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

type samlConsentRepo struct{ *scope }

const samlConsentCols = `tenant_id, user_id, sp_id, attributes, created_at, updated_at`

// PutSAMLConsent is one upsert, like PutConsent: UpdatedAt is now;
// CreatedAt is c's (now when unset) for a new grant and stays for a
// replaced one. c is updated with the stored times and sorted attributes.
func (r samlConsentRepo) PutSAMLConsent(ctx context.Context, c *store.SAMLConsent) error {
	if c.Tenant == "" || c.UserID == "" || c.SPID == "" {
		return errors.New("sqlstore: saml consent needs a tenant, a user and a service provider")
	}
	n := *c
	n.Attributes = normList(slices.Sorted(slices.Values(n.Attributes)))
	var err error
	n.CreatedAt, n.UpdatedAt, err = r.putGrant(ctx, grantTable{"saml_consents", "sp_id", "attributes"},
		n.Tenant, n.UserID, n.SPID, n.Attributes, n.CreatedAt)
	if err != nil {
		return err
	}
	*c = n
	return nil
}

func (r samlConsentRepo) GetSAMLConsent(ctx context.Context, tenant store.TenantID, userID, spID string) (*store.SAMLConsent, error) {
	var (
		c                store.SAMLConsent
		tn, attrs        string
		created, updated int64
	)
	err := r.q.QueryRowContext(ctx, `SELECT `+samlConsentCols+` FROM saml_consents
WHERE tenant_id = $1 AND user_id = $2 AND sp_id = $3`, string(tenant), userID, spID).
		Scan(&tn, &c.UserID, &c.SPID, &attrs, &created, &updated)
	if err != nil {
		return nil, wrapErr("get saml consent", err)
	}
	c.Tenant = store.TenantID(tn)
	if err := parseList(attrs, &c.Attributes); err != nil {
		return nil, wrapErr("get saml consent", err)
	}
	c.CreatedAt, c.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &c, nil
}
