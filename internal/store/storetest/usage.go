package storetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

var usageTests = []test{
	{"Usage/Plans", testPlans},
	{"Usage/ActiveUsers", testActiveUsers},
	{"Usage/Counters", testUsageCounters},
}

func ptr(n int64) *int64 { return &n }

func testPlans(t *testing.T, s store.Store) {
	u := s.Usage()
	name := "plan-" + newID()[24:]
	p := &store.Plan{Name: name, Overage: store.OverageHard, Limits: store.PlanLimits{MAU: ptr(7), Clients: ptr(0)}}
	noErr(t, "CreatePlan", u.CreatePlan(ctx(t), p))
	if err := u.CreatePlan(ctx(t), &store.Plan{Name: name, Overage: store.OverageSoft}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("CreatePlan twice: %v, want ErrConflict", err)
	}
	got, err := u.GetPlan(ctx(t), name)
	if err != nil || *got.Limits.MAU != 7 || *got.Limits.Clients != 0 || got.Limits.SAMLSPs != nil || got.Overage != store.OverageHard {
		t.Fatalf("GetPlan = %+v, %v", got, err)
	}
	tn := mkTenant(t, s)
	if err := u.SetTenantPlan(ctx(t), tn, "no-such-plan"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("SetTenantPlan(unknown) = %v, want ErrNotFound", err)
	}
	noErr(t, "SetTenantPlan", u.SetTenantPlan(ctx(t), tn, name))
	if got, err := u.TenantPlan(ctx(t), tn); err != nil || got != name {
		t.Fatalf("TenantPlan = %q, %v", got, err)
	}
	if err := u.DeletePlan(ctx(t), name); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("DeletePlan in use = %v, want ErrConflict", err)
	}
	if _, err := u.UpdatePlan(ctx(t), name, func(p *store.Plan) error { p.Limits.MAU = nil; return nil }); err != nil {
		t.Fatal(err)
	}
	if got, _ := u.GetPlan(ctx(t), name); got.Limits.MAU != nil {
		t.Fatalf("UpdatePlan kept MAU %v", *got.Limits.MAU)
	}
	noErr(t, "SetTenantPlan none", u.SetTenantPlan(ctx(t), tn, ""))
	if got, err := u.TenantPlan(ctx(t), tn); err != nil || got != "" {
		t.Fatalf("TenantPlan after clearing = %q, %v", got, err)
	}
	noErr(t, "DeletePlan", u.DeletePlan(ctx(t), name))
	if _, err := u.GetPlan(ctx(t), name); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetPlan after delete = %v", err)
	}
}

// testActiveUsers: a user is counted once per tenant and month, however
// many concurrent calls mark it; other tenants and months are apart, and
// a deleted tenant counts nothing.
func testActiveUsers(t *testing.T, s store.Store) {
	tn, other := mkTenant(t, s), mkTenant(t, s)
	u := s.Usage()
	var wg sync.WaitGroup
	var mu sync.Mutex
	firsts := 0
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, user := range []string{"a", "b", "c"} {
				first, err := u.MarkActive(ctx(t), tn, "2026-01", user)
				if err != nil {
					t.Error(err)
					return
				}
				if first {
					mu.Lock()
					firsts++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if firsts != 3 {
		t.Errorf("first marks = %d, want 3", firsts)
	}
	for _, c := range []struct {
		tn    store.TenantID
		month string
		want  int64
	}{{tn, "2026-01", 3}, {tn, "2026-02", 0}, {other, "2026-01", 0}} {
		if n, err := u.CountActive(ctx(t), c.tn, c.month); err != nil || n != c.want {
			t.Errorf("CountActive(%s) = %d, %v; want %d", c.month, n, err, c.want)
		}
	}
	if ok, err := u.IsActive(ctx(t), tn, "2026-01", "b"); err != nil || !ok {
		t.Errorf("IsActive(b) = %v, %v", ok, err)
	}
	if ok, err := u.IsActive(ctx(t), other, "2026-01", "b"); err != nil || ok {
		t.Errorf("IsActive in another tenant = %v, %v", ok, err)
	}
	if first, err := u.MarkActive(ctx(t), store.TenantID(newID()), "2026-01", "a"); err != nil || first {
		t.Errorf("MarkActive of a missing tenant = %v, %v; want nothing counted", first, err)
	}
	if first, err := u.MarkThreshold(ctx(t), tn, "2026-01", "mau", 80, time.Now()); err != nil || !first {
		t.Errorf("MarkThreshold = %v, %v", first, err)
	}
	if first, err := u.MarkThreshold(ctx(t), tn, "2026-01", "mau", 80, time.Now()); err != nil || first {
		t.Errorf("MarkThreshold again = %v, %v; want false", first, err)
	}
}

func testUsageCounters(t *testing.T, s store.Store) {
	tn, other := mkTenant(t, s), mkTenant(t, s)
	u := s.Usage()
	d := []store.UsageDelta{
		{Tenant: tn, Month: "2026-01", Metric: store.MetricAPICalls, N: 2},
		{Tenant: tn, Month: "2026-01", Metric: "tokens.refresh_token", N: 1},
		{Tenant: store.TenantID(newID()), Month: "2026-01", Metric: store.MetricAPICalls, N: 5},
	}
	noErr(t, "AddUsage", u.AddUsage(ctx(t), d))
	noErr(t, "AddUsage again", u.AddUsage(ctx(t), d[:1]))
	got, err := u.GetUsage(ctx(t), tn, "2026-01")
	if err != nil || got.Counters[store.MetricAPICalls] != 4 || got.Counters["tokens.refresh_token"] != 1 || got.MAU != 0 {
		t.Fatalf("GetUsage = %+v, %v", got, err)
	}
	if got, err := u.GetUsage(ctx(t), other, "2026-01"); err != nil || len(got.Counters) != 0 {
		t.Fatalf("GetUsage of another tenant = %+v, %v", got, err)
	}
	if _, err := u.GetUsage(ctx(t), store.TenantID(newID()), "2026-01"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetUsage of a missing tenant = %v, want ErrNotFound", err)
	}
	all, err := u.ListUsage(ctx(t), "2026-01")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range all {
		if r.Tenant == tn && r.Counters[store.MetricAPICalls] != 4 {
			t.Errorf("ListUsage row = %+v", r)
		}
	}
	if n, err := u.CountOwned(ctx(t), tn, store.OwnedClients); err != nil || n != 0 {
		t.Errorf("CountOwned = %d, %v", n, err)
	}
}
