package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/privacy"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// holdProblem is the 409 of an erasure refused by a legal hold; it names
// the hold so the caller knows what to lift.
func holdProblem(err error) error {
	var h *privacy.HoldError
	if !errors.As(err, &h) {
		return err
	}
	p := httpx.NewProblem(http.StatusConflict, "legal-hold", "Legal hold",
		"The user is under a legal hold and cannot be erased until it is lifted (PATCH the user with {\"legal_hold\":false}).")
	p.Field = "legal_hold"
	return p
}

// eraseUser: POST .../users/{id}/erase erases the person (privacy.Erase).
func (a *API) eraseUser(w http.ResponseWriter, r *http.Request, c *call) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	counts, err := a.Privacy.Erase(r.Context(), c.actor, c.tenant.ID, id)
	if err != nil {
		return holdProblem(err)
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"id": id, "erased": true, "removed": counts})
	return nil
}

// exportUser: GET .../users/{id}/export answers the access document, or
// with ?format=csv the profile as one CSV row under a header.
func (a *API) exportUser(w http.ResponseWriter, r *http.Request, c *call) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	format := r.URL.Query().Get("format")
	if format != "" && format != "json" && format != "csv" {
		return valid.Field("format", "invalid", "format is json or csv.")
	}
	out, err := a.Privacy.Export(r.Context(), c.actor, c.tenant.ID, id)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	if format != "csv" {
		httpx.WriteJSON(w, http.StatusOK, out)
		return nil
	}
	var buf bytes.Buffer
	if err := privacy.ProfileCSV(&buf, out); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="profile.csv"`)
	_, _ = io.Copy(w, &buf)
	return nil
}

// updateUserOrHold serves PATCH .../users/{id}: a body of only
// {"legal_hold": bool} places or lifts the hold; anything else is the
// user patch. The hold cannot be combined with other fields, so each
// change is all or nothing.
func (a *API) updateUserOrHold(w http.ResponseWriter, r *http.Request, c *call) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, a.MaxBodyBytes))
	if err != nil {
		return httpx.NewProblem(http.StatusRequestEntityTooLarge, "body-too-large", "Request body too large",
			fmt.Sprintf("The body may have at most %d bytes.", a.MaxBodyBytes))
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(body, &fields) != nil {
		fields = nil // the user patch reports what is wrong
	}
	_, hold := fields["legal_hold"]
	r.Body = io.NopCloser(bytes.NewReader(body))
	if !hold {
		return a.updateUser(w, r, c)
	}
	if len(fields) > 1 {
		return valid.Field("legal_hold", "alone", "legal_hold is patched on its own, without other fields.")
	}
	// The same strict decoding as every body: media type, JSON type.
	var in struct {
		LegalHold *bool `json:"legal_hold"`
	}
	if err := a.decode(w, r, &in); err != nil {
		return err
	}
	if in.LegalHold == nil {
		return valid.Field("legal_hold", "invalid", "legal_hold is true or false.")
	}
	on := *in.LegalHold
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := a.Privacy.SetHold(r.Context(), c.actor, c.tenant.ID, id, on, ""); err != nil {
		return err
	}
	u, err := a.Directory.GetUser(r.Context(), c.tenant.ID, id)
	if err != nil {
		return err
	}
	out, err := json.Marshal(userJSON(u))
	if err != nil {
		return err
	}
	var doc map[string]any
	if err := json.Unmarshal(out, &doc); err != nil {
		return err
	}
	doc["legal_hold"] = on
	writeVersioned(w, http.StatusOK, userVersion(u), doc)
	return nil
}

// requestJSON is a data-subject request as the API shows it.
type requestJSON struct {
	ID        string     `json:"id"`
	Type      string     `json:"type"`
	UserID    string     `json:"user_id"`
	Regime    string     `json:"regime"`
	Status    string     `json:"status"`
	Note      string     `json:"note,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	DueAt     time.Time  `json:"due_at"`
	DaysLeft  int        `json:"days_left"`
	Overdue   bool       `json:"overdue"`
	ClosedAt  *time.Time `json:"closed_at,omitempty"`
}

func (a *API) requestOut(p *store.PrivacyRequest) requestJSON {
	left := a.Privacy.DaysLeft(p)
	return requestJSON{ID: p.ID, Type: p.Type, UserID: p.UserID, Regime: p.Regime, Status: p.Status, Note: p.Note,
		CreatedAt: p.CreatedAt, DueAt: p.DueAt, DaysLeft: left, Overdue: p.Status == privacy.RequestOpen && left < 0,
		ClosedAt: p.ClosedAt}
}

// createPrivacyRequest: POST .../privacy-requests.
func (a *API) createPrivacyRequest(w http.ResponseWriter, r *http.Request, c *call) error {
	var in struct {
		Type   string `json:"type"`
		UserID string `json:"user_id"`
		Regime string `json:"regime"`
		Note   string `json:"note"`
	}
	if err := a.decode(w, r, &in); err != nil {
		return err
	}
	if in.UserID != "" && !idRE.MatchString(in.UserID) {
		return valid.Field("user_id", "invalid", "user_id is a user's id.")
	}
	p, err := a.Privacy.CreateRequest(r.Context(), c.actor, c.tenant.ID, privacy.NewRequest{
		Type: in.Type, UserID: in.UserID, Regime: in.Regime, Note: in.Note})
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, a.requestOut(p))
	return nil
}

// listPrivacyRequests: GET .../privacy-requests[?status=open].
func (a *API) listPrivacyRequests(w http.ResponseWriter, r *http.Request, c *call) error {
	p, err := page(r)
	if err != nil {
		return err
	}
	status := r.URL.Query().Get("status")
	switch status {
	case "", privacy.RequestOpen, privacy.RequestCompleted, privacy.RequestRejected:
	default:
		return valid.Field("status", "invalid", "status is open, completed or rejected.")
	}
	rs, err := a.Privacy.ListRequests(r.Context(), c.tenant.ID, status, p)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, makeList(p, rs, func(x *store.PrivacyRequest) string { return x.ID }, a.requestOut))
	return nil
}

// updatePrivacyRequest: PATCH .../privacy-requests/{id} {"status":
// "completed"|"rejected", "note": ...}.
func (a *API) updatePrivacyRequest(w http.ResponseWriter, r *http.Request, c *call) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in struct {
		Status string `json:"status"`
		Note   string `json:"note"`
	}
	if err := a.decode(w, r, &in); err != nil {
		return err
	}
	p, err := a.Privacy.CloseRequest(r.Context(), c.actor, c.tenant.ID, id, in.Status, in.Note)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, a.requestOut(p))
	return nil
}
