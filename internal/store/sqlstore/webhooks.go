package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

type webhookRepo struct{ *scope }

const webhookCols = `id, tenant_id, url, description, event_types, secret, prev_secret, prev_until, disabled_at,
disabled_reason, created_at, updated_at`

func scanWebhook(r scanner) (*store.Webhook, error) {
	var (
		w                  store.Webhook
		tenant, types      string
		prevUntil, disable sql.NullInt64
		created, updated   int64
	)
	if err := r.Scan(&w.ID, &tenant, &w.URL, &w.Description, &types, &w.Secret, &w.PrevSecret, &prevUntil, &disable,
		&w.DisabledReason, &created, &updated); err != nil {
		return nil, err
	}
	if err := parseList(types, &w.EventTypes); err != nil {
		return nil, err
	}
	w.Tenant, w.Secret, w.PrevSecret = store.TenantID(tenant), bytesOrNil(w.Secret), bytesOrNil(w.PrevSecret)
	w.PrevUntil, w.DisabledAt = timePtr(prevUntil), timePtr(disable)
	w.CreatedAt, w.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &w, nil
}

func webhookArgs(w *store.Webhook) []any {
	return []any{w.ID, string(w.Tenant), w.URL, w.Description, listJSON(w.EventTypes), w.Secret, nullBytes(w.PrevSecret),
		nullMicros(w.PrevUntil), nullMicros(w.DisabledAt), w.DisabledReason, w.CreatedAt.UnixMicro(), w.UpdatedAt.UnixMicro()}
}

