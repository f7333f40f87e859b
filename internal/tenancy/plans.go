package tenancy

import (
	"context"
	"errors"
	"fmt"
	"regexp"

	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

var planNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// PlanInput is the body of a plan's create (all of it) or patch (the
// fields that are set).
type PlanInput struct {
	Name    string            `json:"name"`
	Limits  *store.PlanLimits `json:"limits,omitempty"`
	Overage string            `json:"overage,omitempty"`
}

// QuotaError refuses a write that would pass a plan's limit.
type QuotaError struct {
	Limit string // "clients", "connections", "saml_sps", "mau", "signups_per_hour"
	Plan  string
	Max   int64
}

func (e *QuotaError) Error() string {
	return fmt.Sprintf("The plan %q allows at most %d %s.", e.Plan, e.Max, e.Limit)
}

func checkPlan(c *valid.Collector, p *store.Plan) {
	if !planNameRE.MatchString(p.Name) {
		c.Add("name", "invalid", "A plan name has 1 to 63 lowercase letters, digits, dashes and underscores.")
	}
	if p.Overage != store.OverageSoft && p.Overage != store.OverageHard {
		c.Add("overage", "invalid", `Overage is "soft" or "hard".`)
	}
	l := p.Limits
	for _, f := range []struct {
		name string
		v    *int64
	}{{"limits.mau", l.MAU}, {"limits.clients", l.Clients}, {"limits.connections", l.Connections},
		{"limits.saml_sps", l.SAMLSPs}, {"limits.api_rps", l.APIRPS}, {"limits.signups_per_hour", l.SignupsPerHour}} {
		if f.v != nil && *f.v < 0 {
			c.Add(f.name, "invalid", "A limit is a number from 0; leave it out for no limit.")
		}
	}
}

func (s *Service) recordPlan(ctx context.Context, repos store.Repos, actor events.Actor, action string, before, after *store.Plan) error {
	ch := events.Changes{}
	if before != nil || after != nil {
		var b, a any
		if before != nil {
			b = map[string]any{"limits": before.Limits, "overage": before.Overage}
		}
		if after != nil {
			a = map[string]any{"limits": after.Limits, "overage": after.Overage}
		}
		ch["plan"] = events.Change{Before: b, After: a}
	}
	name := ""
	if after != nil {
		name = after.Name
	} else if before != nil {
		name = before.Name
	}
	return s.Audit.Record(ctx, repos, actor, events.Entry{Tenant: store.PlatformTenant, Action: action,
		TargetType: "plan", TargetID: name, Changes: ch})
}

// CreatePlan stores a new plan. Errors: *valid.Error, *valid.Conflict.
func (s *Service) CreatePlan(ctx context.Context, actor events.Actor, in PlanInput) (*store.Plan, error) {
	p := &store.Plan{Name: in.Name, Overage: in.Overage}
	if p.Overage == "" {
		p.Overage = store.OverageSoft
	}
	if in.Limits != nil {
		p.Limits = *in.Limits
	}
	var c valid.Collector
	checkPlan(&c, p)
	if err := c.Err(); err != nil {
		return nil, err
	}
	p.CreatedAt, p.UpdatedAt = s.now(), s.now()
	err := s.Store.InTx(ctx, func(tx store.Repos) error {
		if err := tx.Usage().CreatePlan(ctx, p); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return &valid.Conflict{Field: "name", Cause: err}
			}
			return err
		}
		return s.recordPlan(ctx, tx, actor, "plan.create", nil, p)
	})
	return p, err
}

// GetPlan answers store.ErrNotFound for an unknown plan.
func (s *Service) GetPlan(ctx context.Context, name string) (*store.Plan, error) {
	return s.Store.Usage().GetPlan(ctx, name)
}

// ListPlans answers every plan by name.
func (s *Service) ListPlans(ctx context.Context) ([]store.Plan, error) {
	return s.Store.Usage().ListPlans(ctx)
}

// UpdatePlan replaces the limits and overage that in sets; a name in
// the body must be the plan's own.
func (s *Service) UpdatePlan(ctx context.Context, actor events.Actor, name string, in PlanInput) (*store.Plan, error) {
	var out *store.Plan
	err := s.Store.InTx(ctx, func(tx store.Repos) error {
		var before store.Plan
		p, err := tx.Usage().UpdatePlan(ctx, name, func(p *store.Plan) error {
			before = *p
			if in.Name != "" && in.Name != name {
				var c valid.Collector
				c.Add("name", "immutable", "A plan cannot be renamed.")
				return c.Err()
			}
			if in.Limits != nil {
				p.Limits = *in.Limits
			}
			if in.Overage != "" {
				p.Overage = in.Overage
			}
			var c valid.Collector
			checkPlan(&c, p)
			return c.Err()
		})
		if err != nil {
			return err
		}
		out = p
		return s.recordPlan(ctx, tx, actor, "plan.update", &before, p)
	})
	return out, err
}

// DeletePlan removes a plan no tenant is on; *valid.Conflict otherwise.
func (s *Service) DeletePlan(ctx context.Context, actor events.Actor, name string) error {
	return s.Store.InTx(ctx, func(tx store.Repos) error {
		p, err := tx.Usage().GetPlan(ctx, name)
		if err != nil {
			return err
		}
		if err := tx.Usage().DeletePlan(ctx, name); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return &valid.Conflict{Field: "name", Cause: errors.New("tenants are on this plan")}
			}
			return err
		}
		return s.recordPlan(ctx, tx, actor, "plan.delete", p, nil)
	})
}

// TenantPlan answers the tenant's plan, nil when it has none (unlimited).
func (s *Service) TenantPlan(ctx context.Context, repos store.Repos, tenant store.TenantID) (*store.Plan, error) {
	name, err := repos.Usage().TenantPlan(ctx, tenant)
	if err != nil || name == "" {
		return nil, err
	}
	return repos.Usage().GetPlan(ctx, name)
}

func ownedLimit(l store.PlanLimits, kind string) *int64 {
	switch kind {
	case store.OwnedClients:
		return l.Clients
	case store.OwnedConnections:
		return l.Connections
	case store.OwnedSAMLSPs:
		return l.SAMLSPs
	}
	return nil
}

// ownedUse answers the tenant's plan, its limit on kind and how many
// objects of kind the tenant has; a nil plan or limit means unlimited.
func (s *Service) ownedUse(ctx context.Context, tenant store.TenantID, kind string) (*store.Plan, *int64, int64, error) {
	p, err := s.TenantPlan(ctx, s.Store, tenant)
	if err != nil || p == nil {
		return nil, nil, 0, err
	}
	max := ownedLimit(p.Limits, kind)
	if max == nil {
		return p, nil, 0, nil
	}
	n, err := s.Store.Usage().CountOwned(ctx, tenant, kind)
	return p, max, n, err
}

// CheckQuota refuses (*QuotaError) creating one more object of kind
// (store.Owned*) when the tenant's plan limits it and the limit is reached.
func (s *Service) CheckQuota(ctx context.Context, tenant store.TenantID, kind string) error {
	p, max, n, err := s.ownedUse(ctx, tenant, kind)
	if err != nil || max == nil {
		return err
	}
	if n >= *max {
		return &QuotaError{Limit: kind, Plan: p.Name, Max: *max}
	}
	return nil
}
