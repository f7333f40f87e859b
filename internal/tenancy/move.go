package tenancy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// MoveResult says what a move between regions did.
type MoveResult struct {
	Tenant store.TenantID `json:"tenant"`
	Slug   string         `json:"slug"`
	From   string         `json:"from"`
	To     string         `json:"to"`
	// Rows counts the rows copied per table (equal on both sides).
	Rows map[string]int `json:"rows"`
	// AuditEntries is the length of the tenant's audit chain, verified
	// intact in the target region before the switch.
	AuditEntries int64 `json:"audit_entries"`
	// Window is how long the tenant was read-only.
	Window time.Duration `json:"window"`
}

// ErrSameRegion answers a move to the region the tenant is in.
var ErrSameRegion = errors.New("the tenant is in that region already")

// MoveTenant moves the tenant ref (slug or id) from src's region to dst's
// (docs/regions.md): the tenant is suspended (sign-ins and writes refused,
// discovery and keys still answer) while settle lets every node's tenant
// cache see it; its rows are exported from src and imported into dst;
// the row counts of every table and the audit chain (intact, same head)
// are checked in dst; the catalogue is switched; the tenant resumes in dst
// and its rows are removed from src. A failure before the switch removes
// the copy and resumes the tenant where it was. Each side's platform chain
// records the move. Errors: store.ErrNotFound, ErrSameRegion,
// store.ErrConflict (the tenant exists in dst, or another move won).
func MoveTenant(ctx context.Context, actor events.Actor, src, dst *Service, ref string, settle time.Duration) (*MoveResult, error) {
	if src.Placement == nil || dst.Placement == nil {
		return nil, errors.New("moving a tenant needs regions (GATEHOUSE_REGIONS)")
	}
	if src.Placement.Region == dst.Placement.Region {
		return nil, ErrSameRegion
	}
	t, err := src.Resolve(ctx, ref)
	if err != nil {
		if entry, cerr := src.RegionOf(ctx, ref); cerr == nil && entry.Region == dst.Placement.Region {
			return nil, ErrSameRegion
		}
		return nil, fmt.Errorf("tenant %q is not in region %s: %w", ref, src.Placement.Region, err)
	}
	if t.Status == store.TenantDeleted {
		return nil, fmt.Errorf("tenant %s is deleted: restore or purge it instead", t.Slug)
	}
	entry, err := src.Placement.Catalogue.GetCatalogue(ctx, t.ID)
	if err != nil {
		return nil, fmt.Errorf("catalogue entry of %s: %w", t.Slug, err)
	}
	if entry.Region != src.Placement.Region {
		return nil, fmt.Errorf("the catalogue places %s in region %s, not %s: %w", t.Slug, entry.Region, src.Placement.Region, store.ErrConflict)
	}
	res := &MoveResult{Tenant: t.ID, Slug: t.Slug, From: src.Placement.Region, To: dst.Placement.Region}
	start := time.Now()

	// The read-only window: suspended, as every node sees within settle.
	wasActive := t.Status == store.TenantActive
	if wasActive {
		if _, err := src.UpdateTenant(ctx, actor, t.ID, 0, TenantPatch{Status: ptr(store.TenantSuspended)}); err != nil {
			return nil, fmt.Errorf("suspend for the move: %w", err)
		}
	}
	resumeSrc := func() {
		if wasActive {
			_, _ = src.UpdateTenant(context.WithoutCancel(ctx), actor, t.ID, 0, TenantPatch{Status: ptr(store.TenantActive)})
		}
	}
	select {
	case <-time.After(settle):
	case <-ctx.Done():
		resumeSrc()
		return nil, ctx.Err()
	}

	var buf bytes.Buffer
	if _, err := src.ExportTenant(ctx, actor, t.ID, &buf); err != nil {
		resumeSrc()
		return nil, fmt.Errorf("export: %w", err)
	}
	if _, _, err := dst.ImportTenant(ctx, actor, &buf); err != nil {
		resumeSrc()
		return nil, fmt.Errorf("import into %s: %w", res.To, err)
	}
	undo := func(cause error) (*MoveResult, error) {
		_, perr := dst.Store.TenantData().PurgeTenant(context.WithoutCancel(ctx), t.ID)
		resumeSrc()
		return nil, errors.Join(cause, perr)
	}
	if res.Rows, err = verifyCopy(ctx, src, dst, t.ID); err != nil {
		return undo(err)
	}
	v, err := events.Verify(ctx, dst.Store.Audit(), t.ID)
	if err != nil {
		return undo(fmt.Errorf("verify the audit chain in %s: %w", res.To, err))
	}
	srcHead, err := src.Store.Audit().AuditHead(ctx, t.ID)
	if err != nil {
		return undo(err)
	}
	if !v.Intact || v.HeadEntries != srcHead.Seq || v.HeadHash != srcHead.Hash {
		return undo(fmt.Errorf("the audit chain in %s does not match %s: %s", res.To, res.From, v.Reason))
	}
	res.AuditEntries = v.Entries

	// The switch: from now on every node sends the tenant to dst.
	if err := dst.Placement.Catalogue.MoveCatalogue(ctx, t.ID, res.From, res.To); err != nil {
		return undo(fmt.Errorf("switch the catalogue: %w", err))
	}
	if wasActive {
		if _, err := dst.UpdateTenant(ctx, actor, t.ID, 0, TenantPatch{Status: ptr(store.TenantActive)}); err != nil {
			return nil, fmt.Errorf("the tenant moved to %s but did not resume there (resume it with the API): %w", res.To, err)
		}
	}
	res.Window = time.Since(start)
	changes := events.Changes{"region": {Before: res.From, After: res.To}, "slug": {Before: t.Slug}}
	for table, n := range res.Rows {
		changes["rows."+table] = events.Change{After: n}
	}
	if err := dst.Store.InTx(ctx, func(tx store.Repos) error {
		return dst.Audit.Record(ctx, tx, actor, events.Entry{Tenant: store.PlatformTenant,
			Action: "tenant.move", TargetType: "tenant", TargetID: string(t.ID), Changes: changes})
	}); err != nil {
		return res, err
	}
	// The old rows go, with the move on the source's platform chain.
	err = src.Store.InTx(ctx, func(tx store.Repos) error {
		if _, err := tx.TenantData().PurgeTenant(ctx, t.ID); err != nil {
			return err
		}
		return src.Audit.Record(ctx, tx, actor, events.Entry{Tenant: store.PlatformTenant,
			Action: "tenant.move", TargetType: "tenant", TargetID: string(t.ID), Changes: changes})
	})
	src.forgetSlug(t.Slug)
	if err != nil {
		return res, fmt.Errorf("the tenant moved to %s; removing its rows from %s failed (run the move's purge again): %w", res.To, res.From, err)
	}
	return res, nil
}

