package console

import (
	"encoding/json"
	"net/http"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/consoleassets"
	"github.com/gatehouse-id/gatehouse/internal/dashboard"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// The dashboard: charts of sign-ins, risk decisions, active sessions and
// sign-ups from the per-minute rollups of internal/dashboard (never the
// audit log), each with its numbers beside it, and monthly active users
// from the usage meter. The charts are drawn by the vendored uPlot from
// the page's data attributes; the numbers are text, so the page reads
// without script.

func init() {
	register(func(c *Console) []Page {
		return []Page{
			{Method: "GET", Path: "/dashboard", Perm: authz.PermRead, Nav: "console2.nav.dashboard", Order: 1, Handle: c.dashboardPage},
		}
	})
}

var dashboardTmpl = parse("dashboard.html")

// chartNumber is one number beside a chart.
type chartNumber struct {
	Key   string // catalog key of its label
	Value int64
}

// chartCard is one chart and its numbers.
type chartCard struct {
	ID, TitleKey string
	// Spec is the JSON the script draws: {"x": [...], "series": [...]}.
	Spec    string
	Numbers []chartNumber
}

type dashboardData struct {
	Charts         []chartCard
	MAU            []dashboard.MonthCount
	MAUNow         int64
	ActiveSessions int64
	Users          int64
	MFAUsers       int64
	MFAPercent     int64
	Scripts        []string
	Styles         []string
}

// seriesLabel names each dashboard metric's catalog key.
var seriesLabel = map[string]string{
	store.MetricLoginsSucceeded:      "console2.dash.succeeded",
	store.MetricLoginsFailed:         "console2.dash.failed",
	store.MetricSignups:              "console2.dash.signups",
	store.DashRiskPrefix + "allow":   "console2.dash.risk_allow",
	store.DashRiskPrefix + "step_up": "console2.dash.risk_step_up",
	store.DashRiskPrefix + "block":   "console2.dash.risk_block",
	store.DashGaugeSessions:          "console2.dash.sessions",
}

// card builds a chart of the named lines of ch, with each line's total as
// its number.
func (rq *Request) card(id, titleKey string, ch dashboard.Chart, metrics ...string) (chartCard, error) {
	type series struct {
		Label  string  `json:"label"`
		Values []int64 `json:"values"`
	}
	spec := struct {
		X      []int64  `json:"x"`
		Series []series `json:"series"`
	}{X: ch.X}
	c := chartCard{ID: id, TitleKey: titleKey}
	for _, m := range metrics {
		for _, l := range ch.Lines {
			if l.Metric == m {
				spec.Series = append(spec.Series, series{Label: rq.T(seriesLabel[m]), Values: l.Values})
				c.Numbers = append(c.Numbers, chartNumber{Key: seriesLabel[m], Value: l.Total})
			}
		}
	}
	b, err := json.Marshal(spec)
	if err != nil {
		return chartCard{}, err
	}
	c.Spec = string(b)
	return c, nil
}

// dashboardPage: GET /dashboard.
func (c *Console) dashboardPage(w http.ResponseWriter, r *http.Request, rq *Request) error {
	v, err := c.More.Dashboard.Read(rq.Context(), rq.Tenant.ID)
	if err != nil {
		return err
	}
	d := dashboardData{MAU: v.MAU, ActiveSessions: v.ActiveSessions, Users: v.Users, MFAUsers: v.MFAUsers,
		MFAPercent: v.MFAPercent, Scripts: consoleassets.Scripts, Styles: consoleassets.Styles}
	if n := len(v.MAU); n > 0 {
		d.MAUNow = v.MAU[n-1].N
	}
	risk := []string{store.DashRiskPrefix + "allow", store.DashRiskPrefix + "step_up", store.DashRiskPrefix + "block"}
	for _, spec := range []struct {
		id, title string
		ch        dashboard.Chart
		metrics   []string
	}{
		{"signins-minute", "console2.dash.signins_minute", v.SignInsMinute, []string{store.MetricLoginsSucceeded, store.MetricLoginsFailed}},
		{"signins-hour", "console2.dash.signins_hour", v.SignInsHour, []string{store.MetricLoginsSucceeded, store.MetricLoginsFailed}},
		{"signups-day", "console2.dash.signups_day", v.SignUpsDay, []string{store.MetricSignups}},
		{"risk-hour", "console2.dash.risk_hour", v.SignInsHour, risk},
		{"sessions-hour", "console2.dash.sessions_hour", v.SignInsHour, []string{store.DashGaugeSessions}},
	} {
		cc, err := rq.card(spec.id, spec.title, spec.ch, spec.metrics...)
		if err != nil {
			return err
		}
		d.Charts = append(d.Charts, cc)
	}
	return rq.Render(w, http.StatusOK, dashboardTmpl, "console2.dash.title", d)
}
