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
	// Risk: the risk step asked for this second factor; a user without
	// one may get an emailed code (risk.go).
	Risk bool `json:"risk,omitempty"`
}

func pendingHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// gate applies the MFA policy after a first factor with amr: nil when the
// login may finish now, *SecondFactorError or ErrMFAUnmet otherwise.
// oldSession is the session a step-up raises ("" for a fresh login).
func (s *Service) gate(ctx context.Context, tenant store.TenantID, ar *store.LoginRequest, u *store.User, amr []string, oldSession string) error {
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
	if err == nil && ar == nil && d == mfa.Proceed {
		// The account page's own sign-in leads to where factors are
		// managed: a user who has a second factor gives it there, whatever
		// the policies say, and a remembered device does not stand in.
		var enrolled bool
		if enrolled, err = s.MFA.Enrolled(ctx, tenant, u.ID); enrolled {
			d = mfa.Ask
		}
	}
	switch {
	case err != nil:
		return err
	case d == mfa.Unmet:
		return ErrMFAUnmet
	case d == mfa.Proceed:
		return nil
	case ar != nil && !mfa.AsksForMFA(acr) && s.remembered(ctx, tenant, u.ID): // remember.go
		return nil
	}
	return s.mintPending(ctx, tenant, ar, u, pendingData{AMR: amr, Session: oldSession})
}

// mintPending stores a pending second-factor ticket for u with pd (its
// Request filled from ar) and answers it as *SecondFactorError.
func (s *Service) mintPending(ctx context.Context, tenant store.TenantID, ar *store.LoginRequest, u *store.User, pd pendingData) error {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return err
	}
	token := "gh_mf_" + base64.RawURLEncoding.EncodeToString(raw)
	if ar != nil { // nil: the account page's own sign-in
		pd.Request = ar.ID
	}
	data, err := json.Marshal(pd)
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

