package sqlstore_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
)

// TestUsageOfManyTenantsPerf: one month's usage of 10,000 tenants (three
// active users and four counters each, beside another month's rows) is
// computed in under a second. Set GATEHOUSE_USAGE_PERF=1 to run it.
func TestUsageOfManyTenantsPerf(t *testing.T) {
	if os.Getenv("GATEHOUSE_USAGE_PERF") == "" {
		t.Skip("set GATEHOUSE_USAGE_PERF=1 to measure usage over 10,000 tenants")
	}
	const tenants = 10000
	sqltest.ForEachStore(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		ids := make([]store.TenantID, tenants)
		var deltas []store.UsageDelta
		err := s.InTx(ctx, func(tx store.Repos) error {
			for i := range ids {
				ids[i] = store.TenantID(uuid.Must(uuid.NewV7()).String())
				if err := tx.Tenants().CreateTenant(ctx, &store.Tenant{ID: ids[i], Slug: fmt.Sprintf("t%05d", i), Name: "T"}); err != nil {
					return err
				}
				for _, month := range []string{"2026-01", "2026-02"} {
					for u := range 3 {
						if _, err := tx.Usage().MarkActive(ctx, ids[i], month, fmt.Sprintf("user-%d", u)); err != nil {
							return err
						}
					}
					for _, m := range []string{store.MetricLoginsSucceeded, store.MetricAPICalls, "tokens.authorization_code", store.MetricMails} {
						deltas = append(deltas, store.UsageDelta{Tenant: ids[i], Month: month, Metric: m, N: int64(i%7 + 1)})
					}
				}
			}
			return tx.Usage().AddUsage(ctx, deltas)
		})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		us, err := s.Usage().ListUsage(ctx, "2026-01")
		took := time.Since(start)
		if err != nil {
			t.Fatal(err)
		}
		if len(us) != tenants || us[0].MAU != 3 || us[0].Counters[store.MetricAPICalls] == 0 {
			t.Fatalf("usage of %d tenants, first %+v", len(us), us[0])
		}
		t.Logf("%s: usage of %d tenants for one month in %v", s.Dialect(), tenants, took)
		if took > time.Second {
			t.Errorf("usage of %d tenants took %v, want under 1s", tenants, took)
		}
	})
}
