package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// authzRepos are the authorization aggregates, bound to the same scope
// (pool or InTx transaction) as the directory's.
type authzRepos struct{ *scope }

var _ store.AuthzRepos = authzRepos{}

func (s *scope) Authz() store.AuthzRepos { return authzRepos{s} }

func (a authzRepos) Roles() store.Roles           { return roleRepo{a.scope} }
func (a authzRepos) Elevations() store.Elevations { return elevationRepo{a.scope} }
func (a authzRepos) BreakGlass() store.BreakGlass { return breakGlassRepo{a.scope} }
func (a authzRepos) Reviews() store.Reviews       { return reviewRepo{a.scope} }

type roleRepo struct{ *scope }

const roleCols = `r.tenant_id, r.id, r.name, r.description, r.permissions, r.application, r.privileged, r.max_duration,
r.approval, r.approvers, r.require_mfa, r.version, r.created_at, r.updated_at`

// scanRoleInto reads roleCols into ro, after any leading destinations.
func scanRoleInto(r scanner, ro *store.Role, more ...any) error {
	var (
		tenant, perms, approvers string
		maxDur, created, updated int64
	)
	dst := append([]any{&tenant, &ro.ID, &ro.Name, &ro.Description, &perms, &ro.Application, &ro.Privileged, &maxDur,
		&ro.Approval, &approvers, &ro.RequireMFA, &ro.Version, &created, &updated}, more...)
	if err := r.Scan(dst...); err != nil {
		return err
	}
	ro.Tenant = store.TenantID(tenant)
	if err := parseList(perms, &ro.Permissions); err != nil {
		return err
	}
	if err := parseList(approvers, &ro.Approvers); err != nil {
		return err
	}
	ro.MaxDuration = fromDurMicros(maxDur)
	ro.CreatedAt, ro.UpdatedAt = fromMicros(created), fromMicros(updated)
	return nil
}

func scanRole(r scanner) (*store.Role, error) {
	var ro store.Role
	return &ro, scanRoleInto(r, &ro)
}

func validRole(r *store.Role) error {
	if r.ID == "" || r.Tenant == "" || r.Name == "" {
		return errors.New("sqlstore: role needs an id, a tenant and a name")
	}
	return nil
}

func normRole(r *store.Role) {
	r.Permissions, r.Approvers = normList(r.Permissions), normList(r.Approvers)
	r.MaxDuration = microDur(r.MaxDuration)
}

