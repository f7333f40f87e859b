package api

import (
	"net/http"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/oauthclient"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// RFC 9396 authorization details types of a tenant (oauthclient/rar.go).

type detailTypeOut struct {
	Type        string    `json:"type"`
	Description string    `json:"description"`
	Schema      any       `json:"schema"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

func detailTypeJSON(t *store.AuthorizationDetailType) detailTypeOut {
	return detailTypeOut{Type: t.Type, Description: t.Description, Schema: rawJSON(t.Schema), CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt}
}

type rawJSON []byte

func (r rawJSON) MarshalJSON() ([]byte, error) { return r, nil }

func (a *API) listDetailTypes(w http.ResponseWriter, r *http.Request, c *call) error {
	ts, err := a.Clients.ListDetailTypes(r.Context(), c.tenant.ID)
	if err != nil {
		return err
	}
	out := make([]detailTypeOut, 0, len(ts))
	for i := range ts {
		out = append(out, detailTypeJSON(&ts[i]))
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"items": out})
	return nil
}

func (a *API) putDetailType(w http.ResponseWriter, r *http.Request, c *call) error {
	var in oauthclient.DetailType
	if err := a.decode(w, r, &in); err != nil {
		return err
	}
	t, err := a.Clients.PutDetailType(r.Context(), c.actor, c.tenant.ID, r.PathValue("type"), in)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, detailTypeJSON(t))
	return nil
}

func (a *API) deleteDetailType(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := a.Clients.DeleteDetailType(r.Context(), c.actor, c.tenant.ID, r.PathValue("type")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
