package oidc

import (
	"context"
	"maps"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Authorizer supplies the authorization side of tokens (internal/authz
// implements it): the role and permission claims a client chose, with the
// time a token carrying them must expire by (a privileged role's
// elevation), and the alert when a break-glass account gets tokens.
type Authorizer interface {
	TokenClaims(ctx context.Context, tenant store.TenantID, userID string, c *store.Client, amr []string) (map[string]any, time.Time, error)
	NoteUse(ctx context.Context, tenant store.TenantID, userID, how, client string) error
}

// addAuthzClaims merges the client's authorization claims into claims and
// pulls *exp in to the end of the shortest elevation they rely on, so a
// privileged role never outlives its grant in a token. Claim names are
// validated not to collide with protocol claims (oauthclient), so nothing
// set by the protocol is overwritten.
func (p *Provider) addAuthzClaims(ctx context.Context, g grant, claims map[string]any, exp *time.Time) error {
	if p.authz == nil || g.userID == "" {
		return nil
	}
	extra, notAfter, err := p.authz.TokenClaims(ctx, g.tenant, g.userID, g.client.c, g.amr)
	if err != nil {
		return err
	}
	maps.Copy(claims, extra)
	if !notAfter.IsZero() && notAfter.Before(*exp) {
		*exp = notAfter
	}
	return nil
}

// userinfoAuthzClaims adds the client's authorization claims to userinfo
// and introspection answers. They know no login methods, so privileged
// roles that require MFA are left out there (the tokens carry them).
func (p *Provider) userinfoAuthzClaims(ctx context.Context, info *oidc.UserInfo, tenant store.TenantID, userID string, c *store.Client) error {
	if p.authz == nil || c == nil {
		return nil
	}
	extra, _, err := p.authz.TokenClaims(ctx, tenant, userID, c, nil)
	if err != nil {
		return err
	}
	for k, v := range extra {
		info.AppendClaims(k, v)
	}
	return nil
}

// noteTokenUse raises the break-glass alert for a user's tokens. A failure
// is logged by the authorizer and does not withhold the token: the alert
// is the control, and the audit append failing is itself logged loudly.
func (p *Provider) noteTokenUse(ctx context.Context, g grant) {
	if p.authz == nil || g.userID == "" {
		return
	}
	_ = p.authz.NoteUse(ctx, g.tenant, g.userID, "token", g.client.c.ID)
}
