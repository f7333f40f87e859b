package metrics

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

const tenantRoute = "GET /api/v1/tenants/{tenant}"

func serve(h http.Handler, method, target string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, target, nil))
	return rec
}

func TestMiddlewareRoutesAndStatus(t *testing.T) {
	r := NewRegistry()
	mux := http.NewServeMux()
	mux.HandleFunc(tenantRoute, func(w http.ResponseWriter, req *http.Request) {
		if req.PathValue("tenant") == "missing" {
			http.NotFound(w, req)
			return
		}
		w.WriteHeader(http.StatusCreated)
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok") // implicit 200
	})
	mux.HandleFunc("/empty", func(http.ResponseWriter, *http.Request) {}) // writes nothing
	h := r.Middleware(mux)

	for _, tc := range []struct {
		method, target string
		code           int
	}{
		{"GET", "/api/v1/tenants/acme", 201},
		{"GET", "/api/v1/tenants/beta", 201},
		{"GET", "/api/v1/tenants/missing", 404},
		{"GET", "/random/" + strings.Repeat("x", 20), 404},
		{"DELETE", "/api/v1/tenants/acme", 405},
		{"POST", "/login", 200},
		{"PROPFIND", "/empty", 200},
	} {
		if rec := serve(h, tc.method, tc.target); rec.Code != tc.code {
			t.Fatalf("%s %s: code %d, want %d", tc.method, tc.target, rec.Code, tc.code)
		}
	}

	c := r.http.requests
	for _, tc := range []struct {
		labels []string
		want   float64
	}{
		{[]string{"GET", tenantRoute, "201"}, 2},
		{[]string{"GET", tenantRoute, "404"}, 1},
		{[]string{"GET", "unmatched", "404"}, 1},
		{[]string{"DELETE", "unmatched", "405"}, 1},
		{[]string{"POST", "POST /login", "200"}, 1},
		{[]string{"OTHER", "/empty", "200"}, 1},
	} {
		if got := c.Value(tc.labels...); got != tc.want {
			t.Errorf("http_requests_total%v = %v, want %v", tc.labels, got, tc.want)
		}
	}
	if n := c.set.len(); n != 6 {
		t.Errorf("series = %d, want 6", n)
	}

	out := scrape(t, r)
	for _, line := range []string{
		`http_requests_total{method="GET",route="GET /api/v1/tenants/{tenant}",status="201"} 2`,
		`http_requests_total{method="GET",route="unmatched",status="404"} 1`,
		`http_request_duration_seconds_count{method="GET",route="GET /api/v1/tenants/{tenant}"} 3`,
		`http_request_duration_seconds_bucket{method="GET",route="unmatched",le="+Inf"} 1`,
	} {
		if !strings.Contains(out, line+"\n") {
			t.Errorf("missing %q in output:\n%s", line, out)
		}
	}

	// Middleware may be applied several times (e.g. per route) without
	// re-registering its families.
	inner := http.NewServeMux()
	inner.Handle(tenantRoute, r.Middleware(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusCreated)
	})))
	serve(inner, "GET", "/api/v1/tenants/x")
	if got := c.Value("GET", tenantRoute, "201"); got != 3 {
		t.Errorf("per-route middleware: count = %v, want 3", got)
	}
}

func TestMiddlewareInformationalAndPanic(t *testing.T) {
	r := NewRegistry()
	mux := http.NewServeMux()
	mux.HandleFunc("/early", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusEarlyHints)
		w.WriteHeader(http.StatusAccepted)
	})
	mux.HandleFunc("/panic", func(http.ResponseWriter, *http.Request) { panic("boom") })
	mux.HandleFunc("/flush-panic", func(w http.ResponseWriter, _ *http.Request) {
		w.(http.Flusher).Flush() // status 200 already sent
		panic(http.ErrAbortHandler)
	})
	h := r.Middleware(mux)
	serve(h, "GET", "/early")
	for _, target := range []string{"/panic", "/flush-panic"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: panic was swallowed", target)
				}
			}()
			serve(h, "GET", target)
		}()
	}
	if got := r.http.requests.Value("GET", "/early", "202"); got != 1 {
		t.Errorf("1xx then 202: got %v", got)
	}
	if got := r.http.requests.Value("GET", "/panic", "500"); got != 1 {
		t.Errorf("panic: got %v", got)
	}
	if got := r.http.requests.Value("GET", "/flush-panic", "200"); got != 1 {
		t.Errorf("panic after flush: got %v", got)
	}
}

