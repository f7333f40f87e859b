package api

import (
	"net/http"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/proxyapp"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Applications behind a reverse proxy (forward authentication).

type proxyAppOut struct {
	ID              string            `json:"id"`
	Name            string            `json:"name"`
	Domains         []string          `json:"domains"`
	AllowedGroups   []string          `json:"allowed_groups"`
	AllowedRoles    []string          `json:"allowed_roles"`
	Headers         map[string]string `json:"headers"`
	SessionLifetime string            `json:"session_lifetime"`
	MFA             string            `json:"mfa"`
	Version         int64             `json:"version"`
	CreatedAt       time.Time         `json:"created_at"`
	UpdatedAt       time.Time         `json:"updated_at"`
}

func orEmpty(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

func proxyAppJSON(a *store.ProxyApp) proxyAppOut {
	h := a.Headers
	if h == nil {
		h = map[string]string{}
	}
	return proxyAppOut{ID: a.ID, Name: a.Name, Domains: orEmpty(a.Domains), AllowedGroups: orEmpty(a.AllowedGroups),
		AllowedRoles: orEmpty(a.AllowedRoles), Headers: h, SessionLifetime: a.SessionLifetime.String(), MFA: a.MFA,
		Version: a.Version, CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt}
}

func proxyAppID(a *store.ProxyApp) string { return a.ID }

func proxyAppVersion(a *store.ProxyApp) int64 { return a.Version }

func (a *API) listProxyApps(w http.ResponseWriter, r *http.Request, c *call) error {
	p, err := page(r)
	if err != nil {
		return err
	}
	as, err := a.ProxyApps.List(r.Context(), c.tenant.ID, p)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, makeList(p, as, proxyAppID, proxyAppJSON))
	return nil
}

func (a *API) createProxyApp(w http.ResponseWriter, r *http.Request, c *call) error {
	var in proxyapp.NewApp
	if err := a.decode(w, r, &in); err != nil {
		return err
	}
	app, err := a.ProxyApps.Create(r.Context(), c.actor, c.tenant.ID, in)
	if err != nil {
		return err
	}
	writeCreated(w, "/api/v1/tenants/"+c.tenant.Slug+"/proxy-apps/"+app.ID, app.Version, proxyAppJSON(app))
	return nil
}

func (a *API) getProxyApp(w http.ResponseWriter, r *http.Request, c *call) error {
	return getByID(w, r, c, a.ProxyApps.Get, proxyAppVersion, proxyAppJSON)
}

func (a *API) updateProxyApp(w http.ResponseWriter, r *http.Request, c *call) error {
	return patchByID(a, w, r, c, a.ProxyApps.Update, proxyAppVersion, proxyAppJSON)
}

func (a *API) deleteProxyApp(w http.ResponseWriter, r *http.Request, c *call) error {
	return deleteByID(w, r, c, a.ProxyApps.Delete)
}
