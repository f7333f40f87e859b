package metrics

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func scrape(t *testing.T, r *Registry) string {
	t.Helper()
	var b strings.Builder
	n, err := r.WriteTo(&b)
	if err != nil {
		t.Fatalf("WriteTo: %v", err)
	}
	if int(n) != b.Len() {
		t.Fatalf("WriteTo returned n=%d, wrote %d bytes", n, b.Len())
	}
	return b.String()
}

func TestExpositionGolden(t *testing.T) {
	r := NewRegistry()
	// Registered out of order: output must be sorted by family name.
	r.NewGaugeFunc("gatehouse_up", "Whether the server is up.", func() float64 { return 1 })
	h := r.NewHistogramVec("gatehouse_token_issue_seconds", "Token issuance latency.", []float64{0.1, 0.5, 1}, "grant")
	c := r.NewCounterVec("gatehouse_logins_total", "Login attempts by result.", "tenant", "result")
	r.NewCounterVec("gatehouse_unused_total", "Labelled family without series.", "x")
	r.NewCounterVec("gatehouse_boot_total", "Unlabelled counter.")

	c.Inc("beta", "success")
	c.Inc("acme", "success")
	c.Inc("acme", "success")
	c.Add(2.5, "acme", "failure")
	for _, v := range []float64{0.0625, 0.5, 0.25, 3} {
		h.Observe(v, "password")
	}
	h.Observe(1, "client_credentials")

	want := `# HELP gatehouse_boot_total Unlabelled counter.
# TYPE gatehouse_boot_total counter
gatehouse_boot_total 0
# HELP gatehouse_logins_total Login attempts by result.
# TYPE gatehouse_logins_total counter
gatehouse_logins_total{tenant="acme",result="failure"} 2.5
gatehouse_logins_total{tenant="acme",result="success"} 2
gatehouse_logins_total{tenant="beta",result="success"} 1
# HELP gatehouse_token_issue_seconds Token issuance latency.
# TYPE gatehouse_token_issue_seconds histogram
gatehouse_token_issue_seconds_bucket{grant="client_credentials",le="0.1"} 0
gatehouse_token_issue_seconds_bucket{grant="client_credentials",le="0.5"} 0
gatehouse_token_issue_seconds_bucket{grant="client_credentials",le="1"} 1
gatehouse_token_issue_seconds_bucket{grant="client_credentials",le="+Inf"} 1
gatehouse_token_issue_seconds_sum{grant="client_credentials"} 1
gatehouse_token_issue_seconds_count{grant="client_credentials"} 1
gatehouse_token_issue_seconds_bucket{grant="password",le="0.1"} 1
gatehouse_token_issue_seconds_bucket{grant="password",le="0.5"} 3
gatehouse_token_issue_seconds_bucket{grant="password",le="1"} 3
gatehouse_token_issue_seconds_bucket{grant="password",le="+Inf"} 4
gatehouse_token_issue_seconds_sum{grant="password"} 3.8125
gatehouse_token_issue_seconds_count{grant="password"} 4
# HELP gatehouse_up Whether the server is up.
# TYPE gatehouse_up gauge
gatehouse_up 1
`
	if got := scrape(t, r); got != want {
		t.Errorf("exposition mismatch\n--- got ---\n%s--- want ---\n%s", got, want)
	}
}

