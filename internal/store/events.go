package store

import (
	"context"
	"time"
)

// EventRepos are the aggregates of the event outbox: the events written
// in the transaction of the change they describe, the webhook endpoints
// that subscribe to them, and the deliveries of each event to each
// endpoint or sink. Store and Tx provide them through Events().
type EventRepos interface {
	Outbox() Outbox
	Webhooks() Webhooks
	Deliveries() Deliveries
}

// OutboxEvent is one stored catalogue event. Data is its JSON payload.
type OutboxEvent struct {
	ID        string // UUIDv7
	Tenant    TenantID
	Type      string
	UserID    string // "" for events not about a user
	Data      []byte
	CreatedAt time.Time
}

// Outbox stores events until they are fanned out into deliveries, and
// keeps them afterwards for the SIEM export until purged.
type Outbox interface {
	// AppendEvent inserts e (ID, Tenant, Type, Data set by the caller;
	// CreatedAt now when zero), not yet dispatched.
	AppendEvent(ctx context.Context, e *OutboxEvent) error
	// LockDispatch serialises dispatching across nodes until the
	// transaction it runs in ends; call it first inside InTx.
	LockDispatch(ctx context.Context) error
	// ListUndispatched answers up to limit events not yet dispatched, in
	// id order.
	ListUndispatched(ctx context.Context, limit int) ([]OutboxEvent, error)
	// MarkDispatched marks the events dispatched.
	MarkDispatched(ctx context.Context, ids []string) error
	// ListEvents answers up to limit of tenant's events with an id greater
	// than after, in id order.
	ListEvents(ctx context.Context, tenant TenantID, after string, limit int) ([]OutboxEvent, error)
	// GetEvent answers one event; ErrNotFound when the tenant has none
	// with that id.
	GetEvent(ctx context.Context, tenant TenantID, id string) (*OutboxEvent, error)
	// RedactUserEvents replaces the data of every event of tenant about
	// userID with data and answers how many it changed.
	RedactUserEvents(ctx context.Context, tenant TenantID, userID string, data []byte) (int64, error)
	// PurgeEvents removes, in every tenant, dispatched events created
	// before the time, with their finished deliveries.
	PurgeEvents(ctx context.Context, before time.Time) (int64, error)
}

// Webhook is a tenant's endpoint subscribed to event types. Secret is the
// signing secret sealed with the master key; PrevSecret, until PrevUntil,
// the one it replaced (both sign during a rotation's overlap).
type Webhook struct {
	ID             string
	Tenant         TenantID
	URL            string
	Description    string
	EventTypes     []string
	Secret         []byte
	PrevSecret     []byte
	PrevUntil      *time.Time
	DisabledAt     *time.Time
	DisabledReason string
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// Webhooks stores webhook endpoints.
type Webhooks interface {
	// CreateWebhook inserts w; ErrNotFound when the tenant does not exist.
	CreateWebhook(ctx context.Context, w *Webhook) error
	// GetWebhook answers one endpoint; ErrNotFound when unknown.
	GetWebhook(ctx context.Context, tenant TenantID, id string) (*Webhook, error)
	// ListWebhooks answers a page of the tenant's endpoints.
	ListWebhooks(ctx context.Context, tenant TenantID, p Page) ([]Webhook, error)
	// UpdateWebhook reads the endpoint, lets fn change it and stores the
	// result atomically; fn's error is returned unchanged; ErrNotFound
	// when unknown.
	UpdateWebhook(ctx context.Context, tenant TenantID, id string, fn func(*Webhook) error) (*Webhook, error)
	// DeleteWebhook removes the endpoint and its deliveries; ErrNotFound
	// when unknown.
	DeleteWebhook(ctx context.Context, tenant TenantID, id string) error
}

// DeliveryState is where a delivery is.
type DeliveryState string

// Delivery states: pending waits for its first attempt, failed for a
// retry after a failed attempt; sending is leased to a worker; delivered
// and dead are final (dead: given up after the retry period).
const (
	DeliveryPending   DeliveryState = "pending"
	DeliverySending   DeliveryState = "sending"
	DeliveryDelivered DeliveryState = "delivered"
	DeliveryFailed    DeliveryState = "failed"
	DeliveryDead      DeliveryState = "dead"
)

// SinkWebhook is the Sink of deliveries to webhook endpoints (EndpointID
// names the endpoint); other deliveries name a registered sink.
const SinkWebhook = "webhook"

// EventDelivery is one event on its way to one endpoint or sink. Deliveries of
// one chain (same Sink, EndpointID and UserKey) go out one at a time in
// Seq order.
type EventDelivery struct {
	ID            string
	Seq           int64 // assigned by InsertDeliveries
	Tenant        TenantID
	EventID       string
	EventType     string
	Sink          string
	EndpointID    string
	UserKey       string
	State         DeliveryState
	Attempts      int // attempts started (a claim counts one)
	NextAttemptAt time.Time
	LeaseUntil    *time.Time
	CreatedAt     time.Time
	DeliveredAt   *time.Time
	LastError     string
}

// EventAttempt is the outcome of one attempt: StatusCode 0 when no
// answer came (Error says why).
type EventAttempt struct {
	DeliveryID string
	At         time.Time
	StatusCode int
	LatencyMS  int64
	Error      string
}

// Deliveries stores deliveries and their attempts.
type Deliveries interface {
	// InsertDeliveries inserts ds as pending, numbering their Seq after
	// every delivery stored before, in slice order. Call it under
	// Outbox.LockDispatch.
	InsertDeliveries(ctx context.Context, ds []EventDelivery) error
	// ClaimDeliveries leases up to limit due deliveries of the named sinks
	// for lease: pending or failed ones whose NextAttemptAt has come, and
	// sending ones whose lease ran out; only the first unfinished one of
	// each chain, and none of a disabled webhook. Each claim counts an
	// attempt.
	ClaimDeliveries(ctx context.Context, sinks []string, now time.Time, lease time.Duration, limit int) ([]EventDelivery, error)
	// FinishAttempt records a's outcome and moves the delivery to state
	// (delivered, failed with next as its retry time, or dead).
	FinishAttempt(ctx context.Context, a EventAttempt, state DeliveryState, next time.Time) error
	// GetDelivery answers one delivery; ErrNotFound when unknown.
	GetDelivery(ctx context.Context, tenant TenantID, id string) (*EventDelivery, error)
	// ListDeliveries answers a page of an endpoint's deliveries, newest
	// first: ids below p.After (all when "").
	ListDeliveries(ctx context.Context, tenant TenantID, endpointID string, p Page) ([]EventDelivery, error)
	// ListAttempts answers the attempts of the deliveries, oldest first.
	ListAttempts(ctx context.Context, tenant TenantID, deliveryIDs []string) (map[string][]EventAttempt, error)
	// RetryDelivery makes a delivery that is not being sent due at now;
	// ErrNotFound when unknown, ErrConflict while it is being sent.
	RetryDelivery(ctx context.Context, tenant TenantID, id string, now time.Time) error
}
