package console

import (
	"bytes"
	"errors"
	"net/http"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// Privileged access: pending elevation requests to approve or deny, and
// access-review campaigns (create, review the items, download the report);
// the routes and rules of .../elevations and .../reviews in the API. The
// console user decides as themself: a decision needs them to be a named
// approver or reviewer, as on the account page.

func init() {
	register(func(c *Console) []Page {
		return []Page{
			{Method: "GET", Path: "/elevations", Perm: authz.PermRead, Nav: "console.nav.elevations", Order: 35, Handle: c.elevationsList},
			{Method: "POST", Path: "/elevations/{id}/decide", Perm: authz.PermAdmin, Handle: c.elevationDecide},
			{Method: "GET", Path: "/reviews", Perm: authz.PermRead, Nav: "console.nav.reviews", Order: 36, Handle: c.reviewsList},
			{Method: "POST", Path: "/reviews", Perm: authz.PermAdmin, Handle: c.reviewCreate},
			{Method: "GET", Path: "/reviews/{id}", Perm: authz.PermRead, Handle: c.reviewShow},
			{Method: "POST", Path: "/reviews/{id}/items/{item}/decision", Perm: authz.PermAdmin, Handle: c.reviewDecide},
			{Method: "GET", Path: "/reviews/{id}/report.csv", Perm: authz.PermAudit, Handle: c.reviewReport},
		}
	})
}

var (
	elevationsTmpl = parse("elevations.html")
	reviewsTmpl    = parse("reviews.html")
	reviewTmpl     = parse("review.html")
)

// elevationRow is a pending request with its names.
type elevationRow struct {
	E          store.Elevation
	User, Role string
}

// elevationsList: GET /elevations shows the pending requests.
func (c *Console) elevationsList(w http.ResponseWriter, r *http.Request, rq *Request) error {
	ctx, tid := rq.Context(), rq.Tenant.ID
	es, err := c.Authz.ListElevations(ctx, tid, store.ElevationQuery{Status: store.ElevationPending,
		Page: store.Page{Limit: pageSize, After: cursor(r)}})
	if err != nil {
		return err
	}
	rows := make([]elevationRow, 0, len(es))
	for _, e := range es {
		row := elevationRow{E: e, User: e.UserID, Role: e.RoleID}
		if u, err := c.Directory.GetUser(ctx, tid, e.UserID); err == nil {
			row.User = u.Email
		}
		if ro, err := c.Authz.GetRole(ctx, tid, e.RoleID); err == nil {
			row.Role = ro.Name
		}
		rows = append(rows, row)
	}
	return rq.Render(w, http.StatusOK, elevationsTmpl, "console.elevations.title",
		struct {
			Rows     []elevationRow
			CanAdmin bool
		}{rows, rq.Can(authz.PermAdmin)})
}

// elevationDecide: POST /elevations/{id}/decide with decision=approve|deny.
func (c *Console) elevationDecide(w http.ResponseWriter, r *http.Request, rq *Request) error {
	id := r.PathValue("id")
	if !idRE.MatchString(id) {
		return store.ErrNotFound
	}
	var approve bool
	switch r.PostForm.Get("decision") {
	case "approve":
		approve = true
	case "deny":
	default:
		return c.actionError(w, rq, valid.Field("decision", "invalid", "decision is approve or deny."))
	}
	if _, err := c.Authz.Decide(rq.Context(), rq.Actor, rq.Tenant.ID, id, approve); err != nil {
		return c.actionError(w, rq, err)
	}
	flash := "console.elevations.denied"
	if approve {
		flash = "console.elevations.approved"
	}
	return rq.Redirect(w, "/elevations", flash)
}

type reviewsData struct {
	Campaigns []store.ReviewCampaign
	Next      string
	CanAdmin  bool
	// The create form, shown again after a refusal.
	Name, Scope, Application, Reviewers, Deadline string
}

func (c *Console) reviewsList(w http.ResponseWriter, r *http.Request, rq *Request) error {
	return c.renderReviews(w, r, rq, http.StatusOK, reviewsData{Scope: store.ReviewPrivileged}, nil)
}

func (c *Console) renderReviews(w http.ResponseWriter, r *http.Request, rq *Request, status int, d reviewsData, ferr error) error {
	cs, err := c.Authz.ListCampaigns(rq.Context(), rq.Tenant.ID, store.Page{Limit: pageSize, After: cursor(r)})
	if err != nil {
		return err
	}
	d.Campaigns, d.CanAdmin = cs, rq.Can(authz.PermAdmin)
	if len(cs) == pageSize {
		d.Next = rq.Base + "/reviews?after=" + nextCursor(cs[len(cs)-1].ID)
	}
	return rq.RenderForm(w, status, reviewsTmpl, "console.reviews.title", d, ferr)
}

// reviewCreate: POST /reviews starts a campaign; reviewers are given by
// email and become user ids here.
func (c *Console) reviewCreate(w http.ResponseWriter, r *http.Request, rq *Request) error {
	f := r.PostForm
	d := reviewsData{Name: strings.TrimSpace(f.Get("name")), Scope: f.Get("scope"), Application: strings.TrimSpace(f.Get("application")),
		Reviewers: f.Get("reviewers"), Deadline: strings.TrimSpace(f.Get("deadline"))}
	in := authz.NewCampaign{Name: d.Name, Scope: d.Scope, Application: d.Application, Deadline: d.Deadline}
	if len(in.Deadline) == len("2006-01-02") {
		in.Deadline += "T23:59:59Z" // a date input's day, to its end
	}
	for _, email := range permissionList(d.Reviewers) {
		u, err := c.Directory.UserForEmail(rq.Context(), rq.Tenant.ID, email)
		if errors.Is(err, store.ErrNotFound) {
			return c.renderReviews(w, r, rq, http.StatusBadRequest, d,
				valid.Field("reviewers", "not_found", "Every reviewer is the email address of a user of this tenant."))
		} else if err != nil {
			return err
		}
		in.Reviewers = append(in.Reviewers, u.ID)
	}
	camp, err := c.Authz.CreateCampaign(rq.Context(), rq.Actor, rq.Tenant.ID, in)
	if err != nil {
		if _, ok := FieldErrors(err); ok {
			return c.renderReviews(w, r, rq, http.StatusBadRequest, d, err)
		}
		return c.actionError(w, rq, err)
	}
	return rq.Redirect(w, "/reviews/"+camp.ID, "console.reviews.created")
}

type reviewData struct {
	C        *store.ReviewCampaign
	Items    []store.ReviewItem
	Next     string
	CanAdmin bool
	CanAudit bool
}

// reviewShow: GET /reviews/{id} lists the campaign's items.
func (c *Console) reviewShow(w http.ResponseWriter, r *http.Request, rq *Request) error {
	id := r.PathValue("id")
	if !idRE.MatchString(id) {
		return store.ErrNotFound
	}
	camp, err := c.Authz.GetCampaign(rq.Context(), rq.Tenant.ID, id)
	if err != nil {
		return err
	}
	items, err := c.Authz.ListItems(rq.Context(), rq.Tenant.ID, id, store.Page{Limit: pageSize, After: cursor(r)})
	if err != nil {
		return err
	}
	d := reviewData{C: camp, Items: items, CanAdmin: rq.Can(authz.PermAdmin), CanAudit: rq.Can(authz.PermAudit)}
	if len(items) == pageSize {
		d.Next = rq.Base + "/reviews/" + id + "?after=" + nextCursor(items[len(items)-1].ID)
	}
	return rq.Render(w, http.StatusOK, reviewTmpl, "console.review.title", d)
}

// reviewDecide: POST /reviews/{id}/items/{item}/decision with decision
// approve|revoke and a note; the console user is the reviewer.
func (c *Console) reviewDecide(w http.ResponseWriter, r *http.Request, rq *Request) error {
	id, item := r.PathValue("id"), r.PathValue("item")
	if !idRE.MatchString(id) || !idRE.MatchString(item) {
		return store.ErrNotFound
	}
	_, err := c.Authz.DecideItem(rq.Context(), rq.Actor, rq.Tenant.ID, id, item, authz.ReviewDecision{
		Decision: r.PostForm.Get("decision"), ReviewerID: rq.User.ID, Note: strings.TrimSpace(r.PostForm.Get("note"))})
	if err != nil {
		return c.actionError(w, rq, err)
	}
	return rq.Redirect(w, "/reviews/"+id, "console.review.decided")
}

// reviewReport: GET /reviews/{id}/report.csv downloads the report (the
// API's report, format csv).
func (c *Console) reviewReport(w http.ResponseWriter, r *http.Request, rq *Request) error {
	id := r.PathValue("id")
	if !idRE.MatchString(id) {
		return store.ErrNotFound
	}
	camp, rows, err := c.Authz.Report(rq.Context(), rq.Tenant.ID, id)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := authz.WriteCSV(&buf, rows); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="review-`+camp.ID+`.csv"`)
	_, _ = w.Write(buf.Bytes())
	return nil
}
