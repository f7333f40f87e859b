package flow

import (
	"context"
	"errors"
	"slices"

	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// The one MFA enforcement point for protocol logins. Every way a request
// is completed (a fresh login, a second factor, a reused session at
// /login, an email or social login) goes through Complete, and Complete
// asks policyMet whether the session's AMR meets the policy of that
// request's client, the user's groups and its acr_values. A session that
// was let in only to enrol (account page, required policy, no factor) has
// no "mfa" in its AMR, so it never completes a request that needs one.

// ErrStepUpRequired: the session does not meet the MFA policy of the
// request it would complete (see Complete); the page starts a step-up.
var ErrStepUpRequired = errors.New("flow: the session lacks the second factor this request's policy asks for")

// policyMet reports (nil) whether sess may complete ar for u: the policy
// asks for nothing, or the session holds a second factor (a passkey under
// passkeys_only), or the device is remembered and the client did not ask
// for MFA explicitly (as gate allows). Otherwise ErrStepUpRequired.
func (s *Service) policyMet(ctx context.Context, tenant store.TenantID, ar *store.LoginRequest, u *store.User, sess *store.Session) error {
	if s.MFA == nil {
		return nil
	}
	t, err := s.Store.Tenants().GetTenant(ctx, tenant)
	if err != nil {
		return err
	}
	return s.policyMetIn(ctx, t, ar, u, sess)
}

// policyMetIn is policyMet under the tenant's settings as t has them.
func (s *Service) policyMetIn(ctx context.Context, t *store.Tenant, ar *store.LoginRequest, u *store.User, sess *store.Session) error {
	d, err := s.MFA.Decide(ctx, t, u, ar.ClientID, ar.ACRValues)
	if err != nil || d == mfa.Proceed {
		return err
	}
	if mfa.Satisfied(sess.AMR) {
		only, err := s.MFA.PasskeysOnly(ctx, t, u, ar.ClientID)
		if err != nil {
			return err
		}
		if !only || slices.Contains(sess.AMR, "hwk") {
			return nil
		}
		return ErrStepUpRequired
	}
	if d == mfa.Ask && !mfa.AsksForMFA(ar.ACRValues) && s.remembered(ctx, t.ID, u.ID) {
		return nil
	}
	return ErrStepUpRequired
}

// GrantMeetsPolicy applies policyMet to a grant being refreshed: the AMR
// of the login behind it against the policy of the tenant, the client and
// the user's groups as they are now, so a policy tightened after the grant
// was issued ends it (ErrStepUpRequired: the client starts a new login).
// There is no browser, so a login a remembered device let through keeps
// meeting the policy while the user still has a remembered device. t is
// the tenant as the caller has it (the token endpoint's, cached per node
// and dropped when the tenant changes), so its settings are not read again.
func (s *Service) GrantMeetsPolicy(ctx context.Context, t *store.Tenant, u *store.User, clientID string, amr []string) error {
	if s.MFA == nil {
		return nil
	}
	if t == nil {
		return errors.New("flow: grant policy: no tenant")
	}
	ctx = context.WithValue(ctx, anyRememberedKey{}, true)
	return s.policyMetIn(ctx, t, &store.LoginRequest{Tenant: t.ID, ClientID: clientID}, u, &store.Session{Tenant: t.ID, UserID: u.ID, AMR: amr})
}
