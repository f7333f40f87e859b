package authz

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// NewCampaign is the input of CreateCampaign: the assignments of every
// privileged role ("privileged"), or of one application's roles
// ("application" with application set), reviewed by the named users
// before the deadline (RFC 3339).
type NewCampaign struct {
	Name        string   `json:"name"`
	Scope       string   `json:"scope"`
	Application string   `json:"application,omitempty"`
	Reviewers   []string `json:"reviewers"`
	Deadline    string   `json:"deadline"`
}

func isConflict(err error) bool { return errors.Is(err, store.ErrConflict) }

// CreateCampaign snapshots the assignments in scope as items (with the
// role's and the subject's names, so the report outlives revocations).
// Errors: *valid.Error (also when more than 10,000 assignments are in
// scope).
func (s *Service) CreateCampaign(ctx context.Context, actor events.Actor, tenant store.TenantID, in NewCampaign) (*store.ReviewCampaign, error) {
	now := s.now()
	var c valid.Collector
	if strings.TrimSpace(in.Name) == "" {
		c.Add("name", "required", "A campaign needs a name.")
	}
	checkText(&c, "name", in.Name, maxCampaignName)
	q := store.AssignmentQuery{}
	switch in.Scope {
	case store.ReviewPrivileged:
		q.Privileged = true
		if in.Application != "" {
			c.Add("application", "invalid", "application goes with scope application only.")
		}
	case store.ReviewApplication:
		if in.Application == "" {
			c.Add("application", "required", "scope application names the application (a client_id).")
		}
		q.Application = in.Application
	default:
		c.Add("scope", "invalid", `scope is "privileged" or "application".`)
	}
	reviewers := dedupe(in.Reviewers)
	if len(reviewers) == 0 || len(reviewers) > maxReviewers {
		c.Add("reviewers", "invalid", fmt.Sprintf("reviewers names 1 to %d user ids.", maxReviewers))
	}
	for _, r := range reviewers {
		if !idRE.MatchString(r) {
			c.Add("reviewers", "invalid", "reviewers are user ids.")
			break
		}
	}
	deadline, err := time.Parse(time.RFC3339, in.Deadline)
	if err != nil {
		c.Add("deadline", "invalid", `deadline is an RFC 3339 time such as "2026-12-31T17:00:00Z".`)
	} else if !deadline.After(now) {
		c.Add("deadline", "out_of_range", "deadline is in the future.")
	}
	if err := c.Err(); err != nil {
		return nil, err
	}
	camp := &store.ReviewCampaign{ID: newID(), Tenant: tenant, Name: in.Name, Scope: in.Scope, Application: in.Application,
		Reviewers: reviewers, Deadline: deadline.UTC(), CreatedBy: actorName(actor), CreatedAt: now}
	err = s.Store.InTx(ctx, func(tx store.Repos) error {
		for _, r := range reviewers {
			if _, err := tx.Users().GetUser(ctx, tenant, r); errors.Is(err, store.ErrNotFound) {
				return valid.Field("reviewers", "not_found", "Every reviewer is a user of this tenant.")
			} else if err != nil {
				return err
			}
		}
		items, err := s.snapshot(ctx, tx, tenant, q)
		if err != nil {
			return err
		}
		if err := tx.Authz().Reviews().CreateCampaign(ctx, camp, items); err != nil {
			return err
		}
		return s.record(ctx, tx, actor, tenant, "review.create", "review", camp.ID, events.Changes{
			"name": {After: camp.Name}, "scope": {After: camp.Scope}, "application": {After: camp.Application},
			"reviewers": {After: camp.Reviewers}, "deadline": {After: camp.Deadline.Format(time.RFC3339)},
			"items": {After: len(items)}})
	})
	if err != nil {
		return nil, err
	}
	return camp, nil
}

