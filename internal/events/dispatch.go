package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/poll"
	"github.com/gatehouse-id/gatehouse/internal/seal"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tracing"
)

// Poster sends one event to a webhook endpoint, signed with each of
// secrets (the current one first, then one being rotated out). It answers
// the HTTP status (0 when none came) and an error for anything but 2xx.
// The HTTP side lives outside this package (internal/webhook/post).
type Poster interface {
	Post(ctx context.Context, url string, secrets []string, ev Event) (status int, err error)
}

// WebhookAAD binds a webhook's sealed secret to its row.
func WebhookAAD(id string) []byte { return []byte("webhook:" + id) }

// Dispatcher delivers the outbox: it fans every new event out into one
// delivery per subscribed webhook endpoint and per registered Sink, then
// delivers them, at least once and one at a time per user and target, with
// retries (exponential backoff with jitter) for RetryFor, after which a
// delivery is dead. Several dispatchers (on one node or many) share one
// database: fan-out is serialised by a lock in the database and a claimed
// delivery is leased to one of them, as the mail queue's are.
type Dispatcher struct {
	Store  store.Store
	Sealer *seal.Sealer
	Poster Poster
	// Sinks receive every event (NATS, Shared Signals...).
	Sinks []Sink
	Log   *slog.Logger
	Now   func() time.Time
	// Jitter answers a number in [0, 1) (default math/rand/v2).
	Jitter func() float64
	// Kick wakes the dispatcher early (Outbox.Kick's other end); optional.
	Kick <-chan struct{}
	// OnDead is called, in the transaction that gives a webhook delivery
	// up, with the endpoint (disabled by then when it was enabled);
	// disabled tells whether this delivery disabled it. It alerts the
	// tenant's admins.
	OnDead func(ctx context.Context, tx store.Repos, w *store.Webhook, disabled bool) error
	// Poll is the idle interval (default 1s); Lease how long a claim
	// holds (default 1m; an attempt must finish sooner: the Poster's
	// timeout is shorter); BaseBackoff the first retry delay before jitter
	// (default 4s: the first retry comes within 5s), doubled per attempt
	// up to MaxBackoff (default 1h); RetryFor how long a delivery is
	// retried (default 72h); Workers how many deliveries go out at once
	// (default 8; each is a different user or target).
	Poll        time.Duration
	Lease       time.Duration
	BaseBackoff time.Duration
	MaxBackoff  time.Duration
	RetryFor    time.Duration
	Workers     int
}

func (d *Dispatcher) now() time.Time {
	if d.Now != nil {
		return d.Now().UTC()
	}
	return time.Now().UTC()
}

// sinkNames are the sinks this dispatcher delivers to: webhooks and the
// registered sinks. A node without a sink leaves its deliveries to nodes
// that have it.
func (d *Dispatcher) sinkNames() []string {
	out := []string{store.SinkWebhook}
	for _, s := range d.Sinks {
		out = append(out, s.Name())
	}
	return out
}

// Run dispatches until ctx ends.
func (d *Dispatcher) Run(ctx context.Context) {
	poll.Loop(ctx, poll.OrDefault(d.Poll, time.Second), d.Kick, d.RunOnce, func(err error) {
		if errors.Is(err, store.ErrBusy) { // lock contention: the next round retries
			d.Log.DebugContext(ctx, "events: dispatcher: database busy", "err", err)
			return
		}
		d.Log.ErrorContext(ctx, "events: dispatcher", "err", err)
	})
}

// RunOnce fans out new events, then claims a batch of due deliveries and
// tries each once; it answers how many events and deliveries it handled.
func (d *Dispatcher) RunOnce(ctx context.Context) (int, error) {
	n, err := d.FanOut(ctx, 200)
	if err != nil {
		return n, err
	}
	workers := poll.OrDefault(d.Workers, 8)
	batch, err := d.Store.Events().Deliveries().ClaimDeliveries(ctx, d.sinkNames(), d.now(),
		poll.OrDefault(d.Lease, time.Minute), workers*4)
	if err != nil {
		return n, err
	}
	c := newBatchCache(d)
	sem := make(chan struct{}, workers)
	var wg sync.WaitGroup
	for _, dl := range batch {
		if ctx.Err() != nil {
			break // the rest stay leased and are claimed again later
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			d.deliver(ctx, c, dl)
		}()
	}
	wg.Wait()
	return n + len(batch), ctx.Err()
}

