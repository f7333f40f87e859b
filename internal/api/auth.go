package api

import (
	"errors"
	"net/http"
	"slices"

	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
)

// need is what a route demands of the caller's key.
type need int

const (
	needPublic   need = iota // no key
	needPlatform             // a platform key (admin scope; read scope for GET)
	needAdmin                // admin scope in the route's tenant
	needRead                 // read or admin scope in the route's tenant
	needAudit                // audit:read or admin scope in the route's tenant
	needQuery                // read or admin scope in the route's tenant, any method (POST queries: authz check)
)

// call is an authorised request: who calls and, for tenant routes, which
// tenant it is about (resolved once, here).
type call struct {
	key    *store.APIKey
	tenant *store.Tenant
	actor  events.Actor
}

func (c *call) platform() bool { return c.key != nil && c.key.Tenant == store.PlatformTenant }

var (
	errUnauthenticated = httpx.NewProblem(http.StatusUnauthorized, "unauthenticated", "Unauthenticated",
		"Send a valid API key as a Bearer token.")
	errForbidden = httpx.NewProblem(http.StatusForbidden, "forbidden", "Forbidden",
		"This API key's scopes do not allow this request.")
	errPlatformOnly = httpx.NewProblem(http.StatusForbidden, "forbidden", "Forbidden",
		"This request needs a platform API key.")
)

// authorize checks the bearer key against the route. A tenant key naming
// another tenant gets 404: other tenants do not exist from where it stands.
func (a *API) authorize(r *http.Request, rt route) (*call, error) {
	c := &call{actor: events.Actor{ClientIP: httpx.ClientIP(r), RequestID: httpx.RequestID(r.Context())}}
	if rt.need == needPublic {
		return c, nil
	}
	token, ok := httpx.BearerToken(r)
	if !ok {
		return nil, errUnauthenticated
	}
	key, err := a.Tenants.AuthenticateAPIKey(r.Context(), token)
	if errors.Is(err, tenancy.ErrBadToken) {
		return nil, errUnauthenticated
	}
	if err != nil {
		return nil, err
	}
	c.key = key
	c.actor.Type, c.actor.ID = "apikey", key.ID
	get := r.Method == http.MethodGet || r.Method == http.MethodHead
	has := func(scopes ...string) bool {
		for _, s := range scopes {
			if slices.Contains(key.Scopes, s) {
				return true
			}
		}
		return false
	}
	// The tenant first: a platform-only route under another tenant's path
	// (DELETE tenant) is 404 too, like every other tenant route.
	if ref := r.PathValue("tenant"); ref != "" {
		t, err := a.Tenants.Resolve(r.Context(), ref)
		if err != nil {
			return nil, err // ErrNotFound -> 404
		}
		if !c.platform() && t.ID != key.Tenant {
			return nil, store.ErrNotFound
		}
		// A tenant's own keys find a deleted tenant gone, and a
		// suspended one read-only; platform keys manage both.
		if !c.platform() && t.Status == store.TenantDeleted {
			return nil, store.ErrNotFound
		}
		if !c.platform() && t.Status == store.TenantSuspended && !get && rt.need != needQuery {
			return nil, errSuspended
		}
		c.tenant = t
	}
	if rt.need == needPlatform && !c.platform() {
		return nil, errPlatformOnly
	}
	switch {
	case rt.need == needPlatform:
		if !has(tenancy.ScopeAdmin) && !(get && has(tenancy.ScopeRead)) {
			return nil, errForbidden
		}
	case has(tenancy.ScopeAdmin):
	case rt.need == needRead && get && has(tenancy.ScopeRead):
	case rt.need == needAudit && get && has(tenancy.ScopeAuditRead):
	case rt.need == needQuery && has(tenancy.ScopeRead):
	default:
		return nil, errForbidden
	}
	return c, nil
}
