package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

type ssfRepo struct{ *scope }

func (s *scope) SSF() store.SSFRepos { return ssfRepo{s} }

const ssfStreamCols = `tenant_id, id, audience, method, endpoint_url, sealed_auth, events_requested, events_delivered,
description, status, status_reason, version, created_at, updated_at`

func scanSSFStream(r interface{ Scan(...any) error }) (*store.SSFStream, error) {
	var (
		s                store.SSFStream
		tn, req, deliv   string
		auth             []byte
		created, updated int64
	)
	if err := r.Scan(&tn, &s.ID, &s.Audience, &s.Method, &s.EndpointURL, &auth, &req, &deliv,
		&s.Description, &s.Status, &s.StatusReason, &s.Version, &created, &updated); err != nil {
		return nil, err
	}
	s.Tenant, s.SealedAuth = store.TenantID(tn), bytesOrNil(auth)
	if err := parseList(req, &s.EventsRequested); err != nil {
		return nil, err
	}
	if err := parseList(deliv, &s.EventsDelivered); err != nil {
		return nil, err
	}
	s.CreatedAt, s.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &s, nil
}

func validSSFStream(s *store.SSFStream) error {
	if s.Tenant == "" || s.ID == "" || s.Audience == "" {
		return errors.New("sqlstore: ssf stream needs a tenant, an id and an audience")
	}
	if s.Method != store.SSFPush && s.Method != store.SSFPoll {
		return errors.New("sqlstore: ssf stream method must be push or poll")
	}
	if s.Status != store.SSFEnabled && s.Status != store.SSFPaused && s.Status != store.SSFDisabled {
		return errors.New("sqlstore: ssf stream status must be enabled, paused or disabled")
	}
	return nil
}

func (r ssfRepo) CreateSSFStream(ctx context.Context, s *store.SSFStream) error {
	if err := validSSFStream(s); err != nil {
		return err
	}
	n := *s
	now := r.db.nowMicro()
	n.Version, n.CreatedAt, n.UpdatedAt = 1, now, now
	err := r.single(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO ssf_streams (`+ssfStreamCols+`) VALUES (`+placeholders(0, 14)+`)`,
			string(n.Tenant), n.ID, n.Audience, n.Method, n.EndpointURL, nullBytes(n.SealedAuth),
			listJSON(n.EventsRequested), listJSON(n.EventsDelivered), n.Description, n.Status, n.StatusReason,
			n.Version, now.UnixMicro(), now.UnixMicro())
		return wrapErr("create ssf stream", err)
	})
	if err != nil {
		return err
	}
	*s = n
	return nil
}

func (r ssfRepo) GetSSFStream(ctx context.Context, tenant store.TenantID, id string) (*store.SSFStream, error) {
	s, err := scanSSFStream(r.q.QueryRowContext(ctx, `SELECT `+ssfStreamCols+` FROM ssf_streams WHERE tenant_id = $1 AND id = $2`,
		string(tenant), id))
	return s, wrapErr("get ssf stream", err)
}

func (r ssfRepo) ListSSFStreams(ctx context.Context, tenant store.TenantID, limit int) ([]store.SSFStream, error) {
	rows, err := r.q.QueryContext(ctx, `SELECT `+ssfStreamCols+` FROM ssf_streams WHERE tenant_id = $1 ORDER BY id LIMIT $2`,
		string(tenant), store.Page{Limit: limit}.ClampLimit())
	if err != nil {
		return nil, wrapErr("list ssf streams", err)
	}
	return collect(rows, "list ssf streams", scanSSFStream)
}

func (r ssfRepo) UpdateSSFStream(ctx context.Context, tenant store.TenantID, id string, fn func(*store.SSFStream) error) (*store.SSFStream, error) {
	const op = "update ssf stream"
	var out *store.SSFStream
	err := r.write(ctx, func(q querier) error {
		old, err := scanSSFStream(q.QueryRowContext(ctx, `SELECT `+ssfStreamCols+` FROM ssf_streams WHERE tenant_id = $1 AND id = $2`+r.forUpdate(),
			string(tenant), id))
		if err != nil {
			return wrapErr(op, err)
		}
		n := *old
		n.SealedAuth = cloneBytes(old.SealedAuth)
		n.EventsRequested, n.EventsDelivered = slices.Clone(old.EventsRequested), slices.Clone(old.EventsDelivered)
		if err := fn(&n); err != nil {
			return err
		}
		if n.ID != old.ID || n.Tenant != old.Tenant {
			return errors.New("sqlstore: update ssf stream: the closure changed the id or tenant")
		}
		if err := validSSFStream(&n); err != nil {
			return err
		}
		n.Version, n.CreatedAt, n.UpdatedAt = old.Version+1, old.CreatedAt, r.db.nowMicro()
		res, err := q.ExecContext(ctx, `UPDATE ssf_streams SET audience = $1, method = $2, endpoint_url = $3, sealed_auth = $4,
events_requested = $5, events_delivered = $6, description = $7, status = $8, status_reason = $9, version = $10, updated_at = $11
WHERE tenant_id = $12 AND id = $13 AND version = $14`,
			n.Audience, n.Method, n.EndpointURL, nullBytes(n.SealedAuth), listJSON(n.EventsRequested), listJSON(n.EventsDelivered),
			n.Description, n.Status, n.StatusReason, n.Version, n.UpdatedAt.UnixMicro(), string(tenant), id, old.Version)
		if err != nil {
			return wrapErr(op, err)
		}
		if err := guardRow(res, op); err != nil {
			return err
		}
		n.SealedAuth = bytesOrNil(n.SealedAuth)
		out = &n
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (r ssfRepo) DeleteSSFStream(ctx context.Context, tenant store.TenantID, id string) error {
	return r.single(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `DELETE FROM ssf_streams WHERE tenant_id = $1 AND id = $2`, string(tenant), id)
		if err != nil {
			return wrapErr("delete ssf stream", err)
		}
		return oneRow(res, "delete ssf stream")
	})
}

func (r ssfRepo) AddSSFSubject(ctx context.Context, tenant store.TenantID, streamID, key string, subject []byte, at time.Time) error {
	if key == "" {
		return errors.New("sqlstore: ssf subject needs a key")
	}
	return r.single(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO ssf_subjects (tenant_id, stream_id, subject_key, subject, created_at)
VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, stream_id, subject_key) DO NOTHING`,
			string(tenant), streamID, key, string(subject), micro(at).UnixMicro())
		return wrapErr("add ssf subject", err)
	})
}

