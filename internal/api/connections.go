package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/connection"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// connectionOut is a connection as the API shows it: its effective
// settings (presets filled in), whether it has a secret, never the secret.
type connectionOut struct {
	ID          string `json:"id"`
	Type        string `json:"type"`
	Name        string `json:"name"`
	DisplayName string `json:"display_name"`
	Enabled     bool   `json:"enabled"`
	connection.Settings
	HasSecret   bool      `json:"has_secret"`
	CallbackURL string    `json:"callback_url"`
	Version     int64     `json:"version"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

func (a *API) connectionJSON(t *store.Tenant) func(c *store.Connection) connectionOut {
	return func(c *store.Connection) connectionOut {
		st, _ := connection.SettingsOf(c)
		if st.Scopes == nil {
			st.Scopes = []string{}
		}
		return connectionOut{ID: c.ID, Type: c.Type, Name: c.Name, DisplayName: c.DisplayName, Enabled: c.Enabled,
			Settings: st, HasSecret: len(c.SealedSecret) > 0,
			CallbackURL: a.PublicURL + "/t/" + t.Slug + "/connections/" + c.Name + "/callback",
			Version:     c.Version, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
	}
}

func connectionID(c *store.Connection) string { return c.ID }

func connectionVersion(c *store.Connection) int64 { return c.Version }

func (a *API) listConnections(w http.ResponseWriter, r *http.Request, c *call) error {
	p, err := page(r)
	if err != nil {
		return err
	}
	cs, err := a.Connections.List(r.Context(), c.tenant.ID, p)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, makeList(p, cs, connectionID, a.connectionJSON(c.tenant)))
	return nil
}

func (a *API) createConnection(w http.ResponseWriter, r *http.Request, c *call) error {
	var in connection.NewConnection
	if err := a.decode(w, r, &in); err != nil {
		return err
	}
	if err := a.Tenants.CheckQuota(r.Context(), c.tenant.ID, store.OwnedConnections); err != nil {
		return err
	}
	conn, err := a.Connections.Create(r.Context(), c.actor, c.tenant.ID, in)
	if err != nil {
		return err
	}
	writeCreated(w, "/api/v1/tenants/"+c.tenant.Slug+"/connections/"+conn.ID, conn.Version, a.connectionJSON(c.tenant)(conn))
	return nil
}

func (a *API) getConnection(w http.ResponseWriter, r *http.Request, c *call) error {
	return getByID(w, r, c, a.Connections.Get, connectionVersion, a.connectionJSON(c.tenant))
}

func (a *API) updateConnection(w http.ResponseWriter, r *http.Request, c *call) error {
	return patchByID(a, w, r, c, a.Connections.Update, connectionVersion, a.connectionJSON(c.tenant))
}

func (a *API) deleteConnection(w http.ResponseWriter, r *http.Request, c *call) error {
	return deleteByID(w, r, c, a.Connections.Delete)
}

// listIdentities: the identities a user linked, with their connections.
func (a *API) listIdentities(w http.ResponseWriter, r *http.Request, c *call) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	ids, err := a.Connections.Identities(r.Context(), c.tenant.ID, id)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"items": ids})
	return nil
}

// unlinkIdentity removes a linked identity, unless it is the user's last
// way to sign in (409).
func (a *API) unlinkIdentity(w http.ResponseWriter, r *http.Request, c *call) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	ident, err := pathID(r, "identity")
	if err != nil {
		return err
	}
	err = a.Connections.Unlink(r.Context(), c.actor, c.tenant.ID, id, ident)
	if errors.Is(err, connection.ErrLastMethod) {
		return httpx.NewProblem(http.StatusConflict, "last-sign-in-method", "Last sign-in method",
			"This identity is the user's only way to sign in: set a password or link another identity first.")
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
