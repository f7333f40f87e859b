// Package webhook manages a tenant's webhook endpoints: registration with
// a Standard Webhooks secret ("whsec_" + base64, sealed at rest and shown
// once), subscriptions to catalogue event types, secret rotation with an
// overlap during which both secrets sign, the deliveries of an endpoint
// with their attempts, retries on demand, and the mail to the tenant's
// admins when an endpoint is disabled after persistent failure. Every
// change is audited. Delivery itself is events.Dispatcher's; the HTTP
// side is internal/webhook/post. It knows nothing of HTTP.
package webhook

import (
	"context"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/connection"
	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/mail"
	"github.com/gatehouse-id/gatehouse/internal/seal"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/valid"
	"github.com/gatehouse-id/gatehouse/internal/whsig"
)

// Bounds of an endpoint.
const (
	MaxEndpoints   = 100 // per tenant; events.Dispatcher reads this many
	maxTypes       = 100
	maxDescription = 500
	// DefaultOverlap is how long the previous secret keeps signing after
	// a rotation, so receivers can switch without losing a delivery.
	DefaultOverlap = 24 * time.Hour
	maxOverlap     = 7 * 24 * time.Hour
)

// KindDisabled is the mail to a tenant's admins when an endpoint was
// disabled after its deliveries failed for the whole retry period.
const KindDisabled = "events_webhook_disabled"

func init() { mail.RegisterKind(KindDisabled, "") }

// Service manages webhook endpoints.
type Service struct {
	Store  store.Store
	Sealer *seal.Sealer
	Audit  *events.Recorder
	Now    func() time.Time
	// Policy decides which URLs are acceptable (https; http to loopback
	// only on development deployments).
	Policy connection.URLPolicy
	// Queue and Renderer send the disabled-endpoint mail; AdminRole names
	// the role whose directly assigned users get it (default "admin").
	Queue     *mail.Queue
	Renderer  *mail.Renderer
	AdminRole string
}

func (s *Service) now() time.Time { return s.Now().UTC().Truncate(time.Microsecond) }

// Input is the body of a create (url and events required) or a partial
// update (absent fields unchanged). Enabled turns a disabled endpoint
// back on.
type Input struct {
	URL         *string   `json:"url"`
	Events      *[]string `json:"events"`
	Description *string   `json:"description"`
	Enabled     *bool     `json:"enabled"`
}

// View is an endpoint as the API answers it (never its secret).
type View struct {
	ID             string     `json:"id"`
	URL            string     `json:"url"`
	Events         []string   `json:"events"`
	Description    string     `json:"description"`
	Enabled        bool       `json:"enabled"`
	DisabledAt     *time.Time `json:"disabled_at,omitempty"`
	DisabledReason string     `json:"disabled_reason,omitempty"`
	// PreviousSecretUntil is when the secret replaced by the last
	// rotation stops signing.
	PreviousSecretUntil *time.Time `json:"previous_secret_until,omitempty"`
	CreatedAt           time.Time  `json:"created_at"`
	UpdatedAt           time.Time  `json:"updated_at"`
}

func view(w *store.Webhook, now time.Time) View {
	v := View{ID: w.ID, URL: w.URL, Events: slices.Clone(w.EventTypes), Description: w.Description,
		Enabled: w.DisabledAt == nil, DisabledAt: w.DisabledAt, DisabledReason: w.DisabledReason,
		CreatedAt: w.CreatedAt, UpdatedAt: w.UpdatedAt}
	if v.Events == nil {
		v.Events = []string{}
	}
	if w.PrevUntil != nil && now.Before(*w.PrevUntil) {
		v.PreviousSecretUntil = w.PrevUntil
	}
	return v
}

func fields(w *store.Webhook) map[string]any {
	return map[string]any{"url": w.URL, "events": slices.Clone(w.EventTypes), "description": w.Description,
		"enabled": w.DisabledAt == nil}
}

// apply validates in and writes it into w; create demands url and events.
func (s *Service) apply(w *store.Webhook, in Input, create bool) error {
	var c valid.Collector
	if in.URL != nil {
		if msg := s.Policy.Check(*in.URL); msg != "" {
			c.Add("url", "invalid", msg)
		}
		w.URL = *in.URL
	} else if create {
		c.Add("url", "required", "The endpoint's https:// URL.")
	}
	if in.Events != nil {
		checkTypes(&c, *in.Events)
		w.EventTypes = slices.Compact(slices.Sorted(slices.Values(*in.Events)))
	} else if create {
		c.Add("events", "required", "The event types to send: catalogue types, \"prefix.*\" or \"*\".")
	}
	if in.Description != nil {
		if !utf8.ValidString(*in.Description) || utf8.RuneCountInString(*in.Description) > maxDescription {
			c.Add("description", "invalid", "At most 500 characters.")
		}
		w.Description = *in.Description
	}
	if in.Enabled != nil {
		switch {
		case create && !*in.Enabled:
			c.Add("enabled", "invalid", "A new endpoint is enabled.")
		case *in.Enabled:
			w.DisabledAt, w.DisabledReason = nil, ""
		case w.DisabledAt == nil:
			now := s.now()
			w.DisabledAt, w.DisabledReason = &now, "disabled by an administrator"
		}
	}
	return c.Err()
}

func checkTypes(c *valid.Collector, types []string) {
	switch {
	case len(types) == 0:
		c.Add("events", "required", "Name at least one event type.")
	case len(types) > maxTypes:
		c.Add("events", "too_long", "At most 100 event types.")
	}
	for _, t := range types {
		if len(t) > 100 || !events.ValidPattern(t) {
			c.Add("events", "invalid", "Each entry is a catalogue event type (docs/events.md), \"prefix.*\" or \"*\".")
			return
		}
	}
}

