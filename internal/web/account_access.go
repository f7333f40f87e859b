package web

// Two sections of the account page: "my apps", the tenant's SAML service
// providers a signed-in user can launch (IdP-initiated SSO), and
// "my roles", the user's active and eligible roles with a form to request
// elevation to a privileged role. The launch itself is
// internal/saml's GET /t/{tenant}/saml/launch/{sp}: a link, which starts a
// login request and changes nothing else. The elevation form posts to
// /t/{tenant}/account/elevations; authz.Service validates, decides and
// audits it.

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/samlreg"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// maxLaunchApps bounds the launcher's list (one page of providers).
const maxLaunchApps = 100

// launchRow is one app of the launcher.
type launchRow struct{ Name, URL string }

// roleRow is one role of "my roles".
type roleRow struct {
	ID, Name, Description string
	// Until is an active elevation's end ("" for a role active by assignment).
	Until string
	// NeedsMFA: self-activation after a fresh multi-factor login.
	NeedsMFA bool
	// Durations are the choices up to the role's max_duration.
	Durations []string
	// Pending: a request waits for an approver.
	Pending bool
}

// accessView is what the two sections show.
type accessView struct {
	LaunchApps    []launchRow
	ShowLauncher  bool
	ShowRoles     bool
	ActiveRoles   []roleRow
	EligibleRoles []roleRow
	// Approvals wait for the user's decision (account_approvals.go).
	Approvals []approvalRow
}

// durationChoices are the offered elevation lengths; a role's own
// max_duration is offered too when it is not one of them.
var durationChoices = []time.Duration{15 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour,
	4 * time.Hour, 8 * time.Hour, 24 * time.Hour}

func durationsUpTo(max time.Duration) []string {
	var out []string
	for _, d := range durationChoices {
		if d < max {
			out = append(out, shortDuration(d))
		}
	}
	return append(out, shortDuration(max))
}

// shortDuration writes d as "15m", "2h" or "1h30m", as the service's
// duration field accepts.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

const untilFormat = "2006-01-02 15:04 UTC"

// accessSections fills the launcher and the roles of the signed-in user.
func (p *Pages) accessSections(a *accountReq) (accessView, error) {
	ctx := a.r.Context()
	var v accessView
	if p.SAMLApps != nil {
		v.ShowLauncher = true
		sps, err := p.SAMLApps.List(ctx, a.t.ID, store.Page{Limit: maxLaunchApps})
		if err != nil {
			return v, err
		}
		for _, sp := range sps {
			v.LaunchApps = append(v.LaunchApps, launchRow{Name: sp.Name, URL: samlreg.LaunchPath(a.t.Slug, sp.ID)})
		}
	}
	if p.Authz == nil {
		return v, nil
	}
	v.ShowRoles = true
	eff, err := p.Authz.EffectiveRoles(ctx, a.t.ID, a.sess.UserID)
	if err != nil {
		return v, err
	}
	pending, err := p.Authz.ListElevations(ctx, a.t.ID, store.ElevationQuery{UserID: a.sess.UserID,
		Status: store.ElevationPending, Page: store.Page{Limit: 100}})
	if err != nil {
		return v, err
	}
	waiting := map[string]bool{}
	for _, e := range pending {
		waiting[e.RoleID] = true
	}
	for _, st := range eff.Active {
		row := roleRow{ID: st.Role.ID, Name: st.Role.Name, Description: st.Role.Description}
		if st.ElevationID != "" {
			row.Until = st.ExpiresAt.UTC().Format(untilFormat)
		}
		v.ActiveRoles = append(v.ActiveRoles, row)
	}
	if v.Approvals, err = p.approvals(a); err != nil {
		return v, err
	}
	for _, st := range eff.Eligible {
		v.EligibleRoles = append(v.EligibleRoles, roleRow{ID: st.Role.ID, Name: st.Role.Name, Description: st.Role.Description,
			NeedsMFA: st.Role.Approval == store.ApprovalSelfMFA, Durations: durationsUpTo(st.Role.MaxDuration),
			Pending: waiting[st.Role.ID]})
	}
	return v, nil
}

// elevationFields are the only fields the elevation form may carry: the
// user is always the session's, so a posted user id is refused, not ignored.
var elevationFields = map[string]bool{"csrf": true, "ui_locales": true, "role": true, "reason": true, "duration": true}

// accountElevation: POST .../account/elevations (role, reason, duration).
func (p *Pages) accountElevation(a *accountReq) {
	for name, vals := range a.r.PostForm {
		if !elevationFields[name] || len(vals) != 1 {
			p.showAccount(a, http.StatusBadRequest, "", a.f.T("account.err_elevation_form"))
			return
		}
	}
	f := a.r.PostForm
	e, err := p.Authz.RequestElevation(a.r.Context(), a.actor(), a.t.ID, a.sess.UserID, authz.ElevationRequest{
		Role: f.Get("role"), Reason: f.Get("reason"), Duration: f.Get("duration")}, a.sess)
	if err == nil {
		done := "elevation_requested"
		if e.Status == store.ElevationApproved {
			done = "elevation_active"
		}
		http.Redirect(a.w, a.r, a.pageURL(done), http.StatusSeeOther)
		return
	}
	if key, status := elevationRefusal(err); key != "" {
		p.showAccount(a, status, "", a.f.T(key))
		return
	}
	p.accountFail(a, err)
}

// elevationRefusal maps RequestElevation's refusals to a message and a
// status; "" for an unexpected error. An unknown role and a role the user
// does not hold read alike (no probing of the tenant's roles).
func elevationRefusal(err error) (key string, status int) {
	var refused *authz.Refused
	if field, code, ok := fieldCode(err); ok {
		switch {
		case field == "duration" && code == "out_of_range":
			return "account.err_elevation_too_long", http.StatusUnprocessableEntity
		case field == "duration":
			return "account.err_elevation_duration", http.StatusUnprocessableEntity
		case field == "reason":
			return "account.err_elevation_reason", http.StatusUnprocessableEntity
		}
		return "account.err_elevation_not_eligible", http.StatusForbidden
	}
	switch {
	case errors.As(err, &refused) && refused.Code == "step_up_required":
		return "account.err_elevation_mfa", http.StatusForbidden
	case errors.As(err, &refused), errors.Is(err, store.ErrNotFound):
		return "account.err_elevation_not_eligible", http.StatusForbidden
	}
	return "", 0
}
