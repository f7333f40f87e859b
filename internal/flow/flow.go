// Package flow is the login state machine every way in shares. A protocol
// front end (OIDC authorize, later SAML) creates an authorization request
// and sends the browser to the hosted pages; the pages drive this flow
// (identify -> authenticate -> session) and, when it is done, hand back to
// the front end, which reads the request and finishes its own protocol.
// It knows nothing of HTTP or of any protocol.
package flow

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Throttling: free attempts, then a growing delay, then a time-limited lock.
const (
	freeAttempts   = 3
	lockAfter      = 10
	lockFor        = 15 * time.Minute
	throttleWindow = 15 * time.Minute
	// ipLimit bounds failures from one address across all accounts.
	ipLimit = 100
)

// Errors of PasswordLogin. Every credential failure is ErrInvalidCredentials,
// whatever the cause, so the page says the same thing in every case.
var (
	ErrInvalidCredentials = errors.New("flow: invalid credentials")
	ErrRequestGone        = errors.New("flow: authorization request unknown or expired")
)

// ThrottledError says how long to wait before the next attempt.
type ThrottledError struct{ RetryAfter time.Duration }

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("flow: too many attempts; retry in %s", e.RetryAfter.Round(time.Second))
}

// Service runs login flows.
type Service struct {
	Store     store.Store
	Directory *directory.Service
	Sessions  *session.Service
	Log       *slog.Logger
	Now       func() time.Time
	// MFA, when set, adds the second-factor step (mfa.go).
	MFA *mfa.Service
	// MasterKey keys device cookies and login challenges (device.go,
	// challenge.go); without it neither is offered.
	MasterKey []byte
}

// Load returns a pending authorization request.
func (s *Service) Load(ctx context.Context, tenant store.TenantID, id string) (*store.AuthRequest, error) {
	if len(id) > 64 {
		return nil, ErrRequestGone
	}
	ar, err := s.Store.OAuth().AuthRequests().GetAuthRequest(ctx, tenant, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (ar.Done || ar.CodeHash != nil)) {
		return nil, ErrRequestGone
	}
	return ar, err
}

// Reusable reports whether an existing session satisfies ar without a new
// login: not when the client asked for prompt=login, nor when the session's
// authentication is older than max_age.
func (s *Service) Reusable(ar *store.AuthRequest, sess *store.Session) bool {
	if sess == nil || slices.Contains(ar.Prompt, "login") || slices.Contains(ar.Prompt, "select_account") {
		return false
	}
	if ar.MaxAge != nil && s.Now().Sub(sess.AuthTime) > *ar.MaxAge {
		return false
	}
	return true
}

// Complete attaches a session to the request: the login is done. It is
// the MFA enforcement point (enforce.go): ErrStepUpRequired when the
// session's AMR does not meet the request's policy.
func (s *Service) Complete(ctx context.Context, tenant store.TenantID, id string, sess *store.Session) error {
	u, err := s.Store.Users().GetUser(ctx, tenant, sess.UserID)
	if err != nil || u.Status != store.UserActive {
		return ErrInvalidCredentials
	}
	ar, err := s.Load(ctx, tenant, id)
	if err != nil {
		return err
	}
	if err := s.policyMet(ctx, tenant, ar, u, sess); err != nil {
		return err
	}
	_, err = s.Store.OAuth().AuthRequests().UpdateAuthRequest(ctx, tenant, id, func(ar *store.AuthRequest) error {
		if ar.Done {
			return ErrRequestGone
		}
		ar.UserID, ar.SessionID, ar.AuthTime, ar.AMR, ar.Done = sess.UserID, sess.ID, sess.AuthTime, sess.AMR, true
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return ErrRequestGone
	}
	return err
}

// PasswordLogin checks a password for identifier (email or username),
// throttled per account and per address, and on success starts a new
// session (a fresh cookie value: no fixation) and completes the request.
// When a second factor is due it answers *SecondFactorError (or
// ErrMFAUnmet) and starts no session.
func (s *Service) PasswordLogin(ctx context.Context, tenant store.TenantID, id, identifier, password, ip, userAgent string) (*store.Session, string, error) {
	ar, err := s.Load(ctx, tenant, id)
	if err != nil {
		return nil, "", err
	}
	u, err := s.CheckPassword(ctx, tenant, identifier, password, ip)
	if err != nil {
		return nil, "", err
	}
	if err := s.checkVerified(ctx, tenant, u); err != nil { // email.go
		return nil, "", err
	}
	if err := s.gate(ctx, tenant, ar, u, []string{"pwd"}, ""); err != nil { // mfa.go
		return nil, "", err
	}
	sess, token, err := s.Sessions.Create(ctx, tenant, u.ID, []string{"pwd"}, userAgent, ip)
	if err != nil {
		return nil, "", err
	}
	if err := s.Complete(ctx, tenant, id, sess); err != nil {
		return nil, "", err
	}
	return sess, token, nil
}

// SignIn is PasswordLogin without an authorization request: a session for
// the hosted pages themselves (the account page).
func (s *Service) SignIn(ctx context.Context, tenant store.TenantID, identifier, password, ip, userAgent string) (*store.Session, string, error) {
	u, err := s.CheckPassword(ctx, tenant, identifier, password, ip)
	if err != nil {
		return nil, "", err
	}
	if err := s.checkVerified(ctx, tenant, u); err != nil { // email.go
		return nil, "", err
	}
	// A user with a second factor gives it here too (mfa.go); one who must
	// enrol but has not may come in: the account page is where they enrol.
	if err := s.gate(ctx, tenant, nil, u, []string{"pwd"}, ""); err != nil && !errors.Is(err, ErrMFAUnmet) {
		return nil, "", err
	}
	return s.Sessions.Create(ctx, tenant, u.ID, []string{"pwd"}, userAgent, ip)
}

// checkThrottle applies the delay that the failures so far call for:
// after freeAttempts, 2^(n-freeAttempts) seconds since the last failure;
// from lockAfter on, lockFor. The count is the database's, shared by nodes.
func (s *Service) checkThrottle(ctx context.Context, tenant store.TenantID, acct, ipKey string, now time.Time) error {
	th := s.Store.OAuth().Throttle()
	n, last, err := th.Failures(ctx, tenant, acct, now, throttleWindow)
	if err != nil {
		return err
	}
	if wait := delayFor(n) - now.Sub(last); n > freeAttempts && wait > 0 {
		return &ThrottledError{RetryAfter: wait}
	}
	ipN, ipLast, err := th.Failures(ctx, tenant, ipKey, now, throttleWindow)
	if err != nil {
		return err
	}
	if wait := throttleWindow - now.Sub(ipLast); ipN >= ipLimit && wait > 0 {
		return &ThrottledError{RetryAfter: wait}
	}
	return nil
}

func delayFor(n int) time.Duration {
	switch {
	case n >= lockAfter:
		return lockFor
	case n <= freeAttempts:
		return 0
	}
	return time.Duration(1<<(n-freeAttempts)) * time.Second
}
