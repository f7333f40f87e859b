package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/metrics"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
)

func TestHealthz(t *testing.T) {
	ta := newTestApp(t, backends[0])
	res := ta.get("/healthz", "")
	if res.status != http.StatusOK || !strings.Contains(string(res.body), `"ok"`) {
		t.Fatalf("/healthz: %s", res)
	}
}

// TestReadyz: ready while the database answers, 503 once it does not.
func TestReadyz(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ta := newTestApp(t, be)
		res0 := ta.get("/readyz", "")
		if res0.status != http.StatusOK {
			t.Fatalf("/readyz: %s", res0)
		}
		// Each node names the schema version its binary expects.
		var ready struct {
			SchemaVersion int `json:"schema_version"`
		}
		if err := json.Unmarshal(res0.body, &ready); err != nil || ready.SchemaVersion != sqlstore.SchemaVersion(ta.DB.Dialect()) || ready.SchemaVersion < 41 {
			t.Errorf("/readyz schema_version: %s", res0.body)
		}
		broken := newTestApp(t, be)
		if res := broken.get("/readyz", ""); res.status != http.StatusOK {
			t.Fatalf("/readyz of the second app: %s", res)
		}
		broken.DB.Close()
		res := broken.get("/readyz", "")
		if res.status != http.StatusServiceUnavailable {
			t.Fatalf("/readyz after DB.Close: %s, want 503", res)
		}
		if strings.Contains(string(res.body), "closed") || strings.Contains(string(res.body), "sql") {
			t.Errorf("/readyz body names internals: %s", res.body)
		}
		if !strings.Contains(broken.logs.String(), "readiness: database unreachable") {
			t.Errorf("the cause is not logged:\n%s", broken.logs)
		}
		// The first app is unaffected.
		if res := ta.get("/readyz", ""); res.status != http.StatusOK {
			t.Errorf("/readyz of the first app: %s", res)
		}
	})
}

// TestMetrics: request counts by route pattern and database pool gauges;
// raw paths and tokens never become labels.
func TestMetrics(t *testing.T) {
	ta := newTestApp(t, backends[0])
	a := ta.tenant("tenant-a")
	tok := ta.key(a.ID, "admin")
	for _, p := range []string{"/healthz", "/api/v1/tenants/tenant-a/users", "/no-such-zzz", "/api/v1/no-such-yyy"} {
		ta.get(p, tok)
	}
	ta.get("/api/v1/tenants/tenant-a/users?q=qqq-label-probe", tok)
	res := ta.get("/metrics", "")
	if res.status != http.StatusOK {
		t.Fatalf("/metrics: %s", res)
	}
	body := string(res.body)
	for _, want := range []string{
		`http_requests_total{method="GET",route="GET /healthz",status="200"} 1`,
		`http_requests_total{method="GET",route="GET /api/v1/tenants/{tenant}/users",status="200"} 2`,
		`http_requests_total{method="GET",route="unmatched",status="404"} 1`,
		`http_request_duration_seconds_bucket{method="GET",route="GET /healthz",`,
		"db_open_connections ",
		"db_max_open_connections ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	for _, bad := range []string{"no-such-zzz", "no-such-yyy", "qqq-label-probe", "tenant-a", tok} {
		if strings.Contains(body, bad) {
			t.Errorf("/metrics contains %q", bad)
		}
	}
}

// TestHSTS: under an https public URL every answer (pages, API, errors,
// the mux's own 404) pins https for a year with subdomains; under an http
// one, or with http.hsts off, none does.
func TestHSTS(t *testing.T) {
	paths := []request{
		{method: "GET", path: "/healthz"},
		{method: "GET", path: "/t/default/account/login"},
		{method: "GET", path: "/t/default/.well-known/openid-configuration"},
		{method: "GET", path: "/api/v1/tenants"}, // 401
		{method: "GET", path: "/no-such-page"},   // the mux's own 404
	}
	for _, tc := range []struct{ name, public, hsts, want string }{
		{"https", "https://id.example.test", config.DefaultHSTS, "max-age=31536000; includeSubDomains"},
		{"https configured", "https://id.example.test", "max-age=600; preload", "max-age=600; preload"},
		{"https off", "https://id.example.test", "off", ""},
		{"http", "http://127.0.0.1", config.DefaultHSTS, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t, "")
			cfg.PublicURL, cfg.HTTP.HSTS = tc.public, tc.hsts
			ta := openApp(t, cfg)
			for _, rq := range paths {
				res := ta.do(rq)
				if got := res.header.Get("Strict-Transport-Security"); got != tc.want || len(res.header.Values("Strict-Transport-Security")) > 1 {
					t.Errorf("%s %s -> %d: Strict-Transport-Security %q, want %q", rq.method, rq.path, res.status, got, tc.want)
				}
			}
		})
	}
}

