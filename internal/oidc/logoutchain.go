package oidc

import (
	"context"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// LogoutChain answers where the browser goes after its session sessionID
// of t has ended, so that the SAML service providers of that session are
// logged out too before it reaches returnTo; "" when there are none
// (internal/saml: IdP.LogoutChainURL).
type LogoutChain func(ctx context.Context, t *store.Tenant, sessionID, returnTo string) string

// browserSessionID is the ID of the live session behind the request's
// cookie, "" without one.
func (p *Provider) browserSessionID(ctx context.Context) string {
	t := tenantFrom(ctx)
	if t == nil {
		return ""
	}
	sess, err := p.sessions.Lookup(ctx, t.ID, sessionTokenFrom(ctx))
	if err != nil {
		return ""
	}
	return sess.ID
}

// afterLogout is where RP-initiated logout sends the browser once the
// session sessionID has ended: through the SAML providers' logout when the
// session had any, then to ret.
func (p *Provider) afterLogout(ctx context.Context, sessionID, ret string) string {
	if p.logoutChain == nil || sessionID == "" {
		return ret
	}
	if u := p.logoutChain(ctx, tenantFrom(ctx), sessionID, ret); u != "" {
		return u
	}
	return ret
}
