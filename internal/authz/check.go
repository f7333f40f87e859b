package authz

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// Query asks whether a user holds a permission.
type Query struct {
	UserID     string `json:"user_id"`
	Permission string `json:"permission"`
}

// Decision answers a Query. Reason names the role that allowed it and the
// group it came through, or why nothing did. Denied is the default.
type Decision struct {
	Allowed bool   `json:"allowed"`
	Reason  string `json:"reason"`
	Role    string `json:"role,omitempty"`
	Group   string `json:"group,omitempty"`
}

// Via is one way a user holds a role: directly (Group "") or through a
// group the user is in at any depth.
type Via struct {
	GroupID string `json:"group_id,omitempty"`
	Group   string `json:"group,omitempty"`
}

// RoleState is a role as one user holds it.
type RoleState struct {
	Role *store.Role
	Via  []Via
	// Active: the role counts now. A privileged role is active only while
	// an elevation runs (until ExpiresAt) and the user is still eligible.
	Active      bool
	ElevationID string
	ExpiresAt   time.Time
}

// Effective is a user's roles: the active ones, and the privileged ones the
// user is eligible for but not elevated to.
type Effective struct {
	Active   []RoleState
	Eligible []RoleState
}

// effective folds grants into role states, sorted by role name.
func effective(grants []store.Grant) Effective {
	byRole := map[string]*RoleState{}
	var order []string
	elevated := map[string]store.Grant{}
	for _, g := range grants {
		if g.ElevationID != "" {
			if cur, ok := elevated[g.Role.ID]; !ok || g.ExpiresAt.After(cur.ExpiresAt) {
				elevated[g.Role.ID] = g
			}
			continue
		}
		st, ok := byRole[g.Role.ID]
		if !ok {
			role := g.Role
			st = &RoleState{Role: &role}
			byRole[g.Role.ID] = st
			order = append(order, g.Role.ID)
		}
		st.Via = append(st.Via, Via{GroupID: g.GroupID, Group: g.GroupName})
	}
	var out Effective
	for _, id := range order {
		st := byRole[id]
		slices.SortFunc(st.Via, func(a, b Via) int { return strings.Compare(a.Group, b.Group) }) // direct ("") first
		st.Via = slices.Compact(st.Via)
		if !st.Role.Privileged {
			st.Active = true
		} else if e, ok := elevated[id]; ok {
			st.Active, st.ElevationID, st.ExpiresAt = true, e.ElevationID, e.ExpiresAt
		}
		if st.Active {
			out.Active = append(out.Active, *st)
		} else {
			out.Eligible = append(out.Eligible, *st)
		}
	}
	byName := func(a, b RoleState) int { return strings.Compare(a.Role.Name, b.Role.Name) }
	slices.SortFunc(out.Active, byName)
	slices.SortFunc(out.Eligible, byName)
	return out
}

// grants permission want? A granted permission ending in "*" covers every
// permission it prefixes ("invoices:*" covers "invoices:approve").
func grants(r *store.Role, want string) bool {
	for _, p := range r.Permissions {
		if p == want || (strings.HasSuffix(p, "*") && strings.HasPrefix(want, strings.TrimSuffix(p, "*"))) {
			return true
		}
	}
	return false
}

// EffectiveRoles answers the user's active and eligible roles at now (the
// account page's "my roles"). store.ErrNotFound when there is no such user.
func (s *Service) EffectiveRoles(ctx context.Context, tenant store.TenantID, userID string) (Effective, error) {
	if _, err := s.Store.Users().GetUser(ctx, tenant, userID); err != nil {
		return Effective{}, err
	}
	gs, err := s.Store.Authz().Roles().UserGrants(ctx, tenant, userID, s.now())
	if err != nil {
		return Effective{}, err
	}
	return effective(gs), nil
}

func checkQuery(q Query, field string) error {
	var c valid.Collector
	if !idRE.MatchString(q.UserID) {
		c.Add(field+"user_id", "invalid", "user_id is a user id.")
	}
	if !permissionRE.MatchString(q.Permission) {
		c.Add(field+"permission", "invalid", `permission has 1 to 128 letters, digits or _ . : / * -, such as "invoices:approve".`)
	}
	return c.Err()
}

// Check answers whether the user holds the permission now. Errors only
// for malformed input (*valid.Error) or storage failures: an unknown or
// inactive user is simply denied.
func (s *Service) Check(ctx context.Context, tenant store.TenantID, q Query) (Decision, error) {
	if err := checkQuery(q, ""); err != nil {
		return Decision{}, err
	}
	eff, denied, err := s.userEffective(ctx, tenant, q.UserID)
	if err != nil || denied != nil {
		return deref(denied), err
	}
	return decide(eff, q.Permission), nil
}

func deref(d *Decision) Decision {
	if d == nil {
		return Decision{}
	}
	return *d
}

// userEffective answers the user's roles, or a denial when the user is
// unknown or not active.
func (s *Service) userEffective(ctx context.Context, tenant store.TenantID, userID string) (Effective, *Decision, error) {
	u, err := s.Store.Users().GetUser(ctx, tenant, userID)
	if errors.Is(err, store.ErrNotFound) {
		return Effective{}, &Decision{Reason: "denied: no such user"}, nil
	}
	if err != nil {
		return Effective{}, nil, err
	}
	if u.Status != store.UserActive {
		return Effective{}, &Decision{Reason: "denied: the user is " + string(u.Status)}, nil
	}
	gs, err := s.Store.Authz().Roles().UserGrants(ctx, tenant, userID, s.now())
	if err != nil {
		return Effective{}, nil, err
	}
	return effective(gs), nil, nil
}

