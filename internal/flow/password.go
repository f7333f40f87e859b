package flow

import (
	"context"
	"errors"

	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// CheckPassword is the throttled password check of every password login
// (the hosted login page, an LDAP simple bind), throttled through the
// store (throttle.go) so failures from any protocol and any node count
// together: per account and source network, per account from unknown
// networks, per network; a known device (WithDeviceCookie) is let
// through. It answers the active user, ErrInvalidCredentials for every
// credential failure, *ThrottledError, or *ChallengeError when a solved
// challenge must come with the attempt (WithChallengeAnswer). An empty ip
// (a protocol that cannot tell the peer) counts as one source of its own.
func (s *Service) CheckPassword(ctx context.Context, tenant store.TenantID, identifier, password, ip string) (*store.User, error) {
	return s.CheckPasswordThen(ctx, tenant, identifier, password, ip, nil)
}

// CheckPasswordThen is CheckPassword whose success also needs accept (nil
// accepts all): a right password that accept refuses (an LDAP bind whose
// MFA policy asks for a second factor) counts and answers exactly as a
// wrong one, so neither the answer nor the throttle tells it apart.
func (s *Service) CheckPasswordThen(ctx context.Context, tenant store.TenantID, identifier, password, ip string, accept func(*store.User) (bool, error)) (*store.User, error) {
	acct, userID, err := s.accountKey(ctx, tenant, identifier)
	if err != nil {
		return nil, err
	}
	a, err := s.admit(ctx, tenant, acct, userID, ip) // throttle.go
	if err != nil {
		return nil, err
	}
	u, err := s.authenticate(ctx, tenant, identifier, password)
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
		if s.Meter != nil {
			s.Meter.Add(tenant, store.MetricLoginsFailed, 1)
		}
		if ferr := a.failed(ctx, s.Store.OAuth().Throttle()); ferr != nil {
			return nil, ferr
		}
		if ferr := s.noteRiskFailure(ctx, tenant, acct, userID, ip, password); ferr != nil { // risk.go
			return nil, ferr
		}
		// The attempt's counts are written above, one statement each; the
		// event is one more (the identifier typed stays out of it).
		data := map[string]any{"reason": "invalid_credentials"}
		if userID != "" {
			data["user_id"] = userID
		}
		if eerr := s.Events.Emit(ctx, s.Store, tenant, "login.failed", userID, data); eerr != nil {
			return nil, eerr
		}
		return nil, ErrInvalidCredentials
	}
	if err != nil {
		return nil, err
	}
	if err := s.succeeded(ctx, a, u.ID); err != nil {
		return nil, err
	}
	return u, nil
}

// accountKey is the throttle bucket of a login identifier: the user's id
// when the identifier names an account (by email or username, the way
// Authenticate resolves it), so guesses through either identifier share
// one count; else the normalised identifier itself. Both paths cost the
// same lookups, so the key tells nothing about the account. It answers
// the user's id too ("" when none).
func (s *Service) accountKey(ctx context.Context, tenant store.TenantID, identifier string) (string, string, error) {
	users := s.Store.Users()
	u, err := users.GetUserByEmail(ctx, tenant, directory.NormalizeEmail(identifier))
	if errors.Is(err, store.ErrNotFound) {
		u, err = users.GetUserByUsername(ctx, tenant, directory.NormalizeUsername(identifier))
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		return "acct:" + directory.NormalizeEmail(identifier), "", nil
	case err != nil:
		return "", "", err
	}
	return "acct-user:" + u.ID, u.ID, nil
}
