package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

func (s *scope) Privacy() store.PrivacyRepos { return privacyRepo{s} }

type privacyRepo struct{ *scope }

// UserKey answers the live sealed data key of the user.
func (r privacyRepo) UserKey(ctx context.Context, tenant store.TenantID, userID string) ([]byte, error) {
	var sealed []byte
	err := r.q.QueryRowContext(ctx, `SELECT sealed FROM privacy_user_keys
WHERE tenant_id = $1 AND user_id = $2 AND sealed IS NOT NULL`, string(tenant), userID).Scan(&sealed)
	if err != nil {
		return nil, wrapErr("user key", err)
	}
	return sealed, nil
}

// PutUserKey inserts the key unless a row (live or tombstone) exists and
// answers the stored live key; an erased user's tombstone answers
// ErrNotFound, so an erased id never gets a new key.
func (r privacyRepo) PutUserKey(ctx context.Context, tenant store.TenantID, userID string, sealed []byte) ([]byte, error) {
	var out []byte
	err := r.write(ctx, func(q querier) error {
		if _, err := q.ExecContext(ctx, `INSERT INTO privacy_user_keys (tenant_id, user_id, sealed, created_at)
VALUES ($1, $2, $3, $4) ON CONFLICT (tenant_id, user_id) DO NOTHING`,
			string(tenant), userID, sealed, r.db.nowMicro().UnixMicro()); err != nil {
			return wrapErr("put user key", err)
		}
		var got []byte
		if err := q.QueryRowContext(ctx, `SELECT sealed FROM privacy_user_keys WHERE tenant_id = $1 AND user_id = $2`,
			string(tenant), userID).Scan(&got); err != nil {
			return wrapErr("put user key", err)
		}
		if got == nil {
			return notFound("put user key: erased")
		}
		out = got
		return nil
	})
	return out, err
}

