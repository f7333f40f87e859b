package api

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
)

type tenantOut struct {
	ID        store.TenantID  `json:"id"`
	Slug      string          `json:"slug"`
	Name      string          `json:"name"`
	Settings  json.RawMessage `json:"settings"`
	Version   int64           `json:"version"`
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
	Plan      string          `json:"plan,omitempty"`
}

func tenantJSON(t *store.Tenant) tenantOut {
	return tenantOut{t.ID, t.Slug, t.Name, t.Settings, t.Version, t.CreatedAt, t.UpdatedAt, ""}
}

// tenantWithPlan adds the tenant's plan to its JSON.
func (a *API) tenantWithPlan(r *http.Request) func(t *store.Tenant) tenantOut {
	return func(t *store.Tenant) tenantOut {
		out := tenantJSON(t)
		plan, err := a.Tenants.Store.Usage().TenantPlan(r.Context(), t.ID)
		if err != nil {
			a.Log.WarnContext(r.Context(), "api: tenant plan not read", "err", err)
		}
		out.Plan = plan
		return out
	}
}

func (a *API) listTenants(w http.ResponseWriter, r *http.Request, c *call) error {
	p, err := page(r)
	if err != nil {
		return err
	}
	ts, err := a.Tenants.ListTenants(r.Context(), p)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, makeList(p, ts, func(t *store.Tenant) string { return string(t.ID) }, a.tenantWithPlan(r)))
	return nil
}

func (a *API) createTenant(w http.ResponseWriter, r *http.Request, c *call) error {
	var in tenancy.NewTenant
	if err := a.decode(w, r, &in); err != nil {
		return err
	}
	t, err := a.Tenants.CreateTenant(r.Context(), c.actor, in)
	if err != nil {
		return err
	}
	writeCreated(w, "/api/v1/tenants/"+t.Slug, t.Version, a.tenantWithPlan(r)(t))
	return nil
}

func (a *API) getTenant(w http.ResponseWriter, r *http.Request, c *call) error {
	writeVersioned(w, http.StatusOK, c.tenant.Version, a.tenantWithPlan(r)(c.tenant))
	return nil
}

func (a *API) updateTenant(w http.ResponseWriter, r *http.Request, c *call) error {
	version, err := ifMatch(r)
	if err != nil {
		return err
	}
	var in tenancy.TenantPatch
	if err := a.decode(w, r, &in); err != nil {
		return err
	}
	t, err := a.Tenants.UpdateTenant(r.Context(), c.actor, c.tenant.ID, version, in)
	if err != nil {
		return err
	}
	writeVersioned(w, http.StatusOK, t.Version, a.tenantWithPlan(r)(t))
	return nil
}

func (a *API) deleteTenant(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := a.Tenants.DeleteTenant(r.Context(), c.actor, c.tenant.ID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
