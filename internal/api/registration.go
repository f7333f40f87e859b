package api

import (
	"net/http"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/httpx"
)

// registrationTokenIn is the body of POST .../registration-tokens: an
// initial access token for dynamic client registration (RFC 7591 3).
type registrationTokenIn struct {
	MaxUses   int   `json:"max_uses"`
	ExpiresIn int64 `json:"expires_in"`
}

type registrationTokenOut struct {
	ID        string    `json:"id"`
	Token     string    `json:"token"`
	MaxUses   int       `json:"max_uses"`
	ExpiresAt time.Time `json:"expires_at"`
}

// createRegistrationToken mints an initial access token, shown this once
// and stored as a hash; its uses are counted in the database.
func (a *API) createRegistrationToken(w http.ResponseWriter, r *http.Request, c *call) error {
	in := registrationTokenIn{MaxUses: 1, ExpiresIn: 86400}
	if err := a.decode(w, r, &in); err != nil {
		return err
	}
	tok, rt, err := a.Clients.CreateRegistrationToken(r.Context(), c.actor, c.tenant.ID, in.MaxUses,
		time.Duration(in.ExpiresIn)*time.Second)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, registrationTokenOut{ID: rt.ID, Token: tok, MaxUses: rt.MaxUses, ExpiresAt: rt.ExpiresAt})
	return nil
}
