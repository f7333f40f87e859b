package flow

import (
	"context"
	"errors"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
)

// ErrUnverified: the credentials were right, but the tenant lets only
// users with a verified email log in. It is told only after a correct
// password (or mailbox proof), so it reveals nothing to a guesser.
var ErrUnverified = errors.New("flow: email address not verified")

// checkVerified applies the tenant's require_verified_email policy.
func (s *Service) checkVerified(ctx context.Context, tenant store.TenantID, u *store.User) error {
	if u.EmailVerified {
		return nil
	}
	t, err := s.Store.Tenants().GetTenant(ctx, tenant)
	if err != nil {
		return err
	}
	set, err := tenancy.ParseSettings(t.Settings)
	if err != nil {
		return err
	}
	if set.SelfService.RequireVerifiedEmail {
		return ErrUnverified
	}
	return nil
}

// EmailLogin is the passwordless path of the flow: the user proved their
// mailbox (a spent sign-in link or code, internal/selfservice). It starts
// a new session (amr "email") and, when requestID names a pending request,
// completes it exactly as a password login does; with no request (or one
// that expired meanwhile) the session stands alone and ErrRequestGone
// tells the page to go to the account page instead.
func (s *Service) EmailLogin(ctx context.Context, tenant store.TenantID, requestID, userID, ip, userAgent string) (*store.Session, string, error) {
	u, err := s.Store.Users().GetUser(ctx, tenant, userID)
	if err != nil || u.Status != store.UserActive {
		return nil, "", ErrInvalidCredentials
	}
	if err := s.checkVerified(ctx, tenant, u); err != nil {
		return nil, "", err
	}
	// The mailbox is one factor: the MFA policy applies as after a
	// password (mfa.go). Without a pending request (the account page) a
	// user who must still enrol gets in to enrol.
	var ar *store.AuthRequest
	if requestID != "" {
		ar, _ = s.Load(ctx, tenant, requestID)
	}
	if err := s.gate(ctx, tenant, ar, u, []string{"email"}, ""); err != nil && (ar != nil || !errors.Is(err, ErrMFAUnmet)) {
		return nil, "", err
	}
	sess, token, err := s.Sessions.Create(ctx, tenant, u.ID, []string{"email"}, userAgent, ip)
	if err != nil {
		return nil, "", err
	}
	if requestID == "" {
		return sess, token, ErrRequestGone
	}
	if _, err := s.Load(ctx, tenant, requestID); err != nil {
		return sess, token, ErrRequestGone
	}
	if err := s.Complete(ctx, tenant, requestID, sess); err != nil {
		return sess, token, err
	}
	return sess, token, nil
}
