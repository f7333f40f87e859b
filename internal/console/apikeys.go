package console

import (
	"net/http"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
)

// The API keys page: the tenant's management API keys (hint, scopes,
// created, last used, expiry, revoked), a new key whose token is shown on
// the answer of its creation only, and revocation; all through
// tenancy's key rules and audit, with the admin permission of
// .../apikeys.

func init() {
	register(func(c *Console) []Page {
		return []Page{
			{Method: "GET", Path: "/apikeys", Perm: authz.PermAdmin, Nav: "console2.nav.apikeys", Order: 85, Handle: c.apiKeysList},
			{Method: "POST", Path: "/apikeys", Perm: authz.PermAdmin, Handle: c.apiKeyCreate},
			{Method: "POST", Path: "/apikeys/{id}/revoke", Perm: authz.PermAdmin, Handle: c.apiKeyRevoke},
		}
	})
}

var apiKeysTmpl = parse("apikeys.html")

// keyScopes are the scopes a tenant key may hold, in the form's order.
var keyScopes = []string{tenancy.ScopeRead, tenancy.ScopeAdmin, tenancy.ScopeAuditRead, tenancy.ScopeSCIM, tenancy.ScopeSSF}

type apiKeysData struct {
	Keys   []store.APIKey
	Scopes []string
	// Name and Chosen are the refused form's input; Token the new key's
	// token, on the answer of its creation only.
	Name   string
	Chosen map[string]bool
	Token  string
}

func (c *Console) apiKeysData(rq *Request) (apiKeysData, error) {
	ks, err := c.Tenants.ListAPIKeys(rq.Context(), rq.Tenant.ID)
	return apiKeysData{Keys: ks, Scopes: keyScopes, Chosen: map[string]bool{}}, err
}

// apiKeysList: GET /apikeys.
func (c *Console) apiKeysList(w http.ResponseWriter, r *http.Request, rq *Request) error {
	d, err := c.apiKeysData(rq)
	if err != nil {
		return err
	}
	return rq.Render(w, http.StatusOK, apiKeysTmpl, "console2.apikeys.title", d)
}

// apiKeyCreate: POST /apikeys answers the page with the token, once.
func (c *Console) apiKeyCreate(w http.ResponseWriter, r *http.Request, rq *Request) error {
	in := tenancy.NewAPIKey{Name: strings.TrimSpace(r.PostForm.Get("name")), Scopes: r.PostForm["scopes"]}
	_, token, err := c.Tenants.CreateAPIKey(rq.Context(), rq.Actor, rq.Tenant.ID, in)
	d, lerr := c.apiKeysData(rq)
	if lerr != nil {
		return lerr
	}
	if err != nil {
		d.Name = in.Name
		for _, s := range in.Scopes {
			d.Chosen[s] = true
		}
		return rq.RenderForm(w, http.StatusBadRequest, apiKeysTmpl, "console2.apikeys.title", d, err)
	}
	d.Token = token
	return rq.Render(w, http.StatusOK, apiKeysTmpl, "console2.apikeys.title", d)
}

// apiKeyRevoke: POST /apikeys/{id}/revoke.
func (c *Console) apiKeyRevoke(w http.ResponseWriter, r *http.Request, rq *Request) error {
	if _, err := c.Tenants.RevokeAPIKey(rq.Context(), rq.Actor, rq.Tenant.ID, r.PathValue("id")); err != nil {
		return err
	}
	return rq.Redirect(w, "/apikeys", "console2.apikeys.revoked")
}
