package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

type mailRepo struct{ *scope }

const mailCols = `id, tenant_id, to_addr, kind, sealed, status, attempts, next_attempt_at, lease_until, last_error, created_at, sent_at`

func scanMail(r scanner) (*store.Mail, error) {
	var (
		m              store.Mail
		tenant, status string
		next, created  int64
		lease, sent    sql.NullInt64
	)
	if err := r.Scan(&m.ID, &tenant, &m.To, &m.Kind, &m.Sealed, &status, &m.Attempts, &next, &lease, &m.LastError,
		&created, &sent); err != nil {
		return nil, err
	}
	m.Tenant, m.Status, m.Sealed = store.TenantID(tenant), store.MailStatus(status), bytesOrNil(m.Sealed)
	m.NextAttemptAt, m.LeaseUntil, m.CreatedAt, m.SentAt = fromMicros(next), timePtr(lease), fromMicros(created), timePtr(sent)
	return &m, nil
}

// EnqueueMail inserts m as pending.
func (r mailRepo) EnqueueMail(ctx context.Context, m *store.Mail) error {
	if m.ID == "" || m.Tenant == "" || m.To == "" || m.Kind == "" {
		return errors.New("sqlstore: mail needs an id, a tenant, a recipient and a kind")
	}
	now := r.db.nowMicro()
	created, next := m.CreatedAt, m.NextAttemptAt
	if created.IsZero() {
		created = now
	}
	if next.IsZero() {
		next = created
	}
	return r.single(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO mail_queue (`+mailCols+`) VALUES (`+placeholders(0, 12)+`)`,
			m.ID, string(m.Tenant), m.To, m.Kind, nullBytes(m.Sealed), string(store.MailPending), 0,
			micro(next).UnixMicro(), nil, "", micro(created).UnixMicro(), nil)
		return wrapErr("enqueue mail", err)
	})
}

// Claiming differs per dialect: PostgreSQL skips rows another node holds
// (SKIP LOCKED) so workers never wait on each other; SQLite's immediate
// transaction already makes claims one at a time.
const (
	claimSQLite = `UPDATE mail_queue SET status = 'sending', lease_until = $1, attempts = attempts + 1
WHERE id IN (SELECT id FROM mail_queue
    WHERE (status = 'pending' AND next_attempt_at <= $2) OR (status = 'sending' AND lease_until <= $2)
    ORDER BY next_attempt_at, id LIMIT $3)
RETURNING ` + mailCols
	claimPostgres = `UPDATE mail_queue SET status = 'sending', lease_until = $1, attempts = attempts + 1
WHERE id IN (SELECT id FROM mail_queue
    WHERE (status = 'pending' AND next_attempt_at <= $2) OR (status = 'sending' AND lease_until <= $2)
    ORDER BY next_attempt_at, id LIMIT $3 FOR UPDATE SKIP LOCKED)
RETURNING ` + mailCols
)

// ClaimMail leases due mails in one statement.
func (r mailRepo) ClaimMail(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]store.Mail, error) {
	if limit <= 0 || limit > 100 {
		limit = 10
	}
	stmt := claimSQLite
	if r.db.d.postgres {
		stmt = claimPostgres
	}
	var out []store.Mail
	err := r.write(ctx, func(q querier) error {
		out = out[:0]
		rows, err := q.QueryContext(ctx, stmt, micro(now.Add(lease)).UnixMicro(), micro(now).UnixMicro(), limit)
		if err != nil {
			return wrapErr("claim mail", err)
		}
		defer rows.Close()
		for rows.Next() {
			m, err := scanMail(rows)
			if err != nil {
				return wrapErr("claim mail", err)
			}
			out = append(out, *m)
		}
		return wrapErr("claim mail", rows.Err())
	})
	return out, err
}

// MarkSent records delivery and clears the sealed content.
func (r mailRepo) MarkSent(ctx context.Context, id string, at time.Time) error {
	return r.single(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `UPDATE mail_queue SET status = 'sent', sent_at = $1, sealed = NULL, lease_until = NULL,
last_error = '' WHERE id = $2`, micro(at).UnixMicro(), id)
		if err != nil {
			return wrapErr("mark sent", err)
		}
		return guardRow(res, "mark sent")
	})
}

// MarkRetry reschedules a mail or gives it up.
func (r mailRepo) MarkRetry(ctx context.Context, id string, next time.Time, cause string, final bool) error {
	if len(cause) > 500 {
		cause = cause[:500]
	}
	stmt := `UPDATE mail_queue SET status = 'pending', next_attempt_at = $1, lease_until = NULL, last_error = $2 WHERE id = $3`
	if final {
		stmt = `UPDATE mail_queue SET status = 'failed', next_attempt_at = $1, lease_until = NULL, last_error = $2, sealed = NULL WHERE id = $3`
	}
	return r.single(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, stmt, micro(next).UnixMicro(), cause, id)
		if err != nil {
			return wrapErr("mark retry", err)
		}
		return guardRow(res, "mark retry")
	})
}

// GetMail answers a mail in any state.
func (r mailRepo) GetMail(ctx context.Context, id string) (*store.Mail, error) {
	m, err := scanMail(r.q.QueryRowContext(ctx, `SELECT `+mailCols+` FROM mail_queue WHERE id = $1`, id))
	return m, wrapErr("get mail", err)
}

// PurgeMail removes finished mails created before t.
func (r mailRepo) PurgeMail(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := r.single(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `DELETE FROM mail_queue WHERE status IN ('sent', 'failed') AND created_at < $1`,
			micro(before).UnixMicro())
		if err != nil {
			return wrapErr("purge mail", err)
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}