// StepUp starts the second-factor step inside an existing session: it
// answers *SecondFactorError (the ticket) or ErrMFAUnmet.
func (s *Service) StepUp(ctx context.Context, tenant store.TenantID, ar *store.LoginRequest, sess *store.Session) error {
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

// PendingRequest checks that ticket is live and belongs to requestID (""
// for the account page's sign-in) and answers the user it is for; ErrRequestGone when the ticket is unknown,
// spent or expired, or is for another request.
func (s *Service) PendingRequest(ctx context.Context, tenant store.TenantID, requestID, ticket string) (string, error) {
	if ticket == "" || len(ticket) > 128 {
		return "", ErrRequestGone
	}
	t, err := s.Store.SelfService().OneTimeTokens().PeekToken(ctx, tenant, PurposeMFAPending, pendingHash(ticket))
	if errors.Is(err, store.ErrNotFound) {
		return "", ErrRequestGone
	}
	if err != nil {
		return "", err
	}
	var d pendingData
	if json.Unmarshal([]byte(t.Data), &d) != nil || d.Request != requestID {
		return "", ErrRequestGone
	}
	return t.UserID, nil
}

// SecondFactorLogin checks code (TOTP or recovery code) for the user of a
// pending ticket, throttled per user and per address exactly as passwords
// are. On success it spends the ticket, starts a new session whose AMR
// adds the factor and "mfa" (ending the session a step-up raised) and
// completes the request. Errors: ErrRequestGone, ErrInvalidCredentials,
// *ThrottledError.
// emailTicket names the code mailed by SendEmailCode ("" for none).
func (s *Service) SecondFactorLogin(ctx context.Context, tenant store.TenantID, requestID, ticket, code, emailTicket, ip, userAgent string) (*store.Session, string, error) {
	userID, err := s.PendingRequest(ctx, tenant, requestID, ticket)
	if err != nil {
		return nil, "", err
	}
	method, err := s.checkCode(ctx, tenant, requestID, userID, code, emailTicket, ip)
	if err != nil {
		return nil, "", err
	}
	return s.FinishSecondFactor(ctx, tenant, requestID, ticket, []string{method}, ip, userAgent)
}

// ReauthenticateFactor checks a current second-factor code of userID (an
// authenticator or a recovery code, spent as at a login) before a change
// of the user's factors, under the same throttle as a login's code.
// Errors: ErrInvalidCredentials, *ThrottledError.
func (s *Service) ReauthenticateFactor(ctx context.Context, tenant store.TenantID, userID, code, ip string) error {
	if s.MFA == nil || code == "" || len(code) > 16 {
		return ErrInvalidCredentials
	}
	_, err := s.checkCode(ctx, tenant, "", userID, code, "", ip)
	return err
}

// checkCode checks code for userID, throttled per user and per address
// exactly as passwords are, and answers the factor's amr method. Errors:
// ErrInvalidCredentials, *ThrottledError.
func (s *Service) checkCode(ctx context.Context, tenant store.TenantID, requestID, userID, code, emailTicket, ip string) (string, error) {
	acct, ipKey := "mfa:"+userID, "ip:"+ip
	th := s.Store.OAuth().Throttle()
	now := s.Now()
	if err := s.checkThrottle(ctx, tenant, acct, ipKey, now); err != nil {
		return "", err
	}
	// Count first, as CheckPassword does: concurrent guesses all count.
	n, err := th.Fail(ctx, tenant, acct, now, throttleWindow)
	if err != nil {
		return "", err
	}
	if n > lockAfter {
		return "", &ThrottledError{RetryAfter: lockFor}
	}
	if only, err := s.passkeysOnly(ctx, tenant, requestID, userID); err != nil {
		return "", err
	} else if only {
		return "", ErrInvalidCredentials // codes do not count here
	}
	method, err := s.MFA.Verify(ctx, tenant, userID, code, emailTicket)
	if errors.Is(err, mfa.ErrInvalidCode) {
		if _, ferr := th.Fail(ctx, tenant, ipKey, now, throttleWindow); ferr != nil {
			return "", ferr
		}
		return "", ErrInvalidCredentials
	}
	if err != nil {
		return "", err
	}
	_ = th.Reset(ctx, tenant, acct)
	return method, nil
}

// FinishSecondFactor ends the second-factor step once a factor has been
// verified (a code here, a passkey by the caller for the ticket's user):
// it spends the ticket and finishes the login (steps.go) with AMR that
// adds amr and "mfa", ending the session a step-up raised. ErrRequestGone
// when the ticket was spent meanwhile.
func (s *Service) FinishSecondFactor(ctx context.Context, tenant store.TenantID, requestID, ticket string, amr []string, ip, userAgent string) (*store.Session, string, error) {
	spent, err := s.Store.SelfService().OneTimeTokens().ConsumeToken(ctx, tenant, PurposeMFAPending, pendingHash(ticket))
	if err != nil {
		return nil, "", ErrRequestGone // a concurrent submit won
	}
	var d pendingData
	if err := json.Unmarshal([]byte(spent.Data), &d); err != nil || d.Request != requestID {
		return nil, "", ErrRequestGone
	}
	all := slices.Clone(d.AMR)
	for _, m := range append(slices.Clone(amr), "mfa") {
		if !slices.Contains(all, m) {
			all = append(all, m)
		}
	}
	st, err := s.state(ctx, tenant, requestID, spent.UserID, all, ip, userAgent)
	if err != nil {
		return nil, "", err
	}
	st.OldSession = d.Session
	return s.finish(ctx, st, requestID)
}

// PasskeyLogin is the passwordless path: a discoverable passkey (verified
// by internal/mfa) identified the user. With user verification (PIN or
// biometric) it is two factors at once (amr hwk, user, mfa); without, it
// is one (hwk) and the second-factor step applies as after a password.
func (s *Service) PasskeyLogin(ctx context.Context, tenant store.TenantID, requestID string, p *mfa.Passkey, ip, userAgent string) (*store.Session, string, error) {
	if _, err := s.Load(ctx, tenant, requestID); err != nil {
		return nil, "", err
	}
	amr := slices.Clone(p.AMR)
	if slices.Contains(amr, "user") {
		amr = append(amr, "mfa")
	}
	return s.login(ctx, tenant, requestID, p.UserID, amr, ip, userAgent)
}

// mailsPerWindow bounds second-factor mails per user per throttle window.
const mailsPerWindow = 5

// SendEmailCode mails the pending ticket's user a second-factor code
// (where the tenant allows it) and answers the mail's ticket for the
// page. Errors: ErrRequestGone, mfa.ErrEmailCodeOff, *ThrottledError.
func (s *Service) SendEmailCode(ctx context.Context, t *store.Tenant, requestID, ticket, lang string) (string, error) {
	userID, err := s.PendingRequest(ctx, t.ID, requestID, ticket)
	if err != nil {
		return "", err
	}
	u, err := s.Store.Users().GetUser(ctx, t.ID, userID)
	if err != nil {
		return "", ErrRequestGone
	}
	n, err := s.Store.OAuth().Throttle().Fail(ctx, t.ID, "mfa-mail:"+userID, s.Now(), throttleWindow)
	if err != nil {
		return "", err
	}
	if n > mailsPerWindow {
		return "", &ThrottledError{RetryAfter: throttleWindow}
	}
	if s.riskTicket(ctx, t.ID, ticket) && !s.MFA.HasEmailCode(ctx, t, u.ID) { // risk.go
		return s.MFA.SendStepUpCode(ctx, t, u, lang)
	}
	return s.MFA.SendEmailCode(ctx, t, u, lang)
}

// passkeysOnly reports whether the policy for the user at the request's
// client is passkeys_only.
func (s *Service) passkeysOnly(ctx context.Context, tenant store.TenantID, requestID, userID string) (bool, error) {
	t, err := s.Store.Tenants().GetTenant(ctx, tenant)
	if err != nil {
		return false, err
	}
	u, err := s.Store.Users().GetUser(ctx, tenant, userID)
	if err != nil {
		return false, err
	}
	clientID := ""
	if ar, err := s.Load(ctx, tenant, requestID); err == nil {
		clientID = ar.ClientID
	}
	return s.MFA.PasskeysOnly(ctx, t, u, clientID)
}