// TestResponseHeaders: every answer, whatever produced it, has
// X-Content-Type-Options and an X-Request-Id.
func TestResponseHeaders(t *testing.T) {
	ta := newTestApp(t, backends[0])
	a := ta.tenant("tenant-a")
	fx := ta.fixture(a, 1)
	tok := "Bearer " + ta.key(store.PlatformTenant, "admin")
	pa := "/api/v1/tenants/tenant-a"
	for _, rq := range []request{
		{method: "GET", path: "/healthz"},
		{method: "GET", path: "/readyz"},
		{method: "GET", path: "/metrics"},
		{method: "POST", path: "/healthz"},        // the mux's own 405
		{method: "GET", path: "/no-such-page"},    // the mux's own 404
		{method: "GET", path: "/api/v1/nope"},     // API 404
		{method: "PUT", path: "/api/v1/tenants"},  // API 405
		{method: "GET", path: "/api/v1/tenants"},  // 401
		{method: "HEAD", path: "/api/v1/tenants"}, // 401 to HEAD
		{method: "GET", path: "/api/v1/openapi.json"},
		{method: "GET", path: "/api/v1/tenants", auth: tok},
		{method: "HEAD", path: pa + "/users", auth: tok},
		{method: "GET", path: pa + "/users?bogus=1", auth: tok},                                             // 400
		{method: "POST", path: pa + "/users", auth: tok, body: map[string]string{"email": "x@example.com"}}, // 201
		{method: "POST", path: pa + "/users", auth: tok, body: map[string]string{"email": "x@example.com"}}, // 409
		{method: "PATCH", path: pa + "/users/" + fx.member.ID, auth: tok, body: map[string]string{},
			header: map[string]string{"If-Match": `"99"`}}, // 412
		{method: "DELETE", path: pa + "/users/" + fx.outsider.ID, auth: tok},           // 204
		{method: "GET", path: pa + "/apikeys", auth: "Bearer " + ta.key(a.ID, "read")}, // 403
	} {
		res := ta.do(rq)
		desc := fmt.Sprintf("%s %s -> %d", rq.method, rq.path, res.status)
		if got := res.header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("%s: X-Content-Type-Options = %q", desc, got)
		}
		if res.header.Get("X-Request-Id") == "" {
			t.Errorf("%s: no X-Request-Id", desc)
		}
	}

	// The caller's id is echoed when plain, replaced otherwise.
	res := ta.do(request{method: "GET", path: "/healthz", header: map[string]string{"X-Request-Id": "trace-123.abc_X"}})
	if got := res.header.Get("X-Request-Id"); got != "trace-123.abc_X" {
		t.Errorf("plain X-Request-Id not echoed: %q", got)
	}
	for _, id := range []string{strings.Repeat("a", 65), "a b", "<script>", "a;b=c"} {
		res := ta.do(request{method: "GET", path: "/api/v1/nope", header: map[string]string{"X-Request-Id": id}})
		got := res.header.Get("X-Request-Id")
		if got == id || got == "" || strings.Contains(string(res.body), id) {
			t.Errorf("X-Request-Id %q: answered %q, body %s", id, got, res.body)
		}
	}
}

// serveMiddleware serves h behind the real middleware stack.
func serveMiddleware(t *testing.T, max int, h http.Handler) (*httptest.Server, *syncBuffer, *metrics.Registry) {
	t.Helper()
	logs := &syncBuffer{}
	reg := metrics.NewRegistry()
	srv := httptest.NewServer(middleware(slog.New(slog.NewJSONHandler(logs, nil)), reg, nil, func(h http.Handler) http.Handler { return h }, max, h))
	t.Cleanup(srv.Close)
	return srv, logs, reg
}

func fetch(t *testing.T, url string) *response {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return &response{status: res.StatusCode, header: res.Header, body: b}
}

