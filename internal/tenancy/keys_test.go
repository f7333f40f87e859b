package tenancy_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
)

// byStatus maps each status to the key ids of one algorithm.
func byStatus(t *testing.T, s store.Store, tenant store.TenantID, alg string) map[store.KeyStatus][]string {
	t.Helper()
	ks, err := s.SigningKeys().ListSigningKeys(t.Context(), tenant)
	if err != nil {
		t.Fatal(err)
	}
	m := map[store.KeyStatus][]string{}
	for _, k := range ks {
		if k.Alg == alg {
			m[k.Status] = append(m[k.Status], k.ID)
		}
	}
	return m
}

func TestRotateKeys(t *testing.T) {
	sqltest.ForEachStore(t, func(t *testing.T, s store.Store) {
		clk := newClock()
		svc := newService(t, s, clk.Now)
		acme := mkTenant(t, svc, "acme")
		before := byStatus(t, s, acme.ID, "RS256")

		clk.Add(time.Hour)
		if err := svc.RotateKeys(t.Context(), admin, acme.ID); err != nil {
			t.Fatal(err)
		}
		after := byStatus(t, s, acme.ID, "RS256")
		// The published next key signs now; the old active one is retired,
		// still published; a new next key is published.
		if !slices.Equal(after[store.KeyActive], before[store.KeyNext]) ||
			!slices.Equal(after[store.KeyRetired], before[store.KeyActive]) ||
			len(after[store.KeyNext]) != 1 || after[store.KeyNext][0] == before[store.KeyNext][0] {
			t.Fatalf("before %v, after %v", before, after)
		}
		ks, _ := s.SigningKeys().ListSigningKeys(t.Context(), acme.ID)
		for _, k := range ks {
			if k.Status == store.KeyRetired {
				if k.RetireAt == nil || !k.RetireAt.Equal(clk.Now().UTC().Add(tenancy.RetireAfter).Truncate(time.Microsecond)) {
					t.Errorf("retired key %s retires at %v", k.ID, k.RetireAt)
				}
			}
		}
		if es := auditEntries(t, s, acme.ID); len(es) == 0 || es[len(es)-1].Action != "keys.rotate" {
			t.Errorf("rotation not audited: %v", actions(es))
		}
		if err := svc.RotateKeys(t.Context(), admin, "no-such-tenant"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("rotate unknown tenant: %v", err)
		}
	})
}

func TestRotateDue(t *testing.T) {
	sqltest.ForEachStore(t, func(t *testing.T, s store.Store) {
		clk := newClock()
		svc := newService(t, s, clk.Now)
		mkTenant(t, svc, "acme")
		mkTenant(t, svc, "beta")
		if n, err := svc.RotateDue(t.Context(), tenancy.DefaultKeyMaxAge); err != nil || n != 0 {
			t.Fatalf("fresh keys rotated: %d %v", n, err)
		}
		clk.Add(tenancy.DefaultKeyMaxAge + time.Hour)
		if n, err := svc.RotateDue(t.Context(), tenancy.DefaultKeyMaxAge); err != nil || n != 2 {
			t.Fatalf("due keys: rotated %d, %v; want 2", n, err)
		}
		// Just rotated: not due again, although the now-active keys are old.
		clk.Add(time.Hour)
		if n, err := svc.RotateDue(t.Context(), tenancy.DefaultKeyMaxAge); err != nil || n != 0 {
			t.Fatalf("rotated again at once: %d %v", n, err)
		}
	})
}