func TestLabelAndHelpEscaping(t *testing.T) {
	r := NewRegistry()
	c := r.NewCounterVec("esc_total", "Help with \\ backslash,\nnewline and \"quotes\".", "v")
	c.Inc("a\\b\"c\nd")
	c.Inc("bad\xffutf8")
	want := `# HELP esc_total Help with \\ backslash,\nnewline and "quotes".
# TYPE esc_total counter
esc_total{v="a\\b\"c\nd"} 1
esc_total{v="bad` + "\uFFFD" + `utf8"} 1
`
	if got := scrape(t, r); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestHistogramCumulativeBuckets(t *testing.T) {
	r := NewRegistry()
	h := r.NewHistogramVec("lat_seconds", "Latency.", []float64{1, 2, 5, math.Inf(+1)})
	// Bounds are inclusive (le): 1 goes into le="1", 2 into le="2".
	for _, v := range []float64{-1, 0.5, 1, 1.5, 2, 4, 5, 7, 100, math.NaN()} {
		h.Observe(v)
	}
	out := scrape(t, r)
	for _, line := range []string{
		`lat_seconds_bucket{le="1"} 3`,
		`lat_seconds_bucket{le="2"} 5`,
		`lat_seconds_bucket{le="5"} 7`,
		`lat_seconds_bucket{le="+Inf"} 9`,
		`lat_seconds_sum 120`,
		`lat_seconds_count 9`,
	} {
		if !strings.Contains(out, line+"\n") {
			t.Errorf("missing %q in\n%s", line, out)
		}
	}
	if strings.Count(out, `le="+Inf"`) != 1 {
		t.Errorf("explicit +Inf bucket must not be duplicated:\n%s", out)
	}
}

func TestDefaultBuckets(t *testing.T) {
	r := NewRegistry()
	r.NewHistogramVec("d_seconds", "D.", nil).Observe(0.003)
	out := scrape(t, r)
	if !strings.Contains(out, `d_seconds_bucket{le="0.0005"} 0`) ||
		!strings.Contains(out, `d_seconds_bucket{le="0.005"} 1`) ||
		strings.Count(out, "_bucket") != len(DefaultLatencyBuckets)+1 {
		t.Errorf("unexpected default buckets:\n%s", out)
	}
}

func mustPanic(t *testing.T, name string, f func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Errorf("%s: expected panic", name)
		}
	}()
	f()
}

func TestRegistrationPanics(t *testing.T) {
	r := NewRegistry()
	r.NewCounterVec("dup_total", "x")
	r.NewHistogramVec("hist", "x", nil)
	mustPanic(t, "duplicate", func() { r.NewCounterVec("dup_total", "x") })
	mustPanic(t, "duplicate across kinds", func() { r.NewGaugeFunc("dup_total", "x", nil) })
	mustPanic(t, "histogram derived name", func() { r.NewCounterVec("hist_count", "x") })
	mustPanic(t, "invalid metric name", func() { r.NewCounterVec("1abc", "x") })
	mustPanic(t, "invalid metric name chars", func() { r.NewCounterVec("a-b", "x") })
	mustPanic(t, "empty metric name", func() { r.NewCounterVec("", "x") })
	mustPanic(t, "invalid label name", func() { r.NewCounterVec("ok_total", "x", "a:b") })
	mustPanic(t, "reserved label name", func() { r.NewCounterVec("ok_total", "x", "__name") })
	mustPanic(t, "duplicate label name", func() { r.NewCounterVec("ok_total", "x", "a", "a") })
	mustPanic(t, "le label on histogram", func() { r.NewHistogramVec("ok_h", "x", nil, "le") })
	mustPanic(t, "unsorted buckets", func() { r.NewHistogramVec("ok_h", "x", []float64{1, 1}) })
	mustPanic(t, "NaN bucket", func() { r.NewHistogramVec("ok_h", "x", []float64{math.NaN()}) })
	// A failed registration must not claim the name.
	r.NewCounterVec("ok_total", "x", "a", "b")
	r.NewHistogramVec("ok_h", "x", nil, "a")

	c := r.NewCounterVec("labels_total", "x", "a", "b")
	mustPanic(t, "too few label values", func() { c.Inc("1") })
	mustPanic(t, "too many label values", func() { c.Inc("1", "2", "3") })
	mustPanic(t, "negative add", func() { c.Add(-1, "1", "2") })
	mustPanic(t, "NaN add", func() { c.Add(math.NaN(), "1", "2") })
	h := r.NewHistogramVec("labels_h", "x", nil, "a")
	mustPanic(t, "histogram label values", func() { h.Observe(1) })
}

