package web

// The device page as an origin of logins, and its MFA policy. Approving a
// device code hands the device tokens carrying the approving session's
// AMR, so the session must meet the device client's MFA policy exactly as
// a browser login of that client must. Without a session the page starts
// a login request of origin device (the usual flow and steps); with one it
// asks the one enforcement point (flow.Satisfies) about a request it does
// not store, and stores one only when the session must step up: the
// second-factor step's return brings the browser back here.

import (
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// deviceLoginTTL bounds a device sign-in (and never outlives the code).
const deviceLoginTTL = 10 * time.Minute

// DeviceOrigin hands a finished device sign-in back to the device page,
// which then finds a session and asks for approval.
type DeviceOrigin struct{}

var _ Origin = DeviceOrigin{}

// Return is the device page for the request's user code.
func (DeviceOrigin) Return(t *store.Tenant, req *store.LoginRequest) string {
	return "/t/" + t.Slug + "/device?user_code=" + url.QueryEscape(formatUserCode(req.Return)) +
		"&login=" + url.QueryEscape(req.ID)
}

// Deny sends the browser back to the device form: the device code stays
// pending until the user decides or it expires.
func (DeviceOrigin) Deny(w http.ResponseWriter, r *http.Request, t *store.Tenant, req *store.LoginRequest, _, _ string) {
	http.Redirect(w, r, "/t/"+t.Slug+"/device?user_code="+url.QueryEscape(formatUserCode(req.Return)), http.StatusSeeOther)
}

// deviceRequest is the login request of the device authorization d.
func deviceRequest(t *store.Tenant, d *store.DeviceCode) *store.LoginRequest {
	exp := time.Now().Add(deviceLoginTTL)
	if d.ExpiresAt.Before(exp) {
		exp = d.ExpiresAt
	}
	return &store.LoginRequest{Tenant: t.ID, Origin: flow.OriginDevice, Return: d.UserCode, ClientID: d.ClientID,
		Scopes: d.Scopes, ExpiresAt: exp}
}

// deviceMFA reports whether sess meets the MFA policy of the client of
// the device authorization of code. Otherwise it has answered the browser:
// the second-factor step, or a refusal (403) when no factor is enrolled.
// It never changes the device authorization.
func (p *Pages) deviceMFA(w http.ResponseWriter, r *http.Request, t *store.Tenant, dp DeviceProtocol, code string, sess *store.Session) bool {
	ctx := r.Context()
	d, err := dp.DeviceByUserCode(ctx, t, code)
	if err != nil {
		p.deviceError(w, r, t, err)
		return false
	}
	return p.sessionMeetsPolicy(w, r, t, deviceRequest(t, d), sess, "device", func(err error) { p.deviceError(w, r, t, err) })
}

// sessionMeetsPolicy reports whether sess meets the MFA policy of req, a
// login request the page does not store unless the session must step up:
// then it is stored and the browser goes to the second-factor step, whose
// return brings it back through req's origin. Otherwise the page answers:
// "{page}.mfa_unmet_*" when the user has no factor, fail(store.ErrNotFound)
// when the request ended meanwhile, fail(err) for anything else.
func (p *Pages) sessionMeetsPolicy(w http.ResponseWriter, r *http.Request, t *store.Tenant, req *store.LoginRequest,
	sess *store.Session, page string, fail func(error)) bool {
	ctx := r.Context()
	err := p.Flow.Satisfies(flow.WithRememberToken(ctx, p.rememberCookie(r, t)), req, sess)
	if err == nil {
		return true
	}
	if errors.Is(err, flow.ErrStepUpRequired) {
		if err = p.Flow.Start(ctx, req); err == nil {
			err = p.Flow.StepUp(ctx, t.ID, req, sess)
			if p.toSecondFactor(w, r, t, req.ID, err) { // mfa.go
				return false
			}
			p.Flow.Drop(ctx, t.ID, req.ID)
		}
	}
	switch {
	case errors.Is(err, flow.ErrMFAUnmet):
		p.message(w, r, t, http.StatusForbidden, page+".mfa_unmet_title", page+".mfa_unmet_body")
	case errors.Is(err, flow.ErrInvalidCredentials): // the user can no longer sign in
		p.message(w, r, t, http.StatusForbidden, page+".problem", "error.generic")
	case errors.Is(err, flow.ErrRequestGone):
		fail(store.ErrNotFound)
	default:
		fail(err)
	}
	return false
}