// TestLimitInFlight: past max concurrent requests the answer is 429 with
// Retry-After, as a problem, with the usual headers; slots come back.
func TestLimitInFlight(t *testing.T) {
	entered := make(chan struct{})
	release := make(chan struct{})
	srv, _, _ := serveMiddleware(t, 2, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/block" {
			entered <- struct{}{}
			<-release
		}
		w.WriteHeader(http.StatusOK)
	}))

	var wg sync.WaitGroup
	statuses := make(chan int, 2)
	for range 2 {
		wg.Go(func() {
			res, err := http.Get(srv.URL + "/block")
			if err != nil {
				t.Error(err)
				return
			}
			res.Body.Close()
			statuses <- res.StatusCode
		})
	}
	for range 2 {
		select {
		case <-entered:
		case <-time.After(10 * time.Second):
			t.Fatal("blocking requests did not arrive")
		}
	}

	res := fetch(t, srv.URL+"/other")
	if res.status != http.StatusTooManyRequests {
		t.Fatalf("third request: %s, want 429", res)
	}
	if got := res.header.Get("Retry-After"); got != "1" {
		t.Errorf("Retry-After = %q", got)
	}
	if got := res.header.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("429: X-Content-Type-Options = %q", got)
	}
	if res.header.Get("X-Request-Id") == "" {
		t.Error("429: no X-Request-Id")
	}
	if p := res.problem(t); p["type"] != "urn:gatehouse:problem:overloaded" || p["status"] != 429.0 {
		t.Errorf("429 problem: %v", p)
	}

	close(release)
	wg.Wait()
	close(statuses)
	for s := range statuses {
		if s != http.StatusOK {
			t.Errorf("blocked request: %d", s)
		}
	}
	for i := range 3 { // the slots are free again
		if res := fetch(t, srv.URL+"/other"); res.status != http.StatusOK {
			t.Errorf("request %d after release: %s", i, res)
		}
	}
}

// TestPanicIsProblem: a handler panic is a bare 500 problem; the panic text
// goes to the log only, and the in-flight slot is released.
func TestPanicIsProblem(t *testing.T) {
	const secret = "panic-secret-gh_ak_0123456789"
	srv, logs, reg := serveMiddleware(t, 1, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/panic" {
			panic(fmt.Errorf("boom: %s at /srv/gatehouse/file.go:12", secret))
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	for range 3 { // max 1: a leaked slot would make the next one a 429
		res := fetch(t, srv.URL+"/panic")
		if res.status != http.StatusInternalServerError {
			t.Fatalf("panic: %s, want 500", res)
		}
		body := string(res.body)
		for _, bad := range []string{secret, "boom", "file.go", "goroutine"} {
			if strings.Contains(body, bad) {
				t.Errorf("500 body contains %q: %s", bad, body)
			}
		}
		if p := res.problem(t); p["type"] != "urn:gatehouse:problem:internal" {
			t.Errorf("500 problem: %v", p)
		}
		if res.header.Get("X-Content-Type-Options") != "nosniff" || res.header.Get("X-Request-Id") == "" {
			t.Errorf("500 headers: %v", res.header)
		}
		if res := fetch(t, srv.URL+"/ok"); res.status != http.StatusNoContent {
			t.Fatalf("after a panic: %s", res)
		}
	}
	if !strings.Contains(logs.String(), "panic serving request") || !strings.Contains(logs.String(), "boom") {
		t.Errorf("the panic is not logged:\n%s", logs)
	}
	rec := httptest.NewRecorder()
	reg.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if !strings.Contains(rec.Body.String(), `status="500"} 3`) {
		t.Errorf("the panics are not counted as 500:\n%s", rec.Body)
	}
}

// TestInternalErrors: a failing store is a 500 problem that names nothing
// inside; the cause is logged.
func TestInternalErrors(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ta := newTestApp(t, be)
		a := ta.tenant("tenant-a")
		tok := ta.key(a.ID, "admin")
		if res := ta.get("/api/v1/tenants/tenant-a/users", tok); res.status != http.StatusOK {
			t.Fatalf("before: %s", res)
		}

		// A query failing with SQL text, after authentication succeeded.
		if _, err := ta.DB.SQL().ExecContext(context.Background(), "ALTER TABLE users RENAME TO users_gone"); err != nil {
			t.Fatal(err)
		}
		res := ta.get("/api/v1/tenants/tenant-a/users", tok)
		checkInternal(t, "missing table", res)
		if logs := ta.logs.String(); !strings.Contains(logs, "api: internal error") || !strings.Contains(logs, "users") {
			t.Errorf("the cause is not logged:\n%s", logs)
		}

		// The whole database gone.
		ta.DB.Close()
		res = ta.get("/api/v1/tenants/tenant-a/users", tok)
		checkInternal(t, "closed database", res)
		if !strings.Contains(ta.logs.String(), "database is closed") {
			t.Errorf("the cause is not logged:\n%s", ta.logs)
		}
		if strings.Contains(ta.logs.String(), tok) {
			t.Error("the token is in the log")
		}
	})
}

