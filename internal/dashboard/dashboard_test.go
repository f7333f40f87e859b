package dashboard_test

import (
	"context"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/dashboard"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
)

func backends(t *testing.T) map[string]func(testing.TB) store.Store {
	m := map[string]func(testing.TB) store.Store{"sqlite": func(t testing.TB) store.Store { return sqltest.OpenSQLite(t) }}
	if os.Getenv(sqltest.EnvPostgresDSN) != "" {
		m["postgres"] = func(t testing.TB) store.Store { return sqltest.OpenPostgres(t) }
	}
	return m
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func line(t *testing.T, ch dashboard.Chart, metric string) dashboard.Line {
	t.Helper()
	for _, l := range ch.Lines {
		if l.Metric == metric {
			if len(l.Values) != len(ch.X) {
				t.Fatalf("%s: %d values for %d steps", metric, len(l.Values), len(ch.X))
			}
			return l
		}
	}
	t.Fatalf("no line %s in %+v", metric, ch)
	return dashboard.Line{}
}

// TestDashboardCountsAndView: counts added in memory reach the database on
// a flush (concurrent adds all counted), land in the right minute, hour
// and day, other tenants and other metrics stay out, MAU comes from the
// usage meter's exact table, and gauges give MFA adoption.
func TestDashboardCountsAndView(t *testing.T) {
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			db := open(t)
			a, b := store.TenantID("ta"), store.TenantID("tb")
			for _, tn := range []store.TenantID{a, b} {
				if err := db.Tenants().CreateTenant(ctx, &store.Tenant{ID: tn, Slug: string(tn), Name: string(tn)}); err != nil {
					t.Fatal(err)
				}
			}
			clk := &clock{t: time.Date(2026, 12, 7, 10, 30, 15, 0, time.UTC)}
			c := &dashboard.Counter{Store: db, Now: clk.Now}
			var wg sync.WaitGroup
			for range 50 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					c.Add(a, store.MetricLoginsSucceeded, 1)
				}()
			}
			wg.Wait()
			c.Add(a, store.MetricLoginsFailed, 2)
			c.Add(a, store.MetricAPICalls, 9) // not a dashboard metric
			c.Add(b, store.MetricLoginsSucceeded, 7)
			c.Add(a, store.DashRiskPrefix+"step_up", 1)
			if err := c.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			clk.add(2 * time.Minute)
			c.Add(a, store.MetricLoginsSucceeded, 3)
			c.Add(a, store.MetricSignups, 1)
			if err := db.Usage().AddUsage(ctx, nil); err != nil {
				t.Fatal(err)
			}
			if _, err := db.Usage().MarkActive(ctx, a, "2026-12", "u1"); err != nil {
				t.Fatal(err)
			}
			// Read flushes the pending counts itself.
			v, err := c.Read(ctx, a)
			if err != nil {
				t.Fatal(err)
			}
			m := v.SignInsMinute
			if len(m.X) != 60 || m.Step != 60 || m.X[59] != clk.Now().Unix()-clk.Now().Unix()%60 {
				t.Fatalf("minute chart x = %d steps of %d, last %d", len(m.X), m.Step, m.X[len(m.X)-1])
			}
			ok := line(t, m, store.MetricLoginsSucceeded)
			if ok.Values[57] != 50 || ok.Values[59] != 3 || ok.Total != 53 {
				t.Fatalf("succeeded per minute: [57]=%d [59]=%d total %d, want 50, 3, 53", ok.Values[57], ok.Values[59], ok.Total)
			}
			if f := line(t, m, store.MetricLoginsFailed); f.Total != 2 {
				t.Fatalf("failed total %d, want 2", f.Total)
			}
			h := v.SignInsHour
			if len(h.X) != 168 || line(t, h, store.MetricLoginsSucceeded).Values[167] != 53 || line(t, h, store.DashRiskPrefix+"step_up").Total != 1 {
				t.Fatalf("hour chart: %d steps, this hour %d", len(h.X), line(t, h, store.MetricLoginsSucceeded).Values[167])
			}
			if s := line(t, v.SignUpsDay, store.MetricSignups); len(s.Values) != 30 || s.Values[29] != 1 {
				t.Fatalf("sign-ups per day = %v", s.Values)
			}
			if len(v.MAU) != 6 || v.MAU[5] != (dashboard.MonthCount{Month: "2026-12", N: 1}) || v.MAU[0].Month != "2026-07" {
				t.Fatalf("MAU = %+v", v.MAU)
			}
			// An hour on, the minute chart no longer holds these sign-ins
			// but the hour chart does.
			clk.add(time.Hour)
			v, err = c.Read(ctx, a)
			if err != nil {
				t.Fatal(err)
			}
			if line(t, v.SignInsMinute, store.MetricLoginsSucceeded).Total != 0 || line(t, v.SignInsHour, store.MetricLoginsSucceeded).Total != 53 {
				t.Fatal("an hour later: minute chart still counts, or the hour chart lost the sign-ins")
			}
			vb, err := c.Read(ctx, b)
			if err != nil || line(t, vb.SignInsHour, store.MetricLoginsSucceeded).Total != 7 {
				t.Fatalf("tenant b: %v %+v", err, vb)
			}
		})
	}
}