// snapshot pages through the assignments of q, bounded by maxReviewItems.
func (s *Service) snapshot(ctx context.Context, tx store.Repos, tenant store.TenantID, q store.AssignmentQuery) ([]store.ReviewItem, error) {
	roles := map[string]*store.Role{}
	var items []store.ReviewItem
	q.Limit = 1000
	for range maxReviewItems/q.Limit + 1 {
		as, err := tx.Authz().Roles().ListAssignments(ctx, tenant, q)
		if err != nil {
			return nil, err
		}
		for _, a := range as {
			if len(items) == maxReviewItems {
				return nil, valid.Field("scope", "too_many", fmt.Sprintf("A campaign reviews at most %d assignments.", maxReviewItems))
			}
			r, ok := roles[a.RoleID]
			if !ok {
				if r, err = tx.Authz().Roles().GetRole(ctx, tenant, a.RoleID); err != nil {
					return nil, err
				}
				roles[a.RoleID] = r
			}
			it := store.ReviewItem{ID: newID(), AssignmentID: a.ID, RoleID: r.ID, RoleName: r.Name, UserID: a.UserID, GroupID: a.GroupID}
			if a.UserID != "" {
				u, err := tx.Users().GetUser(ctx, tenant, a.UserID)
				if err != nil {
					return nil, err
				}
				it.SubjectName = u.Email
			} else {
				g, err := tx.Groups().GetGroup(ctx, tenant, a.GroupID)
				if err != nil {
					return nil, err
				}
				it.SubjectName = g.Name
			}
			items = append(items, it)
		}
		if len(as) < q.Limit {
			return items, nil
		}
		q.After = as[len(as)-1].ID
	}
	return items, nil
}

// GetCampaign answers store.ErrNotFound when id is not a campaign of tenant.
func (s *Service) GetCampaign(ctx context.Context, tenant store.TenantID, id string) (*store.ReviewCampaign, error) {
	return s.Store.Authz().Reviews().GetCampaign(ctx, tenant, id)
}

// ListCampaigns answers a page of campaigns.
func (s *Service) ListCampaigns(ctx context.Context, tenant store.TenantID, p store.Page) ([]store.ReviewCampaign, error) {
	return s.Store.Authz().Reviews().ListCampaigns(ctx, tenant, p)
}

// ListItems answers a page of a campaign's items.
func (s *Service) ListItems(ctx context.Context, tenant store.TenantID, campaignID string, p store.Page) ([]store.ReviewItem, error) {
	return s.Store.Authz().Reviews().ListItems(ctx, tenant, campaignID, p)
}

// ReviewDecision is a reviewer's decision on one item.
type ReviewDecision struct {
	Decision   string `json:"decision"`
	ReviewerID string `json:"reviewer_id"`
	Note       string `json:"note,omitempty"`
}

// DecideItem records a reviewer's decision. A revocation removes the
// assignment in the same transaction (and ends the user's elevations of a
// privileged role), so it takes effect at once: the next check or token
// goes without the role. The reviewer must be one of the campaign's, must
// not review their own assignment, and the deadline must not have passed.
// Errors: *valid.Error, *Refused, store.ErrNotFound.
func (s *Service) DecideItem(ctx context.Context, actor events.Actor, tenant store.TenantID, campaignID, itemID string, d ReviewDecision) (*store.ReviewItem, error) {
	var c valid.Collector
	if d.Decision != store.DecisionApprove && d.Decision != store.DecisionRevoke {
		c.Add("decision", "invalid", `decision is "approve" or "revoke".`)
	}
	if !idRE.MatchString(d.ReviewerID) {
		c.Add("reviewer_id", "invalid", "reviewer_id is the reviewer's user id.")
	}
	checkText(&c, "note", d.Note, maxDecisionNote)
	if err := c.Err(); err != nil {
		return nil, err
	}
	var out *store.ReviewItem
	err := s.Store.InTx(ctx, func(tx store.Repos) error {
		camp, err := tx.Authz().Reviews().GetCampaign(ctx, tenant, campaignID)
		if err != nil {
			return err
		}
		now := s.now()
		if !slices.Contains(camp.Reviewers, d.ReviewerID) {
			return refuse("not_reviewer", "That user is not a reviewer of this campaign.")
		}
		if !now.Before(camp.Deadline) {
			return conflict("deadline_passed", "The campaign's deadline has passed.")
		}
		it, err := tx.Authz().Reviews().DecideItem(ctx, tenant, campaignID, itemID, d.Decision, d.ReviewerID, d.Note, now)
		if errors.Is(err, store.ErrConflict) {
			return conflict("decided", "The item was decided already.")
		}
		if err != nil {
			return err
		}
		if own, err := ownAccess(ctx, tx, tenant, it, d.ReviewerID); err != nil {
			return err
		} else if own {
			return refuse("own_access", "A reviewer cannot review their own access.")
		}
		out = it
		if d.Decision == store.DecisionRevoke {
			a, err := tx.Authz().Roles().GetAssignment(ctx, tenant, it.AssignmentID)
			switch {
			case errors.Is(err, store.ErrNotFound): // removed meanwhile; nothing more to do
			case err != nil:
				return err
			default:
				if err := s.unassign(ctx, tx, actor, tenant, a, "role.unassign"); err != nil {
					return err
				}
			}
		}
		return s.record(ctx, tx, actor, tenant, "review.decide", "review", campaignID, events.Changes{
			"item": {After: map[string]any{"id": it.ID, "assignment_id": it.AssignmentID, "role": it.RoleName,
				"subject": it.SubjectName, "decision": it.Decision, "reviewer_id": it.DecidedBy}}})
	})
	return out, err
}

