package server

import (
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
)

// seriesRE finds the metric names a PromQL expression or a metrics page
// names: Gatehouse's, HTTP, database pool and runtime ones.
var seriesRE = regexp.MustCompile(`\b(?:gatehouse|http|db|go|process)_[a-z_]+\b`)

// TestDashboardSeriesExist: every series the Grafana dashboard and the
// Prometheus alert rules in docs/ name is on /metrics of a running app
// (a histogram's _bucket, _sum and _count included), so the documents
// cannot drift from what Gatehouse exports.
func TestDashboardSeriesExist(t *testing.T) {
	ta := newTestApp(t, backends[0])
	tn := ta.tenant("default")
	// One login that fails, one that succeeds: the login series count them.
	ta.userWithPassword(tn.ID, "obs@example.com", "correct horse battery staple")
	b := ta.browser()
	tok := b.csrf("/t/default/account/login")
	b.post("/t/default/account/login", form("csrf", tok, "identifier", "obs@example.com", "password", "wrong password here"))
	b.signIn("default", "obs@example.com", "correct horse battery staple")
	res, err := http.Get(ta.srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	exported := map[string]bool{}
	for _, line := range strings.Split(string(body), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, _, _ := strings.Cut(line, "{")
		name, _, _ = strings.Cut(name, " ")
		exported[name] = true
	}
	for _, line := range []string{`gatehouse_logins_total{result="success",method="password"} 1`,
		`gatehouse_logins_total{result="failure",method="password"} 1`} {
		if !strings.Contains(string(body), line+"\n") {
			t.Errorf("/metrics has no %s", line)
		}
	}
	for _, doc := range []string{"../../docs/grafana-dashboard.json", "../../docs/prometheus-alerts.yml"} {
		b, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		named := map[string]bool{}
		for _, m := range seriesRE.FindAllString(string(b), -1) {
			named[m] = true
		}
		if len(named) < 8 {
			t.Errorf("%s names only %d series", doc, len(named))
		}
		for n := range named {
			if !exported[n] {
				t.Errorf("%s names %s, which /metrics does not export", doc, n)
			}
		}
	}
	for _, want := range []string{"gatehouse_logins_total", "gatehouse_tokens_issued_total", "gatehouse_password_hashes_in_flight",
		"gatehouse_password_hashes_queued", "gatehouse_queue_depth", "gatehouse_queue_oldest_age_seconds",
		"gatehouse_cache_requests_total", "gatehouse_ratelimit_rejections_total"} {
		if !exported[want] {
			t.Errorf("/metrics has no %s", want)
		}
	}
}
