package console

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// The groups pages: list and create groups, and one group's page with its
// members (users and nested groups), its roles, rename and delete; the
// routes and rules of .../groups in the API.

func init() {
	register(func(c *Console) []Page {
		g := "/groups/{id}"
		return []Page{
			{Method: "GET", Path: "/groups", Perm: authz.PermRead, Nav: "console.nav.groups", Order: 20, Handle: c.groupsList},
			{Method: "POST", Path: "/groups", Perm: authz.PermAdmin, Handle: c.groupCreate},
			{Method: "GET", Path: g, Perm: authz.PermRead, Handle: c.groupShow},
			{Method: "POST", Path: g, Perm: authz.PermAdmin, Handle: c.groupUpdate},
			{Method: "POST", Path: g + "/delete", Perm: authz.PermAdmin, Handle: c.groupDelete},
			{Method: "POST", Path: g + "/members", Perm: authz.PermAdmin, Handle: c.groupAddMember},
			{Method: "POST", Path: g + "/members/{type}/{member}/remove", Perm: authz.PermAdmin, Handle: c.groupRemoveMember},
			{Method: "POST", Path: g + "/roles", Perm: authz.PermAdmin, Handle: c.groupAssignRole},
			{Method: "POST", Path: g + "/roles/{role}/remove", Perm: authz.PermAdmin, Handle: c.groupUnassignRole},
		}
	})
}

var (
	groupsTmpl = parse("groups.html")
	groupTmpl  = parse("group.html")
)

type groupsData struct {
	Groups         []store.Group
	Next           string
	CanAdmin       bool
	Name, Descript string
}

func (c *Console) groupsList(w http.ResponseWriter, r *http.Request, rq *Request) error {
	return c.renderGroups(w, r, rq, http.StatusOK, groupsData{}, nil)
}

func (c *Console) renderGroups(w http.ResponseWriter, r *http.Request, rq *Request, status int, d groupsData, ferr error) error {
	gs, err := c.Directory.ListGroups(rq.Context(), rq.Tenant.ID, store.Page{Limit: pageSize, After: cursor(r)})
	if err != nil {
		return err
	}
	d.Groups, d.CanAdmin = gs, rq.Can(authz.PermAdmin)
	if len(gs) == pageSize {
		d.Next = rq.Base + "/groups?after=" + nextCursor(gs[len(gs)-1].ID)
	}
	return rq.RenderForm(w, status, groupsTmpl, "console.groups.title", d, ferr)
}

// groupCreate: POST /groups.
func (c *Console) groupCreate(w http.ResponseWriter, r *http.Request, rq *Request) error {
	in := directory.NewGroup{Name: strings.TrimSpace(r.PostForm.Get("name")), Description: strings.TrimSpace(r.PostForm.Get("description"))}
	g, err := c.Directory.CreateGroup(rq.Context(), rq.Actor, rq.Tenant.ID, in)
	if err != nil {
		if _, ok := FieldErrors(err); ok {
			return c.renderGroups(w, r, rq, http.StatusBadRequest, groupsData{Name: in.Name, Descript: in.Description}, err)
		}
		return err
	}
	return rq.Redirect(w, "/groups/"+g.ID, "console.groups.created")
}

func (c *Console) pathGroup(r *http.Request, rq *Request) (*store.Group, error) {
	id := r.PathValue("id")
	if !idRE.MatchString(id) {
		return nil, store.ErrNotFound
	}
	return c.Directory.GetGroup(rq.Context(), rq.Tenant.ID, id)
}

// memberRow is a member with its display name.
type memberRow struct {
	Type, ID, Name string
}

type groupData struct {
	G         *store.Group
	Members   []memberRow
	Next      string
	Roles     []roleAssignment
	AllRoles  []store.Role
	AllGroups []store.Group
	CanAdmin  bool
}

// groupShow: GET /groups/{id}.
func (c *Console) groupShow(w http.ResponseWriter, r *http.Request, rq *Request) error {
	g, err := c.pathGroup(r, rq)
	if err != nil {
		return err
	}
	ctx, tid := rq.Context(), rq.Tenant.ID
	d := groupData{G: g, CanAdmin: rq.Can(authz.PermAdmin)}
	ms, err := c.Directory.ListMembers(ctx, tid, g.ID, store.Page{Limit: pageSize, After: cursor(r)})
	if err != nil {
		return err
	}
	for _, m := range ms {
		row := memberRow{Type: string(m.Type), ID: m.ID, Name: m.ID}
		switch m.Type {
		case store.MemberUser:
			if u, err := c.Directory.GetUser(ctx, tid, m.ID); err == nil {
				row.Name = u.Email
			}
		case store.MemberGroup:
			if sub, err := c.Directory.GetGroup(ctx, tid, m.ID); err == nil {
				row.Name = sub.Name
			}
		}
		d.Members = append(d.Members, row)
	}
	if len(ms) == pageSize {
		d.Next = rq.Base + "/groups/" + g.ID + "?after=" + nextCursor(ms[len(ms)-1].ID)
	}
	as, err := c.Authz.ListAssignments(ctx, tid, store.AssignmentQuery{GroupID: g.ID, Page: store.Page{Limit: 200}})
	if err != nil {
		return err
	}
	for _, a := range as {
		if ro, err := c.Authz.GetRole(ctx, tid, a.RoleID); err == nil {
			d.Roles = append(d.Roles, roleAssignment{RoleID: ro.ID, Role: ro.Name})
		}
	}
	if d.CanAdmin {
		if d.AllRoles, err = c.Authz.ListRoles(ctx, tid, "", store.Page{Limit: 200}); err != nil {
			return err
		}
		if d.AllGroups, err = c.Directory.ListGroups(ctx, tid, store.Page{Limit: 200}); err != nil {
			return err
		}
	}
	return rq.Render(w, http.StatusOK, groupTmpl, "console.group.title", d)
}