func TestSeriesCap(t *testing.T) {
	r := NewRegistry()
	c := r.NewCounterVec("cap_total", "x", "user", "kind")
	for i := range MaxSeriesPerFamily {
		c.Inc(fmt.Sprint("u", i), "k")
	}
	for i := range 50 {
		c.Inc(fmt.Sprint("hostile", i), "k")
	}
	c.Inc("u0", "k") // existing series keep working
	if n := c.set.len(); n != MaxSeriesPerFamily+1 {
		t.Fatalf("series = %d, want %d", n, MaxSeriesPerFamily+1)
	}
	if v := c.Value(OverflowLabelValue, OverflowLabelValue); v != 50 {
		t.Errorf("overflow = %v, want 50", v)
	}
	if v := c.Value("u0", "k"); v != 2 {
		t.Errorf("u0 = %v, want 2", v)
	}
	if v := c.Value("hostile1", "k"); v != 0 {
		t.Errorf("hostile series was stored: %v", v)
	}
	if out := scrape(t, r); !strings.Contains(out, "cap_total{user=\"overflow\",kind=\"overflow\"} 50\n") {
		t.Errorf("overflow series missing from output")
	}

	g := NewRegistry()
	g.NewGaugeVecFunc("cap_gauge", "x", []string{"k"}, func(emit EmitFunc) {
		for i := range MaxSeriesPerFamily + 3 {
			emit(2, fmt.Sprint(i))
		}
	})
	out := scrape(t, g)
	if n := strings.Count(out, "\ncap_gauge{"); n != MaxSeriesPerFamily+1 {
		t.Errorf("gauge series = %d, want %d", n, MaxSeriesPerFamily+1)
	}
	if !strings.Contains(out, "cap_gauge{k=\"overflow\"} 6\n") {
		t.Errorf("gauge overflow series missing or wrong")
	}
}

func TestGaugeVecFunc(t *testing.T) {
	r := NewRegistry()
	r.NewGaugeVecFunc("sessions", "Active sessions.", []string{"tenant", "kind"}, func(emit EmitFunc) {
		emit(3, "zeta", "web")
		emit(1, "acme", "web")
		emit(9, "acme", "api")
		emit(2, "acme", "web") // last wins
	})
	r.NewGaugeVecFunc("empty", "No series.", []string{"x"}, func(EmitFunc) {})
	want := `# HELP sessions Active sessions.
# TYPE sessions gauge
sessions{tenant="acme",kind="api"} 9
sessions{tenant="acme",kind="web"} 2
sessions{tenant="zeta",kind="web"} 3
`
	if got := scrape(t, r); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestCounterFuncAndSpecialValues(t *testing.T) {
	r := NewRegistry()
	r.NewCounterFunc("ext_total", "External counter.", func() float64 { return 1e21 })
	r.NewGaugeFunc("inf", "Inf.", func() float64 { return math.Inf(-1) })
	r.NewGaugeFunc("nan", "NaN.", math.NaN)
	want := `# HELP ext_total External counter.
# TYPE ext_total counter
ext_total 1e+21
# HELP inf Inf.
# TYPE inf gauge
inf -Inf
# HELP nan NaN.
# TYPE nan gauge
nan NaN
`
	if got := scrape(t, r); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("boom") }

func TestWriteToError(t *testing.T) {
	r := NewRegistry()
	r.NewGaugeFunc("g", "x", func() float64 { return 1 })
	if _, err := r.WriteTo(failWriter{}); err == nil {
		t.Fatal("expected error")
	}
}

func TestHandler(t *testing.T) {
	r := NewRegistry()
	r.NewCounterVec("hits_total", "Hits.").Inc()
	rec := httptest.NewRecorder()
	r.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if ct := rec.Header().Get("Content-Type"); ct != "text/plain; version=0.0.4; charset=utf-8" {
		t.Errorf("Content-Type = %q", ct)
	}
	if want := "# HELP hits_total Hits.\n# TYPE hits_total counter\nhits_total 1\n"; rec.Body.String() != want {
		t.Errorf("body = %q, want %q", rec.Body.String(), want)
	}
}

func TestZeroRegistryUsable(t *testing.T) {
	var r Registry
	r.NewCounterVec("z_total", "Z.").Inc()
	if out := scrape(t, &r); !strings.Contains(out, "z_total 1\n") {
		t.Errorf("got %q", out)
	}
}
