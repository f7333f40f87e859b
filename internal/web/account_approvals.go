package web

// "Requests for your approval" on the account page: the pending
// elevations of roles the signed-in user is a named approver of (never
// their own), with approve and deny buttons. The decision is the
// session's user's: authz.Service.Decide takes the approver from the
// caller, so nobody can decide in another approver's name.

import (
	"errors"
	"net/http"
	"slices"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// approvalRow is one pending elevation the user may decide.
type approvalRow struct {
	ID, Requester, Role, Reason, Duration string
}

// maxApprovals bounds the list (one page of pending requests).
const maxApprovals = 100

// approvals answers the pending elevations the signed-in user approves.
func (p *Pages) approvals(a *accountReq) ([]approvalRow, error) {
	ctx := a.r.Context()
	pending, err := p.Authz.ListElevations(ctx, a.t.ID, store.ElevationQuery{Status: store.ElevationPending,
		Page: store.Page{Limit: maxApprovals}})
	if err != nil {
		return nil, err
	}
	roles := map[string]*store.Role{}
	var out []approvalRow
	for _, e := range pending {
		if e.UserID == a.sess.UserID {
			continue
		}
		r, ok := roles[e.RoleID]
		if !ok {
			if r, err = p.Authz.GetRole(ctx, a.t.ID, e.RoleID); err != nil && !errors.Is(err, store.ErrNotFound) {
				return nil, err
			}
			roles[e.RoleID] = r
		}
		if r == nil || r.Approval != store.ApprovalApprovers || !slices.Contains(r.Approvers, a.sess.UserID) {
			continue
		}
		who := e.UserID
		if u, err := p.Store.Users().GetUser(ctx, a.t.ID, e.UserID); err == nil {
			who = u.Email
			if who == "" {
				who = u.Username
			}
		}
		out = append(out, approvalRow{ID: e.ID, Requester: who, Role: r.Name, Reason: e.Reason,
			Duration: shortDuration(e.Duration)})
	}
	return out, nil
}

// decideFields are the only fields the decision form may carry: the
// approver is always the session's user, so a posted approver is refused.
var decideFields = map[string]bool{"csrf": true, "ui_locales": true, "elevation_id": true, "action": true}

// accountDecideElevation: POST .../account/elevations/decide
// (elevation_id, action approve or deny).
func (p *Pages) accountDecideElevation(a *accountReq) {
	for name, vals := range a.r.PostForm {
		if !decideFields[name] || len(vals) != 1 {
			p.showAccount(a, http.StatusBadRequest, "", a.f.T("account.err_approval"))
			return
		}
	}
	action := a.r.PostForm.Get("action")
	if action != "approve" && action != "deny" {
		p.showAccount(a, http.StatusBadRequest, "", a.f.T("account.err_approval"))
		return
	}
	_, err := p.Authz.Decide(a.r.Context(), a.actor(), a.t.ID, a.r.PostForm.Get("elevation_id"), action == "approve")
	var refused *authz.Refused
	switch {
	case err == nil:
		http.Redirect(a.w, a.r, a.pageURL("elevation_"+action+"d"), http.StatusSeeOther)
	case errors.As(err, &refused), errors.Is(err, store.ErrNotFound):
		p.showAccount(a, http.StatusForbidden, "", a.f.T("account.err_approval"))
	default:
		p.accountFail(a, err)
	}
}
