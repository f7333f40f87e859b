package api

import (
	"net/http"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// sessionOut is a browser session as the API shows it: never its token.
type sessionOut struct {
	ID         string    `json:"id"`
	AuthTime   time.Time `json:"auth_time"`
	AMR        []string  `json:"amr"`
	UserAgent  string    `json:"user_agent,omitempty"`
	IP         string    `json:"ip,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	Clients    []string  `json:"clients"`
}

func sessionJSON(s *store.Session) sessionOut {
	clients := s.Clients
	if clients == nil {
		clients = []string{}
	}
	return sessionOut{ID: s.ID, AuthTime: s.AuthTime, AMR: s.AMR, UserAgent: s.UserAgent, IP: s.IP,
		CreatedAt: s.CreatedAt, LastSeenAt: s.LastSeenAt, ExpiresAt: s.ExpiresAt, Clients: clients}
}

func (a *API) listSessions(w http.ResponseWriter, r *http.Request, c *call) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if _, err := a.Directory.GetUser(r.Context(), c.tenant.ID, id); err != nil {
		return err
	}
	ss, err := a.Sessions.List(r.Context(), c.tenant.ID, id)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, makeList(store.Page{Limit: len(ss) + 1}, ss,
		func(s *store.Session) string { return s.ID }, sessionJSON))
	return nil
}

// endSessions signs the user out everywhere: every session and the tokens
// issued under them are revoked, and back-channel clients are told.
func (a *API) endSessions(w http.ResponseWriter, r *http.Request, c *call) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if _, err := a.Directory.GetUser(r.Context(), c.tenant.ID, id); err != nil {
		return err
	}
	if err := a.Sessions.EndAll(r.Context(), c.tenant.ID, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