// groupUpdate: POST /groups/{id} renames or describes the group.
func (c *Console) groupUpdate(w http.ResponseWriter, r *http.Request, rq *Request) error {
	g, err := c.pathGroup(r, rq)
	if err != nil {
		return err
	}
	name, desc := strings.TrimSpace(r.PostForm.Get("name")), strings.TrimSpace(r.PostForm.Get("description"))
	if _, err := c.Directory.UpdateGroup(rq.Context(), rq.Actor, rq.Tenant.ID, g.ID, versionOf(r.PostForm.Get("version")),
		directory.GroupPatch{Name: &name, Description: &desc}); err != nil {
		return c.actionError(w, rq, err)
	}
	return rq.Redirect(w, "/groups/"+g.ID, "console.group.saved")
}

// groupDelete: POST /groups/{id}/delete.
func (c *Console) groupDelete(w http.ResponseWriter, r *http.Request, rq *Request) error {
	g, err := c.pathGroup(r, rq)
	if err != nil {
		return err
	}
	if err := c.Directory.DeleteGroup(rq.Context(), rq.Actor, rq.Tenant.ID, g.ID); err != nil {
		return c.actionError(w, rq, err)
	}
	return rq.Redirect(w, "/groups", "console.group.deleted")
}

// groupAddMember: POST /groups/{id}/members with email (a user) or group
// (a group id, nested: a cycle is refused).
func (c *Console) groupAddMember(w http.ResponseWriter, r *http.Request, rq *Request) error {
	g, err := c.pathGroup(r, rq)
	if err != nil {
		return err
	}
	var m store.Member
	switch email, sub := strings.TrimSpace(r.PostForm.Get("email")), r.PostForm.Get("group"); {
	case email != "":
		u, err := c.Directory.UserForEmail(rq.Context(), rq.Tenant.ID, email)
		if errors.Is(err, store.ErrNotFound) {
			return c.actionError(w, rq, valid.Field("email", "not_found", "No user of this tenant has that email address."))
		} else if err != nil {
			return err
		}
		m = store.Member{Type: store.MemberUser, ID: u.ID}
	case idRE.MatchString(sub):
		m = store.Member{Type: store.MemberGroup, ID: sub}
	default:
		return c.actionError(w, rq, valid.Field("email", "required", "Give a user's email address or choose a group."))
	}
	err = c.Directory.AddMember(rq.Context(), rq.Actor, rq.Tenant.ID, g.ID, m)
	switch {
	case errors.Is(err, store.ErrCycle):
		return c.actionError(w, rq, valid.Field("group", "cycle", "A group cannot contain itself, directly or through nested groups."))
	case errors.Is(err, store.ErrNotFound):
		return c.actionError(w, rq, valid.Field("group", "not_found", "Choose a group from the list."))
	case err != nil:
		return c.actionError(w, rq, err)
	}
	return rq.Redirect(w, "/groups/"+g.ID, "console.group.member_added")
}

// groupRemoveMember: POST /groups/{id}/members/{type}/{member}/remove.
func (c *Console) groupRemoveMember(w http.ResponseWriter, r *http.Request, rq *Request) error {
	g, err := c.pathGroup(r, rq)
	if err != nil {
		return err
	}
	typ, id := store.MemberType(r.PathValue("type")), r.PathValue("member")
	if (typ != store.MemberUser && typ != store.MemberGroup) || !idRE.MatchString(id) {
		return store.ErrNotFound
	}
	if err := c.Directory.RemoveMember(rq.Context(), rq.Actor, rq.Tenant.ID, g.ID, store.Member{Type: typ, ID: id}); err != nil {
		return c.actionError(w, rq, err)
	}
	return rq.Redirect(w, "/groups/"+g.ID, "console.group.member_removed")
}

// groupAssignRole: POST /groups/{id}/roles with role (id or name).
func (c *Console) groupAssignRole(w http.ResponseWriter, r *http.Request, rq *Request) error {
	g, err := c.pathGroup(r, rq)
	if err != nil {
		return err
	}
	role := strings.TrimSpace(r.PostForm.Get("role"))
	if role == authz.RolePlatformAdmin && !rq.Platform {
		return ErrForbidden
	}
	if _, _, err := c.Authz.AssignGroup(rq.Context(), rq.Actor, rq.Tenant.ID, g.ID, role); err != nil {
		return c.actionError(w, rq, err)
	}
	return rq.Redirect(w, "/groups/"+g.ID, "console.user.role_assigned")
}

// groupUnassignRole: POST /groups/{id}/roles/{role}/remove.
func (c *Console) groupUnassignRole(w http.ResponseWriter, r *http.Request, rq *Request) error {
	g, err := c.pathGroup(r, rq)
	if err != nil {
		return err
	}
	role := r.PathValue("role")
	if !idRE.MatchString(role) {
		return store.ErrNotFound
	}
	if err := c.Authz.Unassign(rq.Context(), rq.Actor, rq.Tenant.ID, "", g.ID, role); err != nil {
		return c.actionError(w, rq, err)
	}
	return rq.Redirect(w, "/groups/"+g.ID, "console.user.role_removed")
}