// FanOut turns up to limit undispatched events into deliveries, under the
// dispatch lock so deliveries are numbered in the order events were
// dispatched on every node. It answers how many events it dispatched.
func (d *Dispatcher) FanOut(ctx context.Context, limit int) (int, error) {
	var n int
	err := d.Store.InTx(ctx, func(tx store.Repos) error {
		ob := tx.Events().Outbox()
		if err := ob.LockDispatch(ctx); err != nil {
			return err
		}
		evs, err := ob.ListUndispatched(ctx, limit)
		if err != nil || len(evs) == 0 {
			return err
		}
		hooks, now := map[store.TenantID][]store.Webhook{}, d.now()
		var ds []store.EventDelivery
		ids := make([]string, len(evs))
		for i, ev := range evs {
			ids[i] = ev.ID
			ws, ok := hooks[ev.Tenant]
			if !ok {
				if ws, err = enabledWebhooks(ctx, tx, ev.Tenant); err != nil {
					return err
				}
				hooks[ev.Tenant] = ws
			}
			for _, w := range ws {
				// An endpoint hears what happened from its registration on.
				if subscribed(w.EventTypes, ev.Type) && !ev.CreatedAt.Before(w.CreatedAt) {
					ds = append(ds, newDelivery(ev, store.SinkWebhook, w.ID, now))
				}
			}
			for _, s := range d.Sinks {
				ds = append(ds, newDelivery(ev, s.Name(), "", now))
			}
		}
		if err := tx.Events().Deliveries().InsertDeliveries(ctx, ds); err != nil {
			return err
		}
		n = len(evs)
		return ob.MarkDispatched(ctx, ids)
	})
	return n, err
}

// maxWebhooks bounds a tenant's endpoints (the API refuses more).
const maxWebhooks = 100

func enabledWebhooks(ctx context.Context, repos store.Repos, tenant store.TenantID) ([]store.Webhook, error) {
	all, err := repos.Events().Webhooks().ListWebhooks(ctx, tenant, store.Page{Limit: maxWebhooks})
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, w := range all {
		if w.DisabledAt == nil {
			out = append(out, w)
		}
	}
	return out, nil
}

func subscribed(patterns []string, typ string) bool {
	for _, p := range patterns {
		if Matches(p, typ) {
			return true
		}
	}
	return false
}

func newDelivery(ev store.OutboxEvent, sink, endpoint string, now time.Time) store.EventDelivery {
	return store.EventDelivery{ID: uuid.Must(uuid.NewV7()).String(), Tenant: ev.Tenant, EventID: ev.ID, EventType: ev.Type,
		Sink: sink, EndpointID: endpoint, UserKey: ev.UserID, NextAttemptAt: now}
}

// batchCache holds what a batch's deliveries share: tenants' slugs and
// endpoints with their opened secrets.
type batchCache struct {
	d     *Dispatcher
	mu    sync.Mutex
	slugs map[store.TenantID]string
}

func newBatchCache(d *Dispatcher) *batchCache {
	return &batchCache{d: d, slugs: map[store.TenantID]string{}}
}

func (c *batchCache) slug(ctx context.Context, tenant store.TenantID) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.slugs[tenant]; ok {
		return s
	}
	s := ""
	if t, err := c.d.Store.Tenants().GetTenant(ctx, tenant); err == nil {
		s = t.Slug
	}
	c.slugs[tenant] = s
	return s
}

// secrets opens an endpoint's signing secrets: the current one and, while
// a rotation overlaps, the previous one.
func (d *Dispatcher) secrets(w *store.Webhook, now time.Time) ([]string, error) {
	cur, err := d.Sealer.Open(w.Secret, WebhookAAD(w.ID))
	if err != nil {
		return nil, err
	}
	out := []string{string(cur)}
	if len(w.PrevSecret) > 0 && w.PrevUntil != nil && now.Before(*w.PrevUntil) {
		prev, err := d.Sealer.Open(w.PrevSecret, WebhookAAD(w.ID))
		if err != nil {
			return nil, err
		}
		out = append(out, string(prev))
	}
	return out, nil
}

// errGone: the delivery's endpoint or event no longer exists.
var errGone = errors.New("events: endpoint or event gone")

