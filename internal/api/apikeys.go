package api

import (
	"net/http"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
)

type keyOut struct {
	ID         string     `json:"id"`
	Name       string     `json:"name,omitempty"`
	Scopes     []string   `json:"scopes"`
	Hint       string     `json:"hint"`
	Platform   bool       `json:"platform"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	// Token is present only in the answer to the request that created it.
	Token string `json:"token,omitempty"`
}

func keyJSON(k *store.APIKey) keyOut {
	return keyOut{ID: k.ID, Name: k.Name, Scopes: k.Scopes, Hint: k.Hint,
		Platform: k.Tenant == store.PlatformTenant, CreatedAt: k.CreatedAt,
		ExpiresAt: k.ExpiresAt, RevokedAt: k.RevokedAt, LastUsedAt: k.LastUsedAt}
}

// keyTenant is the tenant whose keys a request manages.
func keyTenant(c *call) store.TenantID {
	if c.tenant != nil {
		return c.tenant.ID
	}
	return store.PlatformTenant
}

func (a *API) listKeys(w http.ResponseWriter, r *http.Request, c *call) error {
	ks, err := a.Tenants.ListAPIKeys(r.Context(), keyTenant(c))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, makeList(store.Page{Limit: len(ks) + 1}, ks,
		func(k *store.APIKey) string { return k.ID }, keyJSON))
	return nil
}

func (a *API) createKey(w http.ResponseWriter, r *http.Request, c *call) error {
	var in tenancy.NewAPIKey
	if err := a.decode(w, r, &in); err != nil {
		return err
	}
	k, token, err := a.Tenants.CreateAPIKey(r.Context(), c.actor, keyTenant(c), in)
	if err != nil {
		return err
	}
	out := keyJSON(k)
	out.Token = token
	httpx.WriteJSON(w, http.StatusCreated, out)
	return nil
}

// expireIn is the body of PATCH .../apikeys/{id}: when the key stops working.
type expireIn struct {
	ExpiresAt *time.Time `json:"expires_at"`
}

func (a *API) expireKey(w http.ResponseWriter, r *http.Request, c *call) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in expireIn
	if err := a.decode(w, r, &in); err != nil {
		return err
	}
	k, err := a.Tenants.ExpireAPIKey(r.Context(), c.actor, keyTenant(c), id, in.ExpiresAt)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, keyJSON(k))
	return nil
}

func (a *API) revokeKey(w http.ResponseWriter, r *http.Request, c *call) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if _, err := a.Tenants.RevokeAPIKey(r.Context(), c.actor, keyTenant(c), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