// ErasedUser reports a tombstone row.
func (r privacyRepo) ErasedUser(ctx context.Context, tenant store.TenantID, userID string) (bool, error) {
	var one int
	err := r.q.QueryRowContext(ctx, `SELECT 1 FROM privacy_user_keys
WHERE tenant_id = $1 AND user_id = $2 AND sealed IS NULL`, string(tenant), userID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, wrapErr("erased user", err)
}

// Hold answers the user's legal hold.
func (r privacyRepo) Hold(ctx context.Context, tenant store.TenantID, userID string) (*store.LegalHold, error) {
	h := store.LegalHold{Tenant: tenant, UserID: userID}
	var at int64
	err := r.q.QueryRowContext(ctx, `SELECT reason, set_by, set_at FROM privacy_holds WHERE tenant_id = $1 AND user_id = $2`,
		string(tenant), userID).Scan(&h.Reason, &h.SetBy, &at)
	if err != nil {
		return nil, wrapErr("legal hold", err)
	}
	h.SetAt = fromMicros(at)
	return &h, nil
}

// SetHold upserts h; the users foreign key answers ErrNotFound for an
// unknown user.
func (r privacyRepo) SetHold(ctx context.Context, h *store.LegalHold) error {
	at := h.SetAt
	if at.IsZero() {
		at = r.db.nowMicro()
	}
	return r.single(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO privacy_holds (tenant_id, user_id, reason, set_by, set_at)
VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, user_id) DO UPDATE
SET reason = excluded.reason, set_by = excluded.set_by, set_at = excluded.set_at`,
			string(h.Tenant), h.UserID, h.Reason, h.SetBy, at.UnixMicro())
		return wrapErr("set legal hold", err)
	})
}

// LiftHold deletes the hold row.
func (r privacyRepo) LiftHold(ctx context.Context, tenant store.TenantID, userID string) error {
	res, err := r.q.ExecContext(ctx, `DELETE FROM privacy_holds WHERE tenant_id = $1 AND user_id = $2`, string(tenant), userID)
	if err != nil {
		return wrapErr("lift legal hold", err)
	}
	return oneRow(res, "lift legal hold")
}

// keptUserTables are tables with a user_id column that an erasure leaves
// alone: the data key (erased separately, to a tombstone), the requests
// that prove the erasure was asked for and done, and the monthly
// active-user marks billing is computed from (an id, nothing more).
var keptUserTables = []string{"privacy_user_keys", "privacy_requests", "usage_active_users"}

const (
	sqliteUserTables = `SELECT m.name FROM sqlite_master m JOIN pragma_table_info(m.name) c
WHERE m.type = 'table' AND c.name = 'user_id' ORDER BY m.name`
	pgUserTables = `SELECT c.table_name FROM information_schema.columns c
JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
WHERE c.table_schema = current_schema() AND c.column_name = 'user_id' AND t.table_type = 'BASE TABLE'
ORDER BY c.table_name`
)

// userTables answers the tables with both a tenant_id and a user_id
// column, except keptUserTables. Found from the schema, so a table added
// later is erased without anyone remembering to list it here.
func userTables(ctx context.Context, q querier, postgres bool) ([]string, error) {
	listQ := sqliteUserTables
	if postgres {
		listQ = pgUserTables
	}
	tenantTabs, err := tenantTables(ctx, q, postgres)
	if err != nil {
		return nil, err
	}
	rows, err := q.QueryContext(ctx, listQ)
	if err != nil {
		return nil, wrapErr("list user tables", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return nil, wrapErr("list user tables", err)
		}
		if identRE.MatchString(t) && slices.Contains(tenantTabs, t) && !slices.Contains(keptUserTables, t) && t != "users" {
			out = append(out, t)
		}
	}
	return out, wrapErr("list user tables", rows.Err())
}

// EraseUser deletes the user's rows; see store.PrivacyRepos.
func (r privacyRepo) EraseUser(ctx context.Context, tenant store.TenantID, userID string, emails []string) (store.EraseCounts, error) {
	var c store.EraseCounts
	err := r.write(ctx, func(q querier) error {
		tables, err := userTables(ctx, q, r.db.d.postgres)
		if err != nil {
			return err
		}
		// Rows without a cascade from users first, then the user row,
		// whose foreign keys take the rest with it.
		for _, t := range tables {
			res, err := q.ExecContext(ctx, `DELETE FROM `+t+` WHERE tenant_id = $1 AND user_id = $2`, string(tenant), userID)
			if err != nil {
				return wrapErr("erase "+t, err)
			}
			n, _ := res.RowsAffected()
			c.Other += n
			if n > 0 {
				c.Tables = append(c.Tables, t)
			}
		}
		res, err := q.ExecContext(ctx, `DELETE FROM users WHERE tenant_id = $1 AND id = $2`, string(tenant), userID)
		if err != nil {
			return wrapErr("erase user", err)
		}
		if err := oneRow(res, "erase user"); err != nil {
			return err
		}
		c.Users = 1
		if err := r.notify(ctx, q, userChange(tenant, userID)); err != nil {
			return err
		}
		// users and the tables its foreign keys cascade to (sessions,
		// tokens, ...) are among the user tables above, emptied first.
		c.Tables = append(c.Tables, "users", "privacy_user_keys")
		for _, e := range emails {
			if e == "" {
				continue
			}
			res, err := q.ExecContext(ctx, `DELETE FROM mail_queue WHERE tenant_id = $1 AND lower(to_addr) = $2`,
				string(tenant), strings.ToLower(e))
			if err != nil {
				return wrapErr("erase queued mail", err)
			}
			n, _ := res.RowsAffected()
			c.MailQueued += n
		}
		if c.MailQueued > 0 {
			c.Tables = append(c.Tables, "mail_queue")
		}
		// Throttle rows and rate buckets keyed on the account or one of
		// its addresses end in the id or the address ("acct:<id>",
		// "mail-to:<address>"). Compared as a suffix, not with LIKE:
		// addresses may hold LIKE's wildcards.
		for _, suffix := range append([]string{userID}, emails...) {
			if suffix == "" {
				continue
			}
			for _, st := range []string{
				`DELETE FROM throttle WHERE tenant_id = $1 AND length(key) >= length($2)
AND substr(key, length(key) - length($2) + 1) = $2`,
				`DELETE FROM rate_buckets WHERE tenant_id = $1 AND length(bucket) >= length($2)
AND substr(bucket, length(bucket) - length($2) + 1) = $2`,
			} {
				res, err := q.ExecContext(ctx, st, string(tenant), suffix)
				if err != nil {
					return wrapErr("erase throttle", err)
				}
				n, _ := res.RowsAffected()
				c.Throttle += n
			}
		}
		if c.Throttle > 0 {
			c.Tables = append(c.Tables, "throttle", "rate_buckets")
		}
		// The key becomes a tombstone: the sealed bytes are gone, the
		// row says the person was erased.
		res, err = q.ExecContext(ctx, `INSERT INTO privacy_user_keys (tenant_id, user_id, sealed, created_at, erased_at)
VALUES ($1, $2, NULL, $3, $3) ON CONFLICT (tenant_id, user_id) DO UPDATE SET sealed = NULL, erased_at = excluded.erased_at`,
			string(tenant), userID, r.db.nowMicro().UnixMicro())
		if err != nil {
			return wrapErr("erase user key", err)
		}
		c.Keys, _ = res.RowsAffected()
		return nil
	})
	if err == nil {
		r.committed(userChange(tenant, userID))
	}
	return c, err
}

const privacyRequestCols = `tenant_id, id, type, user_id, regime, status, note, created_at, due_at, closed_at`

func scanPrivacyRequest(row interface{ Scan(...any) error }) (*store.PrivacyRequest, error) {
	var (
		p            store.PrivacyRequest
		tenant       string
		created, due int64
		closed       sql.NullInt64
	)
	if err := row.Scan(&tenant, &p.ID, &p.Type, &p.UserID, &p.Regime, &p.Status, &p.Note, &created, &due, &closed); err != nil {
		return nil, err
	}
	p.Tenant, p.CreatedAt, p.DueAt, p.ClosedAt = store.TenantID(tenant), fromMicros(created), fromMicros(due), timePtr(closed)
	return &p, nil
}

// CreateRequest inserts p.
func (r privacyRepo) CreateRequest(ctx context.Context, p *store.PrivacyRequest) error {
	if p.ID == "" || p.Tenant == "" {
		return errors.New("sqlstore: privacy request needs an id and a tenant")
	}
	if p.CreatedAt.IsZero() {
		p.CreatedAt = r.db.nowMicro()
	}
	p.CreatedAt, p.DueAt = micro(p.CreatedAt), micro(p.DueAt)
	return r.single(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO privacy_requests (`+privacyRequestCols+`)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, string(p.Tenant), p.ID, p.Type, p.UserID, p.Regime, p.Status, p.Note,
			p.CreatedAt.UnixMicro(), p.DueAt.UnixMicro(), nullMicros(p.ClosedAt))
		return wrapErr("create privacy request", err)
	})
}

// GetRequest answers one request.
func (r privacyRepo) GetRequest(ctx context.Context, tenant store.TenantID, id string) (*store.PrivacyRequest, error) {
	p, err := scanPrivacyRequest(r.q.QueryRowContext(ctx, `SELECT `+privacyRequestCols+` FROM privacy_requests
WHERE tenant_id = $1 AND id = $2`, string(tenant), id))
	return p, wrapErr("get privacy request", err)
}

// ListRequests answers a page by id.
func (r privacyRepo) ListRequests(ctx context.Context, tenant store.TenantID, status string, pg store.Page) ([]store.PrivacyRequest, error) {
	rows, err := r.q.QueryContext(ctx, `SELECT `+privacyRequestCols+` FROM privacy_requests
WHERE tenant_id = $1 AND id > $2 AND ($3 = '' OR status = $3) ORDER BY id LIMIT $4`,
		string(tenant), pg.After, status, pg.ClampLimit())
	if err != nil {
		return nil, wrapErr("list privacy requests", err)
	}
	return collect(rows, "list privacy requests", scanPrivacyRequest)
}

// UpdateRequest is a read-modify-write under the row lock.
func (r privacyRepo) UpdateRequest(ctx context.Context, tenant store.TenantID, id string, fn func(*store.PrivacyRequest) error) (*store.PrivacyRequest, error) {
	var out *store.PrivacyRequest
	err := r.write(ctx, func(q querier) error {
		p, err := scanPrivacyRequest(q.QueryRowContext(ctx, `SELECT `+privacyRequestCols+` FROM privacy_requests
WHERE tenant_id = $1 AND id = $2`+r.forUpdate(), string(tenant), id))
		if err != nil {
			return wrapErr("update privacy request", err)
		}
		if err := fn(p); err != nil {
			return err
		}
		if _, err := q.ExecContext(ctx, `UPDATE privacy_requests SET status = $1, note = $2, closed_at = $3
WHERE tenant_id = $4 AND id = $5`, p.Status, p.Note, nullMicros(microPtr(p.ClosedAt)), string(tenant), id); err != nil {
			return wrapErr("update privacy request", err)
		}
		p.ClosedAt = microPtr(p.ClosedAt)
		out = p
		return nil
	})
	return out, err
}

// InactiveUsers answers users last active before cutoff. No index covers
// last_login_at (a sign-in's write of it stays a heap-only update on
// PostgreSQL): the query walks the tenant's users in primary-key order and
// stops at limit matches.
func (r privacyRepo) InactiveUsers(ctx context.Context, tenant store.TenantID, cutoff time.Time, limit int) ([]store.User, error) {
	rows, err := r.q.QueryContext(ctx, `SELECT `+userCols+` FROM users u
WHERE u.tenant_id = $1 AND COALESCE(u.last_login_at, u.created_at) < $2 ORDER BY u.id LIMIT $3`,
		string(tenant), cutoff.UnixMicro(), store.Page{Limit: limit}.ClampLimit())
	if err != nil {
		return nil, wrapErr("inactive users", err)
	}
	return collect(rows, "inactive users", scanUser)
}

// RetentionNotice answers the notice time.
func (r privacyRepo) RetentionNotice(ctx context.Context, tenant store.TenantID, userID string) (time.Time, error) {
	var at int64
	err := r.q.QueryRowContext(ctx, `SELECT noticed_at FROM privacy_retention_notices WHERE tenant_id = $1 AND user_id = $2`,
		string(tenant), userID).Scan(&at)
	if err != nil {
		return time.Time{}, wrapErr("retention notice", err)
	}
	return fromMicros(at), nil
}

// PutRetentionNotice inserts the notice, or moves a stale one (at or
// before staleBefore) to at; a conflict with a newer notice writes no row.
func (r privacyRepo) PutRetentionNotice(ctx context.Context, tenant store.TenantID, userID string, at, staleBefore time.Time) (bool, error) {
	var n int64
	err := r.single(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `INSERT INTO privacy_retention_notices (tenant_id, user_id, noticed_at) VALUES ($1, $2, $3)
ON CONFLICT (tenant_id, user_id) DO UPDATE SET noticed_at = excluded.noticed_at
WHERE privacy_retention_notices.noticed_at <= $4`, string(tenant), userID, at.UnixMicro(), staleBefore.UnixMicro())
		if err != nil {
			return wrapErr("put retention notice", err)
		}
		n, err = res.RowsAffected()
		return wrapErr("put retention notice", err)
	})
	return n > 0, err
}

// ClearRetentionNotice deletes the notice row.
func (r privacyRepo) ClearRetentionNotice(ctx context.Context, tenant store.TenantID, userID string) error {
	_, err := r.q.ExecContext(ctx, `DELETE FROM privacy_retention_notices WHERE tenant_id = $1 AND user_id = $2`, string(tenant), userID)
	return wrapErr("clear retention notice", err)
}

// RechainAudit rewrites the chain batch by batch inside one write.
func (r privacyRepo) RechainAudit(ctx context.Context, tenant store.TenantID, fn func(*store.AuditEntry) error) (int64, error) {
	var n int64
	err := r.write(ctx, func(q querier) error {
		// Lock the head first so no append interleaves.
		var seq int64
		var head string
		err := q.QueryRowContext(ctx, `SELECT seq, hash FROM audit_heads WHERE tenant_id = $1`+r.forUpdate(),
			string(tenant)).Scan(&seq, &head)
		if errors.Is(err, sql.ErrNoRows) {
			return nil // no chain yet
		}
		if err != nil {
			return wrapErr("rechain audit", err)
		}
		prev, after := "", int64(0)
		for {
			rows, err := q.QueryContext(ctx, `SELECT `+auditCols+` FROM audit_entries
WHERE tenant_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`, string(tenant), after, scanBatch)
			if err != nil {
				return wrapErr("rechain audit", err)
			}
			batch, err := collect(rows, "rechain audit", scanAudit)
			if err != nil {
				return err
			}
			for _, e := range batch {
				fixed := e
				if err := fn(&fixed); err != nil {
					return err
				}
				fixed.Tenant, fixed.Seq, fixed.ID, fixed.Time = e.Tenant, e.Seq, e.ID, e.Time
				fixed.PrevHash = prev
				fixed.Hash = fixed.ComputeHash()
				if _, err := q.ExecContext(ctx, `UPDATE audit_entries SET actor_type = $1, actor_id = $2, action = $3,
target_type = $4, target_id = $5, client_ip = $6, request_id = $7, changes = $8, prev_hash = $9, hash = $10
WHERE tenant_id = $11 AND seq = $12`, fixed.ActorType, fixed.ActorID, fixed.Action, fixed.TargetType, fixed.TargetID,
					fixed.ClientIP, fixed.RequestID, string(fixed.Changes), fixed.PrevHash, fixed.Hash, string(tenant), e.Seq); err != nil {
					return wrapErr("rechain audit", err)
				}
				prev, after = fixed.Hash, e.Seq
				n++
			}
			if len(batch) < scanBatch {
				break
			}
		}
		if after != seq {
			return fmt.Errorf("sqlstore: rechain audit: chain ends at %d but its head says %d", after, seq)
		}
		_, err = q.ExecContext(ctx, `UPDATE audit_heads SET hash = $1 WHERE tenant_id = $2`, prev, string(tenant))
		return wrapErr("rechain audit", err)
	})
	return n, err
}

// AuditSealed reports the conversion mark.
func (r privacyRepo) AuditSealed(ctx context.Context, tenant store.TenantID) (bool, error) {
	var one int
	err := r.q.QueryRowContext(ctx, `SELECT 1 FROM privacy_audit_sealed WHERE tenant_id = $1`, string(tenant)).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, wrapErr("audit sealed", err)
}

// MarkAuditSealed records the conversion.
func (r privacyRepo) MarkAuditSealed(ctx context.Context, tenant store.TenantID, at time.Time) error {
	return r.single(ctx, func(q querier) error { return markAuditSealed(ctx, q, tenant, at) })
}

// markAuditSealed writes the conversion mark (none when there is one).
func markAuditSealed(ctx context.Context, q querier, tenant store.TenantID, at time.Time) error {
	_, err := q.ExecContext(ctx, `INSERT INTO privacy_audit_sealed (tenant_id, sealed_at) VALUES ($1, $2)
ON CONFLICT (tenant_id) DO NOTHING`, string(tenant), at.UnixMicro())
	return wrapErr("mark audit sealed", err)
}

// UnsealedAuditTenants answers tenants without a conversion mark.
func (r privacyRepo) UnsealedAuditTenants(ctx context.Context, p store.Page) ([]store.TenantID, error) {
	rows, err := r.q.QueryContext(ctx, `SELECT t.id FROM tenants t
WHERE t.id > $1 AND t.status <> 'deleted' AND NOT EXISTS (SELECT 1 FROM privacy_audit_sealed s WHERE s.tenant_id = t.id)
ORDER BY t.id LIMIT $2`, p.After, p.ClampLimit())
	if err != nil {
		return nil, wrapErr("unsealed audit tenants", err)
	}
	return collect(rows, "unsealed audit tenants", func(row scanner) (*store.TenantID, error) {
		var id store.TenantID
		return &id, row.Scan(&id)
	})
}

// Reclaim vacuums tables on PostgreSQL (which refuses VACUUM inside a
// transaction, so it runs on the pool) and checkpoints SQLite's log.
func (r privacyRepo) Reclaim(ctx context.Context, tables []string) error {
	if r.tx != nil {
		return errors.New("sqlstore: reclaim runs outside a transaction")
	}
	if !r.db.d.postgres {
		// secure_delete (set on every connection) has zeroed the freed
		// content in the database file's pages; the checkpoint moves the
		// WAL's frames into it and truncates the log, so no copy of a
		// deleted row's page stays in the -wal file.
		_, err := r.db.sql.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`)
		return wrapErr("reclaim", err)
	}
	for _, t := range slices.Compact(slices.Sorted(slices.Values(tables))) {
		if !identRE.MatchString(t) {
			return fmt.Errorf("sqlstore: reclaim: %q is not a table name", t)
		}
		if _, err := r.db.sql.ExecContext(ctx, `VACUUM `+t); err != nil {
			return wrapErr("vacuum "+t, err)
		}
	}
	return nil
}