func (d *Dispatcher) deliver(ctx context.Context, c *batchCache, dl store.EventDelivery) {
	ctx, span := tracing.Start(ctx, "event.deliver "+dl.Sink)
	defer span.End()
	start := d.now()
	status, err := d.attempt(ctx, c, dl)
	latency := d.now().Sub(start).Milliseconds()
	// Record the outcome even when ctx has ended: the attempt happened.
	rctx := context.WithoutCancel(ctx)
	a := store.EventAttempt{DeliveryID: dl.ID, At: start, StatusCode: status, LatencyMS: latency}
	if err == nil {
		if err := d.Store.Events().Deliveries().FinishAttempt(rctx, a, store.DeliveryDelivered, start); err != nil {
			d.Log.ErrorContext(ctx, "events: record delivery", "delivery_id", dl.ID, "err", err)
		}
		return
	}
	a.Error = err.Error()
	next := d.now().Add(d.backoff(dl.Attempts))
	gone := errors.Is(err, errGone)
	dead := gone || next.Sub(dl.CreatedAt) > poll.OrDefault(d.RetryFor, 72*time.Hour)
	d.Log.WarnContext(ctx, "events: delivery failed", "delivery_id", dl.ID, "event_id", dl.EventID, "sink", dl.Sink,
		"endpoint_id", dl.EndpointID, "attempt", dl.Attempts, "status", status, "dead", dead, "err", err)
	if !dead {
		if err := d.Store.Events().Deliveries().FinishAttempt(rctx, a, store.DeliveryFailed, next); err != nil {
			d.Log.ErrorContext(ctx, "events: record failure", "delivery_id", dl.ID, "err", err)
		}
		return
	}
	err = d.Store.InTx(rctx, func(tx store.Repos) error {
		if err := tx.Events().Deliveries().FinishAttempt(rctx, a, store.DeliveryDead, next); err != nil {
			return err
		}
		if dl.Sink != store.SinkWebhook || gone {
			return nil
		}
		return d.disable(rctx, tx, dl)
	})
	if err != nil {
		d.Log.ErrorContext(ctx, "events: record dead delivery", "delivery_id", dl.ID, "err", err)
	}
}

// disable turns off the endpoint of a delivery that was given up and
// tells OnDead.
func (d *Dispatcher) disable(ctx context.Context, tx store.Repos, dl store.EventDelivery) error {
	disabled := false
	w, err := tx.Events().Webhooks().UpdateWebhook(ctx, dl.Tenant, dl.EndpointID, func(w *store.Webhook) error {
		if w.DisabledAt == nil {
			now := d.now().Truncate(time.Microsecond)
			w.DisabledAt, w.DisabledReason, disabled = &now, "deliveries failed for the whole retry period", true
		}
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil || d.OnDead == nil {
		return err
	}
	return d.OnDead(ctx, tx, w, disabled)
}

// attempt sends the delivery once.
func (d *Dispatcher) attempt(ctx context.Context, c *batchCache, dl store.EventDelivery) (int, error) {
	rec, err := d.Store.Events().Outbox().GetEvent(ctx, dl.Tenant, dl.EventID)
	if errors.Is(err, store.ErrNotFound) {
		return 0, errGone
	}
	if err != nil {
		return 0, err
	}
	ev := Event{ID: rec.ID, Type: rec.Type, Timestamp: rec.CreatedAt, Tenant: string(rec.Tenant),
		TenantSlug: c.slug(ctx, rec.Tenant), UserID: rec.UserID, Data: rec.Data}
	lease := poll.OrDefault(d.Lease, time.Minute)
	actx, cancel := context.WithTimeout(ctx, lease*3/4)
	defer cancel()
	if dl.Sink != store.SinkWebhook {
		for _, s := range d.Sinks {
			if s.Name() == dl.Sink {
				return 0, s.Deliver(actx, ev)
			}
		}
		return 0, fmt.Errorf("events: no sink %q on this node", dl.Sink)
	}
	w, err := d.Store.Events().Webhooks().GetWebhook(ctx, dl.Tenant, dl.EndpointID)
	if errors.Is(err, store.ErrNotFound) {
		return 0, errGone
	}
	if err != nil {
		return 0, err
	}
	secrets, err := d.secrets(w, d.now())
	if err != nil {
		return 0, err
	}
	if d.Poster == nil {
		return 0, errors.New("events: no webhook poster")
	}
	return d.Poster.Post(actx, w.URL, secrets, ev)
}

// backoff is BaseBackoff * 2^(attempt-1), at most MaxBackoff, with
// jitter: a random half of it is taken off, so retries of many failed
// deliveries spread out.
func (d *Dispatcher) backoff(attempt int) time.Duration {
	base, limit := poll.OrDefault(d.BaseBackoff, 4*time.Second), poll.OrDefault(d.MaxBackoff, time.Hour)
	b := base
	for i := 1; i < attempt && b < limit; i++ {
		b *= 2
	}
	b = min(b, limit)
	j := d.Jitter
	if j == nil {
		j = rand.Float64
	}
	return b - time.Duration(j()*float64(b)/2)
}
