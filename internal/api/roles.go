package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// The authorization endpoints: roles, assignments and the check API.

type roleOut struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	Permissions []string  `json:"permissions"`
	Application string    `json:"application,omitempty"`
	Privileged  bool      `json:"privileged"`
	MaxDuration string    `json:"max_duration,omitempty"`
	Approval    string    `json:"approval,omitempty"`
	Approvers   []string  `json:"approvers,omitempty"`
	RequireMFA  bool      `json:"require_mfa"`
	Version     int64     `json:"version"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

func roleJSON(r *store.Role) roleOut {
	o := roleOut{ID: r.ID, Name: r.Name, Description: r.Description, Permissions: r.Permissions,
		Application: r.Application, Privileged: r.Privileged, Approval: r.Approval, Approvers: r.Approvers,
		RequireMFA: r.RequireMFA, Version: r.Version, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	if o.Permissions == nil {
		o.Permissions = []string{}
	}
	if r.MaxDuration > 0 {
		o.MaxDuration = r.MaxDuration.String()
	}
	return o
}

func roleID(r *store.Role) string { return r.ID }

func roleVersion(r *store.Role) int64 { return r.Version }

// refusal maps the authz service's policy refusals to problems: 409 for
// the record's state, 403 for who asks. Other errors pass unchanged to
// writeError.
func refusal(err error) error {
	var r *authz.Refused
	if !errors.As(err, &r) {
		return err
	}
	status, title := http.StatusForbidden, "Refused"
	if r.Conflict {
		status, title = http.StatusConflict, "Conflict"
	}
	p := httpx.NewProblem(status, r.Code, title, r.Message)
	return p
}

func (a *API) listRoles(w http.ResponseWriter, r *http.Request, c *call) error {
	p, err := page(r)
	if err != nil {
		return err
	}
	app := r.URL.Query().Get("application")
	if len(app) > 256 {
		return valid.Field("application", "too_long", "application is a client_id.")
	}
	rs, err := a.Authz.ListRoles(r.Context(), c.tenant.ID, app, p)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, makeList(p, rs, roleID, roleJSON))
	return nil
}

func (a *API) createRole(w http.ResponseWriter, r *http.Request, c *call) error {
	var in authz.NewRole
	if err := a.decode(w, r, &in); err != nil {
		return err
	}
	ro, err := a.Authz.CreateRole(r.Context(), c.actor, c.tenant.ID, in)
	if err != nil {
		return err
	}
	writeCreated(w, "/api/v1/tenants/"+c.tenant.Slug+"/roles/"+ro.ID, ro.Version, roleJSON(ro))
	return nil
}

func (a *API) getRole(w http.ResponseWriter, r *http.Request, c *call) error {
	return getByID(w, r, c, a.Authz.GetRole, roleVersion, roleJSON)
}

func (a *API) updateRole(w http.ResponseWriter, r *http.Request, c *call) error {
	return patchByID(a, w, r, c, a.Authz.UpdateRole, roleVersion, roleJSON)
}

func (a *API) deleteRole(w http.ResponseWriter, r *http.Request, c *call) error {
	return deleteByID(w, r, c, a.Authz.DeleteRole)
}

type assignmentOut struct {
	ID        string    `json:"id"`
	RoleID    string    `json:"role_id"`
	Role      string    `json:"role,omitempty"`
	UserID    string    `json:"user_id,omitempty"`
	GroupID   string    `json:"group_id,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

func assignmentJSON(as *store.Assignment) assignmentOut {
	return assignmentOut{ID: as.ID, RoleID: as.RoleID, UserID: as.UserID, GroupID: as.GroupID, CreatedAt: as.CreatedAt}
}

func assignmentID(as *store.Assignment) string { return as.ID }

// listAssignments answers a page of q's assignments with role names.
func (a *API) listAssignments(w http.ResponseWriter, r *http.Request, c *call, q store.AssignmentQuery) error {
	p, err := page(r)
	if err != nil {
		return err
	}
	q.Page = p
	as, err := a.Authz.ListAssignments(r.Context(), c.tenant.ID, q)
	if err != nil {
		return err
	}
	l := makeList(p, as, assignmentID, assignmentJSON)
	names := map[string]string{}
	for i := range l.Items {
		id := l.Items[i].RoleID
		if _, ok := names[id]; !ok {
			ro, err := a.Authz.RoleOf(r.Context(), c.tenant.ID, id)
			if err != nil {
				return err
			}
			names[id] = ro.Name
		}
		l.Items[i].Role = names[id]
	}
	httpx.WriteJSON(w, http.StatusOK, l)
	return nil
}

func (a *API) roleAssignments(w http.ResponseWriter, r *http.Request, c *call) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if _, err := a.Authz.GetRole(r.Context(), c.tenant.ID, id); err != nil {
		return err
	}
	return a.listAssignments(w, r, c, store.AssignmentQuery{RoleID: id})
}

