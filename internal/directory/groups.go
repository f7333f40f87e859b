package directory

import (
	"context"
	"errors"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// NewGroup is the input of CreateGroup.
type NewGroup struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
}

// GroupPatch changes the fields that are set.
type GroupPatch struct {
	Name        *string `json:"name,omitempty"`
	Description *string `json:"description,omitempty"`
}

func checkGroup(c *valid.Collector, g *store.Group) {
	if strings.TrimSpace(g.Name) == "" {
		c.Add("name", "required", "A group needs a name.")
	} else {
		checkText(c, "name", g.Name, maxGroupName)
	}
	checkText(c, "description", g.Description, maxGroupDescr)
}

func groupFields(g *store.Group) map[string]any {
	if g == nil {
		return nil
	}
	return map[string]any{"name": g.Name, "description": g.Description}
}

// CreateGroup stores a new group. Errors: *valid.Error, *valid.Conflict.
func (s *Service) CreateGroup(ctx context.Context, actor events.Actor, tenant store.TenantID, in NewGroup) (*store.Group, error) {
	now := s.now()
	g := &store.Group{ID: newID(), Tenant: tenant, Name: in.Name, Description: in.Description,
		Version: 1, CreatedAt: now, UpdatedAt: now}
	var c valid.Collector
	checkGroup(&c, g)
	if err := c.Err(); err != nil {
		return nil, err
	}
	err := s.Store.InTx(ctx, func(tx store.Repos) error {
		if err := tx.Groups().CreateGroup(ctx, g); err != nil {
			return groupConflict(err)
		}
		return s.Audit.Record(ctx, tx, actor, events.Entry{Tenant: tenant, Action: "group.create",
			TargetType: "group", TargetID: g.ID, Changes: events.Diff(nil, groupFields(g))})
	})
	if err != nil {
		return nil, err
	}
	return g, nil
}

func groupConflict(err error) error {
	if errors.Is(err, store.ErrConflict) {
		return &valid.Conflict{Field: "name", Cause: err}
	}
	return err
}

// GetGroup answers store.ErrNotFound when id is not a group of tenant.
func (s *Service) GetGroup(ctx context.Context, tenant store.TenantID, id string) (*store.Group, error) {
	return s.Store.Groups().GetGroup(ctx, tenant, id)
}

// ListGroups answers a page of the tenant's groups.
func (s *Service) ListGroups(ctx context.Context, tenant store.TenantID, p store.Page) ([]store.Group, error) {
	var gs []store.Group
	err := s.read(ctx, func(r store.Repos) (err error) {
		gs, err = r.Groups().ListGroups(ctx, tenant, p)
		return err
	})
	return gs, err
}

// UpdateGroup applies p when version (if non-zero) is current.
func (s *Service) UpdateGroup(ctx context.Context, actor events.Actor, tenant store.TenantID, id string, version int64, p GroupPatch) (*store.Group, error) {
	var out *store.Group
	err := s.Store.InTx(ctx, func(tx store.Repos) error {
		var before map[string]any
		g, err := tx.Groups().UpdateGroup(ctx, tenant, id, func(g *store.Group) error {
			if err := ifMatch(version, g.Version); err != nil {
				return err
			}
			before = groupFields(g)
			if p.Name != nil {
				g.Name = *p.Name
			}
			if p.Description != nil {
				g.Description = *p.Description
			}
			var c valid.Collector
			checkGroup(&c, g)
			return c.Err()
		})
		if err != nil {
			return groupConflict(err)
		}
		out = g
		changes := events.Diff(before, groupFields(g))
		if len(changes) == 0 {
			return nil
		}
		return s.Audit.Record(ctx, tx, actor, events.Entry{Tenant: tenant, Action: "group.update",
			TargetType: "group", TargetID: id, Changes: changes})
	})
	return out, err
}

// DeleteGroup removes the group and its memberships.
func (s *Service) DeleteGroup(ctx context.Context, actor events.Actor, tenant store.TenantID, id string) error {
	return s.Store.InTx(ctx, func(tx store.Repos) error {
		g, err := tx.Groups().GetGroup(ctx, tenant, id)
		if err != nil {
			return err
		}
		if err := tx.Groups().DeleteGroup(ctx, tenant, id); err != nil {
			return err
		}
		return s.Audit.Record(ctx, tx, actor, events.Entry{Tenant: tenant, Action: "group.delete",
			TargetType: "group", TargetID: id, Changes: events.Diff(groupFields(g), nil)})
	})
}

// AddMember adds a user or a nested group. Errors: store.ErrNotFound (group
// or member), store.ErrConflict (already a member), store.ErrCycle.
func (s *Service) AddMember(ctx context.Context, actor events.Actor, tenant store.TenantID, groupID string, m store.Member) error {
	return s.member(ctx, actor, tenant, groupID, m, "group.member.add")
}

// RemoveMember removes a direct member; store.ErrNotFound when it is not one.
func (s *Service) RemoveMember(ctx context.Context, actor events.Actor, tenant store.TenantID, groupID string, m store.Member) error {
	return s.member(ctx, actor, tenant, groupID, m, "group.member.remove")
}

func (s *Service) member(ctx context.Context, actor events.Actor, tenant store.TenantID, groupID string, m store.Member, action string) error {
	if m.Type != store.MemberUser && m.Type != store.MemberGroup {
		return valid.Field("type", "invalid", "A member is a user or a group.")
	}
	return s.Store.InTx(ctx, func(tx store.Repos) error {
		var err error
		if action == "group.member.add" {
			err = tx.Groups().AddMember(ctx, tenant, groupID, m)
		} else {
			err = tx.Groups().RemoveMember(ctx, tenant, groupID, m)
		}
		if err != nil {
			return err
		}
		return s.Audit.Record(ctx, tx, actor, events.Entry{Tenant: tenant, Action: action,
			TargetType: "group", TargetID: groupID,
			Changes: events.Changes{"member": {After: map[string]string{"type": string(m.Type), "id": m.ID}}}})
	})
}

// ListMembers answers a page of the group's direct members.
func (s *Service) ListMembers(ctx context.Context, tenant store.TenantID, groupID string, p store.Page) ([]store.Member, error) {
	if _, err := s.Store.Groups().GetGroup(ctx, tenant, groupID); err != nil {
		return nil, err
	}
	return s.Store.Groups().ListMembers(ctx, tenant, groupID, p)
}

// UserGroups answers the user's groups, direct or through nesting.
func (s *Service) UserGroups(ctx context.Context, tenant store.TenantID, userID string, transitive bool) ([]store.Group, error) {
	if _, err := s.Store.Users().GetUser(ctx, tenant, userID); err != nil {
		return nil, err
	}
	return s.Store.Groups().UserGroups(ctx, tenant, userID, transitive)
}
