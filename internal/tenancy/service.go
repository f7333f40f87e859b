// Package tenancy manages tenants and the management API keys that reach
// them. Tenant lifecycle events go to the platform audit chain; a tenant's
// own keys and data changes go to the tenant's chain.
package tenancy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/keys"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/valid"
	"github.com/google/uuid"
)

// DefaultSlug is the tenant that exists after the first start.
const DefaultSlug = "default"

var slugRE = regexp.MustCompile(`^[a-z][a-z0-9-]{1,38}[a-z0-9]$`)

// reserved slugs would shadow routes or confuse people.
var reserved = map[string]bool{
	"api": true, "admin": true, "t": true, "www": true, "app": true, "static": true,
	"assets": true, "auth": true, "login": true, "logout": true, "oauth": true, "oauth2": true,
	"oidc": true, "saml": true, "scim": true, "ldap": true, "healthz": true, "readyz": true,
	"metrics": true, "platform": true, "system": true, "internal": true, "root": true,
	"well-known": true, "account": true, "signup": true,
}

// Service manages tenants and API keys.
type Service struct {
	Store store.Store
	Keys  *keys.Manager
	Audit *events.Recorder
	Now   func() time.Time
	// PurgeGrace is how long a deleted tenant stays restorable; zero
	// means DefaultPurgeGrace.
	PurgeGrace time.Duration
	// Placement, when the deployment is split into regions, is the
	// catalogue and this node's region (regions.go); nil otherwise.
	Placement *Placement

	slugs slugCache
}

func (s *Service) now() time.Time { return s.Now().UTC().Truncate(time.Microsecond) }

// NewTenant is the input of CreateTenant.
type NewTenant struct {
	Slug string `json:"slug"`
	Name string `json:"name"`
	// Plan names the tenant's plan; "" is none (unlimited).
	Plan string `json:"plan,omitempty"`
	// Region is where the tenant's rows live, one of GATEHOUSE_REGIONS;
	// "" is the region of the node that creates it (regions.go).
	Region string `json:"region,omitempty"`
}

// TenantPatch changes the fields that are set.
type TenantPatch struct {
	Name     *string         `json:"name,omitempty"`
	Settings json.RawMessage `json:"settings,omitempty"`
	// Status suspends ("suspended") or resumes ("active") the tenant.
	Status *store.TenantStatus `json:"status,omitempty"`
	// Plan moves the tenant to a plan; "" takes it off plans (unlimited).
	Plan *string `json:"plan,omitempty"`
}

// CheckSlug reports whether s may name a new tenant.
func CheckSlug(c *valid.Collector, s string) {
	switch {
	case s == "":
		c.Add("slug", "required", "A tenant needs a slug.")
	case len(s) < 3 || len(s) > 40:
		c.Add("slug", "invalid", "A slug has 3 to 40 characters.")
	case !slugRE.MatchString(s):
		c.Add("slug", "invalid", "A slug has lowercase letters, digits and dashes, starts with a letter and does not end with a dash.")
	case reserved[s]:
		c.Add("slug", "reserved", "This slug is reserved.")
	case uuid.Validate(s) == nil:
		// Resolve reads UUID-shaped references as ids.
		c.Add("slug", "invalid", "A slug cannot have the form of a UUID.")
	}
}

func checkName(c *valid.Collector, name string) {
	if name == "" {
		c.Add("name", "required", "A tenant needs a name.")
	} else if len([]rune(name)) > 100 {
		c.Add("name", "too_long", "A name has at most 100 characters.")
	}
}

func tenantFields(t *store.Tenant) map[string]any {
	if t == nil {
		return nil
	}
	return map[string]any{"slug": t.Slug, "name": t.Name, "settings": json.RawMessage(t.Settings), "status": string(t.Status)}
}

// CreateTenant creates a tenant with its signing keys.
// Errors: *valid.Error, store.ErrConflict (slug taken).
func (s *Service) CreateTenant(ctx context.Context, actor events.Actor, in NewTenant) (*store.Tenant, error) {
	var c valid.Collector
	CheckSlug(&c, in.Slug)
	checkName(&c, in.Name)
	s.checkRegion(&c, in.Region)
	if err := c.Err(); err != nil {
		return nil, err
	}
	return s.createTenant(ctx, actor, in)
}

