package console_test

import (
	"encoding/json"
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/authz"
)

var chartRE = regexp.MustCompile(`id="signins-minute" data-chart="([^"]+)"`)

// TestDashboardPage: the dashboard is the console's first page; its
// minute chart holds the sign-ins just made (the console sign-in is one),
// it links the vendored chart library from the console's own origin, a
// viewer reads it, and a user without console roles gets the 403 page.
func TestDashboardPage(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db string) {
		e := newEnv(t, db)
		e.user("default", "admin@example.com", "correct horse battery", authz.RoleAdmin)
		e.user("default", "viewer@example.com", "correct horse battery", authz.RoleViewer)
		e.user("default", "nobody@example.com", "correct horse battery")

		b := e.browser()
		p := b.signIn("default", "admin@example.com", "correct horse battery", "/admin")
		if p.status != http.StatusOK || !strings.HasSuffix(p.url, "/admin/dashboard") {
			t.Fatalf("/admin after sign-in: %d %s", p.status, p.url)
		}
		// A failed sign-in counts too.
		wrong := e.browser()
		login := wrong.get("/t/default/account/login")
		wrong.post("/t/default/account/login", form("csrf", csrfOf(t, login), "identifier", "admin@example.com", "password", "wrong password!"))

		p = b.get("/admin/dashboard")
		m := chartRE.FindStringSubmatch(p.body)
		if p.status != http.StatusOK || m == nil {
			t.Fatalf("dashboard: %d, no minute chart\n%s", p.status, p.body)
		}
		var spec struct {
			X      []int64 `json:"x"`
			Series []struct {
				Label  string  `json:"label"`
				Values []int64 `json:"values"`
			} `json:"series"`
		}
		if err := json.Unmarshal([]byte(html.UnescapeString(m[1])), &spec); err != nil {
			t.Fatalf("chart data %q: %v", m[1], err)
		}
		sum := func(vs []int64) (n int64) {
			for _, v := range vs {
				n += v
			}
			return n
		}
		if len(spec.X) != 60 || len(spec.Series) != 2 || spec.Series[0].Label != "Succeeded" ||
			sum(spec.Series[0].Values) < 1 || sum(spec.Series[1].Values) < 1 {
			t.Fatalf("minute chart = %+v, want 60 steps with the sign-in and the failure", spec)
		}
		for _, want := range []string{`src="/admin/charts/vendor/uplot/uPlot.iife.min.js"`, `src="/admin/charts/dashboard.js"`,
			`href="/admin/charts/vendor/uplot/uPlot.min.css"`, `id="mau-now">1<`, "MFA adoption"} {
			if !strings.Contains(p.body, want) {
				t.Errorf("dashboard lacks %s", want)
			}
		}
		if strings.Contains(p.body, "<script>") || strings.Contains(p.body, " style=") {
			t.Error("dashboard has an inline script or style")
		}
		// The assets are served from the console's origin.
		if a := b.get("/admin/charts/dashboard.js"); a.status != http.StatusOK || !strings.Contains(a.body, "uPlot") {
			t.Fatalf("dashboard.js: %d", a.status)
		}

		vb := e.browser()
		if p := vb.signIn("default", "viewer@example.com", "correct horse battery", "/admin/dashboard"); p.status != http.StatusOK {
			t.Fatalf("viewer: %d", p.status)
		}
		nb := e.browser()
		if p := nb.signIn("default", "nobody@example.com", "correct horse battery", "/admin/dashboard"); p.status != http.StatusForbidden {
			t.Fatalf("user without roles: %d", p.status)
		}
		// German page, German series labels.
		b.lang = "de"
		if p := b.get("/admin/dashboard"); !strings.Contains(p.body, "Erfolgreich") || !strings.Contains(p.body, "Monatlich aktive Benutzer") {
			t.Fatal("the German dashboard is not German")
		}
	})
}
