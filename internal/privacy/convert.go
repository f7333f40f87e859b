package privacy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Converted is what ConvertAudit did to one tenant's chain.
type Converted struct {
	Tenant  store.TenantID
	Entries int64
}

// ConvertAudit seals the personal data of audit entries written before
// crypto-shredding existed, once per tenant (the platform's chain
// included). Sealing changes an entry's content, so its hash and every
// later one change: the chain is re-chained in the same transaction as
// the conversion, head included. To carry the chain's integrity across,
// the old chain must verify first; a broken chain is left alone and
// reported, since re-chaining it would hide the break. Tenants already
// converted are skipped, so it is safe to run at every start-up.
func (s *Shredder) ConvertAudit(ctx context.Context, db store.Store, now time.Time) ([]Converted, error) {
	// The tenants without a conversion mark, in one query whatever their
	// number (this runs at every start-up; tenants are marked at creation,
	// so only those made before sealing existed are listed).
	tenants := []store.TenantID{store.PlatformTenant}
	for p := (store.Page{Limit: 1000}); ; {
		ts, err := db.Privacy().UnsealedAuditTenants(ctx, p)
		if err != nil {
			return nil, err
		}
		tenants = append(tenants, ts...)
		if len(ts) < p.Limit {
			break
		}
		p.After = string(ts[len(ts)-1])
	}
	// A tenant that fails does not hold the others back.
	var out []Converted
	var errs []error
	for _, t := range tenants {
		c, err := s.convertTenant(ctx, db, t, now)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if c != nil {
			out = append(out, *c)
		}
	}
	return out, errors.Join(errs...)
}

func (s *Shredder) convertTenant(ctx context.Context, db store.Store, tenant store.TenantID, now time.Time) (*Converted, error) {
	done, err := db.Privacy().AuditSealed(ctx, tenant)
	if err != nil || done {
		return nil, err
	}
	var out *Converted
	err = db.InTx(ctx, func(tx store.Repos) error {
		if done, err := tx.Privacy().AuditSealed(ctx, tenant); err != nil || done {
			return err // another node converted it meanwhile
		}
		res, err := events.Verify(ctx, tx.Audit(), tenant)
		if err != nil {
			return err
		}
		if !res.Intact {
			return fmt.Errorf("privacy: audit chain of tenant %s does not verify (%s); it is not converted until it is repaired", tenant, res.Reason)
		}
		n, err := tx.Privacy().RechainAudit(ctx, tenant, func(e *store.AuditEntry) error {
			return s.sealEntry(ctx, tx, e, true)
		})
		if err != nil {
			return err
		}
		// The new chain says where it came from: whoever anchored the
		// old head elsewhere can match it here, and the entries before
		// this one are known to be the converted ones.
		if n > 0 {
			changes, err := json.Marshal(map[string]any{
				"head_seq":  map[string]any{"before": res.HeadEntries, "after": res.HeadEntries},
				"head_hash": map[string]any{"before": res.HeadHash, "after": nil},
				"sealed":    map[string]any{"before": false, "after": true},
			})
			if err != nil {
				return err
			}
			if err := tx.Audit().AppendAudit(ctx, &store.AuditEntry{Tenant: tenant, Time: now, ActorType: "system",
				ActorID: "privacy", Action: "audit.rechained", TargetType: "tenant", TargetID: string(tenant),
				Changes: changes}); err != nil {
				return err
			}
		}
		if err := tx.Privacy().MarkAuditSealed(ctx, tenant, now); err != nil {
			return err
		}
		out = &Converted{Tenant: tenant, Entries: n}
		return nil
	})
	return out, err
}