// ServeMux reports the client-supplied redirect path as Pattern for CONNECT
// requests that only match with a trailing slash; it must not become a label.
func TestMiddlewareConnectRedirectNotALabel(t *testing.T) {
	r := NewRegistry()
	mux := http.NewServeMux()
	mux.HandleFunc("/t/{id}/", func(http.ResponseWriter, *http.Request) {})
	h := r.Middleware(mux)
	req := httptest.NewRequest(http.MethodConnect, "/t/attacker-chosen-1", nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if req.Pattern != "/t/attacker-chosen-1/" || rec.Code != http.StatusTemporaryRedirect {
		t.Skipf("ServeMux behaviour changed: pattern %q, code %d", req.Pattern, rec.Code)
	}
	if got := r.http.requests.Value("CONNECT", "unmatched", "307"); got != 1 {
		t.Errorf("got %v; series:\n%s", got, scrape(t, r))
	}
}

type plainWriter struct{ h http.Header }

func (w *plainWriter) Header() http.Header         { return w.h }
func (w *plainWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *plainWriter) WriteHeader(int)             {}

func TestMiddlewarePreservesFlusher(t *testing.T) {
	r := NewRegistry()
	var isFlusher, isHijacker bool
	var unwrapped http.ResponseWriter
	h := r.Middleware(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		var f http.Flusher
		f, isFlusher = w.(http.Flusher)
		_, isHijacker = w.(http.Hijacker)
		if u, ok := w.(interface{ Unwrap() http.ResponseWriter }); ok {
			unwrapped = u.Unwrap()
		}
		if isFlusher {
			f.Flush()
		}
	}))

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if !isFlusher || !rec.Flushed {
		t.Errorf("Flusher not preserved: isFlusher=%v flushed=%v", isFlusher, rec.Flushed)
	}
	if isHijacker {
		t.Error("recorder is not a Hijacker, wrapper must not claim to be one")
	}
	if unwrapped != rec {
		t.Error("Unwrap does not return the original ResponseWriter")
	}
	if got := r.http.requests.Value("GET", "unmatched", "200"); got != 1 {
		t.Errorf("flush-only response should count as 200, got %v", got)
	}

	pw := &plainWriter{h: http.Header{}}
	h.ServeHTTP(pw, httptest.NewRequest("GET", "/", nil))
	if isFlusher || isHijacker {
		t.Error("wrapper claims Flusher/Hijacker the underlying writer lacks")
	}
}

// Through a real server: streaming works, Hijacker is preserved and
// http.ResponseController reaches the connection through Unwrap.
func TestMiddlewareRealServer(t *testing.T) {
	r := NewRegistry()
	release := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /stream", func(w http.ResponseWriter, _ *http.Request) {
		if _, ok := w.(http.Hijacker); !ok {
			t.Error("Hijacker not preserved")
		}
		rc := http.NewResponseController(w)
		if err := rc.SetWriteDeadline(time.Now().Add(time.Minute)); err != nil {
			t.Errorf("ResponseController.SetWriteDeadline: %v", err)
		}
		_, _ = io.WriteString(w, "first\n")
		w.(http.Flusher).Flush()
		<-release
		_, _ = io.WriteString(w, "second\n")
	})
	srv := httptest.NewServer(r.Middleware(mux))
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, len("first\n"))
	if _, err := io.ReadFull(resp.Body, buf); err != nil || string(buf) != "first\n" {
		t.Fatalf("first chunk not flushed: %q %v", buf, err)
	}
	close(release)
	if rest, _ := io.ReadAll(resp.Body); string(rest) != "second\n" {
		t.Fatalf("rest = %q", rest)
	}
	resp.Body.Close()
	// The metric is recorded after the handler returns; the client may see
	// the end of the body slightly earlier.
	deadline := time.Now().Add(5 * time.Second)
	for r.http.requests.Value("GET", "GET /stream", "200") != 1 {
		if time.Now().After(deadline) {
			t.Fatal("request not recorded")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