// CreateWebhook inserts w.
func (r webhookRepo) CreateWebhook(ctx context.Context, w *store.Webhook) error {
	if w.ID == "" || w.Tenant == "" || w.URL == "" || len(w.Secret) == 0 {
		return errors.New("sqlstore: a webhook needs an id, a tenant, a url and a secret")
	}
	now := r.db.nowMicro()
	w.CreatedAt, w.UpdatedAt = now, now
	return r.single(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO webhooks (`+webhookCols+`) VALUES (`+placeholders(0, 12)+`)`,
			webhookArgs(w)...)
		return wrapErr("create webhook", err)
	})
}

// GetWebhook answers one endpoint of the tenant.
func (r webhookRepo) GetWebhook(ctx context.Context, tenant store.TenantID, id string) (*store.Webhook, error) {
	w, err := scanWebhook(r.q.QueryRowContext(ctx, `SELECT `+webhookCols+` FROM webhooks WHERE tenant_id = $1 AND id = $2`,
		string(tenant), id))
	return w, wrapErr("get webhook", err)
}

// ListWebhooks answers a page of the tenant's endpoints.
func (r webhookRepo) ListWebhooks(ctx context.Context, tenant store.TenantID, p store.Page) ([]store.Webhook, error) {
	rows, err := r.q.QueryContext(ctx, `SELECT `+webhookCols+` FROM webhooks WHERE tenant_id = $1 AND id > $2
ORDER BY id LIMIT $3`, string(tenant), p.After, p.ClampLimit())
	if err != nil {
		return nil, wrapErr("list webhooks", err)
	}
	return collect(rows, "list webhooks", func(s interface{ Scan(...any) error }) (*store.Webhook, error) { return scanWebhook(s) })
}

// UpdateWebhook rewrites an endpoint through fn.
func (r webhookRepo) UpdateWebhook(ctx context.Context, tenant store.TenantID, id string, fn func(*store.Webhook) error) (*store.Webhook, error) {
	var out *store.Webhook
	err := r.write(ctx, func(q querier) error {
		w, err := scanWebhook(q.QueryRowContext(ctx, `SELECT `+webhookCols+` FROM webhooks WHERE tenant_id = $1 AND id = $2`+
			r.forUpdate(), string(tenant), id))
		if err != nil {
			return wrapErr("update webhook", err)
		}
		if err := fn(w); err != nil {
			return err
		}
		w.ID, w.Tenant, w.UpdatedAt = id, tenant, r.db.nowMicro()
		if len(w.Secret) == 0 {
			return errors.New("sqlstore: a webhook needs a secret")
		}
		if _, err := q.ExecContext(ctx, `UPDATE webhooks SET url = $1, description = $2, event_types = $3, secret = $4,
prev_secret = $5, prev_until = $6, disabled_at = $7, disabled_reason = $8, updated_at = $9 WHERE tenant_id = $10 AND id = $11`,
			w.URL, w.Description, listJSON(w.EventTypes), w.Secret, nullBytes(w.PrevSecret), nullMicros(w.PrevUntil),
			nullMicros(w.DisabledAt), w.DisabledReason, w.UpdatedAt.UnixMicro(), string(tenant), id); err != nil {
			return wrapErr("update webhook", err)
		}
		out = w
		return nil
	})
	return out, err
}

// DeleteWebhook removes an endpoint and its deliveries.
func (r webhookRepo) DeleteWebhook(ctx context.Context, tenant store.TenantID, id string) error {
	return r.write(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `DELETE FROM webhooks WHERE tenant_id = $1 AND id = $2`, string(tenant), id)
		if err != nil {
			return wrapErr("delete webhook", err)
		}
		if err := oneRow(res, "delete webhook"); err != nil {
			return err
		}
		if _, err = q.ExecContext(ctx, `DELETE FROM event_deliveries WHERE tenant_id = $1 AND sink = $2 AND endpoint_id = $3`,
			string(tenant), store.SinkWebhook, id); err != nil {
			return wrapErr("delete webhook deliveries", err)
		}
		_, err = q.ExecContext(ctx, `DELETE FROM event_chains WHERE sink = $1 AND endpoint_id = $2`, store.SinkWebhook, id)
		return wrapErr("delete webhook chains", err)
	})
}

type deliveryRepo struct{ *scope }

const deliveryCols = `id, seq, tenant_id, event_id, event_type, sink, endpoint_id, user_key, state, attempts,
next_attempt_at, lease_until, created_at, delivered_at, last_error`

func scanDelivery(r scanner) (*store.EventDelivery, error) {
	var (
		d                  store.EventDelivery
		tenant, state      string
		next, created      int64
		lease, deliveredAt sql.NullInt64
	)
	if err := r.Scan(&d.ID, &d.Seq, &tenant, &d.EventID, &d.EventType, &d.Sink, &d.EndpointID, &d.UserKey, &state,
		&d.Attempts, &next, &lease, &created, &deliveredAt, &d.LastError); err != nil {
		return nil, err
	}
	d.Tenant, d.State = store.TenantID(tenant), store.DeliveryState(state)
	d.NextAttemptAt, d.LeaseUntil, d.CreatedAt, d.DeliveredAt = fromMicros(next), timePtr(lease), fromMicros(created), timePtr(deliveredAt)
	return &d, nil
}

func scanDeliveries(rows *sql.Rows, op string) ([]store.EventDelivery, error) {
	return collect(rows, op, func(s interface{ Scan(...any) error }) (*store.EventDelivery, error) { return scanDelivery(s) })
}

// InsertDeliveries inserts ds as pending, numbered after every stored one,
// and makes each the head of its chain when the chain has nothing
// unfinished. The no-op update on conflict takes the chain row's lock, so
// a FinishAttempt that is emptying the chain at the same time either sees
// these deliveries or has deleted the row before the insert makes it anew.
func (r deliveryRepo) InsertDeliveries(ctx context.Context, ds []store.EventDelivery) error {
	if len(ds) == 0 {
		return nil
	}
	return r.write(ctx, func(q querier) error {
		var seq int64
		if err := q.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM event_deliveries`).Scan(&seq); err != nil {
			return wrapErr("insert deliveries", err)
		}
		now := r.db.nowMicro()
		for i := range ds {
			d := &ds[i]
			if d.ID == "" || d.Tenant == "" || d.EventID == "" || d.Sink == "" {
				return errors.New("sqlstore: a delivery needs an id, a tenant, an event and a sink")
			}
			seq++
			d.Seq, d.State, d.CreatedAt = seq, store.DeliveryPending, now
			if d.NextAttemptAt.IsZero() {
				d.NextAttemptAt = now
			}
			if _, err := q.ExecContext(ctx, `INSERT INTO event_deliveries (`+deliveryCols+`) VALUES (`+placeholders(0, 15)+`)`,
				d.ID, d.Seq, string(d.Tenant), d.EventID, d.EventType, d.Sink, d.EndpointID, d.UserKey, string(d.State), 0,
				micro(d.NextAttemptAt).UnixMicro(), nil, now.UnixMicro(), nil, ""); err != nil {
				return wrapErr("insert deliveries", err)
			}
			if _, err := q.ExecContext(ctx, `INSERT INTO event_chains (sink, endpoint_id, user_key, head_seq) VALUES ($1, $2, $3, $4)
ON CONFLICT (sink, endpoint_id, user_key) DO UPDATE SET head_seq = event_chains.head_seq`,
				d.Sink, d.EndpointID, d.UserKey, d.Seq); err != nil {
				return wrapErr("insert deliveries", err)
			}
		}
		return nil
	})
}

