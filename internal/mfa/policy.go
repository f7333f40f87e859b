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

// rank is the strictest policy rank of the tenant, the client and the
// user's groups (tenancy.MFARank).
func (s *Service) rank(ctx context.Context, t *store.Tenant, u *store.User, clientID string) (int, tenancy.MFA, error) {
	set, err := tenancy.ParseSettings(t.Settings)
	if err != nil {
		return 0, set.MFA, err
	}
	rank := tenancy.MFARank(set.MFA.Policy)
	if p, ok := set.MFA.Clients[clientID]; ok && clientID != "" {
		rank = max(rank, tenancy.MFARank(p))
	}
	if len(set.MFA.Groups) > 0 {
		groups, err := s.Store.Groups().UserGroups(ctx, t.ID, u.ID, true)
		if err != nil {
			return 0, set.MFA, err
		}
		for _, g := range groups {
			if p, ok := set.MFA.Groups[g.ID]; ok {
				rank = max(rank, tenancy.MFARank(p))
			}
		}
	}
	return rank, set.MFA, nil
}

// PasskeysOnly reports whether the policy for u at clientID is
// passkeys_only: codes (TOTP, email, recovery) are then not accepted as
// the second factor.
func (s *Service) PasskeysOnly(ctx context.Context, t *store.Tenant, u *store.User, clientID string) (bool, error) {
	r, _, err := s.rank(ctx, t, u, clientID)
	return r >= tenancy.MFARank(tenancy.MFAPasskeysOnly), err
}

// Decide applies the strictest policy of the tenant, the client and the
// user's groups, and any step-up the request asks for (acr), to a user
// who just passed their first factor. Under passkeys_only only a passkey
// counts as enrolled.
func (s *Service) Decide(ctx context.Context, t *store.Tenant, u *store.User, clientID string, acr []string) (Decision, error) {
	rank, set, err := s.rank(ctx, t, u, clientID)
	if err != nil {
		return Proceed, err
	}
	stepUp := AsksForMFA(acr)
	if !stepUp && rank < tenancy.MFARank(tenancy.MFAOptional) {
		// Nothing asks for a second factor: whether the user has one does
		// not matter (every case below would proceed), so it is not read.
		return Proceed, nil
	}
	var enrolled bool
	if rank >= tenancy.MFARank(tenancy.MFAPasskeysOnly) {
		creds, _, err := s.userPasskeys(ctx, t.ID, u.ID)
		if err != nil {
			return Proceed, err
		}
		enrolled = len(creds) > 0
	} else if enrolled, err = s.Enrolled(ctx, t.ID, u.ID); err != nil {
		return Proceed, err
	}
	switch {
	case enrolled && (stepUp || rank >= tenancy.MFARank(tenancy.MFAOptional)):
		return Ask, nil
	case stepUp:
		return Unmet, nil
	case rank >= tenancy.MFARank(tenancy.MFARequired):
		grace := time.Duration(set.GraceDays) * 24 * time.Hour
		if s.Now().Sub(u.CreatedAt) < grace {
			return Proceed, nil
		}
		return Unmet, nil
	}
	return Proceed, nil
}
