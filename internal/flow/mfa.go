package flow

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// The second-factor step. After the first factor, the flow asks the mfa
// policy; when a second factor is due it starts no session but mints a
// pending ticket (a one-time token of purpose PurposeMFAPending: only its
// hash is stored, any node can continue it) that the page keeps in a
// cookie. SecondFactorLogin checks the code under the login throttle
// (counted in the database, so a lockout holds across nodes), spends the
// ticket and only then starts the session.

// PurposeMFAPending marks a pending second-factor ticket.
const PurposeMFAPending = "mfa_pending"

// pendingTTL bounds how long a user has to find their phone.
const pendingTTL = 10 * time.Minute

// Errors of the second-factor step.
var (
	// ErrMFAUnmet: policy or the client asks for a second factor the user
	// has not enrolled (and no grace period applies).
	ErrMFAUnmet = errors.New("flow: a second factor is required but none is enrolled")
)

// SecondFactorError: the first factor was right; the login continues with
// a second factor. Token is the pending ticket (secret: a cookie only).
type SecondFactorError struct{ Token string }

func (e *SecondFactorError) Error() string { return "flow: a second factor is required" }

type pendingData struct {
	Request string   `json:"ar"`
	AMR     []string `json:"amr"`
	Session string   `json:"sid,omitempty"`
}

func pendingHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// gate applies the MFA policy after a first factor with amr: nil when the
// login may finish now, *SecondFactorError or ErrMFAUnmet otherwise.
// oldSession is the session a step-up raises ("" for a fresh login).
func (s *Service) gate(ctx context.Context, tenant store.TenantID, ar *store.AuthRequest, u *store.User, amr []string, oldSession string) error {
	if s.MFA == nil {
		return nil
	}
	t, err := s.Store.Tenants().GetTenant(ctx, tenant)
	if err != nil {
		return err
	}
	clientID, acr := "", []string(nil)
	if ar != nil {
		clientID, acr = ar.ClientID, ar.ACRValues
	}
	d, err := s.MFA.Decide(ctx, t, u, clientID, acr)
	switch {
	case err != nil:
		return err
	case d == mfa.Unmet:
		return ErrMFAUnmet
	case d == mfa.Proceed:
		return nil
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return err
	}
	token := "gh_mf_" + base64.RawURLEncoding.EncodeToString(raw)
	data, err := json.Marshal(pendingData{Request: ar.ID, AMR: amr, Session: oldSession})
	if err != nil {
		return err
	}
	now := s.Now()
	if err := s.Store.SelfService().OneTimeTokens().CreateToken(ctx, &store.OneTimeToken{
		ID: uuid.Must(uuid.NewV7()).String(), Tenant: tenant, Purpose: PurposeMFAPending, UserID: u.ID,
		Hash: pendingHash(token), Data: string(data), CreatedAt: now, ExpiresAt: now.Add(pendingTTL),
	}); err != nil {
		return err
	}
	return &SecondFactorError{Token: token}
}

// NeedsStepUp reports whether an otherwise reusable session must add a
// second factor for ar: the client asked for MFA (acr_values) and the
// session has none.
func (s *Service) NeedsStepUp(ar *store.AuthRequest, sess *store.Session) bool {
	return s.MFA != nil && mfa.AsksForMFA(ar.ACRValues) && !mfa.Satisfied(sess.AMR)
}

// StepUp starts the second-factor step inside an existing session: it
// answers *SecondFactorError (the ticket) or ErrMFAUnmet.
func (s *Service) StepUp(ctx context.Context, tenant store.TenantID, ar *store.AuthRequest, sess *store.Session) error {
	u, err := s.Store.Users().GetUser(ctx, tenant, sess.UserID)
	if err != nil || u.Status != store.UserActive {
		return ErrInvalidCredentials
	}
	err = s.gate(ctx, tenant, ar, u, sess.AMR, sess.ID)
	if err == nil { // policy says no: acr asked, so the user has no factor
		return ErrMFAUnmet
	}
	return err
}

// PendingRequest answers the authorization request a live ticket belongs
// to; ErrRequestGone when the ticket is unknown, spent or expired, or is
// for another request.
func (s *Service) PendingRequest(ctx context.Context, tenant store.TenantID, requestID, ticket string) error {
	if ticket == "" || len(ticket) > 128 {
		return ErrRequestGone
	}
	t, err := s.Store.SelfService().OneTimeTokens().PeekToken(ctx, tenant, PurposeMFAPending, pendingHash(ticket))
	if errors.Is(err, store.ErrNotFound) {
		return ErrRequestGone
	}
	if err != nil {
		return err
	}
	var d pendingData
	if json.Unmarshal([]byte(t.Data), &d) != nil || d.Request != requestID {
		return ErrRequestGone
	}
	return nil
}

// SecondFactorLogin checks code (TOTP or recovery code) for the user of a
// pending ticket, throttled per user and per address exactly as passwords
// are. On success it spends the ticket, starts a new session whose AMR
// adds the factor and "mfa" (ending the session a step-up raised) and
// completes the request. Errors: ErrRequestGone, ErrInvalidCredentials,
// *ThrottledError.
func (s *Service) SecondFactorLogin(ctx context.Context, tenant store.TenantID, requestID, ticket, code, ip, userAgent string) (*store.Session, string, error) {
	if err := s.PendingRequest(ctx, tenant, requestID, ticket); err != nil {
		return nil, "", err
	}
	ots := s.Store.SelfService().OneTimeTokens()
	t, err := ots.PeekToken(ctx, tenant, PurposeMFAPending, pendingHash(ticket))
	if err != nil {
		return nil, "", ErrRequestGone
	}
	acct, ipKey := "mfa:"+t.UserID, "ip:"+ip
	th := s.Store.OAuth().Throttle()
	now := s.Now()
	if err := s.checkThrottle(ctx, tenant, acct, ipKey, now); err != nil {
		return nil, "", err
	}
	// Count first, as CheckPassword does: concurrent guesses all count.
	n, err := th.Fail(ctx, tenant, acct, now, throttleWindow)
	if err != nil {
		return nil, "", err
	}
	if n > lockAfter {
		return nil, "", &ThrottledError{RetryAfter: lockFor}
	}
	method, err := s.MFA.Verify(ctx, tenant, t.UserID, code)
	if errors.Is(err, mfa.ErrInvalidCode) {
		if _, ferr := th.Fail(ctx, tenant, ipKey, now, throttleWindow); ferr != nil {
			return nil, "", ferr
		}
		return nil, "", ErrInvalidCredentials
	}
	if err != nil {
		return nil, "", err
	}
	_ = th.Reset(ctx, tenant, acct)
	spent, err := ots.ConsumeToken(ctx, tenant, PurposeMFAPending, pendingHash(ticket))
	if err != nil {
		return nil, "", ErrRequestGone // a concurrent submit won
	}
	var d pendingData
	if err := json.Unmarshal([]byte(spent.Data), &d); err != nil {
		return nil, "", ErrRequestGone
	}
	amr := slices.Clone(d.AMR)
	for _, m := range []string{method, "mfa"} {
		if !slices.Contains(amr, m) {
			amr = append(amr, m)
		}
	}
	sess, token, err := s.Sessions.Create(ctx, tenant, spent.UserID, amr, userAgent, ip)
	if err != nil {
		return nil, "", err
	}
	if d.Session != "" {
		_ = s.Sessions.End(ctx, tenant, d.Session) // the raised session gives way (no fixation)
	}
	if err := s.Complete(ctx, tenant, requestID, sess); err != nil {
		return nil, "", err
	}
	return sess, token, nil
}
