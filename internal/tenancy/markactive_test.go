package tenancy_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
)

// countingUsage counts the active-user inserts made through it.
type countingUsage struct {
	store.Store
	marks *atomic.Int64
}

func (c countingUsage) Usage() store.UsageRepos { return markCounter{c.Store.Usage(), c.marks} }

// countingRepos is countingUsage for a transaction's repos.
type countingRepos struct {
	store.Repos
	marks *atomic.Int64
}

func (c countingRepos) Usage() store.UsageRepos { return markCounter{c.Repos.Usage(), c.marks} }

type markCounter struct {
	store.UsageRepos
	marks *atomic.Int64
}

func (m markCounter) MarkActive(ctx context.Context, tenant store.TenantID, month, userID string) (bool, error) {
	m.marks.Add(1)
	return m.UsageRepos.MarkActive(ctx, tenant, month, userID)
}

// TestMarkActiveNow: the token path counts a user active once per month
// on a node: later tokens of the month write nothing (MarkActive in a
// transaction neither), the next month's first token writes again, and
// the user is counted in each month.
func TestMarkActiveNow(t *testing.T) {
	sqltest.ForEachStore(t, func(t *testing.T, s store.Store) {
		ctx := t.Context()
		clk := newClock()
		acme := mkTenant(t, newService(t, s, clk.Now), "acme")
		u := &store.User{ID: uuid.Must(uuid.NewV7()).String(), Tenant: acme.ID, Status: store.UserActive,
			Email: "ada@example.com", EmailNorm: "ada@example.com"}
		if err := s.Users().CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		var marks atomic.Int64
		cs := countingUsage{s, &marks}
		m := &tenancy.Meter{Store: cs, Now: clk.Now}
		for range 3 {
			if err := m.MarkActiveNow(ctx, acme.ID, u.ID); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.InTx(ctx, func(tx store.Repos) error { return m.MarkActive(ctx, countingRepos{tx, &marks}, acme.ID, u.ID) }); err != nil {
			t.Fatal(err)
		}
		if n := marks.Load(); n != 1 {
			t.Errorf("%d inserts for a user's tokens in one month, want 1", n)
		}
		month := tenancy.Month(clk.Now())
		clk.Add(32 * 24 * time.Hour)
		if err := m.MarkActiveNow(ctx, acme.ID, u.ID); err != nil {
			t.Fatal(err)
		}
		if n := marks.Load(); n != 2 {
			t.Errorf("%d inserts after the month changed, want 2", n)
		}
		for _, mo := range []string{month, tenancy.Month(clk.Now())} {
			if n, err := s.Usage().CountActive(ctx, acme.ID, mo); err != nil || n != 1 {
				t.Errorf("active users in %s: %d, %v; want 1", mo, n, err)
			}
		}
	})
}
