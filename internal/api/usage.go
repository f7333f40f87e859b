package api

import (
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

type planOut struct {
	Name      string           `json:"name"`
	Limits    store.PlanLimits `json:"limits"`
	Overage   string           `json:"overage"`
	CreatedAt time.Time        `json:"created_at"`
	UpdatedAt time.Time        `json:"updated_at"`
}

func planJSON(p *store.Plan) planOut {
	return planOut{p.Name, p.Limits, p.Overage, p.CreatedAt, p.UpdatedAt}
}

func (a *API) listPlans(w http.ResponseWriter, r *http.Request, c *call) error {
	ps, err := a.Tenants.ListPlans(r.Context())
	if err != nil {
		return err
	}
	out := list[planOut]{Items: make([]planOut, 0, len(ps))}
	for i := range ps {
		out.Items = append(out.Items, planJSON(&ps[i]))
	}
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) createPlan(w http.ResponseWriter, r *http.Request, c *call) error {
	var in tenancy.PlanInput
	if err := a.decode(w, r, &in); err != nil {
		return err
	}
	p, err := a.Tenants.CreatePlan(r.Context(), c.actor, in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/plans/"+p.Name)
	httpx.WriteJSON(w, http.StatusCreated, planJSON(p))
	return nil
}

func (a *API) getPlan(w http.ResponseWriter, r *http.Request, c *call) error {
	p, err := a.Tenants.GetPlan(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, planJSON(p))
	return nil
}

func (a *API) updatePlan(w http.ResponseWriter, r *http.Request, c *call) error {
	var in tenancy.PlanInput
	if err := a.decode(w, r, &in); err != nil {
		return err
	}
	p, err := a.Tenants.UpdatePlan(r.Context(), c.actor, r.PathValue("name"), in)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, planJSON(p))
	return nil
}

func (a *API) deletePlan(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := a.Tenants.DeletePlan(r.Context(), c.actor, r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// usageOut is a tenant's usage in a month, the shape billing reads.
type usageOut struct {
	Tenant         store.TenantID   `json:"tenant_id,omitempty"`
	Slug           string           `json:"tenant_slug,omitempty"`
	Month          string           `json:"month"`
	MAU            int64            `json:"mau"`
	Logins         loginsOut        `json:"logins"`
	Signups        int64            `json:"signups"`
	Tokens         map[string]int64 `json:"tokens"`
	APICalls       int64            `json:"api_calls"`
	SAMLAssertions int64            `json:"saml_assertions"`
	Mails          int64            `json:"mails"`
}

type loginsOut struct {
	Succeeded int64 `json:"succeeded"`
	Failed    int64 `json:"failed"`
}

// UsageJSON shapes u; withTenant adds the tenant's id and slug (lists).
func UsageJSON(u *store.TenantUsage, withTenant bool) usageOut {
	out := usageOut{Month: u.Month, MAU: u.MAU, Tokens: map[string]int64{},
		Logins:         loginsOut{u.Counters[store.MetricLoginsSucceeded], u.Counters[store.MetricLoginsFailed]},
		Signups:        u.Counters[store.MetricSignups],
		APICalls:       u.Counters[store.MetricAPICalls],
		SAMLAssertions: u.Counters[store.MetricSAMLAssertions],
		Mails:          u.Counters[store.MetricMails],
	}
	for k, n := range u.Counters {
		if g, ok := strings.CutPrefix(k, store.MetricTokensPrefix); ok {
			out.Tokens[g] = n
		}
	}
	if withTenant {
		out.Tenant, out.Slug = u.Tenant, u.Slug
	}
	return out
}

// month reads ?month=YYYY-MM; absent, the current month.
func (a *API) month(r *http.Request) (string, error) {
	m := r.URL.Query().Get("month")
	if m == "" {
		return tenancy.Month(a.Now()), nil
	}
	if _, err := time.Parse("2006-01", m); err != nil || len(m) != 7 {
		var c valid.Collector
		c.Add("month", "invalid", "A month is written YYYY-MM.")
		return "", c.Err()
	}
	return m, nil
}

func (a *API) getUsage(w http.ResponseWriter, r *http.Request, c *call) error {
	m, err := a.month(r)
	if err != nil {
		return err
	}
	a.Meter.FlushQuietly(r.Context())
	u, err := a.Tenants.Store.Usage().GetUsage(r.Context(), c.tenant.ID, m)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, UsageJSON(u, false))
	return nil
}

func (a *API) listUsage(w http.ResponseWriter, r *http.Request, c *call) error {
	m, err := a.month(r)
	if err != nil {
		return err
	}
	a.Meter.FlushQuietly(r.Context())
	us, err := a.Tenants.Store.Usage().ListUsage(r.Context(), m)
	if err != nil {
		return err
	}
	out := list[usageOut]{Items: make([]usageOut, 0, len(us))}
	for i := range us {
		out.Items = append(out.Items, UsageJSON(&us[i], true))
	}
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}
