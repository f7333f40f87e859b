package sqlstore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

type eventRepos struct{ *scope }

func (s *scope) Events() store.EventRepos { return eventRepos{s} }

func (r eventRepos) Outbox() store.Outbox         { return outboxRepo(r) }
func (r eventRepos) Webhooks() store.Webhooks     { return webhookRepo(r) }
func (r eventRepos) Deliveries() store.Deliveries { return deliveryRepo(r) }

type outboxRepo struct{ *scope }

const eventCols = `id, tenant_id, type, user_id, data, created_at`

func scanEvent(r scanner) (*store.OutboxEvent, error) {
	var (
		e       store.OutboxEvent
		tenant  string
		data    string
		created int64
	)
	if err := r.Scan(&e.ID, &tenant, &e.Type, &e.UserID, &data, &created); err != nil {
		return nil, err
	}
	e.Tenant, e.Data, e.CreatedAt = store.TenantID(tenant), []byte(data), fromMicros(created)
	return &e, nil
}

// AppendEvent inserts e, not yet dispatched.
func (r outboxRepo) AppendEvent(ctx context.Context, e *store.OutboxEvent) error {
	if e.ID == "" || e.Tenant == "" || e.Type == "" || len(e.Data) == 0 {
		return errors.New("sqlstore: an event needs an id, a tenant, a type and data")
	}
	if e.CreatedAt.IsZero() {
		e.CreatedAt = r.db.nowMicro()
	}
	return r.single(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO events (`+eventCols+`, dispatched) VALUES ($1, $2, $3, $4, $5, $6, 0)`,
			e.ID, string(e.Tenant), e.Type, e.UserID, string(e.Data), micro(e.CreatedAt).UnixMicro())
		return wrapErr("append event", err)
	})
}

// dispatchLock is the PostgreSQL advisory lock key that serialises
// dispatching; SQLite's immediate transactions already hold the one write
// lock.
const dispatchLock = 0x6768_6576 // "ghev"

// LockDispatch takes the dispatch lock until the transaction ends.
func (r outboxRepo) LockDispatch(ctx context.Context) error {
	if r.tx == nil {
		return errors.New("sqlstore: LockDispatch outside a transaction")
	}
	if !r.db.d.postgres {
		return nil
	}
	_, err := r.tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, dispatchLock)
	return wrapErr("lock dispatch", err)
}

func (r outboxRepo) list(ctx context.Context, op, where string, args ...any) ([]store.OutboxEvent, error) {
	rows, err := r.q.QueryContext(ctx, `SELECT `+eventCols+` FROM events WHERE `+where, args...)
	if err != nil {
		return nil, wrapErr(op, err)
	}
	return collect(rows, op, func(s interface{ Scan(...any) error }) (*store.OutboxEvent, error) { return scanEvent(s) })
}

// ListUndispatched answers the oldest events not yet dispatched.
func (r outboxRepo) ListUndispatched(ctx context.Context, limit int) ([]store.OutboxEvent, error) {
	return r.list(ctx, "list undispatched events", `dispatched = 0 ORDER BY id LIMIT $1`, clampLimit(limit))
}

// MarkDispatched marks the events dispatched.
func (r outboxRepo) MarkDispatched(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	return r.single(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `UPDATE events SET dispatched = 1 WHERE id IN (`+placeholders(0, len(ids))+`)`, args...)
		return wrapErr("mark dispatched", err)
	})
}

// ListEvents answers the tenant's events after an id.
func (r outboxRepo) ListEvents(ctx context.Context, tenant store.TenantID, after string, limit int) ([]store.OutboxEvent, error) {
	return r.list(ctx, "list events", `tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3`, string(tenant), after, clampLimit(limit))
}

// GetEvent answers one event of the tenant.
func (r outboxRepo) GetEvent(ctx context.Context, tenant store.TenantID, id string) (*store.OutboxEvent, error) {
	e, err := scanEvent(r.q.QueryRowContext(ctx, `SELECT `+eventCols+` FROM events WHERE tenant_id = $1 AND id = $2`,
		string(tenant), id))
	return e, wrapErr("get event", err)
}

// RedactUserEvents replaces the data of the user's events.
func (r outboxRepo) RedactUserEvents(ctx context.Context, tenant store.TenantID, userID string, data []byte) (int64, error) {
	if userID == "" {
		return 0, errors.New("sqlstore: redact events needs a user id")
	}
	var n int64
	err := r.single(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `UPDATE events SET data = $1 WHERE tenant_id = $2 AND user_id = $3`,
			string(data), string(tenant), userID)
		if err != nil {
			return wrapErr("redact events", err)
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}

// PurgeEvents removes old dispatched events whose deliveries are all
// finished, with those deliveries (their attempts cascade).
func (r outboxRepo) PurgeEvents(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := r.write(ctx, func(q querier) error {
		const old = `SELECT e.id FROM events e WHERE e.dispatched = 1 AND e.created_at < $1 AND NOT EXISTS (
SELECT 1 FROM event_deliveries d WHERE d.event_id = e.id AND d.state IN ('pending', 'failed', 'sending'))`
		b := micro(before).UnixMicro()
		if _, err := q.ExecContext(ctx, `DELETE FROM event_deliveries WHERE event_id IN (`+old+`)`, b); err != nil {
			return wrapErr("purge deliveries", err)
		}
		res, err := q.ExecContext(ctx, `DELETE FROM events WHERE id IN (`+old+`)`, b)
		if err != nil {
			return wrapErr("purge events", err)
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}

func clampLimit(n int) int { return store.Page{Limit: n}.ClampLimit() }

// inList answers "$from+1, ..." for vals and the values as arguments.
func inList(from int, vals []string) (string, []any) {
	args := make([]any, len(vals))
	for i, v := range vals {
		args[i] = v
	}
	return placeholders(from, len(vals)), args
}

func sprintf(format string, a ...any) string { return fmt.Sprintf(format, a...) }

func sortBySeq(ds []store.EventDelivery) {
	slices.SortFunc(ds, func(a, b store.EventDelivery) int { return cmp.Compare(a.Seq, b.Seq) })
}
