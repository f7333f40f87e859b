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
	return s.CheckPasswordThen(ctx, tenant, identifier, password, ip, nil)
}

// CheckPasswordThen is CheckPassword whose success also needs accept (nil
// accepts all): a right password that accept refuses (an LDAP bind whose
// MFA policy asks for a second factor) counts and answers exactly as a
// wrong one, so neither the answer nor the throttle tells it apart.
func (s *Service) CheckPasswordThen(ctx context.Context, tenant store.TenantID, identifier, password, ip string, accept func(*store.User) (bool, error)) (*store.User, error) {
	acct, err := s.accountKey(ctx, tenant, identifier)
	if err != nil {
		return nil, err
	}
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
	if err == nil && accept != nil {
		ok, aerr := accept(u)
		if aerr != nil {
			return nil, aerr
		}
		if !ok {
			err = directory.ErrInvalidCredentials
		}
	}
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

// accountKey is the throttle bucket of a login identifier: the user's id
// when the identifier names an account (by email or username, the way
// Authenticate resolves it), so guesses through either identifier share
// one count; else the normalised identifier itself. Both paths cost the
// same lookups, so the key tells nothing about the account.
func (s *Service) accountKey(ctx context.Context, tenant store.TenantID, identifier string) (string, error) {
	users := s.Store.Users()
	u, err := users.GetUserByEmail(ctx, tenant, directory.NormalizeEmail(identifier))
	if errors.Is(err, store.ErrNotFound) {
		u, err = users.GetUserByUsername(ctx, tenant, directory.NormalizeUsername(identifier))
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		return "acct:" + directory.NormalizeEmail(identifier), nil
	case err != nil:
		return "", err
	}
	return "acct-user:" + u.ID, nil
}
