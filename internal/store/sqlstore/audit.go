package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

type auditRepo struct{ *scope }

const auditCols = `tenant_id, seq, id, time, actor_type, actor_id, action, target_type, target_id, client_ip,
request_id, changes, prev_hash, hash`

func scanAudit(r interface{ Scan(...any) error }) (*store.AuditEntry, error) {
	var (
		e               store.AuditEntry
		tenant, changes string
		at              int64
	)
	err := r.Scan(&tenant, &e.Seq, &e.ID, &at, &e.ActorType, &e.ActorID, &e.Action, &e.TargetType, &e.TargetID,
		&e.ClientIP, &e.RequestID, &changes, &e.PrevHash, &e.Hash)
	if err != nil {
		return nil, err
	}
	e.Tenant, e.Time = store.TenantID(tenant), fromMicros(at)
	if changes != "" {
		e.Changes = json.RawMessage(changes)
	}
	return &e, nil
}

// AppendAudit links e to its tenant's chain. The chain head row is the
// lock: the append reads it (FOR UPDATE on PostgreSQL; SQLite's immediate
// transaction holds the write lock already), so concurrent appends, from
// any number of nodes, take turns and the sequence has no gaps. Inside
// InTx the head stays locked until the caller commits, so the entry
// commits or vanishes with the change it records.
//
// The store fills Seq, PrevHash and Hash, and ID (a UUIDv7) and Time (now)
// when unset; e is updated once the entry is written.
func (r auditRepo) AppendAudit(ctx context.Context, e *store.AuditEntry) error {
	if e.Tenant == "" {
		return errors.New("sqlstore: audit entry needs a tenant")
	}
	if len(e.Changes) > 0 && !json.Valid(e.Changes) {
		return errors.New("sqlstore: audit changes are not valid JSON")
	}
	n := *e
	if n.ID == "" {
		id, err := uuid.NewV7()
		if err != nil {
			return fmt.Errorf("sqlstore: audit id: %w", err)
		}
		n.ID = id.String()
	}
	if n.Time.IsZero() {
		n.Time = r.db.now()
	}
	n.Time = micro(n.Time) // the precision stored and hashed
	err := r.write(ctx, func(q querier) error {
		const op = "append audit"
		if _, err := q.ExecContext(ctx, `INSERT INTO audit_heads (tenant_id, seq, hash) VALUES ($1, 0, '')
ON CONFLICT (tenant_id) DO NOTHING`, string(n.Tenant)); err != nil {
			return wrapErr(op, err)
		}
		var seq int64
		var head string
		if err := q.QueryRowContext(ctx, `SELECT seq, hash FROM audit_heads WHERE tenant_id = $1`+r.forUpdate(),
			string(n.Tenant)).Scan(&seq, &head); err != nil {
			return wrapErr(op, err)
		}
		n.Seq, n.PrevHash = seq+1, head
		n.Hash = n.ComputeHash()
		if _, err := q.ExecContext(ctx, `INSERT INTO audit_entries (`+auditCols+`)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
			string(n.Tenant), n.Seq, n.ID, n.Time.UnixMicro(), n.ActorType, n.ActorID, n.Action, n.TargetType,
			n.TargetID, n.ClientIP, n.RequestID, string(n.Changes), n.PrevHash, n.Hash); err != nil {
			return wrapErr(op, err)
		}
		if _, err := q.ExecContext(ctx, `UPDATE audit_heads SET seq = $1, hash = $2 WHERE tenant_id = $3`,
			n.Seq, n.Hash, string(n.Tenant)); err != nil {
			return wrapErr(op, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	*e = n
	return nil
}

// ListAudit answers entries newest first (by Seq). Since is inclusive,
// Until exclusive; Limit is clamped like store.Page's.
func (r auditRepo) ListAudit(ctx context.Context, tenant store.TenantID, q store.AuditQuery) ([]store.AuditEntry, error) {
	var b builder
	where := []string{"tenant_id = " + b.arg(string(tenant))}
	for _, f := range []struct{ col, v string }{
		{"action", q.Action}, {"actor_id", q.ActorID}, {"target_type", q.TargetType}, {"target_id", q.TargetID},
	} {
		if f.v != "" {
			where = append(where, f.col+" = "+b.arg(f.v)) // col is a constant above
		}
	}
	if !q.Since.IsZero() {
		where = append(where, "time >= "+b.arg(q.Since.UnixMicro()))
	}
	if !q.Until.IsZero() {
		where = append(where, "time < "+b.arg(q.Until.UnixMicro()))
	}
	if q.BeforeSeq > 0 {
		where = append(where, "seq < "+b.arg(q.BeforeSeq))
	}
	b.add(`SELECT `, auditCols, ` FROM audit_entries WHERE `, strings.Join(where, " AND "),
		` ORDER BY seq DESC LIMIT `, b.arg(store.Page{Limit: q.Limit}.ClampLimit()))
	rows, err := r.q.QueryContext(ctx, b.String(), b.args...)
	if err != nil {
		return nil, wrapErr("list audit", err)
	}
	return collect(rows, "list audit", scanAudit)
}

// scanBatch is how many entries ScanAudit reads per query.
const scanBatch = 500

// ScanAudit walks the chain in batches by seq rather than through one open
// cursor: memory stays bounded, no connection or read transaction is held
// while fn runs (fn may itself use the store, and a long-lived SQLite read
// would hold back WAL checkpoints), and it works the same inside InTx.
// Entries appended during the walk are visited too.
func (r auditRepo) ScanAudit(ctx context.Context, tenant store.TenantID, fn func(store.AuditEntry) error) error {
	var after int64
	for {
		rows, err := r.q.QueryContext(ctx, `SELECT `+auditCols+` FROM audit_entries
WHERE tenant_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`, string(tenant), after, scanBatch)
		if err != nil {
			return wrapErr("scan audit", err)
		}
		batch, err := collect(rows, "scan audit", scanAudit)
		if err != nil {
			return err
		}
		for _, e := range batch {
			if err := fn(e); err != nil {
				return err
			}
		}
		if len(batch) < scanBatch {
			return nil
		}
		after = batch[len(batch)-1].Seq
	}
}

// AuditHead reads the head row AppendAudit keeps (store.AuditLog).
func (r auditRepo) AuditHead(ctx context.Context, tenant store.TenantID) (store.AuditChainHead, error) {
	var h store.AuditChainHead
	err := r.q.QueryRowContext(ctx, `SELECT seq, hash FROM audit_heads WHERE tenant_id = $1`, string(tenant)).Scan(&h.Seq, &h.Hash)
	if errors.Is(err, sql.ErrNoRows) {
		return store.AuditChainHead{}, nil
	}
	if err != nil {
		return store.AuditChainHead{}, wrapErr("audit head", err)
	}
	return h, nil
}
