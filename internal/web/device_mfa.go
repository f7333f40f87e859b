package web

// The MFA policy on the device page. Approving a device code hands the
// device tokens carrying the approving session's AMR, so the session must
// meet the device client's MFA policy exactly as a browser login of that
// client must. The page asks the one enforcement point, flow.Complete,
// through a device sign-in request (DeviceLogin): a session short of the
// policy goes through the usual second-factor step (/login/mfa), whose
// callback brings the browser back to the device page; a user with no
// factor enrolled is refused and the device code stays pending.

import (
	"errors"
	"net/http"

	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// deviceMFA reports whether sess meets the MFA policy of the client of
// the device authorization of code. Otherwise it has answered the browser:
// the second-factor step, or a refusal (403) when no factor is enrolled.
// It never changes the device authorization.
func (p *Pages) deviceMFA(w http.ResponseWriter, r *http.Request, t *store.Tenant, dp DeviceProtocol, code string, sess *store.Session) bool {
	ctx := r.Context()
	id, err := dp.DeviceLogin(ctx, t, code)
	if err != nil {
		p.deviceError(w, r, t, err)
		return false
	}
	ars := p.Store.OAuth().AuthRequests()
	err = p.Flow.Complete(flow.WithRememberToken(ctx, p.rememberCookie(r, t)), t.ID, id, sess)
	if err == nil {
		_ = ars.DeleteAuthRequest(ctx, t.ID, id) // only asked; the device page decides
		return true
	}
	if errors.Is(err, flow.ErrStepUpRequired) {
		// The request stays for the second-factor step; its callback
		// (oidc deviceCallback) sends the browser back here.
		var ar *store.AuthRequest
		if ar, err = p.Flow.Load(ctx, t.ID, id); err == nil {
			err = p.Flow.StepUp(ctx, t.ID, ar, sess)
			if p.toSecondFactor(w, r, t, id, err) { // mfa.go
				return false
			}
		}
	}
	_ = ars.DeleteAuthRequest(ctx, t.ID, id)
	switch {
	case errors.Is(err, flow.ErrMFAUnmet):
		p.message(w, r, t, http.StatusForbidden, "device.mfa_unmet_title", "device.mfa_unmet_body")
	case errors.Is(err, flow.ErrInvalidCredentials): // the user can no longer sign in
		p.message(w, r, t, http.StatusForbidden, "device.problem", "error.generic")
	case errors.Is(err, flow.ErrRequestGone):
		p.deviceError(w, r, t, store.ErrNotFound)
	default:
		p.deviceError(w, r, t, err)
	}
	return false
}
