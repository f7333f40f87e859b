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
// mailbox (a spent sign-in link or code, internal/selfservice). The
// mailbox is one factor (amr "email"): the login finishes as after a
// password (steps.go). With no request (or one that expired meanwhile)
// the session stands alone and ErrRequestGone tells the page to go to the
// account page instead.
func (s *Service) EmailLogin(ctx context.Context, tenant store.TenantID, requestID, userID, ip, userAgent string) (*store.Session, string, error) {
	return s.login(ctx, tenant, requestID, userID, []string{"email"}, ip, userAgent)
}
