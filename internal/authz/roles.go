package authz

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// NewRole is the input of CreateRole. MaxDuration is a Go duration
// ("8h"); it defaults to 8h for privileged roles. Approval defaults to
// "approvers" for privileged roles; RequireMFA defaults to Privileged.
type NewRole struct {
	Name        string   `json:"name"`
	Description string   `json:"description,omitempty"`
	Permissions []string `json:"permissions"`
	Application string   `json:"application,omitempty"`
	Privileged  bool     `json:"privileged"`
	MaxDuration string   `json:"max_duration,omitempty"`
	Approval    string   `json:"approval,omitempty"`
	Approvers   []string `json:"approvers,omitempty"`
	RequireMFA  *bool    `json:"require_mfa,omitempty"`
}

// RolePatch changes the fields that are set; lists replace whole lists.
type RolePatch struct {
	Name        *string   `json:"name,omitempty"`
	Description *string   `json:"description,omitempty"`
	Permissions *[]string `json:"permissions,omitempty"`
	Application *string   `json:"application,omitempty"`
	Privileged  *bool     `json:"privileged,omitempty"`
	MaxDuration *string   `json:"max_duration,omitempty"`
	Approval    *string   `json:"approval,omitempty"`
	Approvers   *[]string `json:"approvers,omitempty"`
	RequireMFA  *bool     `json:"require_mfa,omitempty"`
}

// checkRole validates r as it would be stored; references (application,
// approvers) are checked against the tenant through repos.
func (s *Service) checkRole(ctx context.Context, repos store.Repos, r *store.Role) error {
	var c valid.Collector
	switch {
	case strings.TrimSpace(r.Name) == "":
		c.Add("name", "required", "A role needs a name.")
	case !validRoleName(r.Name):
		c.Add("name", "invalid", "A role name has 1 to 100 letters, digits, spaces or _ . : / -, starting with a letter, digit or _.")
	}
	reservedName(&c, r.Name) // builtin.go
	checkText(&c, "description", r.Description, maxDescription)
	if len(r.Permissions) > maxPermissions {
		c.Add("permissions", "too_many", fmt.Sprintf("A role has at most %d permissions.", maxPermissions))
	}
	for _, p := range r.Permissions {
		if !permissionRE.MatchString(p) {
			c.Add("permissions", "invalid", `A permission has 1 to 128 letters, digits or _ . : / * -, such as "invoices:approve".`)
			break
		}
	}
	if r.Privileged {
		switch r.Approval {
		case store.ApprovalApprovers:
			if len(r.Approvers) == 0 {
				c.Add("approvers", "required", "A privileged role approved by approvers names at least one.")
			}
		case store.ApprovalSelfMFA:
		default:
			c.Add("approval", "invalid", `approval is "approvers" or "self_mfa".`)
		}
	} else if r.Approval != "" || len(r.Approvers) > 0 {
		c.Add("approval", "invalid", "Only privileged roles have an approval policy.")
	}
	if len(r.Approvers) > maxApprovers {
		c.Add("approvers", "too_many", fmt.Sprintf("A role has at most %d approvers.", maxApprovers))
	}
	for _, a := range r.Approvers {
		if !idRE.MatchString(a) {
			c.Add("approvers", "invalid", "approvers are user ids.")
			break
		}
	}
	if err := c.Err(); err != nil {
		return err
	}
	// References last: they cost queries, and a malformed input never
	// reaches them.
	if r.Application != "" {
		if _, err := repos.OAuth().Clients().GetClient(ctx, r.Tenant, r.Application); errors.Is(err, store.ErrNotFound) {
			return valid.Field("application", "not_found", "application is the client_id of a client of this tenant.")
		} else if err != nil {
			return err
		}
	}
	for _, a := range r.Approvers {
		if _, err := repos.Users().GetUser(ctx, r.Tenant, a); errors.Is(err, store.ErrNotFound) {
			return valid.Field("approvers", "not_found", "Every approver is a user of this tenant.")
		} else if err != nil {
			return err
		}
	}
	return nil
}

// RoleFields is what the audit log records of a role.
func roleFields(r *store.Role) map[string]any {
	if r == nil {
		return nil
	}
	return map[string]any{"name": r.Name, "description": r.Description, "permissions": orEmpty(r.Permissions),
		"application": r.Application, "privileged": r.Privileged, "max_duration": r.MaxDuration.String(),
		"approval": r.Approval, "approvers": orEmpty(r.Approvers), "require_mfa": r.RequireMFA}
}

