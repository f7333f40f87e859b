package api

import (
	"net/http"

	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/notice"
)

// createAnnouncement: POST .../announcements publishes an announcement
// and, with the email channel, queues its mails at the sending rate.
func (a *API) createAnnouncement(w http.ResponseWriter, r *http.Request, c *call) error {
	var in notice.NewAnnouncement
	if err := a.decode(w, r, &in); err != nil {
		return err
	}
	v, err := a.Announcer.Create(r.Context(), c.actor, c.tenant.ID, in)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, v)
	return nil
}

func (a *API) listAnnouncements(w http.ResponseWriter, r *http.Request, c *call) error {
	list, err := a.Announcer.List(r.Context(), c.tenant.ID)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"items": list})
	return nil
}

func (a *API) getAnnouncement(w http.ResponseWriter, r *http.Request, c *call) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	v, err := a.Announcer.Get(r.Context(), c.tenant.ID, id)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, v)
	return nil
}

func (a *API) deleteAnnouncement(w http.ResponseWriter, r *http.Request, c *call) error {
	return deleteByID(w, r, c, a.Announcer.Delete)
}

// getAdoption: GET .../adoption counts MFA and passkey adoption and the
// uptake of passkey offers.
func (a *API) getAdoption(w http.ResponseWriter, r *http.Request, c *call) error {
	ad, err := a.Announcer.Adoption(r.Context(), c.tenant.ID)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, ad)
	return nil
}