// decide picks, among the active roles granting want, the one held most
// directly (a direct assignment before a group's), then by name, so the
// same state always gives the same reason.
func decide(eff Effective, want string) Decision {
	for _, st := range eff.Active {
		if !grants(st.Role, want) {
			continue
		}
		via := st.Via[0]
		d := Decision{Allowed: true, Role: st.Role.Name, Group: via.Group}
		kind := "role"
		if st.Role.Privileged {
			kind = "privileged role"
		}
		d.Reason = fmt.Sprintf("allowed: %s %q grants %q", kind, st.Role.Name, want)
		if via.Group == "" {
			d.Reason += ", assigned to the user directly"
		} else {
			d.Reason += fmt.Sprintf(", through group %q", via.Group)
		}
		if st.Role.Privileged {
			d.Reason += ", elevated until " + st.ExpiresAt.UTC().Format(time.RFC3339)
		}
		return d
	}
	for _, st := range eff.Eligible {
		if grants(st.Role, want) {
			return Decision{Role: st.Role.Name, Group: st.Via[0].Group, Reason: fmt.Sprintf(
				"denied: privileged role %q grants %q but is not active; the user is eligible and may request elevation",
				st.Role.Name, want)}
		}
	}
	return Decision{Reason: fmt.Sprintf("denied: no role of the user grants %q", want)}
}

// CheckBatch answers up to 100 queries in order; each user's roles are
// read once.
func (s *Service) CheckBatch(ctx context.Context, tenant store.TenantID, qs []Query) ([]Decision, error) {
	if len(qs) == 0 || len(qs) > maxCheckBatch {
		return nil, valid.Field("checks", "invalid", fmt.Sprintf("checks holds 1 to %d queries.", maxCheckBatch))
	}
	for i, q := range qs {
		if err := checkQuery(q, fmt.Sprintf("checks[%d].", i)); err != nil {
			return nil, err
		}
	}
	type user struct {
		eff    Effective
		denied *Decision
	}
	seen := map[string]user{}
	out := make([]Decision, len(qs))
	for i, q := range qs {
		u, ok := seen[q.UserID]
		if !ok {
			eff, denied, err := s.userEffective(ctx, tenant, q.UserID)
			if err != nil {
				return nil, err
			}
			u = user{eff, denied}
			seen[q.UserID] = u
		}
		if u.denied != nil {
			out[i] = *u.denied
		} else {
			out[i] = decide(u.eff, q.Permission)
		}
	}
	return out, nil
}

// Attributes answers the role names and permissions the user holds now,
// sorted, for a token or an assertion: of one application's roles only
// when application is set. A privileged role that requires MFA counts only
// when amr shows a multi-factor login. notAfter is the earliest end of an
// elevation that counted (zero when none did): what carries these
// attributes should not outlive it.
//
// The SAML identity provider calls it for its attribute statement, as
// the OpenID provider does for claims.
func (s *Service) Attributes(ctx context.Context, tenant store.TenantID, userID, application string, amr []string) (roles, permissions []string, notAfter time.Time, err error) {
	gs, err := s.Store.Authz().Roles().UserGrants(ctx, tenant, userID, s.now())
	if err != nil {
		return nil, nil, time.Time{}, err
	}
	mfa := hasMFA(amr)
	for _, st := range effective(gs).Active {
		r := st.Role
		if application != "" && r.Application != application {
			continue
		}
		if r.Privileged && r.RequireMFA && !mfa {
			continue
		}
		if r.Privileged && (notAfter.IsZero() || st.ExpiresAt.Before(notAfter)) {
			notAfter = st.ExpiresAt
		}
		roles = append(roles, r.Name)
		permissions = append(permissions, r.Permissions...)
	}
	return roles, dedupe(permissions), notAfter, nil
}

// TokenClaims answers the authorization claims the client's tokens carry
// for the user (client.AuthzClaims names them; none when it names none),
// and the time a token carrying them must expire by (zero: no limit).
func (s *Service) TokenClaims(ctx context.Context, tenant store.TenantID, userID string, c *store.Client, amr []string) (map[string]any, time.Time, error) {
	if c == nil || userID == "" || (c.AuthzClaims.RolesClaim == "" && c.AuthzClaims.PermissionsClaim == "") {
		return nil, time.Time{}, nil
	}
	app := ""
	if c.AuthzClaims.ApplicationOnly {
		app = c.ID
	}
	roles, perms, notAfter, err := s.Attributes(ctx, tenant, userID, app, amr)
	if err != nil {
		return nil, time.Time{}, err
	}
	claims := map[string]any{}
	if n := c.AuthzClaims.RolesClaim; n != "" {
		claims[n] = orEmpty(roles)
	}
	if n := c.AuthzClaims.PermissionsClaim; n != "" {
		claims[n] = orEmpty(perms)
	}
	return claims, notAfter, nil
}