func (r ssfRepo) RemoveSSFSubject(ctx context.Context, tenant store.TenantID, streamID, key string) error {
	return r.single(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `DELETE FROM ssf_subjects WHERE tenant_id = $1 AND stream_id = $2 AND subject_key = $3`,
			string(tenant), streamID, key)
		return wrapErr("remove ssf subject", err)
	})
}

func (r ssfRepo) CountSSFSubjects(ctx context.Context, tenant store.TenantID, streamID string) (int, error) {
	var n int
	err := r.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM ssf_subjects WHERE tenant_id = $1 AND stream_id = $2`,
		string(tenant), streamID).Scan(&n)
	return n, wrapErr("count ssf subjects", err)
}

func (r ssfRepo) MatchSSFSubjects(ctx context.Context, tenant store.TenantID, keys []string) (map[string]string, error) {
	out := map[string]string{}
	if len(keys) == 0 {
		return out, nil
	}
	args := []any{string(tenant)}
	for _, k := range keys {
		args = append(args, k)
	}
	rows, err := r.q.QueryContext(ctx, `SELECT stream_id, subject_key FROM ssf_subjects
WHERE tenant_id = $1 AND subject_key IN (`+placeholders(1, len(keys))+`)`, args...)
	if err != nil {
		return nil, wrapErr("match ssf subjects", err)
	}
	defer rows.Close()
	for rows.Next() {
		var stream, key string
		if err := rows.Scan(&stream, &key); err != nil {
			return nil, wrapErr("match ssf subjects", err)
		}
		if cur, ok := out[stream]; !ok || slices.Index(keys, key) < slices.Index(keys, cur) {
			out[stream] = key
		}
	}
	return out, wrapErr("match ssf subjects", rows.Err())
}

const ssfSetCols = `tenant_id, stream_id, jti, event_id, token, state, attempts, last_error, created_at, delivered_at`

func scanSSFSet(r interface{ Scan(...any) error }) (*store.SSFSet, error) {
	var (
		s         store.SSFSet
		tn        string
		created   int64
		delivered sql.NullInt64
	)
	if err := r.Scan(&tn, &s.StreamID, &s.JTI, &s.EventID, &s.Token, &s.State, &s.Attempts, &s.LastError,
		&created, &delivered); err != nil {
		return nil, err
	}
	s.Tenant, s.CreatedAt, s.DeliveredAt = store.TenantID(tn), fromMicros(created), timePtr(delivered)
	return &s, nil
}

func (r ssfRepo) PutSSFSet(ctx context.Context, set *store.SSFSet) (*store.SSFSet, error) {
	if set.Tenant == "" || set.StreamID == "" || set.JTI == "" || set.EventID == "" || set.Token == "" {
		return nil, errors.New("sqlstore: ssf set needs a tenant, a stream, a jti, an event and a token")
	}
	const op = "put ssf set"
	var out *store.SSFSet
	err := r.write(ctx, func(q querier) error {
		created := micro(set.CreatedAt)
		if set.CreatedAt.IsZero() {
			created = r.db.nowMicro()
		}
		_, err := q.ExecContext(ctx, `INSERT INTO ssf_sets (`+ssfSetCols+`) VALUES ($1, $2, $3, $4, $5, $6, 0, '', $7, NULL)
ON CONFLICT (tenant_id, stream_id, event_id) DO NOTHING`,
			string(set.Tenant), set.StreamID, set.JTI, set.EventID, set.Token, store.SETPending, created.UnixMicro())
		if err != nil {
			return wrapErr(op, err)
		}
		out, err = scanSSFSet(q.QueryRowContext(ctx, `SELECT `+ssfSetCols+` FROM ssf_sets
WHERE tenant_id = $1 AND stream_id = $2 AND event_id = $3`, string(set.Tenant), set.StreamID, set.EventID))
		return wrapErr(op, err)
	})
	return out, err
}

func (r ssfRepo) PendingSSFSets(ctx context.Context, tenant store.TenantID, streamID string, limit int) ([]store.SSFSet, error) {
	rows, err := r.q.QueryContext(ctx, `SELECT `+ssfSetCols+` FROM ssf_sets
WHERE tenant_id = $1 AND stream_id = $2 AND state = 'pending' ORDER BY created_at, jti LIMIT $3`,
		string(tenant), streamID, store.Page{Limit: limit}.ClampLimit())
	if err != nil {
		return nil, wrapErr("pending ssf sets", err)
	}
	return collect(rows, "pending ssf sets", scanSSFSet)
}

func (r ssfRepo) FinishSSFSets(ctx context.Context, tenant store.TenantID, streamID string, jtis []string, state, errText string, at time.Time) (int, error) {
	if state != store.SETDelivered && state != store.SETFailed {
		return 0, errors.New("sqlstore: finish ssf sets: state must be delivered or failed")
	}
	if len(jtis) == 0 {
		return 0, nil
	}
	args := []any{state, errText, micro(at).UnixMicro(), string(tenant), streamID}
	for _, j := range jtis {
		args = append(args, j)
	}
	var n int64
	err := r.single(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `UPDATE ssf_sets SET state = $1, last_error = $2, delivered_at = $3, token = ''
WHERE tenant_id = $4 AND stream_id = $5 AND state = 'pending' AND jti IN (`+placeholders(5, len(jtis))+`)`, args...)
		if err != nil {
			return wrapErr("finish ssf sets", err)
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}

func (r ssfRepo) FailedSSFAttempt(ctx context.Context, tenant store.TenantID, streamID, jti, errText string) error {
	return r.single(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `UPDATE ssf_sets SET attempts = attempts + 1, last_error = $1
WHERE tenant_id = $2 AND stream_id = $3 AND jti = $4 AND state = 'pending'`, errText, string(tenant), streamID, jti)
		return wrapErr("failed ssf attempt", err)
	})
}

func (r ssfRepo) PurgeSSFSets(ctx context.Context, before, pendingBefore time.Time) (int64, error) {
	var n int64
	err := r.single(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `DELETE FROM ssf_sets WHERE (state <> 'pending' AND created_at < $1) OR created_at < $2`,
			micro(before).UnixMicro(), micro(pendingBefore).UnixMicro())
		if err != nil {
			return wrapErr("purge ssf sets", err)
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}
