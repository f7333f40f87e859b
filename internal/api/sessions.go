package api

import (
	"errors"
	"net/http"
	"regexp"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/session"
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

// consentOut is a user's remembered grant to a third-party client.
type consentOut struct {
	ClientID  string    `json:"client_id"`
	Scopes    []string  `json:"scopes"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func (a *API) listConsents(w http.ResponseWriter, r *http.Request, c *call) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if _, err := a.Directory.GetUser(r.Context(), c.tenant.ID, id); err != nil {
		return err
	}
	cs, err := a.Sessions.Store.OAuth().Consents().ListConsents(r.Context(), c.tenant.ID, id)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, makeList(store.Page{Limit: len(cs) + 1}, cs,
		func(x *store.Consent) string { return x.ClientID },
		func(x *store.Consent) consentOut { return consentOut{x.ClientID, x.Scopes, x.CreatedAt, x.UpdatedAt} }))
	return nil
}

// revokeConsent forgets the user's grant to a client: the next sign-in asks
// again. It answers 204 whether or not there was a grant.
func (a *API) revokeConsent(w http.ResponseWriter, r *http.Request, c *call) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	clientID, err := pathID(r, "client")
	if err != nil {
		return err
	}
	if _, err := a.Directory.GetUser(r.Context(), c.tenant.ID, id); err != nil {
		return err
	}
	if _, err := a.Clients.GetClient(r.Context(), c.tenant.ID, clientID); err != nil {
		return err
	}
	err = a.Sessions.Store.OAuth().Consents().DeleteConsent(r.Context(), c.tenant.ID, id, clientID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// grantOut is a user's live grant: a refresh family a client keeps using
// without the user present (device, offline) or under a session.
type grantOut struct {
	ID         string    `json:"id"`
	ClientID   string    `json:"client_id"`
	Kind       string    `json:"kind"`
	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"last_used_at"`
}

// grantIDRE matches the ids grants have: an authorization request's id or
// a device code's family name.
var grantIDRE = regexp.MustCompile(`^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|dc_[0-9a-f]{32})$`)

func (a *API) listGrants(w http.ResponseWriter, r *http.Request, c *call) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if _, err := a.Directory.GetUser(r.Context(), c.tenant.ID, id); err != nil {
		return err
	}
	gs, err := a.Sessions.Grants(r.Context(), c.tenant.ID, id)
	if err != nil {
		return err
	}
	out := list[grantOut]{Items: make([]grantOut, 0, len(gs))}
	for i := range gs {
		g := &gs[i]
		out.Items = append(out.Items, grantOut{ID: g.ID, ClientID: g.ClientID, Kind: session.GrantKind(g),
			CreatedAt: g.CreatedAt, LastUsedAt: g.LastUsedAt})
	}
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}

// revokeGrant revokes one grant of the user and every token of it.
func (a *API) revokeGrant(w http.ResponseWriter, r *http.Request, c *call) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	gid := r.PathValue("grant_id")
	if !grantIDRE.MatchString(gid) {
		return store.ErrNotFound
	}
	if err := a.Sessions.RevokeGrant(r.Context(), c.actor, c.tenant.ID, id, gid); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