// ownAccess reports whether the item gives the reviewer access: their own
// assignment, or one to a group they are in at any depth.
func ownAccess(ctx context.Context, tx store.Repos, tenant store.TenantID, it *store.ReviewItem, reviewer string) (bool, error) {
	if it.UserID != "" {
		return it.UserID == reviewer, nil
	}
	gs, err := tx.Groups().UserGroups(ctx, tenant, reviewer, true)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return slices.ContainsFunc(gs, func(g store.Group) bool { return g.ID == it.GroupID }), nil
}

// ReportRow is one line of a campaign's report.
type ReportRow struct {
	ItemID       string    `json:"item_id"`
	AssignmentID string    `json:"assignment_id"`
	Role         string    `json:"role"`
	RoleID       string    `json:"role_id"`
	SubjectType  string    `json:"subject_type"`
	SubjectID    string    `json:"subject_id"`
	Subject      string    `json:"subject"`
	Decision     string    `json:"decision"`
	DecidedBy    string    `json:"decided_by,omitempty"`
	DecidedAt    time.Time `json:"decided_at,omitzero"`
	Note         string    `json:"note,omitempty"`
}

// Report answers every item of the campaign as a report row: who had what,
// who decided, and when. Undecided items read "pending".
func (s *Service) Report(ctx context.Context, tenant store.TenantID, campaignID string) (*store.ReviewCampaign, []ReportRow, error) {
	camp, err := s.GetCampaign(ctx, tenant, campaignID)
	if err != nil {
		return nil, nil, err
	}
	var rows []ReportRow
	p := store.Page{Limit: 1000}
	for range maxReviewItems/p.Limit + 1 {
		items, err := s.ListItems(ctx, tenant, campaignID, p)
		if err != nil {
			return nil, nil, err
		}
		for _, it := range items {
			r := ReportRow{ItemID: it.ID, AssignmentID: it.AssignmentID, Role: it.RoleName, RoleID: it.RoleID,
				SubjectType: "user", SubjectID: it.UserID, Subject: it.SubjectName, Decision: it.Decision,
				DecidedBy: it.DecidedBy, DecidedAt: it.DecidedAt, Note: it.Note}
			if it.GroupID != "" {
				r.SubjectType, r.SubjectID = "group", it.GroupID
			}
			if r.Decision == "" {
				r.Decision = "pending"
			}
			rows = append(rows, r)
		}
		if len(items) < p.Limit {
			break
		}
		p.After = items[len(items)-1].ID
	}
	return camp, rows, nil
}

// WriteCSV writes rows as CSV with a header. Cells a spreadsheet would
// read as a formula (starting with = + - @, tab or CR) get a leading
// apostrophe, so a crafted group name cannot run in the auditor's sheet.
func WriteCSV(w io.Writer, rows []ReportRow) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"item_id", "assignment_id", "role", "role_id", "subject_type", "subject_id", "subject",
		"decision", "decided_by", "decided_at", "note"})
	for _, r := range rows {
		at := ""
		if !r.DecidedAt.IsZero() {
			at = r.DecidedAt.UTC().Format(time.RFC3339)
		}
		rec := []string{r.ItemID, r.AssignmentID, r.Role, r.RoleID, r.SubjectType, r.SubjectID, r.Subject,
			r.Decision, r.DecidedBy, at, r.Note}
		for i, v := range rec {
			if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
				rec[i] = "'" + v
			}
		}
		_ = cw.Write(rec)
	}
	cw.Flush()
	return cw.Error()
}
