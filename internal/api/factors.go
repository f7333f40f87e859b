package api

import (
	"net/http"

	"github.com/gatehouse-id/gatehouse/internal/httpx"
)

// listFactors answers a user's second factors (never their secrets) and
// how many recovery codes are left.
func (a *API) listFactors(w http.ResponseWriter, r *http.Request, c *call) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if _, err := a.Directory.GetUser(r.Context(), c.tenant.ID, id); err != nil {
		return err
	}
	s, err := a.MFA.List(r.Context(), c.tenant.ID, id)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, s)
	return nil
}

// resetFactors removes every factor and recovery code of the user (a lost
// phone); audited as mfa.reset. The user logs in with a password again
// and, where policy requires, enrols anew.
func (a *API) resetFactors(w http.ResponseWriter, r *http.Request, c *call) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if _, err := a.Directory.GetUser(r.Context(), c.tenant.ID, id); err != nil {
		return err
	}
	if _, err := a.MFA.Reset(r.Context(), c.actor, c.tenant.ID, id); err != nil {
		return err
	}
	// A credential reset: every session and grant of the user ends.
	if err := a.Sessions.EndAll(r.Context(), c.tenant.ID, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