// The claim takes the head of each chain only (event_chains), so a user's
// events go out one after the other. It walks the heads in seq order and
// stops at the limit: its cost follows the heads it passes over (claimed,
// leased, waiting for a retry or of a disabled endpoint), not the backlog
// behind them. PostgreSQL skips deliveries another node holds (SKIP
// LOCKED), SQLite's immediate transaction makes claims one at a time.
// $1 lease end, $2 now, $3 limit, $4... the sinks.
const claimDeliveries = `UPDATE event_deliveries SET state = 'sending', lease_until = $1, attempts = attempts + 1
WHERE id IN (SELECT d.id FROM event_chains c JOIN event_deliveries d ON d.seq = c.head_seq
    WHERE c.sink IN (%s)
    AND ((d.state IN ('pending', 'failed') AND d.next_attempt_at <= $2) OR (d.state = 'sending' AND d.lease_until <= $2))
    AND NOT EXISTS (SELECT 1 FROM webhooks w WHERE d.sink = 'webhook' AND w.id = d.endpoint_id AND w.disabled_at IS NOT NULL)
    ORDER BY c.head_seq LIMIT $3%s)
RETURNING ` + deliveryCols

// ClaimDeliveries leases due deliveries in one statement.
func (r deliveryRepo) ClaimDeliveries(ctx context.Context, sinks []string, now time.Time, lease time.Duration, limit int) ([]store.EventDelivery, error) {
	if len(sinks) == 0 {
		return nil, nil
	}
	if limit <= 0 || limit > 100 {
		limit = 10
	}
	in, sinkArgs := inList(3, sinks)
	lock := ""
	if r.db.d.postgres {
		lock = " FOR UPDATE OF d SKIP LOCKED"
	}
	stmt := sprintf(claimDeliveries, in, lock)
	args := append([]any{micro(now.Add(lease)).UnixMicro(), micro(now).UnixMicro(), limit}, sinkArgs...)
	var out []store.EventDelivery
	err := r.write(ctx, func(q querier) error {
		rows, err := q.QueryContext(ctx, stmt, args...)
		if err != nil {
			return wrapErr("claim deliveries", err)
		}
		out, err = scanDeliveries(rows, "claim deliveries")
		return err
	})
	// RETURNING answers in no set order; the caller wants seq order.
	sortBySeq(out)
	return out, err
}

