package webhook

import (
	"context"
	"errors"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/mail"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Attempt is one try of a delivery.
type Attempt struct {
	At         time.Time `json:"at"`
	StatusCode int       `json:"status_code"`
	LatencyMS  int64     `json:"latency_ms"`
	Error      string    `json:"error"`
}

// Delivery is one event's delivery to an endpoint. State is pending
// (waiting for its first attempt, or being sent), delivered, failed (an
// attempt failed; a retry is scheduled at NextAttemptAt) or dead (given
// up after the retry period).
type Delivery struct {
	ID            string     `json:"id"`
	EventID       string     `json:"event_id"`
	EventType     string     `json:"event_type"`
	State         string     `json:"state"`
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty"`
	Attempts      []Attempt  `json:"attempts"`
}

func state(d *store.EventDelivery) string {
	if d.State == store.DeliverySending {
		if d.Attempts > 1 {
			return string(store.DeliveryFailed)
		}
		return string(store.DeliveryPending)
	}
	return string(d.State)
}

// Deliveries answers a page of the endpoint's deliveries, newest first,
// and the cursor of the next page ("" at the end); store.ErrNotFound when
// the tenant has no such endpoint.
func (s *Service) Deliveries(ctx context.Context, tenant store.TenantID, id, cursor string, limit int) ([]Delivery, string, error) {
	if _, err := s.Store.Events().Webhooks().GetWebhook(ctx, tenant, id); err != nil {
		return nil, "", err
	}
	p := store.Page{After: cursor, Limit: limit}
	limit = p.ClampLimit()
	p.Limit = limit
	list, err := s.Store.Events().Deliveries().ListDeliveries(ctx, tenant, id, p)
	if err != nil {
		return nil, "", err
	}
	ids := make([]string, len(list))
	for i, d := range list {
		ids[i] = d.ID
	}
	attempts, err := s.Store.Events().Deliveries().ListAttempts(ctx, tenant, ids)
	if err != nil {
		return nil, "", err
	}
	out := make([]Delivery, len(list))
	for i := range list {
		d := &list[i]
		out[i] = Delivery{ID: d.ID, EventID: d.EventID, EventType: d.EventType, State: state(d), Attempts: []Attempt{}}
		if d.State == store.DeliveryFailed || d.State == store.DeliveryPending {
			t := d.NextAttemptAt
			out[i].NextAttemptAt = &t
		}
		for _, a := range attempts[d.ID] {
			out[i].Attempts = append(out[i].Attempts, Attempt{At: a.At, StatusCode: a.StatusCode, LatencyMS: a.LatencyMS, Error: a.Error})
		}
	}
	next := ""
	if len(list) == limit {
		next = list[len(list)-1].ID
	}
	return out, next, nil
}

// Retry makes a delivery of the endpoint due now, whatever its state
// (webhook.retry); store.ErrNotFound when the endpoint has no such
// delivery, store.ErrConflict while it is being sent.
func (s *Service) Retry(ctx context.Context, actor events.Actor, tenant store.TenantID, id, deliveryID string) error {
	return s.Store.InTx(ctx, func(tx store.Repos) error {
		d, err := tx.Events().Deliveries().GetDelivery(ctx, tenant, deliveryID)
		if err != nil {
			return err
		}
		if d.Sink != store.SinkWebhook || d.EndpointID != id {
			return store.ErrNotFound
		}
		if err := tx.Events().Deliveries().RetryDelivery(ctx, tenant, deliveryID, s.now()); err != nil {
			return err
		}
		return s.record(ctx, tx, actor, tenant, "webhook.retry", id, events.Changes{
			"delivery": {Before: string(d.State), After: map[string]any{"id": deliveryID, "state": string(store.DeliveryPending)}}})
	})
}

// OnDead is events.Dispatcher's OnDead: when a delivery disabled its
// endpoint, it audits that (webhook.disable, by the system) and mails the
// tenant's admins, in the dispatcher's transaction.
func (s *Service) OnDead(ctx context.Context, tx store.Repos, w *store.Webhook, disabled bool) error {
	if !disabled {
		return nil
	}
	actor := events.Actor{Type: "system", ID: "events"}
	if err := s.record(ctx, tx, actor, w.Tenant, "webhook.disable", w.ID, events.Changes{
		"enabled": {Before: true, After: false}, "reason": {After: w.DisabledReason}}); err != nil {
		return err
	}
	return s.mailAdmins(ctx, tx, w.Tenant)
}

// mailAdmins queues the disabled-endpoint mail to every active user
// directly assigned the admin role, in their language.
func (s *Service) mailAdmins(ctx context.Context, tx store.Repos, tenant store.TenantID) error {
	if s.Queue == nil || s.Renderer == nil {
		return nil
	}
	t, err := tx.Tenants().GetTenant(ctx, tenant)
	if err != nil {
		return err
	}
	roleName := s.AdminRole
	if roleName == "" {
		roleName = "admin"
	}
	role, err := tx.Authz().Roles().GetRoleByName(ctx, tenant, roleName)
	if err != nil {
		return ignoreNotFound(err)
	}
	as, err := tx.Authz().Roles().ListAssignments(ctx, tenant, store.AssignmentQuery{RoleID: role.ID, Page: store.Page{Limit: 100}})
	if err != nil {
		return err
	}
	for _, a := range as {
		if a.UserID == "" {
			continue
		}
		u, err := tx.Users().GetUser(ctx, tenant, a.UserID)
		if err != nil {
			if ignoreNotFound(err) == nil {
				continue
			}
			return err
		}
		if u.Status != store.UserActive || u.Email == "" {
			continue
		}
		m, err := s.Renderer.Render(KindDisabled, mail.Data{To: u.Email, Tenant: t.Name, Slug: t.Slug, Language: u.Locale})
		if err != nil {
			return err
		}
		if _, err := s.Queue.Enqueue(ctx, tx, tenant, KindDisabled, m); err != nil {
			return err
		}
	}
	return nil
}

func ignoreNotFound(err error) error {
	if err != nil && errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}
