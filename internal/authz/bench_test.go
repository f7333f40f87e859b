package authz_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
)

// Each backend gets a sub-benchmark; postgres skips without its DSN.
var benchBackends = []struct {
	name string
	open func(testing.TB) *sqlstore.DB
}{
	{"sqlite", sqltest.OpenSQLite},
	{"postgres", sqltest.OpenPostgres},
}

// benchSetup builds the case: a user in 50 groups (25 it is a
// direct member of, each nested in one of 25 outer groups), 25 roles of 5
// permissions each given to the outer groups, one privileged role the user
// is eligible for, and noise: 200 other users in the same groups.
func benchSetup(b testing.TB, s store.Store) (*authz.Service, store.TenantID, string) {
	b.Helper()
	ctx := context.Background()
	clk := &clock{t: time.Now().UTC()}
	az := &authz.Service{Store: s, Audit: &events.Recorder{Now: clk.Now}, Now: clk.Now}
	tn := store.TenantID(id())
	if err := s.Tenants().CreateTenant(ctx, &store.Tenant{ID: tn, Slug: "bench", Name: "Bench"}); err != nil {
		b.Fatal(err)
	}
	mkUser := func(i int) string {
		email := fmt.Sprintf("u%04d@example.com", i)
		u := &store.User{ID: id(), Tenant: tn, Email: email, EmailNorm: email, Status: store.UserActive}
		if err := s.Users().CreateUser(ctx, u); err != nil {
			b.Fatal(err)
		}
		return u.ID
	}
	user := mkUser(0)
	var others []string
	for i := 1; i <= 200; i++ {
		others = append(others, mkUser(i))
	}
	admin := events.Actor{Type: "cli", ID: "bench"}
	for i := range 25 {
		inner := &store.Group{ID: id(), Tenant: tn, Name: fmt.Sprintf("team-%02d", i)}
		outer := &store.Group{ID: id(), Tenant: tn, Name: fmt.Sprintf("dept-%02d", i)}
		for _, g := range []*store.Group{inner, outer} {
			if err := s.Groups().CreateGroup(ctx, g); err != nil {
				b.Fatal(err)
			}
		}
		must(b, s.Groups().AddMember(ctx, tn, outer.ID, store.Member{Type: store.MemberGroup, ID: inner.ID}))
		must(b, s.Groups().AddMember(ctx, tn, inner.ID, store.Member{Type: store.MemberUser, ID: user}))
		for _, o := range others[i*8 : i*8+8] {
			must(b, s.Groups().AddMember(ctx, tn, inner.ID, store.Member{Type: store.MemberUser, ID: o}))
		}
		var perms []string
		for p := range 5 {
			perms = append(perms, fmt.Sprintf("app%02d:perm%d", i, p))
		}
		r, err := az.CreateRole(ctx, admin, tn, authz.NewRole{Name: fmt.Sprintf("role-%02d", i), Permissions: perms})
		must(b, err)
		_, _, err = az.AssignGroup(ctx, admin, tn, outer.ID, r.ID)
		must(b, err)
	}
	_, err := az.CreateRole(ctx, admin, tn, authz.NewRole{Name: "root", Permissions: []string{"all:*"},
		Privileged: true, Approval: "approvers", Approvers: []string{others[0]}})
	must(b, err)
	_, _, err = az.AssignUser(ctx, admin, tn, user, "root")
	must(b, err)
	gs, err := s.Groups().UserGroups(ctx, tn, user, true)
	if err != nil || len(gs) != 50 {
		b.Fatalf("the user is in %d groups (%v), want 50", len(gs), err)
	}
	return az, tn, user
}

func must(b testing.TB, err error) {
	b.Helper()
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkCheck times the check API's service call for a user in 50
// groups: allowed through the last outer group (role-24), and denied (every
// role looked at). The bar is a median under 1 ms.
func BenchmarkCheck(b *testing.B) {
	for _, be := range benchBackends {
		b.Run(be.name, func(b *testing.B) {
			s := be.open(b)
			az, tn, user := benchSetup(b, s)
			ctx := context.Background()
			for _, c := range []struct {
				name, perm string
				allowed    bool
			}{{"allowed", "app24:perm4", true}, {"denied", "nope:nothing", false}} {
				b.Run(c.name, func(b *testing.B) {
					sqltest.Timed(b, func(int) error {
						d, err := az.Check(ctx, tn, authz.Query{UserID: user, Permission: c.perm})
						if err == nil && d.Allowed != c.allowed {
							err = fmt.Errorf("check %s: %+v", c.perm, d)
						}
						return err
					})
				})
			}
		})
	}
}

// BenchmarkCheckBaseline is the floor the check is divided by in
// docs/BENCHMARKS.md, measured in the same run: SELECT 1 through
// database/sql and the same driver.
func BenchmarkCheckBaseline(b *testing.B) {
	for _, be := range benchBackends {
		b.Run(be.name, func(b *testing.B) {
			s := be.open(b)
			ctx := context.Background()
			sqltest.Timed(b, func(int) error {
				var one int
				return s.SQL().QueryRowContext(ctx, "SELECT 1").Scan(&one)
			})
		})
	}
}

// TestCheckLatency guards the bar outside benchmarks: the median of
// 300 checks for a user in 50 groups stays under 1 ms on SQLite. A loaded
// machine gets three rounds and the best median counts, so only a check
// that is slow every time fails. Skipped with -short and under the race
// detector (which slows every call many times over); the benchmark gives
// the figures.
func TestCheckLatency(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("latency guard skipped with -short and -race")
	}
	az, tn, user := benchSetup(t, sqltest.OpenSQLite(t))
	ctx := context.Background()
	best := time.Duration(1<<63 - 1)
	for range 3 {
		ds := make([]time.Duration, 0, 300)
		for range 300 {
			start := time.Now()
			if d, err := az.Check(ctx, tn, authz.Query{UserID: user, Permission: "app24:perm4"}); err != nil || !d.Allowed {
				t.Fatalf("check: %+v, %v", d, err)
			}
			ds = append(ds, time.Since(start))
		}
		slices.Sort(ds)
		best = min(best, ds[len(ds)/2])
	}
	t.Logf("check p50, best of 3 rounds of 300 calls: %v", best)
	if best >= time.Millisecond {
		t.Errorf("check p50 %v, want under 1ms", best)
	}
}
