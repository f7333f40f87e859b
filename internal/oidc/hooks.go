package oidc

import (
	"context"
	"errors"

	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/gatehouse-id/gatehouse/internal/hooks"
	"github.com/gatehouse-id/gatehouse/internal/oauthclient"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// preToken asks the tenant's pre_token hook, once per token response, for
// the claims the ID and access tokens of g get (g.hookClaims). A refusal
// is access_denied at the token endpoint. Tokens without a user
// (client_credentials) ask no hook.
func (p *Provider) preToken(ctx context.Context, g *grant) error {
	if p.hooks == nil || g.userID == "" {
		return nil
	}
	u := g.user
	if u == nil {
		var err error
		u, err = p.store.Users().GetUser(ctx, g.tenant, g.userID)
		if err != nil || u.Status != store.UserActive {
			return oidc.ErrAccessDenied().WithDescription("user not found or not active")
		}
	}
	res, err := p.hooks.Run(ctx, store.HookPreToken, hooks.Call{Tenant: g.tenant, User: u,
		ClientID: g.client.c.ID, Scopes: g.scopes, AMR: g.amr, Lang: u.Locale})
	var denied *hooks.DeniedError
	if errors.As(err, &denied) {
		return oidc.ErrAccessDenied().WithDescription("refused by the tenant's pre_token hook")
	}
	if err != nil {
		return err
	}
	g.hookClaims = res.Claims
	return nil
}

// addHookClaims adds the hook's claims to a token's claims. A claim the
// token already has (protocol, profile, authorization) is never
// replaced, and reserved and profile names never enter, whatever the
// hook's allow-list says.
func addHookClaims(g grant, claims map[string]any) {
	for k, v := range g.hookClaims {
		if _, set := claims[k]; !set && !oauthclient.ReservedClaim(k) && !oauthclient.ProfileClaim(k) {
			claims[k] = v
		}
	}
}