// FinishAttempt records an attempt and the delivery's new state; a
// delivery that is finished (delivered or dead) hands its chain's head on,
// one left unfinished (failed) stays or becomes its chain's head when it is
// the oldest (it is not when another node re-claimed it after its lease ran
// out and finished it first).
func (r deliveryRepo) FinishAttempt(ctx context.Context, a store.EventAttempt, state store.DeliveryState, next time.Time) error {
	if len(a.Error) > 500 {
		a.Error = a.Error[:500]
	}
	return r.write(ctx, func(q querier) error {
		var (
			tenant string
			c      chainKey
			seq    int64
		)
		if err := q.QueryRowContext(ctx, `SELECT tenant_id, sink, endpoint_id, user_key, seq FROM event_deliveries WHERE id = $1`,
			a.DeliveryID).Scan(&tenant, &c.sink, &c.endpoint, &c.user, &seq); err != nil {
			return wrapErr("finish attempt", err)
		}
		if _, err := q.ExecContext(ctx, `INSERT INTO event_attempts (delivery_id, tenant_id, at, status_code, latency_ms, error)
VALUES ($1, $2, $3, $4, $5, $6)`, a.DeliveryID, tenant, micro(a.At).UnixMicro(), a.StatusCode, a.LatencyMS, a.Error); err != nil {
			return wrapErr("finish attempt", err)
		}
		var delivered sql.NullInt64
		if state == store.DeliveryDelivered {
			delivered = sql.NullInt64{Int64: micro(a.At).UnixMicro(), Valid: true}
		}
		res, err := q.ExecContext(ctx, `UPDATE event_deliveries SET state = $1, next_attempt_at = $2, lease_until = NULL,
delivered_at = $3, last_error = $4 WHERE id = $5`, string(state), micro(next).UnixMicro(), delivered, a.Error, a.DeliveryID)
		if err != nil {
			return wrapErr("finish attempt", err)
		}
		if err := oneRow(res, "finish attempt"); err != nil {
			return err
		}
		if state != store.DeliveryDelivered && state != store.DeliveryDead {
			return headChain(ctx, q, c, seq)
		}
		return r.advanceChain(ctx, q, c)
	})
}

// chainKey names a delivery chain.
type chainKey struct{ sink, endpoint, user string }

// headChain makes the unfinished delivery seq the head of chain c when it
// is older than the head (or the chain has none).
func headChain(ctx context.Context, q querier, c chainKey, seq int64) error {
	_, err := q.ExecContext(ctx, `INSERT INTO event_chains (sink, endpoint_id, user_key, head_seq) VALUES ($1, $2, $3, $4)
ON CONFLICT (sink, endpoint_id, user_key) DO UPDATE SET head_seq = CASE WHEN excluded.head_seq < event_chains.head_seq
THEN excluded.head_seq ELSE event_chains.head_seq END`, c.sink, c.endpoint, c.user, seq)
	return wrapErr("head chain", err)
}

// advanceChain sets the head of the delivery's chain to its oldest
// unfinished delivery, or removes the chain when none is left. The
// delivery row is already updated (locks go delivery, then chain, as in
// RetryDelivery); the chain row is locked before the oldest is read, so
// the read, a statement of its own, sees deliveries a concurrent fan-out
// committed while holding that lock.
func (r deliveryRepo) advanceChain(ctx context.Context, q querier, c chainKey) error {
	sink, endpoint, user := c.sink, c.endpoint, c.user
	var head int64
	err := q.QueryRowContext(ctx, `SELECT head_seq FROM event_chains WHERE sink = $1 AND endpoint_id = $2 AND user_key = $3`+
		r.forUpdate(), sink, endpoint, user).Scan(&head)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return wrapErr("advance chain", err)
	}
	var oldest sql.NullInt64
	if err := q.QueryRowContext(ctx, `SELECT MIN(seq) FROM event_deliveries WHERE sink = $1 AND endpoint_id = $2
AND user_key = $3 AND state IN ('pending', 'failed', 'sending')`, sink, endpoint, user).Scan(&oldest); err != nil {
		return wrapErr("advance chain", err)
	}
	if !oldest.Valid {
		_, err := q.ExecContext(ctx, `DELETE FROM event_chains WHERE sink = $1 AND endpoint_id = $2 AND user_key = $3`,
			sink, endpoint, user)
		return wrapErr("advance chain", err)
	}
	_, err = q.ExecContext(ctx, `INSERT INTO event_chains (sink, endpoint_id, user_key, head_seq) VALUES ($1, $2, $3, $4)
ON CONFLICT (sink, endpoint_id, user_key) DO UPDATE SET head_seq = excluded.head_seq`, sink, endpoint, user, oldest.Int64)
	return wrapErr("advance chain", err)
}

