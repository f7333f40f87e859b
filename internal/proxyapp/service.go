// Package proxyapp is forward authentication's service: applications
// behind a reverse proxy registered per tenant, who may reach them, the
// single-use codes that carry a signed-in browser to an application's
// domain and the sessions behind the application's cookie. It knows
// nothing of HTTP; internal/forwardauth serves it.
package proxyapp

import (
	"context"
	"errors"
	"maps"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// Service manages proxy applications and their sessions.
type Service struct {
	Store    store.Store
	Audit    *events.Recorder
	Authz    *authz.Service
	Sessions *session.Service
	Now      func() time.Time
}

// NewApp is the input of Create.
type NewApp struct {
	Name          string            `json:"name"`
	Domains       []string          `json:"domains"`
	AllowedGroups []string          `json:"allowed_groups"`
	AllowedRoles  []string          `json:"allowed_roles"`
	Headers       map[string]string `json:"headers"`
	// SessionLifetime is a Go duration ("8h"); "" for the default.
	SessionLifetime string `json:"session_lifetime"`
	// MFA is "required" or "" (the tenant's policy).
	MFA string `json:"mfa"`
}

// Patch changes the fields that are set; a list or map replaces the
// whole list or map.
type Patch struct {
	Name            *string            `json:"name,omitempty"`
	Domains         *[]string          `json:"domains,omitempty"`
	AllowedGroups   *[]string          `json:"allowed_groups,omitempty"`
	AllowedRoles    *[]string          `json:"allowed_roles,omitempty"`
	Headers         *map[string]string `json:"headers,omitempty"`
	SessionLifetime *string            `json:"session_lifetime,omitempty"`
	MFA             *string            `json:"mfa,omitempty"`
}

func (s *Service) now() time.Time { return s.Now().UTC().Truncate(time.Microsecond) }

// apply sets p's fields on a; a bad duration is reported on c.
func apply(c *valid.Collector, a *store.ProxyApp, p Patch) {
	if p.Name != nil {
		a.Name = *p.Name
	}
	if p.Domains != nil {
		a.Domains = slices.Clone(*p.Domains)
	}
	if p.AllowedGroups != nil {
		a.AllowedGroups = slices.Clone(*p.AllowedGroups)
	}
	if p.AllowedRoles != nil {
		a.AllowedRoles = slices.Clone(*p.AllowedRoles)
	}
	if p.Headers != nil {
		a.Headers = maps.Clone(*p.Headers)
	}
	if p.SessionLifetime != nil {
		if *p.SessionLifetime == "" {
			a.SessionLifetime = 0
		} else if d, err := time.ParseDuration(*p.SessionLifetime); err != nil {
			c.Add("session_lifetime", "invalid", `session_lifetime is a duration such as "8h".`)
		} else {
			a.SessionLifetime = d
		}
	}
	if p.MFA != nil {
		a.MFA = *p.MFA
	}
}

func conflict(err error) error {
	if errors.Is(err, store.ErrConflict) {
		return &valid.Conflict{Field: "domains", Cause: err}
	}
	return err
}

// validID: application ids are UUIDv7 strings in canonical form; anything
// else names no application (and never reaches a query).
func validID(id string) error {
	if u, err := uuid.Parse(id); err != nil || u.String() != id {
		return store.ErrNotFound
	}
	return nil
}

func auditFields(a *store.ProxyApp) map[string]any {
	return map[string]any{"name": a.Name, "domains": a.Domains, "allowed_groups": a.AllowedGroups,
		"allowed_roles": a.AllowedRoles, "headers": a.Headers, "session_lifetime": a.SessionLifetime.String(), "mfa": a.MFA}
}

// Create registers an application of tenant.
// Errors: *valid.Error, *valid.Conflict (a name or domain taken), store.ErrNotFound (no such tenant).
func (s *Service) Create(ctx context.Context, actor events.Actor, tenant store.TenantID, in NewApp) (*store.ProxyApp, error) {
	var c valid.Collector
	a := &store.ProxyApp{Tenant: tenant}
	apply(&c, a, Patch{Name: &in.Name, Domains: &in.Domains, AllowedGroups: &in.AllowedGroups,
		AllowedRoles: &in.AllowedRoles, Headers: &in.Headers, SessionLifetime: &in.SessionLifetime, MFA: &in.MFA})
	normalise(a)
	check(&c, a)
	if err := c.Err(); err != nil {
		return nil, err
	}
	a.ID = uuid.Must(uuid.NewV7()).String()
	a.CreatedAt = s.now()
	err := s.Store.InTx(ctx, func(tx store.Repos) error {
		if _, err := tx.Tenants().GetTenant(ctx, tenant); err != nil {
			return err
		}
		if err := tx.Proxy().CreateApp(ctx, a); err != nil {
			return conflict(err)
		}
		return s.Audit.Record(ctx, tx, actor, events.Entry{Tenant: tenant, Action: "proxy_app.create",
			TargetType: "proxy_app", TargetID: a.ID, Changes: events.Diff(nil, auditFields(a))})
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// Get answers store.ErrNotFound when id is not an application of tenant.
func (s *Service) Get(ctx context.Context, tenant store.TenantID, id string) (*store.ProxyApp, error) {
	if err := validID(id); err != nil {
		return nil, err
	}
	return s.Store.Proxy().GetApp(ctx, tenant, id)
}

// List answers a page of the tenant's applications, in creation order.
func (s *Service) List(ctx context.Context, tenant store.TenantID, p store.Page) ([]store.ProxyApp, error) {
	return s.Store.Proxy().ListApps(ctx, tenant, p)
}

// Update applies p when version (if non-zero) is current; the whole
// registration is validated after the change.
// Errors: *valid.Error, *valid.Conflict, store.ErrNotFound, store.ErrPrecondition.
func (s *Service) Update(ctx context.Context, actor events.Actor, tenant store.TenantID, id string, version int64, p Patch) (*store.ProxyApp, error) {
	if err := validID(id); err != nil {
		return nil, err
	}
	var out *store.ProxyApp
	err := s.Store.InTx(ctx, func(tx store.Repos) error {
		var before map[string]any
		a, err := tx.Proxy().UpdateApp(ctx, tenant, id, func(a *store.ProxyApp) error {
			if version != 0 && version != a.Version {
				return store.ErrPrecondition
			}
			before = auditFields(a)
			var c valid.Collector
			apply(&c, a, p)
			normalise(a)
			check(&c, a)
			return c.Err()
		})
		if err != nil {
			return conflict(err)
		}
		out = a
		changes := events.Diff(before, auditFields(a))
		if len(changes) == 0 {
			return nil
		}
		return s.Audit.Record(ctx, tx, actor, events.Entry{Tenant: tenant, Action: "proxy_app.update",
			TargetType: "proxy_app", TargetID: id, Changes: changes})
	})
	return out, err
}

// Delete removes the application; its sessions end with it.
// Errors: store.ErrNotFound.
func (s *Service) Delete(ctx context.Context, actor events.Actor, tenant store.TenantID, id string) error {
	if err := validID(id); err != nil {
		return err
	}
	return s.Store.InTx(ctx, func(tx store.Repos) error {
		a, err := tx.Proxy().GetApp(ctx, tenant, id)
		if err != nil {
			return err
		}
		if err := tx.Proxy().DeleteApp(ctx, tenant, id); err != nil {
			return err
		}
		return s.Audit.Record(ctx, tx, actor, events.Entry{Tenant: tenant, Action: "proxy_app.delete",
			TargetType: "proxy_app", TargetID: id, Changes: events.Diff(auditFields(a), nil)})
	})
}

// ForHost answers the application registered for a Host-style value
// (the port is ignored); store.ErrNotFound when none.
func (s *Service) ForHost(ctx context.Context, tenant store.TenantID, hostport string) (*store.ProxyApp, error) {
	h := HostOnly(hostport)
	if h == "" {
		return nil, store.ErrNotFound
	}
	return s.Store.Proxy().AppByDomain(ctx, tenant, h)
}
