package flow

import (
	"context"
	"errors"

	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// CheckPassword is the throttled password check of every password login
// (the hosted login page, an LDAP simple bind): throttled per account and
// per address through the store, so failures from any protocol and any
// node count toward the same lockout. It answers the active user,
// ErrInvalidCredentials for every credential failure, or *ThrottledError.
// An empty ip (a protocol that cannot tell the peer) skips the per-address
// count rather than lumping every client together.
func (s *Service) CheckPassword(ctx context.Context, tenant store.TenantID, identifier, password, ip string) (*store.User, error) {
	acct := "acct:" + directory.NormalizeEmail(identifier)
	ipKey := "ip:" + ip
	th := s.Store.OAuth().Throttle()
	now := s.Now()
	if err := s.checkThrottle(ctx, tenant, acct, ipKey, now); err != nil {
		return nil, err
	}
	// Reserve the attempt before the (slow) password check: the count is
	// incremented in the database first, so a burst of concurrent guesses
	// cannot all pass the check above before any failure is recorded. A
	// success resets it.
	n, err := th.Fail(ctx, tenant, acct, now, throttleWindow)
	if err != nil {
		return nil, err
	}
	if n > lockAfter {
		return nil, &ThrottledError{RetryAfter: lockFor}
	}
	u, err := s.Directory.Authenticate(ctx, tenant, identifier, password)
	if errors.Is(err, directory.ErrInvalidCredentials) {
		if ip != "" {
			if _, ferr := th.Fail(ctx, tenant, ipKey, now, throttleWindow); ferr != nil {
				return nil, ferr
			}
		}
		return nil, ErrInvalidCredentials
	}
	if err != nil {
		return nil, err
	}
	_ = th.Reset(ctx, tenant, acct)
	return u, nil
}