// dispatcherTables are written by the event dispatcher, not by requests:
// a read-only tenant's rows there still change, so a move copies them but
// does not compare their counts.
var dispatcherTables = map[string]bool{
	"events": true, "event_deliveries": true, "event_attempts": true, "event_chains": true, "ssf_sets": true,
}

func ptr[T any](v T) *T { return &v }

// verifyCopy counts the tenant's rows per table on both sides and answers
// them when equal.
func verifyCopy(ctx context.Context, src, dst *Service, id store.TenantID) (map[string]int, error) {
	count := func(s *Service) (map[string]int, error) {
		m := map[string]int{}
		err := s.Store.InTx(ctx, func(tx store.Repos) error {
			return tx.TenantData().ExportTenant(ctx, id, func(table string, _ json.RawMessage) error {
				m[table]++
				return nil
			})
		})
		return m, err
	}
	a, err := count(src)
	if err != nil {
		return nil, err
	}
	b, err := count(dst)
	if err != nil {
		return nil, err
	}
	// The event dispatchers of both regions keep writing their
	// bookkeeping (attempts, deliveries, queued SETs) while the tenant is
	// read-only; every other table's count must agree.
	for _, m := range []map[string]int{a, b} {
		maps.DeleteFunc(m, func(table string, _ int) bool { return dispatcherTables[table] })
	}
	if !maps.Equal(a, b) {
		return nil, fmt.Errorf("row counts differ after the copy: %s has %v, %s has %v", src.Placement.Region, a, dst.Placement.Region, b)
	}
	return a, nil
}
