package mfa

import (
	"context"
	"slices"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
)

// ACRMFA is the acr value Gatehouse puts in ID tokens after a second
// factor, and the value a client sends in acr_values to ask for one.
const ACRMFA = "mfa"

// stepUpACRs are acr_values (and SAML AuthnContextClassRefs) that ask for
// a second factor.
var stepUpACRs = []string{
	ACRMFA,
	"http://schemas.openid.net/pape/policies/2007/06/multi-factor",
	"urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorContract",
	"urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorUnregistered",
	"urn:oasis:names:tc:SAML:2.0:ac:classes:TimeSyncToken",
	"urn:oasis:names:tc:SAML:2.0:ac:classes:Smartcard",
	"urn:oasis:names:tc:SAML:2.0:ac:classes:SmartcardPKI",
}

// AsksForMFA reports whether any of the requested authentication context
// values (OIDC acr_values, or SAML RequestedAuthnContext class refs) asks
// for a second factor. The SAML front end calls it with the
// AuthnContextClassRef values of an AuthnRequest.
func AsksForMFA(requested []string) bool {
	for _, v := range requested {
		if slices.Contains(stepUpACRs, v) {
			return true
		}
	}
	return false
}

// Satisfied reports whether a session's AMR already holds a second factor.
func Satisfied(amr []string) bool { return slices.Contains(amr, "mfa") }

// Decision says what a login must do after its first factor.
type Decision int

const (
	// Proceed: no second factor is asked.
	Proceed Decision = iota
	// Ask: the user must present a second factor.
	Ask
	// Unmet: a second factor is needed but the user has none (outside any
	// grace period); the login cannot finish.
	Unmet
)

// Decide applies the strictest policy of the tenant, the client and the
// user's groups, and any step-up the request asks for (acr), to a user
// who just passed their first factor.
func (s *Service) Decide(ctx context.Context, t *store.Tenant, u *store.User, clientID string, acr []string) (Decision, error) {
	set, err := tenancy.ParseSettings(t.Settings)
	if err != nil {
		return Proceed, err
	}
	rank := tenancy.MFARank(set.MFA.Policy)
	if p, ok := set.MFA.Clients[clientID]; ok && clientID != "" {
		rank = max(rank, tenancy.MFARank(p))
	}
	if len(set.MFA.Groups) > 0 {
		groups, err := s.Store.Groups().UserGroups(ctx, t.ID, u.ID, true)
		if err != nil {
			return Proceed, err
		}
		for _, g := range groups {
			if p, ok := set.MFA.Groups[g.ID]; ok {
				rank = max(rank, tenancy.MFARank(p))
			}
		}
	}
	stepUp := AsksForMFA(acr)
	enrolled, err := s.Enrolled(ctx, t.ID, u.ID)
	if err != nil {
		return Proceed, err
	}
	switch {
	case enrolled && (stepUp || rank >= tenancy.MFARank(tenancy.MFAOptional)):
		return Ask, nil
	case stepUp:
		return Unmet, nil
	case rank >= tenancy.MFARank(tenancy.MFARequired):
		grace := time.Duration(set.MFA.GraceDays) * 24 * time.Hour
		if s.Now().Sub(u.CreatedAt) < grace {
			return Proceed, nil
		}
		return Unmet, nil
	}
	return Proceed, nil
}
