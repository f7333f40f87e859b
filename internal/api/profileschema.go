package api

import (
	"net/http"

	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/profileschema"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
)

// getProfileSchema answers the tenant's profile schema ({"fields":[]}
// when it has none).
func (a *API) getProfileSchema(w http.ResponseWriter, r *http.Request, c *call) error {
	sc, err := tenancy.ProfileSchemaOf(c.tenant)
	if err != nil {
		return err
	}
	if sc.Fields == nil {
		sc.Fields = []profileschema.Field{}
	}
	httpx.WriteJSON(w, http.StatusOK, sc)
	return nil
}

// putProfileSchema replaces the schema; a problem names the field
// (fields[2].type).
func (a *API) putProfileSchema(w http.ResponseWriter, r *http.Request, c *call) error {
	var in profileschema.Schema
	if err := a.decode(w, r, &in); err != nil {
		return err
	}
	sc, err := a.Tenants.SetProfileSchema(r.Context(), c.actor, c.tenant.ID, in)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, sc)
	return nil
}
