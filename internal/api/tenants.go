package api

import (
	"encoding/json"
	"errors"
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
	Status    string          `json:"status"`
	PurgeAt   *time.Time      `json:"purge_at,omitempty"`
	Version   int64           `json:"version"`
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
	Plan      string          `json:"plan,omitempty"`
}

func tenantJSON(t *store.Tenant) tenantOut {
	st := t.Status
	if st == "" {
		st = store.TenantActive
	}
	return tenantOut{t.ID, t.Slug, t.Name, t.Settings, string(st), t.PurgeAt, t.Version, t.CreatedAt, t.UpdatedAt, ""}
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
	// A tenant's own key cannot suspend it (it could not resume it), nor
	// move it to another plan (plans are what the operator bills).
	if (in.Status != nil || in.Plan != nil) && !c.platform() {
		return errPlatformOnly
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

// restoreTenant brings a deleted tenant back before its purge.
func (a *API) restoreTenant(w http.ResponseWriter, r *http.Request, c *call) error {
	t, err := a.Tenants.RestoreTenant(r.Context(), c.actor, c.tenant.ID)
	if errors.Is(err, tenancy.ErrNotDeleted) {
		return errNotDeleted
	}
	if err != nil {
		return err
	}
	writeVersioned(w, http.StatusOK, t.Version, tenantJSON(t))
	return nil
}

var (
	errNotDeleted = httpx.NewProblem(http.StatusConflict, "conflict", "Conflict",
		"The tenant is not deleted: there is nothing to restore.")
	errSuspended = httpx.NewProblem(http.StatusForbidden, "tenant-suspended", "Tenant suspended",
		"The tenant is suspended: its API keys may read but not change anything.")
)