func (s *Service) createTenant(ctx context.Context, actor events.Actor, in NewTenant) (*store.Tenant, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return nil, err
	}
	settings, err := json.Marshal(DefaultSettings())
	if err != nil {
		return nil, err
	}
	now := s.now()
	t := &store.Tenant{ID: store.TenantID(id.String()), Slug: in.Slug, Name: in.Name,
		Settings: settings, Version: 1, CreatedAt: now, UpdatedAt: now}
	unclaim, err := s.claimSlug(ctx, t, in.Plan) // regions.go
	if err != nil {
		return nil, err
	}
	err = s.Store.InTx(ctx, func(tx store.Repos) error {
		if err := tx.Tenants().CreateTenant(ctx, t); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return &valid.Conflict{Field: "slug", Cause: err}
			}
			return err
		}
		if err := s.Keys.CreateDefaults(ctx, tx, t.ID); err != nil {
			return err
		}
		if err := setPlan(ctx, tx, actor, t.ID, "", in.Plan, s.Audit); err != nil {
			return err
		}
		return s.Audit.Record(ctx, tx, actor, events.Entry{Tenant: store.PlatformTenant,
			Action: "tenant.create", TargetType: "tenant", TargetID: string(t.ID),
			Changes: events.Diff(nil, tenantFields(t))})
	})
	if err != nil {
		unclaim()
		return nil, err
	}
	return t, nil
}

// EnsureDefault creates the default tenant unless it exists; created says
// whether it did.
func (s *Service) EnsureDefault(ctx context.Context) (t *store.Tenant, created bool, err error) {
	t, err = s.Store.Tenants().GetTenantBySlug(ctx, DefaultSlug)
	if err == nil {
		return t, false, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return nil, false, err
	}
	// With regions, the default tenant is the first region's to start:
	// the others leave it there (regions.go).
	if _, err := s.RegionOf(ctx, DefaultSlug); err == nil {
		return nil, false, nil
	}
	t, err = s.createTenant(ctx, events.Actor{Type: "system", ID: "bootstrap"}, NewTenant{Slug: DefaultSlug, Name: "Default"})
	if errors.Is(err, store.ErrConflict) { // another node won the race
		t, err = s.Store.Tenants().GetTenantBySlug(ctx, DefaultSlug)
		if errors.Is(err, store.ErrNotFound) && s.Placement != nil { // a node of another region
			return nil, false, nil
		}
		return t, false, err
	}
	return t, err == nil, err
}

// Resolve finds a tenant by slug or id; store.ErrNotFound when neither.
func (s *Service) Resolve(ctx context.Context, ref string) (*store.Tenant, error) {
	if len(ref) > 64 {
		return nil, store.ErrNotFound
	}
	if _, err := uuid.Parse(ref); err == nil {
		return s.Store.Tenants().GetTenant(ctx, store.TenantID(ref))
	}
	return s.Store.Tenants().GetTenantBySlug(ctx, ref)
}

// ListTenants answers a page of tenants.
func (s *Service) ListTenants(ctx context.Context, p store.Page) ([]store.Tenant, error) {
	return s.Store.Tenants().ListTenants(ctx, p)
}

