package flow

import (
	"context"
	"errors"
	"slices"

	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// The login is an ordered list of steps. Every way in (password, passkey,
// mailbox proof, upstream identity, a second factor) ends in finish,
// written once: it runs the steps before the session in order until one
// needs the user, starts the session, and completes the request through
// the one enforcement point (enforce.go) and the steps after the session
// (consent). A step that needs the user answers an error the hosted pages
// know how to render (*SecondFactorError, ErrConsentRequired); once the
// user has acted, the page calls back into the flow, which runs the steps
// again from the start (each one's Needed is cheap and idempotent).

// Step is one step of the login.
type Step interface {
	// Name names the step (logs, the pages' dispatch).
	Name() string
	// Needed reports whether the step must act for this login.
	Needed(ctx context.Context, st *State) (bool, error)
	// Handle runs a needed step: nil when the login may go on, an error
	// the pages render (the user must act) or one that ends the login.
	Handle(ctx context.Context, st *State) error
}

// State is a login in progress as the steps see it.
type State struct {
	Tenant store.TenantID
	// Request is the login request being served: of origin account for a
	// sign-in of the hosted pages themselves (the account page); nil when
	// the request went away meanwhile.
	Request *store.LoginRequest
	User    *store.User
	// AMR are the methods used so far.
	AMR []string
	// OldSession is the session a step-up raises ("" for a fresh login).
	OldSession    string
	IP, UserAgent string
	// Session is set for the steps after the session.
	Session *store.Session
	// Fresh: the session was made by this login (not a reused one).
	Fresh bool
	// PasswordKey and Breached are what the password check learned for
	// the risk step (risk.go): the password's keyed hash and whether it
	// is a breached one.
	PasswordKey string
	Breached    bool
}

// Default steps: DefaultSteps run before the session, DefaultAfter once
// it exists. A deployment (or a test) passes its own lists in Config.
// The post_login hook comes last, once the user is fully authenticated.
func DefaultSteps(s *Service) []Step {
	return []Step{verifiedEmail{s}, riskStep{s}, secondFactor{s}, postLoginHook{s}}
}

// DefaultAfter are the steps after the session.
func DefaultAfter(s *Service) []Step {
	return []Step{profile{s}, passkeyNudge{s}, purposes{s}, consent{s}}
}

func (s *Service) stepsBefore() []Step {
	if s.Steps == nil {
		return DefaultSteps(s)
	}
	return s.Steps
}

func (s *Service) stepsAfter() []Step {
	if s.After == nil {
		return DefaultAfter(s)
	}
	return s.After
}

// run runs steps in order: the first error stops.
func run(ctx context.Context, steps []Step, st *State) error {
	for _, step := range steps {
		need, err := step.Needed(ctx, st)
		if err != nil {
			return err
		}
		if need {
			if err := step.Handle(ctx, st); err != nil {
				return err
			}
		}
	}
	return nil
}

// finish ends every login once the user is authenticated: the steps, a new
// session (a fresh cookie value: no fixation; a raised session gives way),
// then the request completed. With no request (the account page) the
// session is all; with a request that expired meanwhile, the session
// stands alone and ErrRequestGone says so. On a completion error the
// session is still answered: the caller decides whether to keep it.
func (s *Service) finish(ctx context.Context, st *State, requestID string) (*store.Session, string, error) {
	if st.User == nil || st.User.Status != store.UserActive {
		return nil, "", ErrInvalidCredentials
	}
	if err := run(ctx, s.stepsBefore(), st); err != nil {
		return nil, "", err
	}
	if err := s.countSignIn(ctx, st); err != nil { // profile.go
		return nil, "", err
	}
	sess, token, err := s.Sessions.Create(ctx, st.Tenant, st.User.ID, st.AMR, st.UserAgent, st.IP)
	if err != nil {
		return nil, "", err
	}
	if st.OldSession != "" {
		_ = s.Sessions.End(ctx, st.Tenant, st.OldSession)
	}
	if requestID == "" {
		return sess, token, nil
	}
	if st.Request == nil {
		return sess, token, ErrRequestGone
	}
	return sess, token, s.complete(ctx, st.Request, st.User, sess, true)
}

// login finishes the login of userID, authenticated with amr, for
// requestID: the way in of every method that identified the user in one
// go (email link, passkey, upstream). With no request ("") the session
// stands alone and ErrRequestGone tells the page to go to the account
// page instead.
func (s *Service) login(ctx context.Context, tenant store.TenantID, requestID, userID string, amr []string, ip, ua string) (*store.Session, string, error) {
	st, err := s.state(ctx, tenant, requestID, userID, amr, ip, ua)
	if err != nil {
		return nil, "", err
	}
	sess, token, err := s.finish(ctx, st, requestID)
	if requestID == "" && err == nil {
		err = ErrRequestGone
	}
	return sess, token, err
}

// state is the State of a login of userID for requestID ("" for none; a
// request that is gone leaves Request nil).
func (s *Service) state(ctx context.Context, tenant store.TenantID, requestID, userID string, amr []string, ip, ua string) (*State, error) {
	u, err := s.Store.Users().GetUser(ctx, tenant, userID)
	if err != nil || u.Status != store.UserActive {
		return nil, ErrInvalidCredentials
	}
	st := &State{Tenant: tenant, User: u, AMR: amr, IP: ip, UserAgent: ua}
	if requestID == "" {
		st.Request = s.accountRequest(tenant)
	} else {
		st.Request, _ = s.Load(ctx, tenant, requestID)
	}
	return st, nil
}

// complete attaches sess to r: the enforcement point first (policyMet),
// then the steps after the session; r is done when none needs the user,
// else it keeps the session and waits (ErrConsentRequired).
func (s *Service) complete(ctx context.Context, r *store.LoginRequest, u *store.User, sess *store.Session, fresh bool) error {
	if err := s.policyMet(ctx, r.Tenant, r, u, sess); err != nil {
		return err
	}
	st := &State{Tenant: r.Tenant, Request: r, User: u, AMR: sess.AMR, Session: sess, Fresh: fresh}
	waiting := run(ctx, s.stepsAfter(), st)
	if waiting != nil && !errors.Is(waiting, ErrConsentRequired) && !errors.Is(waiting, ErrPasskeyNudge) &&
		!errors.Is(waiting, ErrProfileRequired) && !errors.Is(waiting, ErrPurposesAsked) {
		return waiting
	}
	_, err := s.Store.Logins().UpdateLoginRequest(ctx, r.Tenant, r.ID, func(x *store.LoginRequest) error {
		if x.Done {
			return ErrRequestGone
		}
		x.UserID, x.SessionID, x.AuthTime, x.AMR, x.Done = sess.UserID, sess.ID, sess.AuthTime, sess.AMR, waiting == nil
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return ErrRequestGone
	}
	if err != nil {
		return err
	}
	return waiting
}

// verifiedEmail applies the tenant's require_verified_email policy
// (email.go): it ends the login, as it needs the user to act elsewhere.
type verifiedEmail struct{ s *Service }

func (verifiedEmail) Name() string { return "verified_email" }
func (v verifiedEmail) Needed(_ context.Context, st *State) (bool, error) {
	return !st.User.EmailVerified, nil
}
func (v verifiedEmail) Handle(ctx context.Context, st *State) error {
	return v.s.checkVerified(ctx, st.Tenant, st.User)
}

// secondFactor is the second-factor step (mfa.go): needed unless the
// methods so far already hold one; its page is the code or passkey form.
type secondFactor struct{ s *Service }

func (secondFactor) Name() string { return "second_factor" }
func (f secondFactor) Needed(_ context.Context, st *State) (bool, error) {
	return f.s.MFA != nil && !mfa.Satisfied(st.AMR), nil
}

// Handle asks the policy. Without a request (the account page) a user who
// must enrol but has not may come in: the account page is where they
// enrol; complete refuses such a session for any request that needs a
// second factor (enforce.go).
func (f secondFactor) Handle(ctx context.Context, st *State) error {
	r := st.Request
	if ownSignIn(r) {
		r = nil // the gate's sign-in without a client
	}
	err := f.s.gate(ctx, st.Tenant, r, st.User, slices.Clone(st.AMR), st.OldSession)
	if errors.Is(err, ErrMFAUnmet) && r == nil {
		return nil
	}
	return err
}