func (s *Service) record(ctx context.Context, tx store.Repos, actor events.Actor, tenant store.TenantID, action, id string, changes events.Changes) error {
	return s.Audit.Record(ctx, tx, actor, events.Entry{Tenant: tenant, Action: action, TargetType: "webhook",
		TargetID: id, Changes: changes})
}

// Create registers an endpoint and answers it with its secret, which is
// shown this once (audited as webhook.create, without the secret).
func (s *Service) Create(ctx context.Context, actor events.Actor, tenant store.TenantID, in Input) (*View, string, error) {
	w := &store.Webhook{ID: uuid.Must(uuid.NewV7()).String(), Tenant: tenant}
	if err := s.apply(w, in, true); err != nil {
		return nil, "", err
	}
	secret, sealed, err := s.newSecret(w.ID)
	if err != nil {
		return nil, "", err
	}
	w.Secret = sealed
	err = s.Store.InTx(ctx, func(tx store.Repos) error {
		list, err := tx.Events().Webhooks().ListWebhooks(ctx, tenant, store.Page{Limit: MaxEndpoints})
		if err != nil {
			return err
		}
		if len(list) >= MaxEndpoints {
			return valid.Field("url", "too_many", "A tenant has at most 100 webhook endpoints.")
		}
		if err := tx.Events().Webhooks().CreateWebhook(ctx, w); err != nil {
			return err
		}
		ch := events.Diff(nil, fields(w))
		ch["secret"] = events.Change{After: "(set)"}
		return s.record(ctx, tx, actor, tenant, "webhook.create", w.ID, ch)
	})
	if err != nil {
		return nil, "", err
	}
	v := view(w, s.now())
	return &v, secret, nil
}

func (s *Service) newSecret(id string) (string, []byte, error) {
	secret, err := whsig.NewRandomSecret()
	if err != nil {
		return "", nil, err
	}
	sealed, err := s.Sealer.Seal([]byte(secret), events.WebhookAAD(id))
	return secret, sealed, err
}

// Get answers one endpoint; store.ErrNotFound when the tenant has none
// with that id.
func (s *Service) Get(ctx context.Context, tenant store.TenantID, id string) (*View, error) {
	w, err := s.Store.Events().Webhooks().GetWebhook(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	v := view(w, s.now())
	return &v, nil
}

// List answers the tenant's endpoints.
func (s *Service) List(ctx context.Context, tenant store.TenantID) ([]View, error) {
	list, err := s.Store.Events().Webhooks().ListWebhooks(ctx, tenant, store.Page{Limit: MaxEndpoints})
	if err != nil {
		return nil, err
	}
	now := s.now()
	out := make([]View, len(list))
	for i := range list {
		out[i] = view(&list[i], now)
	}
	return out, nil
}

// Update changes an endpoint (webhook.update).
func (s *Service) Update(ctx context.Context, actor events.Actor, tenant store.TenantID, id string, in Input) (*View, error) {
	var out *store.Webhook
	err := s.Store.InTx(ctx, func(tx store.Repos) error {
		var before map[string]any
		w, err := tx.Events().Webhooks().UpdateWebhook(ctx, tenant, id, func(w *store.Webhook) error {
			before = fields(w)
			return s.apply(w, in, false)
		})
		if err != nil {
			return err
		}
		out = w
		if ch := events.Diff(before, fields(w)); len(ch) > 0 {
			return s.record(ctx, tx, actor, tenant, "webhook.update", id, ch)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	v := view(out, s.now())
	return &v, nil
}

// Delete removes an endpoint and its deliveries (webhook.delete).
func (s *Service) Delete(ctx context.Context, actor events.Actor, tenant store.TenantID, id string) error {
	return s.Store.InTx(ctx, func(tx store.Repos) error {
		w, err := tx.Events().Webhooks().GetWebhook(ctx, tenant, id)
		if err != nil {
			return err
		}
		if err := tx.Events().Webhooks().DeleteWebhook(ctx, tenant, id); err != nil {
			return err
		}
		return s.record(ctx, tx, actor, tenant, "webhook.delete", id, events.Diff(fields(w), nil))
	})
}

// RotateSecret gives the endpoint a new secret and answers it (shown this
// once); the previous one keeps signing beside it for overlap (0: the
// default, 24 hours; at most 7 days), audited as webhook.rotate_secret.
func (s *Service) RotateSecret(ctx context.Context, actor events.Actor, tenant store.TenantID, id string, overlap time.Duration) (string, time.Time, error) {
	switch {
	case overlap == 0:
		overlap = DefaultOverlap
	case overlap < 0 || overlap > maxOverlap:
		return "", time.Time{}, valid.Field("overlap_seconds", "invalid", "Between 0 and 604800 seconds.")
	}
	secret, sealed, err := s.newSecret(id)
	if err != nil {
		return "", time.Time{}, err
	}
	until := s.now().Add(overlap)
	err = s.Store.InTx(ctx, func(tx store.Repos) error {
		if _, err := tx.Events().Webhooks().UpdateWebhook(ctx, tenant, id, func(w *store.Webhook) error {
			w.PrevSecret, w.Secret, w.PrevUntil = w.Secret, sealed, &until
			return nil
		}); err != nil {
			return err
		}
		return s.record(ctx, tx, actor, tenant, "webhook.rotate_secret", id, events.Changes{
			"secret": {Before: "(redacted)", After: "(changed)"}, "previous_secret_until": {After: until.Format(time.RFC3339)}})
	})
	return secret, until, err
}
