package sqlstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

type groupRepo struct{ *scope }

const groupCols = `g.tenant_id, g.id, g.name, g.description, g.version, g.created_at, g.updated_at`

func scanGroup(r interface{ Scan(...any) error }) (*store.Group, error) {
	var (
		g                store.Group
		tenant           string
		created, updated int64
	)
	if err := r.Scan(&tenant, &g.ID, &g.Name, &g.Description, &g.Version, &created, &updated); err != nil {
		return nil, err
	}
	g.Tenant = store.TenantID(tenant)
	g.CreatedAt, g.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &g, nil
}

func validGroup(g *store.Group) error {
	if g.ID == "" || g.Tenant == "" || g.Name == "" {
		return errors.New("sqlstore: group needs an id, a tenant and a name")
	}
	return nil
}

// CreateGroup inserts g, filling Version and the times; ErrNotFound when
// the tenant does not exist.
func (r groupRepo) CreateGroup(ctx context.Context, g *store.Group) error {
	if err := validGroup(g); err != nil {
		return err
	}
	n := *g
	n.Version = 1
	if n.CreatedAt.IsZero() {
		n.CreatedAt = r.db.now()
	}
	n.CreatedAt = micro(n.CreatedAt)
	if n.UpdatedAt.IsZero() {
		n.UpdatedAt = n.CreatedAt
	}
	n.UpdatedAt = micro(n.UpdatedAt)
	err := r.single(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO groups (tenant_id, id, name, description, version, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			string(n.Tenant), n.ID, n.Name, n.Description, n.Version, n.CreatedAt.UnixMicro(), n.UpdatedAt.UnixMicro())
		return wrapErr("create group", err)
	})
	if err != nil {
		return err
	}
	*g = n
	return nil
}

func (r groupRepo) get(ctx context.Context, q querier, op, lock string, tenant store.TenantID, id string) (*store.Group, error) {
	g, err := scanGroup(q.QueryRowContext(ctx, `SELECT `+groupCols+` FROM groups g WHERE g.tenant_id = $1 AND g.id = $2`+lock, string(tenant), id))
	return g, wrapErr(op, err)
}

func (r groupRepo) GetGroup(ctx context.Context, tenant store.TenantID, id string) (*store.Group, error) {
	return r.get(ctx, r.q, "get group", "", tenant, id)
}

func (r groupRepo) ListGroups(ctx context.Context, tenant store.TenantID, p store.Page) ([]store.Group, error) {
	rows, err := r.q.QueryContext(ctx, `SELECT `+groupCols+` FROM groups g WHERE g.tenant_id = $1 AND g.id > $2 ORDER BY g.id LIMIT $3`,
		string(tenant), p.After, p.ClampLimit())
	if err != nil {
		return nil, wrapErr("list groups", err)
	}
	return collect(rows, "list groups", scanGroup)
}

