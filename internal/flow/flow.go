// Package flow is the login state machine every way in shares. A front
// end (OIDC authorize, a SAML AuthnRequest, the device page) starts a
// login request of the flow's own (request.go) naming its origin, and
// sends the browser to the hosted pages; the pages drive this flow
// (identify -> authenticate -> the steps -> session -> the steps after
// it, steps.go) and, when it is done, hand back to the origin, which takes
// the request and finishes its own protocol. It knows nothing of HTTP or
// of any protocol.
package flow

import (
	"context"
	"errors"
	"fmt"
	"github.com/gatehouse-id/gatehouse/internal/events"
	"log/slog"
	"slices"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/hooks"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/notice"
	"github.com/gatehouse-id/gatehouse/internal/risk"
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
	// Meter, when set, counts failed password checks per tenant.
	Meter interface {
		Add(tenant store.TenantID, metric string, n int64)
	}
	// Events, when set, writes login.failed for a refused password.
	Events    *events.Outbox
	Store     store.Store
	Directory *directory.Service
	Sessions  *session.Service
	Log       *slog.Logger
	Now       func() time.Time
	// MFA, when set, adds the second-factor step (mfa.go).
	MFA *mfa.Service
	// Steps run in order before the session, After once it exists
	// (steps.go); nil means DefaultSteps and DefaultAfter.
	Steps []Step
	After []Step
	// MasterKey keys device cookies and login challenges (device.go,
	// challenge.go); without it neither is offered.
	MasterKey []byte
	// Legacy, when set, checks passwords of accounts a legacy store owns
	// (legacy.go).
	Legacy Legacy
	// Notices, when set, tells a user of a sign-in from a new device
	// (device.go).
	Notices *notice.Service
	// Risk, when set, adds the risk step and the attack counters (risk.go).
	Risk *risk.Engine
	// Hooks, when set, runs the tenant's post_login hook (hook.go).
	Hooks *hooks.Service
}

// Reusable reports whether an existing session satisfies r without a new
// login: not when the client asked for prompt=login, nor when the session's
// authentication is older than max_age.
func (s *Service) Reusable(r *store.LoginRequest, sess *store.Session) bool {
	if sess == nil || slices.Contains(r.Prompt, "login") || slices.Contains(r.Prompt, "select_account") {
		return false
	}
	if r.MaxAge != nil && s.Now().Sub(sess.AuthTime) > *r.MaxAge {
		return false
	}
	return true
}

// Complete continues the login of request id with an existing session (a
// reused session, a device approval): the MFA enforcement point
// (enforce.go) and the steps after the session. ErrStepUpRequired when the
// session's AMR does not meet the request's policy, ErrConsentRequired
// when the consent step waits for the user.
func (s *Service) Complete(ctx context.Context, tenant store.TenantID, id string, sess *store.Session) error {
	u, err := s.Store.Users().GetUser(ctx, tenant, sess.UserID)
	if err != nil || u.Status != store.UserActive {
		return ErrInvalidCredentials
	}
	r, err := s.Load(ctx, tenant, id)
	if err != nil {
		return err
	}
	return s.complete(ctx, r, u, sess, false)
}

// Satisfies reports (nil) whether sess meets the MFA policy of r, a
// request that is not stored (the device page asks before it approves):
// ErrStepUpRequired otherwise.
func (s *Service) Satisfies(ctx context.Context, r *store.LoginRequest, sess *store.Session) error {
	u, err := s.Store.Users().GetUser(ctx, r.Tenant, sess.UserID)
	if err != nil || u.Status != store.UserActive {
		return ErrInvalidCredentials
	}
	return s.policyMet(ctx, r.Tenant, r, u, sess)
}

// PasswordLogin checks a password for identifier (email or username),
// throttled per account and per address, and finishes the login of
// request id (steps.go). When a second factor is due it answers
// *SecondFactorError (or ErrMFAUnmet) and starts no session.
func (s *Service) PasswordLogin(ctx context.Context, tenant store.TenantID, id, identifier, password, ip, userAgent string) (*store.Session, string, error) {
	r, err := s.Load(ctx, tenant, id)
	if err != nil {
		return nil, "", err
	}
	u, err := s.CheckPassword(ctx, tenant, identifier, password, ip)
	if err != nil {
		return nil, "", err
	}
	st := &State{Tenant: tenant, Request: r, User: u, AMR: []string{"pwd"}, IP: ip, UserAgent: userAgent}
	s.passwordFacts(st, password) // risk.go
	return s.finish(ctx, st, id)
}

// SignIn is PasswordLogin without a login request: a session for the
// hosted pages themselves (the account page). A user with a second factor
// gives it here too; one who must enrol but has not may come in.
func (s *Service) SignIn(ctx context.Context, tenant store.TenantID, identifier, password, ip, userAgent string) (*store.Session, string, error) {
	u, err := s.CheckPassword(ctx, tenant, identifier, password, ip)
	if err != nil {
		return nil, "", err
	}
	st := &State{Tenant: tenant, Request: s.accountRequest(tenant), User: u, AMR: []string{"pwd"}, IP: ip, UserAgent: userAgent}
	s.passwordFacts(st, password) // risk.go
	return s.finish(ctx, st, "")
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