// CreateRole inserts r with Version 1.
func (r roleRepo) CreateRole(ctx context.Context, ro *store.Role) error {
	if err := validRole(ro); err != nil {
		return err
	}
	n := *ro
	normRole(&n)
	n.Version = 1
	if n.CreatedAt.IsZero() {
		n.CreatedAt = r.db.now()
	}
	n.CreatedAt = micro(n.CreatedAt)
	n.UpdatedAt = n.CreatedAt
	err := r.single(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO roles (tenant_id, id, name, description, permissions, application, privileged,
max_duration, approval, approvers, require_mfa, version, created_at, updated_at) VALUES (`+placeholders(0, 14)+`)`,
			string(n.Tenant), n.ID, n.Name, n.Description, listJSON(n.Permissions), n.Application, n.Privileged,
			durMicros(n.MaxDuration), n.Approval, listJSON(n.Approvers), n.RequireMFA, n.Version,
			n.CreatedAt.UnixMicro(), n.UpdatedAt.UnixMicro())
		return wrapErr("create role", err)
	})
	if err != nil {
		return err
	}
	*ro = n
	return nil
}

func (r roleRepo) getBy(ctx context.Context, q querier, col, lock string, tenant store.TenantID, v string) (*store.Role, error) {
	// col is "id" or "name", never input.
	ro, err := scanRole(q.QueryRowContext(ctx, `SELECT `+roleCols+` FROM roles r WHERE r.tenant_id = $1 AND r.`+col+` = $2`+lock,
		string(tenant), v))
	return ro, wrapErr("get role", err)
}

func (r roleRepo) GetRole(ctx context.Context, tenant store.TenantID, id string) (*store.Role, error) {
	return r.getBy(ctx, r.q, "id", "", tenant, id)
}

func (r roleRepo) GetRoleByName(ctx context.Context, tenant store.TenantID, name string) (*store.Role, error) {
	return r.getBy(ctx, r.q, "name", "", tenant, name)
}

// TenantsLacking answers tenants that lack a role of any of the names
// (names are unique in a tenant, so a count of the names present says it).
func (r roleRepo) TenantsLacking(ctx context.Context, names []string, p store.Page) ([]store.TenantID, error) {
	if len(names) == 0 {
		return nil, nil
	}
	args := []any{p.After, len(names), p.ClampLimit()}
	marks := make([]string, len(names))
	for i, n := range names {
		args = append(args, n)
		marks[i] = fmt.Sprintf("$%d", i+4)
	}
	rows, err := r.q.QueryContext(ctx, `SELECT t.id FROM tenants t WHERE t.id > $1 AND t.status <> 'deleted'
AND (SELECT count(*) FROM roles r WHERE r.tenant_id = t.id AND r.name IN (`+strings.Join(marks, ", ")+`)) < $2
ORDER BY t.id LIMIT $3`, args...)
	if err != nil {
		return nil, wrapErr("tenants lacking roles", err)
	}
	return collect(rows, "tenants lacking roles", func(row scanner) (*store.TenantID, error) {
		var id store.TenantID
		return &id, row.Scan(&id)
	})
}

func (r roleRepo) ListRoles(ctx context.Context, tenant store.TenantID, application string, p store.Page) ([]store.Role, error) {
	rows, err := r.q.QueryContext(ctx, `SELECT `+roleCols+` FROM roles r
WHERE r.tenant_id = $1 AND r.id > $2 AND ($3 = '' OR r.application = $3) ORDER BY r.id LIMIT $4`,
		string(tenant), p.After, application, p.ClampLimit())
	if err != nil {
		return nil, wrapErr("list roles", err)
	}
	return collect(rows, "list roles", scanRole)
}

func (r roleRepo) UpdateRole(ctx context.Context, tenant store.TenantID, id string, fn func(*store.Role) error) (*store.Role, error) {
	var out *store.Role
	err := r.write(ctx, func(q querier) error {
		old, err := r.getBy(ctx, q, "id", r.forUpdate(), tenant, id)
		if err != nil {
			return err
		}
		n := *old
		normRole(&n) // copies, so fn cannot reach old's lists
		if err := fn(&n); err != nil {
			return err
		}
		if n.ID != old.ID || n.Tenant != old.Tenant {
			return errors.New("sqlstore: update role: the closure changed the id or tenant")
		}
		if err := validRole(&n); err != nil {
			return err
		}
		normRole(&n)
		n.Version, n.CreatedAt, n.UpdatedAt = old.Version+1, old.CreatedAt, r.db.nowMicro()
		res, err := q.ExecContext(ctx, `UPDATE roles SET name = $1, description = $2, permissions = $3, application = $4,
privileged = $5, max_duration = $6, approval = $7, approvers = $8, require_mfa = $9, version = $10, updated_at = $11
WHERE tenant_id = $12 AND id = $13 AND version = $14`,
			n.Name, n.Description, listJSON(n.Permissions), n.Application, n.Privileged, durMicros(n.MaxDuration),
			n.Approval, listJSON(n.Approvers), n.RequireMFA, n.Version, n.UpdatedAt.UnixMicro(),
			string(n.Tenant), n.ID, old.Version)
		if err != nil {
			return wrapErr("update role", err)
		}
		if err := guardRow(res, "update role"); err != nil {
			return err
		}
		out = &n
		return nil
	})
	return out, err
}

// DeleteRole deletes the role; assignments and elevations go by cascade.
func (r roleRepo) DeleteRole(ctx context.Context, tenant store.TenantID, id string) error {
	res, err := r.q.ExecContext(ctx, `DELETE FROM roles WHERE tenant_id = $1 AND id = $2`, string(tenant), id)
	if err != nil {
		return wrapErr("delete role", err)
	}
	return oneRow(res, "delete role")
}

const assignmentCols = `tenant_id, id, role_id, user_id, group_id, created_at`

func scanAssignment(r scanner) (*store.Assignment, error) {
	var (
		a           store.Assignment
		tenant      string
		user, group sql.NullString
		created     int64
	)
	if err := r.Scan(&tenant, &a.ID, &a.RoleID, &user, &group, &created); err != nil {
		return nil, err
	}
	a.Tenant, a.UserID, a.GroupID, a.CreatedAt = store.TenantID(tenant), user.String, group.String, fromMicros(created)
	return &a, nil
}

// Assign inserts a in one statement: the foreign keys refuse a role, user
// or group missing from the tenant, the unique indexes a repeat.
func (r roleRepo) Assign(ctx context.Context, a *store.Assignment) error {
	if a.ID == "" || a.Tenant == "" || a.RoleID == "" || (a.UserID == "") == (a.GroupID == "") {
		return errors.New("sqlstore: an assignment needs an id, a tenant, a role and exactly one of a user and a group")
	}
	n := *a
	if n.CreatedAt.IsZero() {
		n.CreatedAt = r.db.now()
	}
	n.CreatedAt = micro(n.CreatedAt)
	err := r.single(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO role_assignments (`+assignmentCols+`) VALUES ($1, $2, $3, $4, $5, $6)`,
			string(n.Tenant), n.ID, n.RoleID, nullString(n.UserID), nullString(n.GroupID), n.CreatedAt.UnixMicro())
		return wrapErr("assign role", err)
	})
	if err != nil {
		return err
	}
	*a = n
	return nil
}