func checkInternal(t *testing.T, desc string, res *response) {
	t.Helper()
	if res.status != http.StatusInternalServerError {
		t.Fatalf("%s: %s, want 500", desc, res)
	}
	p := res.problem(t)
	if p["type"] != "urn:gatehouse:problem:internal" {
		t.Errorf("%s: problem %v", desc, p)
	}
	low := strings.ToLower(string(res.body))
	for _, bad := range []string{"sql", "database", "closed", "table", "users_gone", "no such", "relation", "pq", "pgx"} {
		if strings.Contains(low, bad) {
			t.Errorf("%s: 500 body names internals (%q): %s", desc, bad, res.body)
		}
	}
}

// TestNoSecretsInLogs: after a run of ordinary and failing requests, no
// token, password or master key is in the log, the metrics or the audit.
func TestNoSecretsInLogs(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ta := newTestApp(t, be)
		a := ta.tenant("tenant-a")
		pTok := ta.key(store.PlatformTenant, "admin")
		aTok := ta.key(a.ID, "admin")
		revokedID, revoked := ta.keyWithID(a.ID, "read")
		if _, err := ta.Tenants.RevokeAPIKey(context.Background(), testActor, a.ID, revokedID); err != nil {
			t.Fatal(err)
		}
		const password = "Zq8#vL2!mWx9pR4t-correct-horse"
		pa := "/api/v1/tenants/tenant-a"

		var created struct {
			Token string `json:"token"`
		}
		res := ta.do(request{method: "POST", path: pa + "/apikeys", auth: "Bearer " + pTok,
			body: map[string]any{"name": "ci", "scopes": []string{"read"}}})
		if res.status != http.StatusCreated {
			t.Fatalf("create key: %s", res)
		}
		if err := json.Unmarshal(res.body, &created); err != nil || !strings.HasPrefix(created.Token, tenancy.TokenPrefix) {
			t.Fatalf("create key: %s", res)
		}
		secrets := map[string]string{"platform token": pTok, "tenant token": aTok, "revoked token": revoked,
			"created token": created.Token, "password": password, "master key": string(ta.Config.MasterKey)}

		for _, rq := range []request{
			{method: "POST", path: pa + "/users", auth: "Bearer " + aTok,
				body: map[string]any{"email": "pw@example.com", "password": password}},
			{method: "POST", path: pa + "/users", auth: "Bearer " + aTok,
				body: map[string]any{"email": "pw@example.com", "password": password}}, // 409
			{method: "POST", path: pa + "/users", auth: "Bearer " + aTok,
				body: map[string]any{"email": "short@example.com", "password": "short"}}, // 400
			{method: "GET", path: pa + "/users", auth: "Bearer " + created.Token},
			{method: "GET", path: pa + "/users?access_token=" + aTok, auth: "Bearer " + aTok}, // 400
			{method: "GET", path: "/api/v1/nope?token=" + pTok},
			{method: "GET", path: pa + "/users", auth: "Bearer " + revoked},              // 401
			{method: "GET", path: pa + "/users", auth: "Basic " + pTok},                  // 401
			{method: "GET", path: pa + "/apikeys", auth: "Bearer " + created.Token},      // 403
			{method: "DELETE", path: "/api/v1/tenants/tenant-a", auth: "Bearer " + aTok}, // 403
			{method: "GET", path: "/healthz?password=" + password},
		} {
			ta.do(rq)
		}
		metricsBody := string(ta.get("/metrics", "").body)
		audit := string(ta.get(pa+"/audit?limit=1000", pTok).body) + string(ta.get("/api/v1/audit?limit=1000", pTok).body)
		if !strings.Contains(audit, "apikey.create") || !strings.Contains(audit, "user.create") {
			t.Fatalf("audit read failed: %s", audit)
		}
		// Access log lines must be there, or their absence proves nothing.
		logs := ta.logs.String()
		if n := strings.Count(logs, `"msg":"request"`); n < 10 {
			t.Fatalf("only %d access log lines:\n%s", n, logs)
		}
		ta.DB.Close() // and the error path
		ta.get(pa+"/users", aTok)
		logs = ta.logs.String()
		for name, s := range secrets {
			for where, text := range map[string]string{"log": logs, "metrics": metricsBody, "audit": audit} {
				if strings.Contains(text, s) {
					t.Errorf("the %s is in the %s", name, where)
				}
			}
		}
	})
}
