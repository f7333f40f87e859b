package events

import (
	"context"
	"encoding/json"
	"time"
)

// Event is one entry of the event catalogue as every sink receives it
// (webhooks, the NATS stream, Shared Signals, provisioning). Its JSON form
// is the webhook body and the NATS message.
type Event struct {
	// ID is a UUIDv7: unique and sortable. It is the webhook-id and the
	// Nats-Msg-Id, so receivers deduplicate on it.
	ID string `json:"id"`
	// Type names the catalogue entry, e.g. "user.created".
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"`
	// Tenant is the tenant's id; TenantSlug its slug (NATS subjects).
	Tenant     string `json:"tenant"`
	TenantSlug string `json:"-"`
	// UserID is the person the event is about ("" for tenant-level events);
	// delivery keeps each user's events in order.
	UserID string `json:"-"`
	// Data is the event's payload; for events about a user it carries
	// "user_id", for session events also "session_id".
	Data json.RawMessage `json:"data"`
}

// Sink receives events from the outbox, at least once and in order per
// user. An error means "not delivered": the outbox tries again later.
type Sink interface {
	Name() string
	Deliver(ctx context.Context, ev Event) error
}
