package api

import (
	"bytes"
	"net/http"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// The privileged-access endpoints: elevations, break-glass accounts and
// access reviews.

// idAndBody reads the {id} path value and decodes the body into a T: the
// first steps of every action on one record.
func idAndBody[T any](a *API, w http.ResponseWriter, r *http.Request) (string, T, error) {
	var in T
	id, err := pathID(r, "id")
	if err != nil {
		return "", in, err
	}
	return id, in, a.decode(w, r, &in)
}

type elevationOut struct {
	ID          string     `json:"id"`
	RoleID      string     `json:"role_id"`
	UserID      string     `json:"user_id"`
	Reason      string     `json:"reason"`
	Duration    string     `json:"duration"`
	State       string     `json:"state"`
	RequestedAt time.Time  `json:"requested_at"`
	DecidedBy   string     `json:"decided_by,omitempty"`
	DecidedAt   *time.Time `json:"decided_at,omitempty"`
	ExpiresAt   *time.Time `json:"expires_at,omitempty"`
	RevokedBy   string     `json:"revoked_by,omitempty"`
	RevokedAt   *time.Time `json:"revoked_at,omitempty"`
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func (a *API) elevationJSON(e *store.Elevation) elevationOut {
	return elevationOut{ID: e.ID, RoleID: e.RoleID, UserID: e.UserID, Reason: e.Reason, Duration: e.Duration.String(),
		State: authz.State(e, a.Authz.Clock()), RequestedAt: e.RequestedAt, DecidedBy: e.DecidedBy,
		DecidedAt: optTime(e.DecidedAt), ExpiresAt: optTime(e.ExpiresAt), RevokedBy: e.RevokedBy, RevokedAt: optTime(e.RevokedAt)}
}

func (a *API) requestElevation(w http.ResponseWriter, r *http.Request, c *call) error {
	id, in, err := idAndBody[authz.ElevationRequest](a, w, r)
	if err != nil {
		return err
	}
	e, err := a.Authz.RequestElevation(r.Context(), c.actor, c.tenant.ID, id, in, nil)
	if err != nil {
		return refusal(err)
	}
	httpx.WriteJSON(w, http.StatusCreated, a.elevationJSON(e))
	return nil
}

func (a *API) listElevations(w http.ResponseWriter, r *http.Request, c *call) error {
	p, err := page(r)
	if err != nil {
		return err
	}
	q := store.ElevationQuery{Page: p}
	v := r.URL.Query()
	if s := v.Get("user_id"); s != "" {
		if !idRE.MatchString(s) {
			return valid.Field("user_id", "invalid", "user_id is a user id.")
		}
		q.UserID = s
	}
	if s := v.Get("role_id"); s != "" {
		if !idRE.MatchString(s) {
			return valid.Field("role_id", "invalid", "role_id is a role id.")
		}
		q.RoleID = s
	}
	switch s := v.Get("status"); s {
	case "", store.ElevationPending, store.ElevationApproved, store.ElevationDenied, store.ElevationRevoked:
		q.Status = s
	default:
		return valid.Field("status", "invalid", "status is pending, approved, denied or revoked.")
	}
	es, err := a.Authz.ListElevations(r.Context(), c.tenant.ID, q)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, makeList(p, es, func(e *store.Elevation) string { return e.ID }, a.elevationJSON))
	return nil
}

func (a *API) getElevation(w http.ResponseWriter, r *http.Request, c *call) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	e, err := a.Authz.GetElevation(r.Context(), c.tenant.ID, id)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, a.elevationJSON(e))
	return nil
}

// decideElevation approves or denies as the calling key: the decision is
// the caller's, so the body names no approver (a body, if any, must be an
// empty object).
func (a *API) decideElevation(w http.ResponseWriter, r *http.Request, c *call, approve bool) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if r.ContentLength != 0 {
		var none struct{}
		if err := a.decode(w, r, &none); err != nil {
			return err
		}
	}
	e, err := a.Authz.Decide(r.Context(), c.actor, c.tenant.ID, id, approve)
	if err != nil {
		return refusal(err)
	}
	httpx.WriteJSON(w, http.StatusOK, a.elevationJSON(e))
	return nil
}

func (a *API) approveElevation(w http.ResponseWriter, r *http.Request, c *call) error {
	return a.decideElevation(w, r, c, true)
}

func (a *API) denyElevation(w http.ResponseWriter, r *http.Request, c *call) error {
	return a.decideElevation(w, r, c, false)
}

func (a *API) revokeElevation(w http.ResponseWriter, r *http.Request, c *call) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	e, err := a.Authz.Revoke(r.Context(), c.actor, c.tenant.ID, id, "")
	if err != nil {
		return refusal(err)
	}
	httpx.WriteJSON(w, http.StatusOK, a.elevationJSON(e))
	return nil
}

