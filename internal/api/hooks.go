package api

import (
	"net/http"
	"slices"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/hooks"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// hookOut is a synchronous hook as the API shows it; Secret only in the
// answer to its creation.
type hookOut struct {
	ID            string    `json:"id"`
	Trigger       string    `json:"trigger"`
	URL           string    `json:"url"`
	TimeoutMS     int       `json:"timeout_ms"`
	OnFailure     string    `json:"on_failure"`
	AllowedClaims []string  `json:"allowed_claims"`
	Secret        string    `json:"secret,omitempty"`
	Version       int64     `json:"version"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

func hookJSON(h *store.Hook) hookOut {
	claims := slices.Clone(h.AllowedClaims)
	if claims == nil {
		claims = []string{}
	}
	return hookOut{ID: h.ID, Trigger: h.Trigger, URL: h.URL, TimeoutMS: h.TimeoutMS, OnFailure: h.OnFailure,
		AllowedClaims: claims, Version: h.Version, CreatedAt: h.CreatedAt, UpdatedAt: h.UpdatedAt}
}

func hookID(h *store.Hook) string { return h.ID }

func hookVersion(h *store.Hook) int64 { return h.Version }

func (a *API) listHooks(w http.ResponseWriter, r *http.Request, c *call) error {
	p, err := page(r)
	if err != nil {
		return err
	}
	hs, err := a.Hooks.List(r.Context(), c.tenant.ID, p)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, makeList(p, hs, hookID, hookJSON))
	return nil
}

// createHook answers the hook with its signing secret, shown only here.
func (a *API) createHook(w http.ResponseWriter, r *http.Request, c *call) error {
	var in hooks.NewHook
	if err := a.decode(w, r, &in); err != nil {
		return err
	}
	h, secret, err := a.Hooks.Create(r.Context(), c.actor, c.tenant.ID, in)
	if err != nil {
		return err
	}
	out := hookJSON(h)
	out.Secret = secret
	w.Header().Set("Cache-Control", "no-store")
	writeCreated(w, "/api/v1/tenants/"+c.tenant.Slug+"/hooks/"+h.ID, h.Version, out)
	return nil
}

func (a *API) getHook(w http.ResponseWriter, r *http.Request, c *call) error {
	return getByID(w, r, c, a.Hooks.Get, hookVersion, hookJSON)
}

func (a *API) updateHook(w http.ResponseWriter, r *http.Request, c *call) error {
	return patchByID(a, w, r, c, a.Hooks.Update, hookVersion, hookJSON)
}

func (a *API) deleteHook(w http.ResponseWriter, r *http.Request, c *call) error {
	return deleteByID(w, r, c, a.Hooks.Delete)
}
