package oidc

import (
	"context"
	"slices"
)

// ScopeRisk asks for the "risk" claim in the ID token: the score, decision,
// signal names and model version of the sign-in that made the session.
const ScopeRisk = "risk"

// addRiskClaim adds the "risk" claim when the grant's scopes ask for it and
// the risk engine assessed the session's sign-in; otherwise nothing.
func (p *Provider) addRiskClaim(ctx context.Context, g grant, claims map[string]any) error {
	if !slices.Contains(g.scopes, ScopeRisk) || p.flow == nil || p.flow.Risk == nil || g.userID == "" || g.authTime.IsZero() {
		return nil
	}
	c, err := p.flow.Risk.ClaimFor(ctx, g.tenant, g.userID, g.authTime)
	if err != nil || c == nil {
		return err
	}
	claims["risk"] = c
	return nil
}
