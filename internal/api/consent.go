package api

import (
	"errors"
	"net"
	"net/http"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/consent"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// Consent purposes, users' consent records and communication preferences
// (internal/consent). The user's OAuth grants to applications stay at
// .../users/{id}/consents (sessions.go).

// createPurpose: POST .../consent-purposes stores a purpose or a new
// version of one (asked at each user's next sign-in); the same name and
// version again is 409.
func (a *API) createPurpose(w http.ResponseWriter, r *http.Request, c *call) error {
	var in consent.NewPurpose
	if err := a.decode(w, r, &in); err != nil {
		return err
	}
	p, err := a.Consent.CreatePurpose(r.Context(), c.actor, c.tenant.ID, in)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, p)
	return nil
}

// listPurposes: GET .../consent-purposes answers the newest version of
// each purpose; ?all=true every version.
func (a *API) listPurposes(w http.ResponseWriter, r *http.Request, c *call) error {
	all := false
	switch r.URL.Query().Get("all") {
	case "", "false":
	case "true":
		all = true
	default:
		return valid.Field("all", "invalid", "all is true or false.")
	}
	ps, err := a.Consent.ListPurposes(r.Context(), c.tenant.ID, all)
	if err != nil {
		return err
	}
	if ps == nil {
		ps = []consent.Purpose{}
	}
	httpx.WriteJSON(w, http.StatusOK, list[consent.Purpose]{Items: ps})
	return nil
}

// getPurpose: GET .../consent-purposes/{name} answers the newest version
// with every version.
func (a *API) getPurpose(w http.ResponseWriter, r *http.Request, c *call) error {
	p, err := a.Consent.GetPurpose(r.Context(), c.tenant.ID, r.PathValue("name"))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, p)
	return nil
}

// listConsentRecords: GET .../users/{id}/consent-records answers every
// record of the user, oldest first.
func (a *API) listConsentRecords(w http.ResponseWriter, r *http.Request, c *call) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	recs, err := a.Consent.Records(r.Context(), c.tenant.ID, id)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, list[consent.Record]{Items: recs})
	return nil
}

// recordIn is the body of POST .../users/{id}/consent-records: one
// decision, how it was given (default api), and the person's address and
// user agent when the caller knows them.
type recordIn struct {
	Purpose   string `json:"purpose"`
	Version   string `json:"version"`
	State     string `json:"state"`
	How       string `json:"how"`
	IP        string `json:"ip"`
	UserAgent string `json:"user_agent"`
}

// createConsentRecord records one decision. It answers 201 with the
// records written: none when the decision equals the user's current
// state of that version.
func (a *API) createConsentRecord(w http.ResponseWriter, r *http.Request, c *call) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in recordIn
	if err := a.decode(w, r, &in); err != nil {
		return err
	}
	if in.How == "" {
		in.How = consent.HowAPI
	}
	if in.IP != "" && net.ParseIP(in.IP) == nil {
		return valid.Field("ip", "invalid", "ip is an IPv4 or IPv6 address.")
	}
	if len(in.UserAgent) > 512 {
		return valid.Field("user_agent", "too_long", "user_agent is at most 512 bytes.")
	}
	if in.Purpose == "" {
		return valid.Field("purpose", "required", "Name the purpose.")
	}
	recs, err := a.Consent.Record(r.Context(), c.actor, c.tenant.ID, id,
		[]consent.Decision{{Purpose: in.Purpose, Version: in.Version, State: in.State}},
		consent.Source{How: in.How, IP: in.IP, UserAgent: in.UserAgent})
	if err != nil {
		return singleDecision(err)
	}
	if recs == nil {
		recs = []consent.Record{}
	}
	httpx.WriteJSON(w, http.StatusCreated, list[consent.Record]{Items: recs})
	return nil
}

// singleDecision names the body's own fields in a validation error about
// decisions[0].
func singleDecision(err error) error {
	var ve *valid.Error
	if !errors.As(err, &ve) {
		return err
	}
	out := &valid.Error{}
	for _, f := range ve.Fields {
		f.Field = strings.TrimPrefix(f.Field, "decisions[0].")
		out.Fields = append(out.Fields, f)
	}
	return out
}

// getPreferences: GET .../users/{id}/preferences.
func (a *API) getPreferences(w http.ResponseWriter, r *http.Request, c *call) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	p, err := a.Consent.Preferences(r.Context(), c.tenant.ID, id)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, p)
	return nil
}

// putPreferences: PUT .../users/{id}/preferences sets the channels,
// topics and rights the body names (the rest stay), audited with how api.
func (a *API) putPreferences(w http.ResponseWriter, r *http.Request, c *call) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in consent.PreferencesChange
	if err := a.decode(w, r, &in); err != nil {
		return err
	}
	p, err := a.Consent.SetPreferences(r.Context(), c.actor, c.tenant.ID, id, in,
		consent.Source{How: consent.HowAPI})
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, p)
	return nil
}
