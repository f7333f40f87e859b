package console

import (
	"net/http"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// The roles pages: roles and their permissions (the built-in console roles
// among them, read only), create, edit and delete a role, and who holds
// it; the routes and rules of .../roles in the API.

func init() {
	register(func(c *Console) []Page {
		return []Page{
			{Method: "GET", Path: "/roles", Perm: authz.PermConfig, Nav: "console.nav.roles", Order: 30, Handle: c.rolesList},
			{Method: "POST", Path: "/roles", Perm: authz.PermAdmin, Handle: c.roleCreate},
			{Method: "GET", Path: "/roles/{id}", Perm: authz.PermConfig, Handle: c.roleShow},
			{Method: "POST", Path: "/roles/{id}", Perm: authz.PermAdmin, Handle: c.roleUpdate},
			{Method: "POST", Path: "/roles/{id}/delete", Perm: authz.PermAdmin, Handle: c.roleDelete},
		}
	})
}

var (
	rolesTmpl = parse("roles.html")
	roleTmpl  = parse("role.html")
)

// permissionList reads a textarea of permissions, one per line or
// separated by commas.
func permissionList(s string) []string {
	var out []string
	for _, p := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' || r == ' ' }) {
		out = append(out, p)
	}
	if out == nil {
		out = []string{}
	}
	return out
}

type rolesData struct {
	Roles                    []store.Role
	Next                     string
	CanAdmin                 bool
	Name, Description, Perms string
	Privileged               bool
}

func (c *Console) rolesList(w http.ResponseWriter, r *http.Request, rq *Request) error {
	return c.renderRoles(w, r, rq, http.StatusOK, rolesData{}, nil)
}

func (c *Console) renderRoles(w http.ResponseWriter, r *http.Request, rq *Request, status int, d rolesData, ferr error) error {
	rs, err := c.Authz.ListRoles(rq.Context(), rq.Tenant.ID, "", store.Page{Limit: pageSize, After: cursor(r)})
	if err != nil {
		return err
	}
	d.Roles, d.CanAdmin = rs, rq.Can(authz.PermAdmin)
	if len(rs) == pageSize {
		d.Next = rq.Base + "/roles?after=" + nextCursor(rs[len(rs)-1].ID)
	}
	return rq.RenderForm(w, status, rolesTmpl, "console.roles.title", d, ferr)
}

// roleCreate: POST /roles.
func (c *Console) roleCreate(w http.ResponseWriter, r *http.Request, rq *Request) error {
	f := r.PostForm
	in := authz.NewRole{Name: strings.TrimSpace(f.Get("name")), Description: strings.TrimSpace(f.Get("description")),
		Permissions: permissionList(f.Get("permissions")), Privileged: f.Get("privileged") == "on"}
	if in.Privileged {
		in.Approval = "self_mfa" // approvers are named on the role's page
	}
	ro, err := c.Authz.CreateRole(rq.Context(), rq.Actor, rq.Tenant.ID, in)
	if err != nil {
		if _, ok := FieldErrors(err); ok {
			return c.renderRoles(w, r, rq, http.StatusBadRequest, rolesData{Name: in.Name, Description: in.Description,
				Perms: f.Get("permissions"), Privileged: in.Privileged}, err)
		}
		return c.actionError(w, rq, err)
	}
	return rq.Redirect(w, "/roles/"+ro.ID, "console.roles.created")
}

func (c *Console) pathRole(r *http.Request, rq *Request) (*store.Role, error) {
	id := r.PathValue("id")
	if !idRE.MatchString(id) {
		return nil, store.ErrNotFound
	}
	return c.Authz.GetRole(rq.Context(), rq.Tenant.ID, id)
}

// holder is one assignment of the role with its subject's name.
type holder struct {
	Type, ID, Name string
}

type roleData struct {
	R        *store.Role
	Perms    string
	Holders  []holder
	Builtin  bool
	CanAdmin bool
}

// roleShow: GET /roles/{id}.
func (c *Console) roleShow(w http.ResponseWriter, r *http.Request, rq *Request) error {
	ro, err := c.pathRole(r, rq)
	if err != nil {
		return err
	}
	return c.renderRole(w, rq, ro, http.StatusOK, nil)
}

func (c *Console) renderRole(w http.ResponseWriter, rq *Request, ro *store.Role, status int, ferr error) error {
	ctx, tid := rq.Context(), rq.Tenant.ID
	d := roleData{R: ro, Perms: strings.Join(ro.Permissions, "\n"), Builtin: authz.IsBuiltin(ro.Name), CanAdmin: rq.Can(authz.PermAdmin)}
	as, err := c.Authz.ListAssignments(ctx, tid, store.AssignmentQuery{RoleID: ro.ID, Page: store.Page{Limit: 200}})
	if err != nil {
		return err
	}
	for _, a := range as {
		h := holder{Type: "user", ID: a.UserID, Name: a.UserID}
		if a.GroupID != "" {
			h = holder{Type: "group", ID: a.GroupID, Name: a.GroupID}
			if g, err := c.Directory.GetGroup(ctx, tid, a.GroupID); err == nil {
				h.Name = g.Name
			}
		} else if u, err := c.Directory.GetUser(ctx, tid, a.UserID); err == nil {
			h.Name = u.Email
		}
		d.Holders = append(d.Holders, h)
	}
	return rq.RenderForm(w, status, roleTmpl, "console.role.title", d, ferr)
}

// roleUpdate: POST /roles/{id} changes description and permissions.
func (c *Console) roleUpdate(w http.ResponseWriter, r *http.Request, rq *Request) error {
	ro, err := c.pathRole(r, rq)
	if err != nil {
		return err
	}
	desc, perms := strings.TrimSpace(r.PostForm.Get("description")), permissionList(r.PostForm.Get("permissions"))
	if _, err := c.Authz.UpdateRole(rq.Context(), rq.Actor, rq.Tenant.ID, ro.ID, versionOf(r.PostForm.Get("version")),
		authz.RolePatch{Description: &desc, Permissions: &perms}); err != nil {
		if _, ok := FieldErrors(err); ok {
			ro.Description, ro.Permissions = desc, perms
			return c.renderRole(w, rq, ro, http.StatusBadRequest, err)
		}
		return c.actionError(w, rq, err)
	}
	return rq.Redirect(w, "/roles/"+ro.ID, "console.role.saved")
}

// roleDelete: POST /roles/{id}/delete.
func (c *Console) roleDelete(w http.ResponseWriter, r *http.Request, rq *Request) error {
	ro, err := c.pathRole(r, rq)
	if err != nil {
		return err
	}
	if err := c.Authz.DeleteRole(rq.Context(), rq.Actor, rq.Tenant.ID, ro.ID); err != nil {
		return c.actionError(w, rq, err)
	}
	return rq.Redirect(w, "/roles", "console.role.deleted")
}