// GetDelivery answers one delivery of the tenant.
func (r deliveryRepo) GetDelivery(ctx context.Context, tenant store.TenantID, id string) (*store.EventDelivery, error) {
	d, err := scanDelivery(r.q.QueryRowContext(ctx, `SELECT `+deliveryCols+` FROM event_deliveries WHERE tenant_id = $1 AND id = $2`,
		string(tenant), id))
	return d, wrapErr("get delivery", err)
}

// ListDeliveries answers an endpoint's deliveries, newest first.
func (r deliveryRepo) ListDeliveries(ctx context.Context, tenant store.TenantID, endpointID string, p store.Page) ([]store.EventDelivery, error) {
	var b builder
	b.add(`SELECT `+deliveryCols+` FROM event_deliveries WHERE tenant_id = `, b.arg(string(tenant)),
		` AND sink = `, b.arg(store.SinkWebhook), ` AND endpoint_id = `, b.arg(endpointID))
	if p.After != "" {
		b.add(` AND id < `, b.arg(p.After))
	}
	b.add(` ORDER BY id DESC LIMIT `, b.arg(p.ClampLimit()))
	rows, err := r.q.QueryContext(ctx, b.String(), b.args...)
	if err != nil {
		return nil, wrapErr("list deliveries", err)
	}
	return scanDeliveries(rows, "list deliveries")
}

// ListAttempts answers the deliveries' attempts, oldest first.
func (r deliveryRepo) ListAttempts(ctx context.Context, tenant store.TenantID, ids []string) (map[string][]store.EventAttempt, error) {
	out := map[string][]store.EventAttempt{}
	if len(ids) == 0 {
		return out, nil
	}
	in, args := inList(1, ids)
	rows, err := r.q.QueryContext(ctx, `SELECT delivery_id, at, status_code, latency_ms, error FROM event_attempts
WHERE tenant_id = $1 AND delivery_id IN (`+in+`) ORDER BY at`, append([]any{string(tenant)}, args...)...)
	if err != nil {
		return nil, wrapErr("list attempts", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			a  store.EventAttempt
			at int64
		)
		if err := rows.Scan(&a.DeliveryID, &at, &a.StatusCode, &a.LatencyMS, &a.Error); err != nil {
			return nil, wrapErr("list attempts", err)
		}
		a.At = fromMicros(at)
		out[a.DeliveryID] = append(out[a.DeliveryID], a)
	}
	return out, wrapErr("list attempts", rows.Err())
}

// RetryDelivery makes a delivery due now.
func (r deliveryRepo) RetryDelivery(ctx context.Context, tenant store.TenantID, id string, now time.Time) error {
	return r.write(ctx, func(q querier) error {
		d, err := scanDelivery(q.QueryRowContext(ctx, `SELECT `+deliveryCols+` FROM event_deliveries
WHERE tenant_id = $1 AND id = $2`+r.forUpdate(), string(tenant), id))
		if err != nil {
			return wrapErr("retry delivery", err)
		}
		if d.State == store.DeliverySending && d.LeaseUntil != nil && d.LeaseUntil.After(now) {
			return store.ErrConflict
		}
		if _, err = q.ExecContext(ctx, `UPDATE event_deliveries SET state = 'pending', next_attempt_at = $1, lease_until = NULL
WHERE id = $2`, micro(now).UnixMicro(), id); err != nil {
			return wrapErr("retry delivery", err)
		}
		// A finished delivery retried is unfinished again: it heads its
		// chain when it is older than the chain's head.
		return headChain(ctx, q, chainKey{d.Sink, d.EndpointID, d.UserKey}, d.Seq)
	})
}