func (a *API) userRoles(w http.ResponseWriter, r *http.Request, c *call) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if _, err := a.Directory.GetUser(r.Context(), c.tenant.ID, id); err != nil {
		return err
	}
	return a.listAssignments(w, r, c, store.AssignmentQuery{UserID: id})
}

func (a *API) groupRoles(w http.ResponseWriter, r *http.Request, c *call) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if _, err := a.Directory.GetGroup(r.Context(), c.tenant.ID, id); err != nil {
		return err
	}
	return a.listAssignments(w, r, c, store.AssignmentQuery{GroupID: id})
}

// roleIn names a role by id or name.
type roleIn struct {
	Role string `json:"role"`
}

func (a *API) assignRole(w http.ResponseWriter, r *http.Request, c *call, group bool) error {
	id, in, err := idAndBody[roleIn](a, w, r)
	if err != nil {
		return err
	}
	if len(in.Role) > 256 {
		return valid.Field("role", "too_long", "role is a role id or name.")
	}
	assign := a.Authz.AssignUser
	if group {
		assign = a.Authz.AssignGroup
	}
	as, ro, err := assign(r.Context(), c.actor, c.tenant.ID, id, in.Role)
	if err != nil {
		return err
	}
	out := assignmentJSON(as)
	out.Role = ro.Name
	httpx.WriteJSON(w, http.StatusCreated, out)
	return nil
}

func (a *API) assignUserRole(w http.ResponseWriter, r *http.Request, c *call) error {
	return a.assignRole(w, r, c, false)
}

func (a *API) assignGroupRole(w http.ResponseWriter, r *http.Request, c *call) error {
	return a.assignRole(w, r, c, true)
}

func (a *API) unassignRole(w http.ResponseWriter, r *http.Request, c *call, group bool) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	role, err := pathID(r, "role")
	if err != nil {
		return err
	}
	user, grp := id, ""
	if group {
		user, grp = "", id
	}
	if err := a.Authz.Unassign(r.Context(), c.actor, c.tenant.ID, user, grp, role); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) unassignUserRole(w http.ResponseWriter, r *http.Request, c *call) error {
	return a.unassignRole(w, r, c, false)
}

func (a *API) unassignGroupRole(w http.ResponseWriter, r *http.Request, c *call) error {
	return a.unassignRole(w, r, c, true)
}

type viaOut = authz.Via

type roleStateOut struct {
	RoleID      string     `json:"role_id"`
	Role        string     `json:"role"`
	Privileged  bool       `json:"privileged"`
	Permissions []string   `json:"permissions"`
	Via         []viaOut   `json:"via"`
	ElevationID string     `json:"elevation_id,omitempty"`
	ExpiresAt   *time.Time `json:"expires_at,omitempty"`
}

type effectiveOut struct {
	Active   []roleStateOut `json:"active"`
	Eligible []roleStateOut `json:"eligible"`
}

func roleStates(sts []authz.RoleState) []roleStateOut {
	out := make([]roleStateOut, 0, len(sts))
	for _, st := range sts {
		o := roleStateOut{RoleID: st.Role.ID, Role: st.Role.Name, Privileged: st.Role.Privileged,
			Permissions: st.Role.Permissions, Via: st.Via, ElevationID: st.ElevationID}
		if o.Permissions == nil {
			o.Permissions = []string{}
		}
		if !st.ExpiresAt.IsZero() {
			t := st.ExpiresAt
			o.ExpiresAt = &t
		}
		out = append(out, o)
	}
	return out
}

// effectiveRoles answers the user's active and eligible roles (what the
// account page shows as "my roles").
func (a *API) effectiveRoles(w http.ResponseWriter, r *http.Request, c *call) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	eff, err := a.Authz.EffectiveRoles(r.Context(), c.tenant.ID, id)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, effectiveOut{Active: roleStates(eff.Active), Eligible: roleStates(eff.Eligible)})
	return nil
}

func (a *API) check(w http.ResponseWriter, r *http.Request, c *call) error {
	var in authz.Query
	if err := a.decode(w, r, &in); err != nil {
		return err
	}
	d, err := a.Authz.Check(r.Context(), c.tenant.ID, in)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, d)
	return nil
}

type batchIn struct {
	Checks []authz.Query `json:"checks"`
}

type batchOut struct {
	Results []authz.Decision `json:"results"`
}

func (a *API) checkBatch(w http.ResponseWriter, r *http.Request, c *call) error {
	var in batchIn
	if err := a.decode(w, r, &in); err != nil {
		return err
	}
	ds, err := a.Authz.CheckBatch(r.Context(), c.tenant.ID, in.Checks)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, batchOut{Results: ds})
	return nil
}