type breakGlassOut struct {
	UserID    string    `json:"user_id"`
	Note      string    `json:"note,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

func breakGlassJSON(b *store.BreakGlassAccount) breakGlassOut {
	return breakGlassOut{UserID: b.UserID, Note: b.Note, CreatedAt: b.CreatedAt}
}

func (a *API) listBreakGlass(w http.ResponseWriter, r *http.Request, c *call) error {
	bs, err := a.Authz.ListBreakGlass(r.Context(), c.tenant.ID)
	if err != nil {
		return err
	}
	out := list[breakGlassOut]{Items: make([]breakGlassOut, 0, len(bs))}
	for i := range bs {
		out.Items = append(out.Items, breakGlassJSON(&bs[i]))
	}
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}

type breakGlassIn struct {
	UserID string `json:"user_id"`
	Note   string `json:"note,omitempty"`
}

func (a *API) addBreakGlass(w http.ResponseWriter, r *http.Request, c *call) error {
	var in breakGlassIn
	if err := a.decode(w, r, &in); err != nil {
		return err
	}
	b, err := a.Authz.AddBreakGlass(r.Context(), c.actor, c.tenant.ID, in.UserID, in.Note)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, breakGlassJSON(b))
	return nil
}

func (a *API) removeBreakGlass(w http.ResponseWriter, r *http.Request, c *call) error {
	return deleteByID(w, r, c, a.Authz.RemoveBreakGlass)
}

type campaignOut struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Scope       string    `json:"scope"`
	Application string    `json:"application,omitempty"`
	Reviewers   []string  `json:"reviewers"`
	Deadline    time.Time `json:"deadline"`
	CreatedBy   string    `json:"created_by,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
}

func campaignJSON(c *store.ReviewCampaign) campaignOut {
	return campaignOut{ID: c.ID, Name: c.Name, Scope: c.Scope, Application: c.Application, Reviewers: c.Reviewers,
		Deadline: c.Deadline, CreatedBy: c.CreatedBy, CreatedAt: c.CreatedAt}
}

type itemOut struct {
	ID           string     `json:"id"`
	AssignmentID string     `json:"assignment_id"`
	RoleID       string     `json:"role_id"`
	Role         string     `json:"role"`
	UserID       string     `json:"user_id,omitempty"`
	GroupID      string     `json:"group_id,omitempty"`
	Subject      string     `json:"subject"`
	Decision     string     `json:"decision"`
	DecidedBy    string     `json:"decided_by,omitempty"`
	DecidedAt    *time.Time `json:"decided_at,omitempty"`
	Note         string     `json:"note,omitempty"`
}

func itemJSON(it *store.ReviewItem) itemOut {
	d := it.Decision
	if d == "" {
		d = "pending"
	}
	return itemOut{ID: it.ID, AssignmentID: it.AssignmentID, RoleID: it.RoleID, Role: it.RoleName, UserID: it.UserID,
		GroupID: it.GroupID, Subject: it.SubjectName, Decision: d, DecidedBy: it.DecidedBy,
		DecidedAt: optTime(it.DecidedAt), Note: it.Note}
}

func (a *API) listReviews(w http.ResponseWriter, r *http.Request, c *call) error {
	p, err := page(r)
	if err != nil {
		return err
	}
	cs, err := a.Authz.ListCampaigns(r.Context(), c.tenant.ID, p)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, makeList(p, cs, func(x *store.ReviewCampaign) string { return x.ID }, campaignJSON))
	return nil
}

func (a *API) createReview(w http.ResponseWriter, r *http.Request, c *call) error {
	var in authz.NewCampaign
	if err := a.decode(w, r, &in); err != nil {
		return err
	}
	camp, err := a.Authz.CreateCampaign(r.Context(), c.actor, c.tenant.ID, in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/tenants/"+c.tenant.Slug+"/reviews/"+camp.ID)
	httpx.WriteJSON(w, http.StatusCreated, campaignJSON(camp))
	return nil
}

func (a *API) getReview(w http.ResponseWriter, r *http.Request, c *call) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	camp, err := a.Authz.GetCampaign(r.Context(), c.tenant.ID, id)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, campaignJSON(camp))
	return nil
}

func (a *API) listReviewItems(w http.ResponseWriter, r *http.Request, c *call) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	p, err := page(r)
	if err != nil {
		return err
	}
	its, err := a.Authz.ListItems(r.Context(), c.tenant.ID, id, p)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, makeList(p, its, func(x *store.ReviewItem) string { return x.ID }, itemJSON))
	return nil
}

func (a *API) decideReviewItem(w http.ResponseWriter, r *http.Request, c *call) error {
	item, err := pathID(r, "item")
	if err != nil {
		return err
	}
	id, in, err := idAndBody[authz.ReviewDecision](a, w, r)
	if err != nil {
		return err
	}
	it, err := a.Authz.DecideItem(r.Context(), c.actor, c.tenant.ID, id, item, in)
	if err != nil {
		return refusal(err)
	}
	httpx.WriteJSON(w, http.StatusOK, itemJSON(it))
	return nil
}

type reportOut struct {
	Campaign campaignOut       `json:"campaign"`
	Items    []authz.ReportRow `json:"items"`
}

// reviewReport answers the report as JSON, or as CSV with ?format=csv.
func (a *API) reviewReport(w http.ResponseWriter, r *http.Request, c *call) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	format := r.URL.Query().Get("format")
	if format != "" && format != "json" && format != "csv" {
		return valid.Field("format", "invalid", "format is json or csv.")
	}
	camp, rows, err := a.Authz.Report(r.Context(), c.tenant.ID, id)
	if err != nil {
		return err
	}
	if format == "csv" {
		var buf bytes.Buffer
		if err := authz.WriteCSV(&buf, rows); err != nil {
			return err
		}
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="review-`+camp.ID+`.csv"`)
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(buf.Bytes())
		return nil
	}
	if rows == nil {
		rows = []authz.ReportRow{}
	}
	httpx.WriteJSON(w, http.StatusOK, reportOut{Campaign: campaignJSON(camp), Items: rows})
	return nil
}
