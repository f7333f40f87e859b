package api

import (
	"net/http"

	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/selfservice"
)

// createInvitation: POST .../invitations creates the user and mails the
// link that leads to choosing a password.
func (a *API) createInvitation(w http.ResponseWriter, r *http.Request, c *call) error {
	var in selfservice.NewInvitation
	if err := a.decode(w, r, &in); err != nil {
		return err
	}
	inv, err := a.SelfService.Invite(r.Context(), c.actor, c.tenant, in)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, inv)
	return nil
}