func (r groupRepo) UpdateGroup(ctx context.Context, tenant store.TenantID, id string, fn func(*store.Group) error) (*store.Group, error) {
	var out *store.Group
	err := r.write(ctx, func(q querier) error {
		old, err := r.get(ctx, q, "update group", r.forUpdate(), tenant, id)
		if err != nil {
			return err
		}
		n := *old
		if err := fn(&n); err != nil {
			return err
		}
		if n.ID != old.ID || n.Tenant != old.Tenant {
			return errors.New("sqlstore: update group: the closure changed the id or tenant")
		}
		if err := validGroup(&n); err != nil {
			return err
		}
		n.Version, n.CreatedAt, n.UpdatedAt = old.Version+1, old.CreatedAt, r.db.nowMicro()
		res, err := q.ExecContext(ctx, `UPDATE groups SET name = $1, description = $2, version = $3, updated_at = $4
WHERE tenant_id = $5 AND id = $6 AND version = $7`,
			n.Name, n.Description, n.Version, n.UpdatedAt.UnixMicro(), string(n.Tenant), n.ID, old.Version)
		if err != nil {
			return wrapErr("update group", err)
		}
		if err := guardRow(res, "update group"); err != nil {
			return err
		}
		out = &n
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteGroup deletes the group; memberships in both directions go by
// cascade.
func (r groupRepo) DeleteGroup(ctx context.Context, tenant store.TenantID, id string) error {
	res, err := r.q.ExecContext(ctx, `DELETE FROM groups WHERE tenant_id = $1 AND id = $2`, string(tenant), id)
	if err != nil {
		return wrapErr("delete group", err)
	}
	return oneRow(res, "delete group")
}

// AddMember adds a user or a nested group to groupID.
func (r groupRepo) AddMember(ctx context.Context, tenant store.TenantID, groupID string, m store.Member) error {
	now := r.db.nowMicro().UnixMicro()
	switch m.Type {
	case store.MemberUser:
		// One statement: the composite foreign keys refuse a group or user
		// missing from this tenant (ErrNotFound), the primary key a
		// membership that exists (ErrConflict).
		return r.single(ctx, func(q querier) error {
			_, err := q.ExecContext(ctx, `INSERT INTO group_users (tenant_id, group_id, user_id, created_at) VALUES ($1, $2, $3, $4)`,
				string(tenant), groupID, m.ID, now)
			return wrapErr("add user to group", err)
		})
	case store.MemberGroup:
		return r.write(ctx, func(q querier) error { return r.addGroup(ctx, q, tenant, groupID, m.ID, now) })
	}
	return fmt.Errorf("sqlstore: add member: unknown member type %q", m.Type)
}

// descendsFrom answers whether group id is nested in group ancestor at
// any depth (or is ancestor). UNION stops at groups already seen.
const descendsFrom = `WITH RECURSIVE sub(id) AS (
  SELECT id FROM groups WHERE tenant_id = $1 AND id = $2
  UNION
  SELECT gg.child_id FROM group_groups gg JOIN sub ON gg.parent_id = sub.id WHERE gg.tenant_id = $1
)
SELECT EXISTS (SELECT 1 FROM sub WHERE id = $3)`

// addGroup nests child in parent unless that closes a cycle. The check and
// the insert must see the same graph: SQLite's immediate transaction
// already excludes other writers; on PostgreSQL two transactions adding A
// into B and B into A would each see no cycle, so the tenant's group graph
// is locked first with a transaction-scoped advisory lock.
func (r groupRepo) addGroup(ctx context.Context, q querier, tenant store.TenantID, parent, child string, now int64) error {
	const op = "add group to group"
	if r.db.d.postgres {
		if _, err := q.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext('gh_groups:' || $1::text))`, string(tenant)); err != nil {
			return wrapErr(op, err)
		}
	}
	var n int
	if err := q.QueryRowContext(ctx, `SELECT count(*) FROM groups WHERE tenant_id = $1 AND id IN ($2, $3)`,
		string(tenant), parent, child).Scan(&n); err != nil {
		return wrapErr(op, err)
	}
	if parent == child {
		if n != 1 {
			return notFound(op)
		}
		return fmt.Errorf("sqlstore: %s: a group cannot contain itself: %w", op, store.ErrCycle)
	}
	if n != 2 {
		return notFound(op)
	}
	// Adding child under parent closes a cycle when parent already sits
	// under child.
	var cycle bool
	if err := q.QueryRowContext(ctx, descendsFrom, string(tenant), child, parent).Scan(&cycle); err != nil {
		return wrapErr(op, err)
	}
	if cycle {
		return fmt.Errorf("sqlstore: %s: %w", op, store.ErrCycle)
	}
	_, err := q.ExecContext(ctx, `INSERT INTO group_groups (tenant_id, parent_id, child_id, created_at) VALUES ($1, $2, $3, $4)`,
		string(tenant), parent, child, now)
	return wrapErr(op, err)
}

func (r groupRepo) RemoveMember(ctx context.Context, tenant store.TenantID, groupID string, m store.Member) error {
	var stmt string
	switch m.Type {
	case store.MemberUser:
		stmt = `DELETE FROM group_users WHERE tenant_id = $1 AND group_id = $2 AND user_id = $3`
	case store.MemberGroup:
		stmt = `DELETE FROM group_groups WHERE tenant_id = $1 AND parent_id = $2 AND child_id = $3`
	default:
		return fmt.Errorf("sqlstore: remove member: unknown member type %q", m.Type)
	}
	res, err := r.q.ExecContext(ctx, stmt, string(tenant), groupID, m.ID)
	if err != nil {
		return wrapErr("remove member", err)
	}
	return oneRow(res, "remove member")
}

// ListMembers pages through the direct members, users and groups merged,
// by id. ErrNotFound when the group does not exist in the tenant.
func (r groupRepo) ListMembers(ctx context.Context, tenant store.TenantID, groupID string, p store.Page) ([]store.Member, error) {
	rows, err := r.q.QueryContext(ctx, `SELECT kind, id FROM (
  SELECT 'user' AS kind, user_id AS id FROM group_users WHERE tenant_id = $1 AND group_id = $2 AND user_id > $3
  UNION ALL
  SELECT 'group' AS kind, child_id AS id FROM group_groups WHERE tenant_id = $1 AND parent_id = $2 AND child_id > $3
) m ORDER BY id, kind LIMIT $4`, string(tenant), groupID, p.After, p.ClampLimit())
	if err != nil {
		return nil, wrapErr("list members", err)
	}
	ms, err := collect(rows, "list members", func(r interface{ Scan(...any) error }) (*store.Member, error) {
		var m store.Member
		var kind string
		if err := r.Scan(&kind, &m.ID); err != nil {
			return nil, err
		}
		m.Type = store.MemberType(kind)
		return &m, nil
	})
	if err != nil || len(ms) > 0 {
		return ms, err
	}
	// An empty page: tell an empty group from a missing one.
	if _, err := r.get(ctx, r.q, "list members", "", tenant, groupID); err != nil {
		return nil, err
	}
	return nil, nil
}

// ancestorsOf is the user's groups and every group containing them.
const ancestorsOf = `WITH RECURSIVE anc(id) AS (
  SELECT group_id FROM group_users WHERE tenant_id = $1 AND user_id = $2
  UNION
  SELECT gg.parent_id FROM group_groups gg JOIN anc ON gg.child_id = anc.id WHERE gg.tenant_id = $1
)
SELECT ` + groupCols + ` FROM groups g WHERE g.tenant_id = $1 AND g.id IN (SELECT id FROM anc) ORDER BY g.id`

const directGroupsOf = `SELECT ` + groupCols + ` FROM groups g JOIN group_users gu
  ON gu.tenant_id = g.tenant_id AND gu.group_id = g.id
WHERE g.tenant_id = $1 AND gu.user_id = $2 ORDER BY g.id`

// UserGroups answers the user's groups by id; ErrNotFound when the user
// does not exist in the tenant.
func (r groupRepo) UserGroups(ctx context.Context, tenant store.TenantID, userID string, transitive bool) ([]store.Group, error) {
	stmt := directGroupsOf
	if transitive {
		stmt = ancestorsOf
	}
	rows, err := r.q.QueryContext(ctx, stmt, string(tenant), userID)
	if err != nil {
		return nil, wrapErr("user groups", err)
	}
	gs, err := collect(rows, "user groups", scanGroup)
	if err != nil || len(gs) > 0 {
		return gs, err
	}
	var one int
	err = r.q.QueryRowContext(ctx, `SELECT 1 FROM users WHERE tenant_id = $1 AND id = $2`, string(tenant), userID).Scan(&one)
	return nil, wrapErr("user groups", err)
}