// UpdateTenant applies p when version (if non-zero) is current.
func (s *Service) UpdateTenant(ctx context.Context, actor events.Actor, id store.TenantID, version int64, p TenantPatch) (*store.Tenant, error) {
	var out *store.Tenant
	err := s.Store.InTx(ctx, func(tx store.Repos) error {
		var before map[string]any
		t, err := tx.Tenants().UpdateTenant(ctx, id, func(t *store.Tenant) error {
			if version != 0 && version != t.Version {
				return store.ErrPrecondition
			}
			before = tenantFields(t)
			var c valid.Collector
			if p.Name != nil {
				t.Name = *p.Name
				checkName(&c, t.Name)
			}
			if len(p.Settings) > 0 {
				raw, err := checkSettings(&c, t.Settings, p.Settings)
				if err != nil {
					return err
				}
				t.Settings = raw
			}
			if p.Status != nil {
				checkStatus(&c, t, *p.Status)
			}
			return c.Err()
		})
		if err != nil {
			return err
		}
		out = t
		action := "tenant.update"
		switch {
		case before["status"] == string(t.Status):
		case t.Status == store.TenantSuspended:
			action = "tenant.suspend"
		case t.Status == store.TenantActive:
			action = "tenant.resume"
		}
		if p.Plan != nil {
			old, err := tx.Usage().TenantPlan(ctx, id)
			if err != nil {
				return err
			}
			if err := setPlan(ctx, tx, actor, id, old, *p.Plan, s.Audit); err != nil {
				return err
			}
		}
		return s.Audit.Record(ctx, tx, actor, events.Entry{Tenant: store.PlatformTenant,
			Action: action, TargetType: "tenant", TargetID: string(id),
			Changes: events.Diff(before, tenantFields(t))})
	})
	if out != nil {
		s.forgetSlug(out.Slug)
	}
	if err == nil && p.Plan != nil {
		s.notePlan(ctx, id, *p.Plan) // regions.go
	}
	return out, err
}

// checkSettings overlays patch on the current settings, strictly decoded.
func checkSettings(c *valid.Collector, current, patch json.RawMessage) (json.RawMessage, error) {
	set, err := ParseSettings(current)
	if err != nil {
		return nil, err
	}
	if err := strictDecode(patch, &set); err != nil {
		c.Add("settings", "invalid", fmt.Sprintf("Settings are not valid: %s.", err))
		return current, nil
	}
	if err := set.PasswordPolicy.Validate(); err != nil {
		c.Add("settings.password_policy", "invalid", err.Error())
		return current, nil
	}
	if checkPresentation(c, &set); c.Err() != nil {
		return current, nil
	}
	if set.SelfService.check(c, "settings.self_service"); c.Err() != nil {
		return current, nil
	}
	if set.MFA.check(c, "settings.mfa"); c.Err() != nil {
		return current, nil
	}
	if set.Notices.check(c, "settings.notices"); c.Err() != nil {
		return current, nil
	}
	if set.RateLimits.check(c, "settings.rate_limits"); c.Err() != nil {
		return current, nil
	}
	if set.Privacy.check(c, "settings.privacy"); c.Err() != nil {
		return current, nil
	}
	if checkProfileSchema(c, "settings.profile_schema.", set.ProfileSchema); c.Err() != nil {
		return current, nil
	}
	if set.Communication.check(c, "settings.communication"); c.Err() != nil {
		return current, nil
	}
	if set.OAuth.Check(c, "settings.oauth"); c.Err() != nil {
		return current, nil
	}
	if set.MTLS.check(c, "settings.mtls"); c.Err() != nil { // mtls.go
		return current, nil
	}
	if err := set.Risk.Validate(); err != nil {
		c.Add("settings.risk", "invalid", err.Error())
		return current, nil
	}
	return json.Marshal(set)
}

// setPlan moves tenant from plan old to plan name, audited on the platform
// chain; an unknown plan is a validation error.
func setPlan(ctx context.Context, tx store.Repos, actor events.Actor, tenant store.TenantID, old, name string, rec *events.Recorder) error {
	if old == name {
		return nil
	}
	if err := tx.Usage().SetTenantPlan(ctx, tenant, name); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			var c valid.Collector
			c.Add("plan", "unknown", "No plan has this name.")
			return c.Err()
		}
		return err
	}
	var before, after any
	if old != "" {
		before = old
	}
	if name != "" {
		after = name
	}
	return rec.Record(ctx, tx, actor, events.Entry{Tenant: store.PlatformTenant,
		Action: "tenant.plan", TargetType: "tenant", TargetID: string(tenant),
		Changes: events.Changes{"plan": {Before: before, After: after}}})
}