// TestDashboardGaugesAndSweep: sampled gauges give the active sessions and
// MFA adoption; the sweep removes rollups past the retention only.
func TestDashboardGaugesAndSweep(t *testing.T) {
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			db := open(t)
			if err := db.Tenants().CreateTenant(ctx, &store.Tenant{ID: "ta", Slug: "ta", Name: "A"}); err != nil {
				t.Fatal(err)
			}
			now := time.Now().UTC()
			for i, id := range []string{"u1", "u2", "u3", "u4"} {
				u := &store.User{ID: id, Tenant: "ta", Email: id + "@example.com", EmailNorm: id + "@example.com", Status: store.UserActive}
				if err := db.Users().CreateUser(ctx, u); err != nil {
					t.Fatal(err)
				}
				if i == 0 {
					if err := db.MFA().Factors().CreateFactor(ctx, &store.Factor{ID: "f1", Tenant: "ta", UserID: id, Kind: "totp", Secret: []byte("x"), Confirmed: true}); err != nil {
						t.Fatal(err)
					}
				}
			}
			if err := db.OAuth().Sessions().CreateSession(ctx, &store.Session{ID: "s1", Tenant: "ta", UserID: "u1", TokenHash: []byte("h"), AuthTime: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
				t.Fatal(err)
			}
			clk := &clock{t: now}
			c := &dashboard.Counter{Store: db, Now: clk.Now}
			// Read samples a tenant never sampled.
			v, err := c.Read(ctx, "ta")
			if err != nil {
				t.Fatal(err)
			}
			if v.ActiveSessions != 1 || v.Users != 4 || v.MFAUsers != 1 || v.MFAPercent != 25 {
				t.Fatalf("gauges = sessions %d users %d mfa %d (%d%%), want 1, 4, 1, 25%%", v.ActiveSessions, v.Users, v.MFAUsers, v.MFAPercent)
			}
			if line(t, v.SignInsHour, store.DashGaugeSessions).Total != 1 {
				t.Fatal("hourly chart lacks the sessions sample")
			}
			// Within FreshGauges a page reuses the sample; after it, it
			// samples again.
			u5 := &store.User{ID: "u5", Tenant: "ta", Email: "u5@example.com", EmailNorm: "u5@example.com", Status: store.UserActive}
			if err := db.Users().CreateUser(ctx, u5); err != nil {
				t.Fatal(err)
			}
			if v, _ := c.Read(ctx, "ta"); v.Users != 4 {
				t.Fatalf("users within a minute = %d, want the sample's 4", v.Users)
			}
			clk.add(dashboard.FreshGauges)
			if v, _ := c.Read(ctx, "ta"); v.Users != 5 || v.MFAPercent != 20 {
				t.Fatalf("users a minute later = %d (%d%% MFA), want 5 (20%%)", v.Users, v.MFAPercent)
			}
			c.Add("ta", store.MetricSignups, 1)
			if err := c.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			clk.add(dashboard.Retention - 2*time.Minute)
			if n, err := c.Sweep(ctx); err != nil || n != 0 {
				t.Fatalf("sweep inside the retention deleted %d, %v", n, err)
			}
			clk.add(3 * time.Minute)
			if n, err := c.Sweep(ctx); err != nil || n != 7 {
				t.Fatalf("sweep past the retention deleted %d, %v; want 2 samples of 3 gauges and 1 count", n, err)
			}
		})
	}
}

// TestMeterFeedsDashboard: the usage meter hands its counts to the
// dashboard, which keeps the sign-in and sign-up counts only.
func TestMeterFeedsDashboard(t *testing.T) {
	ctx := context.Background()
	db := sqltest.OpenSQLite(t)
	if err := db.Tenants().CreateTenant(ctx, &store.Tenant{ID: "ta", Slug: "ta", Name: "A"}); err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Date(2026, 12, 7, 10, 30, 15, 0, time.UTC)}
	c := &dashboard.Counter{Store: db, Now: clk.Now}
	m := &tenancy.Meter{Store: db, Now: clk.Now, Dash: c}
	m.Add("ta", store.MetricLoginsSucceeded, 2)
	m.Add("ta", store.MetricLoginsFailed, 1)
	m.Add("ta", store.MetricMails, 5)
	v, err := c.Read(ctx, "ta")
	if err != nil {
		t.Fatal(err)
	}
	if line(t, v.SignInsMinute, store.MetricLoginsSucceeded).Total != 2 || line(t, v.SignInsMinute, store.MetricLoginsFailed).Total != 1 {
		t.Fatalf("dashboard after the meter's counts: %+v", v.SignInsMinute.Lines)
	}
	ps, err := db.Dashboard().DashSeries(ctx, "ta", clk.Now().Add(-time.Hour), clk.Now().Add(time.Hour), time.Hour)
	ps = slices.DeleteFunc(ps, func(p store.DashPoint) bool { return store.IsDashGauge(p.Metric) })
	if err != nil || len(ps) != 2 {
		t.Fatalf("rows = %+v, %v; want the two sign-in counters only", ps, err)
	}
}