func (r roleRepo) GetAssignment(ctx context.Context, tenant store.TenantID, id string) (*store.Assignment, error) {
	a, err := scanAssignment(r.q.QueryRowContext(ctx, `SELECT `+assignmentCols+` FROM role_assignments
WHERE tenant_id = $1 AND id = $2`, string(tenant), id))
	return a, wrapErr("get assignment", err)
}

func (r roleRepo) Unassign(ctx context.Context, tenant store.TenantID, id string) error {
	res, err := r.q.ExecContext(ctx, `DELETE FROM role_assignments WHERE tenant_id = $1 AND id = $2`, string(tenant), id)
	if err != nil {
		return wrapErr("unassign role", err)
	}
	return oneRow(res, "unassign role")
}

func (r roleRepo) ListAssignments(ctx context.Context, tenant store.TenantID, q store.AssignmentQuery) ([]store.Assignment, error) {
	var b builder
	b.add(`SELECT a.tenant_id, a.id, a.role_id, a.user_id, a.group_id, a.created_at FROM role_assignments a
JOIN roles r ON r.tenant_id = a.tenant_id AND r.id = a.role_id WHERE a.tenant_id = `, b.arg(string(tenant)),
		` AND a.id > `, b.arg(q.After))
	if q.RoleID != "" {
		b.add(` AND a.role_id = `, b.arg(q.RoleID))
	}
	if q.UserID != "" {
		b.add(` AND a.user_id = `, b.arg(q.UserID))
	}
	if q.GroupID != "" {
		b.add(` AND a.group_id = `, b.arg(q.GroupID))
	}
	if q.Privileged {
		b.add(` AND r.privileged = `, b.arg(true))
	}
	if q.Application != "" {
		b.add(` AND r.application = `, b.arg(q.Application))
	}
	b.add(` ORDER BY a.id LIMIT `, b.arg(q.ClampLimit()))
	rows, err := r.q.QueryContext(ctx, b.String(), b.args...)
	if err != nil {
		return nil, wrapErr("list assignments", err)
	}
	return collect(rows, "list assignments", scanAssignment)
}

// userGrants is every grant of a user in one statement: the groups the
// user is in at any depth (UNION stops at groups already seen, so a graph
// that somehow held a cycle still ends), the assignments to the user or to
// those groups, and the user's live elevations.
const userGrants = `WITH RECURSIVE anc(id) AS (
  SELECT group_id FROM group_users WHERE tenant_id = $1 AND user_id = $2
  UNION
  SELECT gg.parent_id FROM group_groups gg JOIN anc ON gg.child_id = anc.id WHERE gg.tenant_id = $1
)
SELECT ` + roleCols + `, a.id, a.group_id, g.name, '', 0
FROM role_assignments a
JOIN roles r ON r.tenant_id = a.tenant_id AND r.id = a.role_id
LEFT JOIN groups g ON g.tenant_id = a.tenant_id AND g.id = a.group_id
WHERE a.tenant_id = $1 AND (a.user_id = $2 OR a.group_id IN (SELECT id FROM anc))
UNION ALL
SELECT ` + roleCols + `, '', NULL, NULL, e.id, e.expires_at
FROM elevations e
JOIN roles r ON r.tenant_id = e.tenant_id AND r.id = e.role_id
WHERE e.tenant_id = $1 AND e.user_id = $2 AND e.status = 'approved' AND e.revoked_at IS NULL AND e.expires_at > $3`

func (r roleRepo) UserGrants(ctx context.Context, tenant store.TenantID, userID string, now time.Time) ([]store.Grant, error) {
	rows, err := r.q.QueryContext(ctx, userGrants, string(tenant), userID, now.UnixMicro())
	if err != nil {
		return nil, wrapErr("user grants", err)
	}
	return collect(rows, "user grants", func(s interface{ Scan(...any) error }) (*store.Grant, error) {
		var (
			g                  store.Grant
			groupID, groupName sql.NullString
			expires            int64
		)
		if err := scanRoleInto(s, &g.Role, &g.AssignmentID, &groupID, &groupName, &g.ElevationID, &expires); err != nil {
			return nil, err
		}
		g.GroupID, g.GroupName = groupID.String, groupName.String
		if g.ElevationID != "" {
			g.ExpiresAt = fromMicros(expires)
		}
		return &g, nil
	})
}
