package storetest

import (
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

var dashboardTests = []test{
	{"Dashboard/CountsAddUpPerMinute", testDashCounts},
	{"Dashboard/Gauges", testDashGauges},
	{"Dashboard/Sweep", testDashSweep},
}

// dashAt is a fixed minute far from now, so tests never meet each other's
// rows through SweepDash's cut-off (they run in parallel on one database).
var dashAt = time.Date(2031, 5, 6, 10, 0, 0, 0, time.UTC)

func dashPoints(t *testing.T, s store.Store, tn store.TenantID, from, to time.Time, step time.Duration) map[string]store.DashPoint {
	t.Helper()
	ps, err := s.Dashboard().DashSeries(ctx(t), tn, from, to, step)
	noErr(t, "DashSeries", err)
	out := map[string]store.DashPoint{}
	for i, p := range ps {
		if i > 0 && (ps[i-1].At.After(p.At) || ps[i-1].At.Equal(p.At) && ps[i-1].Metric >= p.Metric) {
			t.Fatalf("DashSeries out of order at %d: %+v after %+v", i, p, ps[i-1])
		}
		out[p.At.Format("15:04")+" "+p.Metric] = p
	}
	return out
}

func testDashCounts(t *testing.T, s store.Store) {
	a, b := mkTenant(t, s), mkTenant(t, s)
	d := s.Dashboard()
	noErr(t, "AddDashCounts", d.AddDashCounts(ctx(t), []store.DashCount{
		{Tenant: a, Minute: dashAt.Add(10 * time.Second), Metric: store.MetricLoginsSucceeded, N: 2},
		{Tenant: a, Minute: dashAt.Add(50 * time.Second), Metric: store.MetricLoginsSucceeded, N: 3},
		{Tenant: a, Minute: dashAt.Add(time.Minute), Metric: store.MetricLoginsSucceeded, N: 4},
		{Tenant: a, Minute: dashAt.Add(61 * time.Minute), Metric: store.MetricLoginsFailed, N: 1},
		{Tenant: b, Minute: dashAt, Metric: store.MetricLoginsSucceeded, N: 100},
		{Tenant: "no-such-tenant", Minute: dashAt, Metric: store.MetricSignups, N: 1},
	}))
	// A second flush (another node) adds to the same rows.
	noErr(t, "AddDashCounts again", d.AddDashCounts(ctx(t), []store.DashCount{
		{Tenant: a, Minute: dashAt, Metric: store.MetricLoginsSucceeded, N: 1},
	}))
	got := dashPoints(t, s, a, dashAt, dashAt.Add(2*time.Hour), time.Minute)
	if len(got) != 3 || got["10:00 logins.succeeded"].Sum != 6 || got["10:01 logins.succeeded"].Sum != 4 || got["11:01 logins.failed"].Sum != 1 {
		t.Fatalf("per minute = %+v, want 10:00 6, 10:01 4, 11:01 one failure (tenant b apart)", got)
	}
	hourly := dashPoints(t, s, a, dashAt, dashAt.Add(2*time.Hour), time.Hour)
	if p := hourly["10:00 logins.succeeded"]; len(hourly) != 2 || p.Sum != 10 || p.Max != 6 || !p.At.Equal(dashAt) {
		t.Fatalf("per hour = %+v, want 10:00 sum 10 max 6 and 11:00", hourly)
	}
	// The window is half open and another tenant sees nothing of a.
	if got := dashPoints(t, s, a, dashAt.Add(time.Minute), dashAt.Add(61*time.Minute), time.Minute); len(got) != 1 {
		t.Fatalf("[10:01, 11:01) = %+v, want the 10:01 row only", got)
	}
	if got := dashPoints(t, s, b, dashAt, dashAt.Add(2*time.Hour), time.Hour); len(got) != 1 || got["10:00 logins.succeeded"].Sum != 100 {
		t.Fatalf("tenant b = %+v, want its own 100 only", got)
	}
	if _, err := d.DashSeries(ctx(t), a, dashAt, dashAt.Add(time.Hour), 30*time.Second); err == nil {
		t.Fatal("DashSeries with a 30 s step: no error")
	}
}

func testDashGauges(t *testing.T, s store.Store) {
	a, b := mkTenant(t, s), mkTenant(t, s)
	now := time.Now().UTC()
	u1, u2 := mkUser(t, s, a, "g1"), mkUser(t, s, a, "g2")
	mkUser(t, s, b, "g3")
	mkSession(t, s, a, u1.ID, "tok-"+newID())
	mkSession(t, s, a, u2.ID, "tok-"+newID())
	mkSession(t, s, a, u2.ID, "tok-"+newID(), func(ss *store.Session) { r := now.Add(-time.Minute); ss.RevokedAt = &r })
	for _, confirmed := range []bool{true, true, false} {
		uid := u1.ID
		if !confirmed {
			uid = u2.ID
		}
		noErr(t, "CreateFactor", s.MFA().Factors().CreateFactor(ctx(t), &store.Factor{ID: newID(), Tenant: a, UserID: uid,
			Kind: "totp", Name: "n", Secret: []byte("sealed"), Confirmed: confirmed}))
	}
	d := s.Dashboard()
	noErr(t, "SampleDashGauges", d.SampleDashGauges(ctx(t), now, ""))
	noErr(t, "SampleDashGauges again", d.SampleDashGauges(ctx(t), now, "")) // replaces, never adds
	g, err := d.LatestDashGauges(ctx(t), a, now)
	noErr(t, "LatestDashGauges", err)
	if g[store.DashGaugeSessions] != 2 || g[store.DashGaugeUsers] != 2 || g[store.DashGaugeMFAUsers] != 1 {
		t.Fatalf("gauges of a = %v, want 2 live sessions, 2 users, 1 with a confirmed factor", g)
	}
	if g, _ := d.LatestDashGauges(ctx(t), b, now); g[store.DashGaugeUsers] != 1 || g[store.DashGaugeSessions] != 0 {
		t.Fatalf("gauges of b = %v, want 1 user, no sessions", g)
	}
	// Sessions end: the next sample reads zero, and it is the latest.
	noErr(t, "RevokeAll", s.OAuth().Sessions().RevokeUserSessions(ctx(t), a, u1.ID))
	noErr(t, "RevokeAll", s.OAuth().Sessions().RevokeUserSessions(ctx(t), a, u2.ID))
	later := now.Add(10 * time.Minute)
	noErr(t, "SampleDashGauges later", d.SampleDashGauges(ctx(t), later, a)) // a only
	if got := dashPoints(t, s, b, later, later.Add(time.Minute), time.Minute); len(got) != 0 {
		t.Fatalf("sampling tenant a wrote rows of b: %+v", got)
	}
	if g, _ := d.LatestDashGauges(ctx(t), a, later); g[store.DashGaugeSessions] != 0 || g[store.DashGaugeUsers] != 2 {
		t.Fatalf("gauges after the sessions ended = %v, want 0 sessions", g)
	}
	if g, _ := d.LatestDashGauges(ctx(t), a, now); g[store.DashGaugeSessions] != 2 {
		t.Fatalf("gauges as of the first sample = %v, want its 2 sessions", g)
	}
	// Gauges over an hour report the largest sample as Max.
	ps := dashPoints(t, s, a, now.Add(-time.Hour), later.Add(time.Minute), time.Hour)
	maxSessions := int64(0)
	for _, p := range ps {
		if p.Metric == store.DashGaugeSessions && p.Max > maxSessions {
			maxSessions = p.Max
		}
	}
	if maxSessions != 2 {
		t.Fatalf("hourly gauge max = %d, want 2 (%+v)", maxSessions, ps)
	}
}

func testDashSweep(t *testing.T, s store.Store) {
	a := mkTenant(t, s)
	d := s.Dashboard()
	old := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	noErr(t, "AddDashCounts", d.AddDashCounts(ctx(t), []store.DashCount{
		{Tenant: a, Minute: old, Metric: store.MetricSignups, N: 1},
		{Tenant: a, Minute: old.Add(time.Minute), Metric: store.MetricSignups, N: 1},
	}))
	n, err := d.SweepDash(ctx(t), old.Add(time.Minute))
	noErr(t, "SweepDash", err)
	if n < 1 {
		t.Fatalf("SweepDash deleted %d rows, want the old one", n)
	}
	got := dashPoints(t, s, a, old, old.Add(time.Hour), time.Minute)
	if len(got) != 1 || got["00:01 signups"].Sum != 1 {
		t.Fatalf("after the sweep = %+v, want the 00:01 row kept", got)
	}
}
