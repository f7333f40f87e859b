package flow

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/notice"
	"github.com/gatehouse-id/gatehouse/internal/risk"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// The risk step: between the first factor and the second, the risk engine
// (internal/risk) scores the attempt and its audit entry (login.risk) is
// written; step_up asks the user's second factor whatever the MFA policy
// says (an emailed code for a user without one), block ends the login with
// the tenant's support message, notify tells the user of the sign-in. A
// login that already holds two factors (a passkey with user verification,
// or the second factor the step asked for) is not assessed again. Only a
// completed sign-in joins the user's history (RecognizeSource).

// BlockedError: the risk engine refused the attempt. Support is the
// tenant's support message for the page ("" for the default text).
type BlockedError struct{ Support string }

func (e *BlockedError) Error() string { return "flow: sign-in refused by the risk policy" }

// ErrBlocked matches every *BlockedError with errors.Is.
var ErrBlocked = errors.New("flow: sign-in refused by the risk policy")

// Is makes errors.Is(err, ErrBlocked) hold.
func (e *BlockedError) Is(target error) bool { return target == ErrBlocked }

type riskStep struct{ s *Service }

func (riskStep) Name() string { return "risk" }
func (r riskStep) Needed(_ context.Context, st *State) (bool, error) {
	return r.s.Risk != nil && !mfa.Satisfied(st.AMR), nil
}

// Handle assesses the attempt, audits the decision and acts on it.
func (r riskStep) Handle(ctx context.Context, st *State) error {
	s := r.s
	clientID := ""
	if st.Request != nil && !ownSignIn(st.Request) {
		clientID = st.Request.ClientID
	}
	deviceID := s.knownDevice(ctx, st.Tenant, st.User.ID, s.Now())
	as, pol, ok, err := s.Risk.Assess(ctx, st.Tenant, clientID, risk.Attempt{Kind: risk.KindLogin, UserID: st.User.ID,
		IP: st.IP, UserAgent: st.UserAgent, DeviceID: deviceID, PasswordKey: st.PasswordKey, Breached: st.Breached})
	if err != nil || !ok {
		return err
	}
	actor := events.Actor{Type: "user", ID: st.User.ID, ClientIP: st.IP}
	err = s.Store.InTx(ctx, func(tx store.Repos) error {
		if err := s.Risk.Record(ctx, tx, actor, st.Tenant, risk.KindLogin, st.User.ID, as); err != nil {
			return err
		}
		if s.Notices == nil || as.Decision == risk.Block {
			return nil
		}
		// A breached password signs in but the user is asked to change
		// it, by mail, at most once a day.
		if as.Raised(risk.BreachedPassword) {
			n, err := tx.OAuth().Throttle().Fail(ctx, st.Tenant, "risk-breach-mail:"+st.User.ID, s.Now(), 24*time.Hour)
			if err != nil {
				return err
			}
			if n == 1 {
				if err := s.Notices.Notify(ctx, tx, st.Tenant, st.User.ID, notice.BreachedPassword); err != nil {
					return err
				}
			}
		}
		// A new device is told by RecognizeSource already; here the
		// sign-ins that look odd from a device the user knows.
		if as.Notify && deviceID != "" {
			return s.Notices.Notify(ctx, tx, st.Tenant, st.User.ID, notice.RiskySignIn)
		}
		return nil
	})
	if err != nil {
		return err
	}
	switch as.Decision {
	case risk.Block:
		return &BlockedError{Support: pol.SupportMessage}
	case risk.StepUp:
		if s.MFA == nil {
			return &BlockedError{Support: pol.SupportMessage}
		}
		r := st.Request
		if ownSignIn(r) {
			r = nil
		}
		return s.mintPending(ctx, st.Tenant, r, st.User, pendingData{AMR: st.AMR, Session: st.OldSession, Risk: true})
	}
	return nil
}

// passwordFacts fills st with what the risk step learns from the
// password: its keyed hash and whether it is breached. The password
// itself goes no further.
func (s *Service) passwordFacts(st *State, password string) {
	if s.Risk == nil {
		return
	}
	st.PasswordKey = s.Risk.PasswordKey(password)
	if b, err := s.Risk.IsBreached(password); err == nil {
		st.Breached = b
	} else {
		s.Log.Warn("flow: breached-password check", "err", err)
	}
}

// noteRiskFailure counts a wrong password for the attack signals.
func (s *Service) noteRiskFailure(ctx context.Context, tenant store.TenantID, acct, userID, ip, password string) error {
	if s.Risk == nil {
		return nil
	}
	return s.Risk.NoteFailure(ctx, tenant, acct, userID, ip, s.Risk.PasswordKey(password))
}

// riskTicket reports whether the pending ticket was minted by the risk
// step (its user may then get an emailed code without an email factor).
func (s *Service) riskTicket(ctx context.Context, tenant store.TenantID, ticket string) bool {
	if ticket == "" || len(ticket) > 128 {
		return false
	}
	t, err := s.Store.SelfService().OneTimeTokens().PeekToken(ctx, tenant, PurposeMFAPending, pendingHash(ticket))
	if err != nil {
		return false
	}
	var d pendingData
	return json.Unmarshal([]byte(t.Data), &d) == nil && d.Risk
}

// RiskStepUp reports whether the pending ticket of requestID was minted
// by the risk step: the second-factor page then offers an emailed code to
// a user without a factor of their own.
func (s *Service) RiskStepUp(ctx context.Context, tenant store.TenantID, requestID, ticket string) bool {
	if _, err := s.PendingRequest(ctx, tenant, requestID, ticket); err != nil {
		return false
	}
	return s.riskTicket(ctx, tenant, ticket)
}

// riskCompleted adds a completed sign-in to the user's history.
func (s *Service) riskCompleted(ctx context.Context, tenant store.TenantID, userID, ip, deviceID string) error {
	if s.Risk == nil {
		return nil
	}
	return s.Risk.Completed(ctx, tenant, userID, ip, risk.UserAgent(ctx), deviceID)
}
