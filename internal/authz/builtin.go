package authz

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// The admin console's permissions. Each mirrors what the management API
// asks of an API key on the same route: read (the read scope), audit
// (audit:read), admin (the admin scope in one tenant) and platform (a
// platform key). Support is the part of admin a help desk needs (reset
// second factors, end sessions, resend mails): the API's admin scope
// covers it, and the console grants it apart so that helpdesk staff hold
// it without holding admin.
const (
	PermRead     = "gatehouse:read"
	PermAudit    = "gatehouse:audit"
	PermSupport  = "gatehouse:support"
	PermAdmin    = "gatehouse:admin"
	PermPlatform = "gatehouse:platform"
	// PermConfig reads the tenant's configuration in the console (settings,
	// roles, applications, connections, branding): viewers and
	// administrators hold it, helpdesk staff do not.
	PermConfig = "gatehouse:config"
)

// BuiltinPrefix starts the name of every built-in role; no other role may
// take a name with it, and built-in roles cannot be changed or deleted.
const BuiltinPrefix = "gatehouse."

// The built-in console roles, present in every tenant.
const (
	RolePlatformAdmin = "gatehouse.platform_admin"
	RoleAdmin         = "gatehouse.admin"
	RoleHelpdesk      = "gatehouse.helpdesk"
	RoleViewer        = "gatehouse.viewer"
)

// BuiltinRole is one built-in role as every tenant holds it.
type BuiltinRole struct {
	Name        string
	Description string
	Permissions []string
}

// BuiltinRoles are the console's roles. A platform administrator holds
// every permission; platform counts only in the admin tenant (the console
// decides that: in another tenant the role is that tenant's admin).
var BuiltinRoles = []BuiltinRole{
	{RolePlatformAdmin, "Gatehouse console: every tenant, everything.",
		[]string{PermRead, PermConfig, PermAudit, PermSupport, PermAdmin, PermPlatform}},
	{RoleAdmin, "Gatehouse console: this tenant, everything.",
		[]string{PermRead, PermConfig, PermAudit, PermSupport, PermAdmin}},
	{RoleHelpdesk, "Gatehouse console: find users, reset MFA, end sessions, resend mails.",
		[]string{PermRead, PermSupport}},
	{RoleViewer, "Gatehouse console: read only.",
		[]string{PermRead, PermConfig}},
}

// IsBuiltin reports whether name is reserved for built-in roles.
func IsBuiltin(name string) bool { return strings.HasPrefix(name, BuiltinPrefix) }

var errBuiltin = refuse("builtin_role", "Built-in roles (gatehouse.*) cannot be changed or deleted.")

// EnsureBuiltinRoles creates, through repos (a transaction or the store),
// the built-in roles tenant lacks; present ones are left as they are. It
// records nothing: the roles are part of the tenant, not a change to it.
func EnsureBuiltinRoles(ctx context.Context, repos store.Repos, tenant store.TenantID, newID func() string, now time.Time) error {
	for _, b := range BuiltinRoles {
		_, err := repos.Authz().Roles().GetRoleByName(ctx, tenant, b.Name)
		if err == nil {
			continue
		}
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		r := store.Role{ID: newID(), Tenant: tenant, Name: b.Name, Description: b.Description,
			Permissions: dedupe(b.Permissions), Version: 1, CreatedAt: now, UpdatedAt: now}
		if err := repos.Authz().Roles().CreateRole(ctx, &r); err != nil && !errors.Is(err, store.ErrConflict) {
			return err
		}
	}
	return nil
}

// EnsureBuiltin gives tenant the built-in roles it lacks.
func (s *Service) EnsureBuiltin(ctx context.Context, tenant store.TenantID) error {
	return EnsureBuiltinRoles(ctx, s.Store, tenant, newID, s.now())
}

// EnsureBuiltinIn gives each of the tenants the built-in roles it lacks,
// in repos: one transaction for many tenants, not a commit per tenant and
// role.
func (s *Service) EnsureBuiltinIn(ctx context.Context, repos store.Repos, tenants []store.TenantID) error {
	now := s.now()
	for _, t := range tenants {
		if err := EnsureBuiltinRoles(ctx, repos, t, newID, now); err != nil {
			return err
		}
	}
	return nil
}

// Observe gives a tenant the built-in roles in the transaction that
// creates it (the service is an observer of the audit recorder).
func (s *Service) Observe(ctx context.Context, repos store.Repos, _ events.Actor, e events.Entry) error {
	if e.Action != "tenant.create" || e.TargetID == "" {
		return nil
	}
	return EnsureBuiltinRoles(ctx, repos, store.TenantID(e.TargetID), newID, s.now())
}

var _ events.Observer = (*Service)(nil)

// Permissions answers the permissions the user's active roles grant, as a
// set. store.ErrNotFound when there is no such user.
func (s *Service) Permissions(ctx context.Context, tenant store.TenantID, userID string) (map[string]bool, error) {
	eff, err := s.EffectiveRoles(ctx, tenant, userID)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, st := range eff.Active {
		if st.Role.Application != "" {
			continue
		}
		for _, p := range st.Role.Permissions {
			out[p] = true
		}
	}
	return out, nil
}

// Holds reports whether the permission set perms (from Permissions)
// grants want, wildcards included.
func Holds(perms map[string]bool, want string) bool {
	if perms[want] {
		return true
	}
	for p := range perms {
		if strings.HasSuffix(p, "*") && strings.HasPrefix(want, strings.TrimSuffix(p, "*")) {
			return true
		}
	}
	return false
}

// reservedName refuses a role name with the built-in prefix.
func reservedName(c *valid.Collector, name string) {
	if IsBuiltin(name) {
		c.Add("name", "reserved", `Role names starting with "gatehouse." are reserved for built-in roles.`)
	}
}
