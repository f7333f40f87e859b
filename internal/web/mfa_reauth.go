package web

// Changing two-step verification needs more than a session cookie, and
// what it needs depends on what the user has:
//   - A user with a second factor proves that factor again: a sign-in with
//     a second factor (amr "mfa") within reauthWindow, or a current code
//     (current_code: an authenticator or a recovery code) posted with the
//     form, checked under the second-factor throttle. The password never
//     stands in for the factor, so whoever knows only the password can
//     neither remove nor replace it; a lost factor is recovered with a
//     recovery code or an administrator's reset of the factors.
//   - A user with no factor yet enrols the first one with the current
//     password posted with the form (current_password, login throttle),
//     however recent the sign-in: a session cookie alone never adds a
//     factor the owner would then have to get past.
//   - A user with neither a factor nor a password (upstream or email
//     sign-in only) has nothing to re-enter: a sign-in within reauthWindow.

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// reauthWindow is how recent a second-factor sign-in must be to change
// factors without entering a code.
const reauthWindow = 10 * time.Minute

// What a change of factors asks the user for (the forms' extra field).
const (
	proofFresh    = ""         // nothing more: the session's sign-in is proof
	proofCode     = "code"     // current_code
	proofPassword = "password" // current_password
)

// mfaProofNeeded answers what a.sess must add to change the user's
// factors (proofFresh, proofCode or proofPassword).
func (p *Pages) mfaProofNeeded(a *accountReq) (string, error) {
	ctx := a.r.Context()
	recent := p.Flow.Now().Sub(a.sess.AuthTime) <= reauthWindow
	s, err := p.MFA.List(ctx, a.t.ID, a.sess.UserID)
	if err != nil {
		return "", err
	}
	if confirmedFactor(s, "") {
		if recent && mfa.Satisfied(a.sess.AMR) {
			return proofFresh, nil
		}
		return proofCode, nil
	}
	u, err := p.Store.Users().GetUser(ctx, a.t.ID, a.sess.UserID)
	if err != nil {
		return "", err
	}
	if u.PasswordHash != "" || !recent {
		return proofPassword, nil
	}
	return proofFresh, nil
}

// confirmedFactor reports whether s holds a confirmed factor of kind (""
// for any kind).
func confirmedFactor(s *mfa.Summary, kind string) bool {
	for _, f := range s.Factors {
		if f.Confirmed && (kind == "" || f.Kind == kind) {
			return true
		}
	}
	return false
}

// mfaProven checks the proof an MFA change needs; when it is missing or
// wrong it answers the browser (the factors page, or JSON for the passkey
// script) with 403 (429 when throttled) and reports false.
func (p *Pages) mfaProven(a *accountReq, asJSON bool) bool {
	need, err := p.mfaProofNeeded(a)
	if err != nil {
		p.accountFail(a, err)
		return false
	}
	return p.proven(a, need, func(status int, key string) {
		if asJSON {
			jsonError(a.w, a.r, a.t, status, key)
		} else {
			p.showAccountMFA(a, status, mfaAccountView{Error: a.f.T(key)})
		}
	})
}

// emailChangeProof answers what moving the address needs: the address of
// a user with codes by email is where that factor's codes go, so moving
// it replaces the factor and needs the same proof (a second-factor
// sign-in within reauthWindow, or a current code); otherwise proofFresh
// (the form's password is checked by the change itself).
func (p *Pages) emailChangeProof(a *accountReq) (string, error) {
	s, err := p.MFA.List(a.r.Context(), a.t.ID, a.sess.UserID)
	switch {
	case err != nil:
		return "", err
	case !confirmedFactor(s, store.FactorEmail),
		p.Flow.Now().Sub(a.sess.AuthTime) <= reauthWindow && mfa.Satisfied(a.sess.AMR):
		return proofFresh, nil
	}
	return proofCode, nil
}

// emailChangeProven checks emailChangeProof's proof; the account page
// answers when it is missing or wrong.
func (p *Pages) emailChangeProven(a *accountReq) bool {
	need, err := p.emailChangeProof(a)
	if err != nil {
		p.accountFail(a, err)
		return false
	}
	return p.proven(a, need, func(status int, key string) {
		if key == "mfa.reauth_code" {
			key = "account.err_email_code"
		}
		p.showAccount(a, status, "", a.f.T(key))
	})
}

// proven checks the form for the proof need asks for; when it is missing
// or wrong it calls fail with the status and message key and reports
// false.
func (p *Pages) proven(a *accountReq, need string, fail func(status int, key string)) bool {
	if need == proofFresh {
		return true
	}
	ctx, ip := a.r.Context(), httpx.ClientIP(a.r)
	status, key, given := http.StatusForbidden, "mfa.reauth", ""
	var err error
	switch need {
	case proofCode:
		key = "mfa.reauth_code"
		if given = strings.TrimSpace(a.r.PostFormValue("current_code")); given != "" {
			err = p.Flow.ReauthenticateFactor(ctx, a.t.ID, a.sess.UserID, given, ip)
		}
	case proofPassword:
		if given = a.r.PostFormValue("current_password"); given != "" {
			err = flow.ErrInvalidCredentials
			if p.Account != nil {
				_, err = p.Account.Reauthenticate(ctx, a.t.ID, a.sess.UserID, given, ip)
			}
		}
	}
	var throttled *flow.ThrottledError
	switch {
	case given == "":
	case err == nil:
		return true
	case errors.As(err, &throttled):
		a.w.Header().Set("Retry-After", strconv.Itoa(int(throttled.RetryAfter.Seconds())+1))
		status, key = http.StatusTooManyRequests, "login.throttled"
	case errors.Is(err, flow.ErrInvalidCredentials) && need == proofCode:
		key = "mfa.invalid"
	case errors.Is(err, flow.ErrInvalidCredentials):
		key = "login.invalid"
	default:
		p.accountFail(a, err)
		return false
	}
	fail(status, key)
	return false
}

// mfaProof answers the field the factors page asks for with each change
// (proofPassword or proofCode; proofFresh for none). On an error it asks
// for the code, the stricter.
func (p *Pages) mfaProof(a *accountReq) string {
	need, err := p.mfaProofNeeded(a)
	if err != nil {
		return proofCode
	}
	return need
}
