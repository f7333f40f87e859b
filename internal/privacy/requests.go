package privacy

import (
	"context"
	"errors"
	"math"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// Request types, regimes and states of a data-subject request.
var (
	RequestTypes   = []string{"access", "erasure", "rectification"}
	RequestRegimes = []string{"gdpr", "ccpa"}
)

// Request states.
const (
	RequestOpen      = "open"
	RequestCompleted = "completed"
	RequestRejected  = "rejected"
)

// NewRequest is what opens a data-subject request.
type NewRequest struct {
	Type   string
	UserID string
	Regime string
	Note   string
}

// maxNote bounds a request's note.
const maxNote = 2000

// CreateRequest opens a request, due the tenant's days for its regime
// (30 for GDPR, 45 for CCPA unless the tenant's settings.privacy say
// otherwise) from now, audited as privacy_request.create. A validation
// error names the field; the user must exist.
func (s *Service) CreateRequest(ctx context.Context, actor events.Actor, tenant store.TenantID, in NewRequest) (*store.PrivacyRequest, error) {
	var c valid.Collector
	if !slices.Contains(RequestTypes, in.Type) {
		c.Add("type", "invalid", "type is access, erasure or rectification.")
	}
	if !slices.Contains(RequestRegimes, in.Regime) {
		c.Add("regime", "invalid", "regime is gdpr or ccpa.")
	}
	if in.UserID == "" {
		c.Add("user_id", "required", "user_id names the person the request is about.")
	}
	if len(in.Note) > maxNote {
		c.Add("note", "too_long", "note is at most 2000 bytes.")
	}
	if err := c.Err(); err != nil {
		return nil, err
	}
	var out *store.PrivacyRequest
	err := s.Store.InTx(ctx, func(tx store.Repos) error {
		t, err := tx.Tenants().GetTenant(ctx, tenant)
		if err != nil {
			return err
		}
		if _, err := tx.Users().GetUser(ctx, tenant, in.UserID); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				var c valid.Collector
				c.Add("user_id", "unknown", "No user has this id.")
				return c.Err()
			}
			return err
		}
		set, _ := tenancy.ParseSettings(t.Settings)
		id, err := uuid.NewV7()
		if err != nil {
			return err
		}
		now := s.now().UTC().Truncate(time.Microsecond)
		r := &store.PrivacyRequest{ID: id.String(), Tenant: tenant, Type: in.Type, UserID: in.UserID, Regime: in.Regime,
			Status: RequestOpen, Note: in.Note, CreatedAt: now, DueAt: now.AddDate(0, 0, set.Privacy.RequestDays(in.Regime))}
		if err := tx.Privacy().CreateRequest(ctx, r); err != nil {
			return err
		}
		out = r
		return s.Audit.Record(ctx, tx, actor, events.Entry{Tenant: tenant, Action: "privacy_request.create",
			TargetType: "privacy_request", TargetID: r.ID, Changes: events.Changes{
				"type": {After: r.Type}, "regime": {After: r.Regime}, "user_id": {After: r.UserID},
				"due_at": {After: r.DueAt}}})
	})
	return out, err
}

// ListRequests answers a page of requests, status "" for all.
func (s *Service) ListRequests(ctx context.Context, tenant store.TenantID, status string, p store.Page) ([]store.PrivacyRequest, error) {
	return s.Store.Privacy().ListRequests(ctx, tenant, status, p)
}

// DaysLeft is whole days until due (negative once overdue); 0 for a
// closed request.
func (s *Service) DaysLeft(r *store.PrivacyRequest) int {
	if r.Status != RequestOpen {
		return 0
	}
	return int(math.Ceil(r.DueAt.Sub(s.now()).Hours() / 24))
}

// CloseRequest completes or rejects an open request, audited as
// privacy_request.<status>. A closed request refuses with a validation
// error on status; ErrNotFound when unknown.
func (s *Service) CloseRequest(ctx context.Context, actor events.Actor, tenant store.TenantID, id, status, note string) (*store.PrivacyRequest, error) {
	var c valid.Collector
	if status != RequestCompleted && status != RequestRejected {
		c.Add("status", "invalid", "status is completed or rejected.")
	}
	if len(note) > maxNote {
		c.Add("note", "too_long", "note is at most 2000 bytes.")
	}
	if err := c.Err(); err != nil {
		return nil, err
	}
	var out *store.PrivacyRequest
	err := s.Store.InTx(ctx, func(tx store.Repos) error {
		r, err := tx.Privacy().UpdateRequest(ctx, tenant, id, func(r *store.PrivacyRequest) error {
			if r.Status != RequestOpen {
				var c valid.Collector
				c.Add("status", "closed", "The request is "+r.Status+" already.")
				return c.Err()
			}
			at := s.now().UTC()
			r.Status, r.ClosedAt = status, &at
			if note != "" {
				r.Note = note
			}
			return nil
		})
		if err != nil {
			return err
		}
		out = r
		return s.Audit.Record(ctx, tx, actor, events.Entry{Tenant: tenant, Action: "privacy_request." + status,
			TargetType: "privacy_request", TargetID: id, Changes: events.Changes{"status": {Before: RequestOpen, After: status}}})
	})
	return out, err
}
