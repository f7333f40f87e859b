package dashboard

import (
	"context"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Line is one named series of values, one per step of its chart.
type Line struct {
	Metric string  `json:"metric"`
	Values []int64 `json:"values"`
	Total  int64   `json:"total"`
}

// Chart is what one dashboard chart draws: X holds each step's start in
// unix seconds, every step present (zero when nothing was counted), so the
// chart library gets aligned columns.
type Chart struct {
	Step  int64   `json:"step"` // seconds
	X     []int64 `json:"x"`
	Lines []Line  `json:"lines"`
}

// MonthCount is a month's monthly active users.
type MonthCount struct {
	Month string `json:"month"`
	N     int64  `json:"n"`
}

// View is a tenant's dashboard at one moment.
type View struct {
	At time.Time `json:"at"`
	// SignInsMinute: sign-ins succeeded and failed per minute, last hour.
	SignInsMinute Chart `json:"sign_ins_minute"`
	// SignInsHour: the same per hour over the last week, with the risk
	// decisions of sign-ins and the largest active-sessions sample.
	SignInsHour Chart `json:"sign_ins_hour"`
	// SignUpsDay: sign-ups per day, last 30 days.
	SignUpsDay Chart `json:"sign_ups_day"`
	// MAU: monthly active users, this month and the five before it, as
	// tenancy's metering counts them (exact).
	MAU []MonthCount `json:"mau"`
	// Gauges as last sampled.
	ActiveSessions int64 `json:"active_sessions"`
	Users          int64 `json:"users"`
	MFAUsers       int64 `json:"mfa_users"`
	// MFAPercent is MFAUsers of Users, rounded down (0 with no users).
	MFAPercent int64 `json:"mfa_percent"`
}

// Risk decision counters the hourly chart shows.
var riskMetrics = []string{store.DashRiskPrefix + "allow", store.DashRiskPrefix + "step_up", store.DashRiskPrefix + "block"}

// Read answers tenant's dashboard as of now. It flushes this node's
// pending counts first, so a page shows its own node's latest sign-ins,
// and samples the tenant's gauges when they are older than FreshGauges.
func (c *Counter) Read(ctx context.Context, tenant store.TenantID) (*View, error) {
	c.logErr("flush", c.Flush(ctx))
	c.logErr("sample", c.sampleTenant(ctx, tenant))
	now := c.Now().UTC()
	v := &View{At: now}
	var err error
	signIns := []string{store.MetricLoginsSucceeded, store.MetricLoginsFailed}
	if v.SignInsMinute, err = c.chart(ctx, tenant, now, time.Minute, 60, signIns, nil); err != nil {
		return nil, err
	}
	hourly := append(append([]string{}, signIns...), riskMetrics...)
	if v.SignInsHour, err = c.chart(ctx, tenant, now, time.Hour, 7*24, hourly, []string{store.DashGaugeSessions}); err != nil {
		return nil, err
	}
	if v.SignUpsDay, err = c.chart(ctx, tenant, now, 24*time.Hour, 30, []string{store.MetricSignups}, nil); err != nil {
		return nil, err
	}
	month := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	for i := 5; i >= 0; i-- {
		m := month.AddDate(0, -i, 0).Format("2006-01")
		n, err := c.Store.Usage().CountActive(ctx, tenant, m)
		if err != nil {
			return nil, err
		}
		v.MAU = append(v.MAU, MonthCount{Month: m, N: n})
	}
	g, err := c.Store.Dashboard().LatestDashGauges(ctx, tenant, now)
	if err != nil {
		return nil, err
	}
	v.ActiveSessions, v.Users, v.MFAUsers = g[store.DashGaugeSessions], g[store.DashGaugeUsers], g[store.DashGaugeMFAUsers]
	if v.Users > 0 {
		v.MFAPercent = v.MFAUsers * 100 / v.Users
	}
	return v, nil
}

// chart reads n steps of step ending with the one that holds now: sums of
// the counters, largest samples of the gauges.
func (c *Counter) chart(ctx context.Context, tenant store.TenantID, now time.Time, step time.Duration, n int, counters, gauges []string) (Chart, error) {
	sec := int64(step / time.Second)
	last := now.Unix() - now.Unix()%sec
	first := last - int64(n-1)*sec
	ps, err := c.Store.Dashboard().DashSeries(ctx, tenant, time.Unix(first, 0), time.Unix(last+sec, 0), step)
	if err != nil {
		return Chart{}, err
	}
	ch := Chart{Step: sec, X: make([]int64, n)}
	for i := range ch.X {
		ch.X[i] = first + int64(i)*sec
	}
	idx := map[string]int{}
	for _, m := range append(append([]string{}, counters...), gauges...) {
		idx[m] = len(ch.Lines)
		ch.Lines = append(ch.Lines, Line{Metric: m, Values: make([]int64, n)})
	}
	for _, p := range ps {
		li, ok := idx[p.Metric]
		i := int((p.At.Unix() - first) / sec)
		if !ok || i < 0 || i >= n {
			continue
		}
		val := p.Sum
		if store.IsDashGauge(p.Metric) {
			val = p.Max
		}
		ch.Lines[li].Values[i] = val
	}
	for i := range ch.Lines {
		l := &ch.Lines[i]
		for _, x := range l.Values {
			if store.IsDashGauge(l.Metric) {
				l.Total = x // a gauge's number is its latest step
			} else {
				l.Total += x
			}
		}
	}
	return ch, nil
}
