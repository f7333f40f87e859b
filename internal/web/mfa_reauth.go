package web

// Changing two-step verification needs more than a session cookie (review
// finding 5): a multi-factor sign-in within reauthWindow, or the current
// password posted with the form (current_password, checked under the
// login throttle by account.Reauthenticate). A user with no factor yet may
// enrol the first one within reauthWindow of signing in (that sign-in was
// the fresh proof); later, they too re-enter the password.

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
)

// reauthWindow is how recent a sign-in must be to change factors
// without the password.
const reauthWindow = 10 * time.Minute

// mfaFresh reports whether sess may change the user's factors without the
// password: signed in within reauthWindow with a second factor, or with
// no factor enrolled yet.
func (p *Pages) mfaFresh(a *accountReq) (bool, error) {
	if p.Flow.Now().Sub(a.sess.AuthTime) > reauthWindow {
		return false, nil
	}
	if mfa.Satisfied(a.sess.AMR) {
		return true, nil
	}
	s, err := p.MFA.List(a.r.Context(), a.t.ID, a.sess.UserID)
	if err != nil {
		return false, err
	}
	for _, f := range s.Factors {
		if f.Confirmed {
			return false, nil
		}
	}
	return true, nil
}

// mfaProven checks the proof an MFA change needs; when it is missing or
// wrong it answers the browser (the factors page, or JSON for the passkey
// script) with 403 and reports false.
func (p *Pages) mfaProven(a *accountReq, asJSON bool) bool {
	fresh, err := p.mfaFresh(a)
	if err != nil {
		p.accountFail(a, err)
		return false
	}
	if fresh {
		return true
	}
	status, key := http.StatusForbidden, "mfa.reauth"
	if pw := a.r.PostFormValue("current_password"); pw != "" && p.Account != nil {
		_, err := p.Account.Reauthenticate(a.r.Context(), a.t.ID, a.sess.UserID, pw, httpx.ClientIP(a.r))
		var throttled *flow.ThrottledError
		switch {
		case err == nil:
			return true
		case errors.As(err, &throttled):
			a.w.Header().Set("Retry-After", strconv.Itoa(int(throttled.RetryAfter.Seconds())+1))
			status, key = http.StatusTooManyRequests, "login.throttled"
		case errors.Is(err, flow.ErrInvalidCredentials):
			key = "login.invalid"
		default:
			p.accountFail(a, err)
			return false
		}
	}
	if asJSON {
		jsonError(a.w, a.r, a.t, status, key)
	} else {
		p.showAccountMFA(a, status, mfaAccountView{Error: a.f.T(key)})
	}
	return false
}

// needPassword reports whether the factors page must ask for the current
// password with each change (mfaFresh is false).
func (p *Pages) needPassword(a *accountReq) bool {
	fresh, err := p.mfaFresh(a)
	return err != nil || !fresh
}
