package tenancy

import (
	"context"
	"errors"

	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// ownedCreates maps the audit actions that create a plan-limited object
// to the limit they count against.
var ownedCreates = map[string]string{
	"client.create":     store.OwnedClients,
	"connection.create": store.OwnedConnections,
	"saml_sp.create":    store.OwnedSAMLSPs,
}

var _ events.Observer = (*Meter)(nil)

// Observe checks the thresholds of a plan-limited object's limit in the
// transaction that creates one (the Meter observes the audit recorder),
// so the usage.threshold event commits with the create, whichever way
// the object was made.
func (m *Meter) Observe(ctx context.Context, repos store.Repos, _ events.Actor, e events.Entry) error {
	kind, ok := ownedCreates[e.Action]
	if !ok || m == nil || e.Tenant == "" || e.Tenant == store.PlatformTenant {
		return nil
	}
	return m.checkOwned(ctx, repos, e.Tenant, m.month(), kind, true)
}

// checkOwned counts the tenant's objects of kind through repos and
// records a crossed threshold; queue asks for a check again after commit.
func (m *Meter) checkOwned(ctx context.Context, repos store.Repos, tenant store.TenantID, month, kind string, queue bool) error {
	plan, err := m.plan(ctx, repos, tenant)
	if err != nil || plan == nil {
		return err
	}
	max := ownedLimit(plan.Limits, kind)
	if max == nil {
		return nil
	}
	n, err := repos.Usage().CountOwned(ctx, tenant, kind)
	if err != nil {
		return err
	}
	if queue {
		m.queue(tenant, month, kind)
	}
	return m.threshold(ctx, repos, tenant, plan, kind, month, n, *max)
}

// queue asks the next Flush to check the thresholds of limit again. A
// transaction sees the rows committed before it and its own: two
// concurrent writes may each count one short of a threshold they
// crossed together. Checked again after they committed, the count is
// the true one; the marker row keeps the event single.
func (m *Meter) queue(tenant store.TenantID, month, limit string) {
	m.mu.Lock()
	if m.recheck == nil {
		m.recheck = map[deltaKey]struct{}{}
	}
	m.recheck[deltaKey{tenant, month, limit}] = struct{}{}
	m.mu.Unlock()
}

// flushRecheck checks the queued limits, each in its own transaction;
// those that fail stay queued for the next flush.
func (m *Meter) flushRecheck(ctx context.Context) error {
	m.mu.Lock()
	r := m.recheck
	m.recheck = nil
	m.mu.Unlock()
	var first error
	for k := range r {
		err := m.Store.InTx(ctx, func(tx store.Repos) error {
			if k.metric != "mau" {
				return m.checkOwned(ctx, tx, k.tenant, k.month, k.metric, false)
			}
			plan, err := m.plan(ctx, tx, k.tenant)
			if err != nil || plan == nil || plan.Limits.MAU == nil {
				return err
			}
			n, err := tx.Usage().CountActive(ctx, k.tenant, k.month)
			if err != nil {
				return err
			}
			return m.threshold(ctx, tx, k.tenant, plan, "mau", k.month, n, *plan.Limits.MAU)
		})
		if errors.Is(err, store.ErrNotFound) {
			continue // the tenant is gone
		}
		if err != nil {
			m.queue(k.tenant, k.month, k.metric)
			if first == nil {
				first = err
			}
		}
	}
	return first
}