func orEmpty(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

// dedupe sorts l and drops repeats, so the stored set is canonical.
func dedupe(l []string) []string {
	out := slices.Clone(l)
	slices.Sort(out)
	return slices.Compact(out)
}

// CreateRole stores a new role. Errors: *valid.Error, *valid.Conflict (name).
func (s *Service) CreateRole(ctx context.Context, actor events.Actor, tenant store.TenantID, in NewRole) (*store.Role, error) {
	now := s.now()
	r := &store.Role{ID: newID(), Tenant: tenant, Name: in.Name, Description: in.Description,
		Permissions: dedupe(in.Permissions), Application: in.Application, Privileged: in.Privileged,
		Approval: in.Approval, Approvers: dedupe(in.Approvers), RequireMFA: in.Privileged,
		Version: 1, CreatedAt: now, UpdatedAt: now}
	if in.RequireMFA != nil {
		r.RequireMFA = *in.RequireMFA
	}
	var c valid.Collector
	if in.MaxDuration != "" {
		r.MaxDuration = parseDuration(&c, "max_duration", in.MaxDuration, maxLongestGrant)
	}
	if err := c.Err(); err != nil {
		return nil, err
	}
	defaults(r)
	err := s.Store.InTx(ctx, func(tx store.Repos) error {
		if err := s.checkRole(ctx, tx, r); err != nil {
			return err
		}
		if err := tx.Authz().Roles().CreateRole(ctx, r); err != nil {
			return nameConflict(err)
		}
		return s.record(ctx, tx, actor, tenant, "role.create", "role", r.ID, events.Diff(nil, roleFields(r)))
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// defaults fills a privileged role's unset policy.
func defaults(r *store.Role) {
	if !r.Privileged {
		return
	}
	if r.MaxDuration == 0 {
		r.MaxDuration = defaultMaxGrant
	}
	if r.Approval == "" {
		r.Approval = store.ApprovalApprovers
	}
}

func nameConflict(err error) error {
	if errors.Is(err, store.ErrConflict) {
		return &valid.Conflict{Field: "name", Cause: err}
	}
	return err
}

// GetRole answers store.ErrNotFound when id is not a role of tenant.
func (s *Service) GetRole(ctx context.Context, tenant store.TenantID, id string) (*store.Role, error) {
	return s.Store.Authz().Roles().GetRole(ctx, tenant, id)
}

// ListRoles answers a page of roles, of one application when set.
func (s *Service) ListRoles(ctx context.Context, tenant store.TenantID, application string, p store.Page) ([]store.Role, error) {
	return s.Store.Authz().Roles().ListRoles(ctx, tenant, application, p)
}

// UpdateRole applies p when version (if non-zero) is current.
func (s *Service) UpdateRole(ctx context.Context, actor events.Actor, tenant store.TenantID, id string, version int64, p RolePatch) (*store.Role, error) {
	var out *store.Role
	err := s.Store.InTx(ctx, func(tx store.Repos) error {
		var before map[string]any
		r, err := tx.Authz().Roles().UpdateRole(ctx, tenant, id, func(r *store.Role) error {
			if err := ifMatch(version, r.Version); err != nil {
				return err
			}
			if IsBuiltin(r.Name) {
				return errBuiltin
			}
			before = roleFields(r)
			applyRolePatch(r, p)
			var c valid.Collector
			if p.MaxDuration != nil {
				r.MaxDuration = 0
				if *p.MaxDuration != "" {
					r.MaxDuration = parseDuration(&c, "max_duration", *p.MaxDuration, maxLongestGrant)
				}
			}
			if err := c.Err(); err != nil {
				return err
			}
			if !r.Privileged {
				r.MaxDuration, r.Approval, r.Approvers = 0, "", nil
			}
			defaults(r)
			return s.checkRole(ctx, tx, r)
		})
		if err != nil {
			return nameConflict(err)
		}
		out = r
		changes := events.Diff(before, roleFields(r))
		if len(changes) == 0 {
			return nil
		}
		return s.record(ctx, tx, actor, tenant, "role.update", "role", id, changes)
	})
	return out, err
}

func applyRolePatch(r *store.Role, p RolePatch) {
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&r.Name, p.Name)
	set(&r.Description, p.Description)
	set(&r.Application, p.Application)
	set(&r.Approval, p.Approval)
	if p.Permissions != nil {
		r.Permissions = dedupe(*p.Permissions)
	}
	if p.Approvers != nil {
		r.Approvers = dedupe(*p.Approvers)
	}
	if p.Privileged != nil {
		r.Privileged = *p.Privileged
	}
	if p.RequireMFA != nil {
		r.RequireMFA = *p.RequireMFA
	}
}

// DeleteRole removes the role with its assignments and elevations.
func (s *Service) DeleteRole(ctx context.Context, actor events.Actor, tenant store.TenantID, id string) error {
	return s.Store.InTx(ctx, func(tx store.Repos) error {
		r, err := tx.Authz().Roles().GetRole(ctx, tenant, id)
		if err != nil {
			return err
		}
		if IsBuiltin(r.Name) {
			return errBuiltin
		}
		if err := tx.Authz().Roles().DeleteRole(ctx, tenant, id); err != nil {
			return err
		}
		return s.record(ctx, tx, actor, tenant, "role.delete", "role", id, events.Diff(roleFields(r), nil))
	})
}

// resolveRole finds a role by id or, failing that, by name.
func resolveRole(ctx context.Context, repos store.Repos, tenant store.TenantID, ref string) (*store.Role, error) {
	if ref == "" {
		return nil, valid.Field("role", "required", "Name the role by id or name.")
	}
	if idRE.MatchString(ref) {
		r, err := repos.Authz().Roles().GetRole(ctx, tenant, ref)
		if !errors.Is(err, store.ErrNotFound) {
			return r, err
		}
	}
	r, err := repos.Authz().Roles().GetRoleByName(ctx, tenant, ref)
	if errors.Is(err, store.ErrNotFound) {
		return nil, valid.Field("role", "not_found", "No role of this tenant has that id or name.")
	}
	return r, err
}

// AssignUser gives the role (id or name) to the user. Errors:
// *valid.Error (no such role), store.ErrNotFound (no such user),
// *valid.Conflict (the user has it already).
func (s *Service) AssignUser(ctx context.Context, actor events.Actor, tenant store.TenantID, userID, role string) (*store.Assignment, *store.Role, error) {
	return s.assign(ctx, actor, tenant, role, store.Assignment{UserID: userID})
}

// AssignGroup gives the role to the group; its members at any depth hold it.
func (s *Service) AssignGroup(ctx context.Context, actor events.Actor, tenant store.TenantID, groupID, role string) (*store.Assignment, *store.Role, error) {
	return s.assign(ctx, actor, tenant, role, store.Assignment{GroupID: groupID})
}

func (s *Service) assign(ctx context.Context, actor events.Actor, tenant store.TenantID, ref string, a store.Assignment) (*store.Assignment, *store.Role, error) {
	var role *store.Role
	a.ID, a.Tenant, a.CreatedAt = newID(), tenant, s.now()
	err := s.Store.InTx(ctx, func(tx store.Repos) error {
		// The subject first: a missing user or group is the URL's 404.
		if a.UserID != "" {
			if _, err := tx.Users().GetUser(ctx, tenant, a.UserID); err != nil {
				return err
			}
		} else if _, err := tx.Groups().GetGroup(ctx, tenant, a.GroupID); err != nil {
			return err
		}
		r, err := resolveRole(ctx, tx, tenant, ref)
		if err != nil {
			return err
		}
		role, a.RoleID = r, r.ID
		if err := tx.Authz().Roles().Assign(ctx, &a); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return &valid.Conflict{Field: "role", Cause: err}
			}
			return err
		}
		return s.record(ctx, tx, actor, tenant, "role.assign", "role", r.ID, events.Changes{
			"assignment": {After: assignmentFields(&a, r)}})
	})
	if err != nil {
		return nil, nil, err
	}
	return &a, role, nil
}

func assignmentFields(a *store.Assignment, r *store.Role) map[string]any {
	m := map[string]any{"id": a.ID, "role": r.Name, "privileged": r.Privileged}
	if a.UserID != "" {
		m["user_id"] = a.UserID
	} else {
		m["group_id"] = a.GroupID
	}
	return m
}

// Unassign removes the subject's assignment of role (an id). ErrNotFound
// when the subject does not hold the role directly.
func (s *Service) Unassign(ctx context.Context, actor events.Actor, tenant store.TenantID, userID, groupID, roleID string) error {
	return s.Store.InTx(ctx, func(tx store.Repos) error {
		as, err := tx.Authz().Roles().ListAssignments(ctx, tenant, store.AssignmentQuery{RoleID: roleID, UserID: userID,
			GroupID: groupID, Page: store.Page{Limit: 1}})
		if err != nil {
			return err
		}
		if len(as) == 0 || (userID == "" && groupID == "") {
			return store.ErrNotFound
		}
		return s.unassign(ctx, tx, actor, tenant, &as[0], "role.unassign")
	})
}

// unassign deletes a, and when a was a user's own assignment of a
// privileged role, ends that user's live elevations of it: without
// eligibility an elevation is void anyway (Check demands both), and
// revoking says so in the record.
func (s *Service) unassign(ctx context.Context, tx store.Repos, actor events.Actor, tenant store.TenantID, a *store.Assignment, action string) error {
	r, err := tx.Authz().Roles().GetRole(ctx, tenant, a.RoleID)
	if err != nil {
		return err
	}
	if err := tx.Authz().Roles().Unassign(ctx, tenant, a.ID); err != nil {
		return err
	}
	if a.UserID != "" && r.Privileged {
		if _, err := tx.Authz().Elevations().RevokeUserRoleElevations(ctx, tenant, a.UserID, r.ID, actorName(actor), s.now()); err != nil {
			return err
		}
	}
	return s.record(ctx, tx, actor, tenant, action, "role", r.ID, events.Changes{
		"assignment": {Before: assignmentFields(a, r)}})
}

func actorName(a events.Actor) string {
	if a.Type == "" {
		return a.ID
	}
	return a.Type + ":" + a.ID
}

// ListAssignments answers assignments matching q.
func (s *Service) ListAssignments(ctx context.Context, tenant store.TenantID, q store.AssignmentQuery) ([]store.Assignment, error) {
	return s.Store.Authz().Roles().ListAssignments(ctx, tenant, q)
}

// RoleOf answers the role an assignment names (for listing assignments
// with names).
func (s *Service) RoleOf(ctx context.Context, tenant store.TenantID, id string) (*store.Role, error) {
	return s.Store.Authz().Roles().GetRole(ctx, tenant, id)
}
