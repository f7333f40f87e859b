package httpx_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

type inner struct {
	Level int `json:"level"`
}

type body struct {
	Name   string   `json:"name"`
	Count  int      `json:"count"`
	Tags   []string `json:"tags"`
	Active bool     `json:"active"`
	Inner  inner    `json:"inner"`
}

func TestDecodeJSON(t *testing.T) {
	const max = 128
	tests := []struct {
		name        string
		contentType string // "-" for none
		body        string
		status      int    // 0 when decoding succeeds
		field       string // the problem's Field
		want        body
	}{
		{"valid", "application/json", `{"name":"a","count":2,"tags":["x"],"active":true,"inner":{"level":3}}`, 0, "",
			body{Name: "a", Count: 2, Tags: []string{"x"}, Active: true, Inner: inner{Level: 3}}},
		{"charset parameter", "application/json; charset=utf-8", `{"name":"a"}`, 0, "", body{Name: "a"}},
		{"+json type", "application/merge-patch+json", `{"count":1}`, 0, "", body{Count: 1}},
		{"no content type", "-", `{"name":"a"}`, 0, "", body{Name: "a"}},
		{"trailing whitespace", "application/json", "{\"name\":\"a\"}\n\t ", 0, "", body{Name: "a"}},
		{"exactly max bytes", "application/json", `{"name":"` + strings.Repeat("a", max-11) + `"}`, 0, "",
			body{Name: strings.Repeat("a", max-11)}},
		{"text/plain", "text/plain", `{"name":"a"}`, http.StatusUnsupportedMediaType, "", body{}},
		{"form", "application/x-www-form-urlencoded", `name=a`, http.StatusUnsupportedMediaType, "", body{}},
		{"xml", "application/xml", `<a/>`, http.StatusUnsupportedMediaType, "", body{}},
		{"json suffix without plus", "application/notjson", `{}`, http.StatusUnsupportedMediaType, "", body{}},
		{"malformed content type", "application/json; =", `{}`, http.StatusUnsupportedMediaType, "", body{}},
		{"over max", "application/json", `{"name":"` + strings.Repeat("a", max) + `"}`, http.StatusRequestEntityTooLarge, "", body{}},
		{"over max in trailing space", "application/json", `{"name":"a"}` + strings.Repeat(" ", max), http.StatusRequestEntityTooLarge, "", body{}},
		{"over max, no content type", "-", `{"name":"` + strings.Repeat("a", max) + `"}`, http.StatusRequestEntityTooLarge, "", body{}},
		{"malformed", "application/json", `{"name":`, http.StatusBadRequest, "", body{}},
		{"syntax error", "application/json", `{"name" "a"}`, http.StatusBadRequest, "", body{}},
		{"empty body", "application/json", ``, http.StatusBadRequest, "", body{}},
		{"whitespace body", "application/json", "  \n", http.StatusBadRequest, "", body{}},
		{"second value", "application/json", `{"name":"a"}{"name":"b"}`, http.StatusBadRequest, "", body{}},
		{"trailing garbage", "application/json", `{"name":"a"} x`, http.StatusBadRequest, "", body{}},
		{"trailing bracket", "application/json", `{"name":"a"}]`, http.StatusBadRequest, "", body{}},
		{"unknown field", "application/json", `{"name":"a","admin":true}`, http.StatusBadRequest, "admin", body{}},
		{"unknown nested field", "application/json", `{"inner":{"depth":1}}`, http.StatusBadRequest, "depth", body{}},
		{"string for number", "application/json", `{"count":"2"}`, http.StatusBadRequest, "count", body{}},
		{"number for string", "application/json", `{"name":5}`, http.StatusBadRequest, "name", body{}},
		{"object for array", "application/json", `{"tags":{}}`, http.StatusBadRequest, "tags", body{}},
		{"nested type mismatch", "application/json", `{"inner":{"level":true}}`, http.StatusBadRequest, "inner.level", body{}},
		{"not an object", "application/json", `[1,2]`, http.StatusBadRequest, "", body{}},
		{"a string", "application/json", `"x"`, http.StatusBadRequest, "", body{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/x", strings.NewReader(tc.body))
			if tc.contentType != "-" {
				r.Header.Set("Content-Type", tc.contentType)
			}
			var got body
			err := httpx.DecodeJSON(httptest.NewRecorder(), r, max, &got)
			if tc.status == 0 {
				if err != nil {
					t.Fatalf("DecodeJSON: %v", err)
				}
				if !equalBody(got, tc.want) {
					t.Errorf("decoded %+v, want %+v", got, tc.want)
				}
				return
			}
			var p *httpx.Problem
			if !errors.As(err, &p) {
				t.Fatalf("DecodeJSON = %v (%T), want *httpx.Problem", err, err)
			}
			if p.Status != tc.status || p.Field != tc.field {
				t.Errorf("problem %+v, want status %d field %q", p, tc.status, tc.field)
			}
			if !strings.HasPrefix(p.Type, httpx.ProblemTypePrefix) || p.Title == "" || p.Detail == "" {
				t.Errorf("problem %+v lacks type, title or detail", p)
			}
			if tc.field != "" && !strings.Contains(p.Detail, `"`+tc.field+`"`) {
				t.Errorf("detail %q does not name %q", p.Detail, tc.field)
			}
			if strings.Contains(p.Detail, `""`) {
				t.Errorf("detail %q names an empty field", p.Detail)
			}
			// Details are ours, never the decoder's internals.
			if strings.Contains(p.Detail, "json:") || strings.Contains(p.Detail, "Go ") || strings.Contains(p.Detail, "httpx.") {
				t.Errorf("detail leaks internals: %q", p.Detail)
			}
		})
	}
}

func equalBody(a, b body) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// TestDecodeJSONTypeNames: type mismatches name the JSON type expected.
func TestDecodeJSONTypeNames(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{`{"count":"x"}`, "number"},
		{`{"name":1}`, "string"},
		{`{"active":1}`, "boolean"},
		{`{"tags":1}`, "array"},
		{`{"inner":1}`, "object"},
	} {
		r := httptest.NewRequest(http.MethodPost, "/x", strings.NewReader(tc.body))
		var p *httpx.Problem
		if err := httpx.DecodeJSON(httptest.NewRecorder(), r, 1024, &body{}); !errors.As(err, &p) || !strings.Contains(p.Detail, tc.want) {
			t.Errorf("%s: %v, want a detail naming %s", tc.body, err, tc.want)
		}
	}
}

var generatedID = regexp.MustCompile(`^[0-9a-f]{24}$`)

func TestRequestIDs(t *testing.T) {
	tests := []struct {
		name, incoming string
		keep           bool
	}{
		{"uuid", "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", true},
		{"plain", "req_1.a-B", true},
		{"64 characters", strings.Repeat("a", 64), true},
		{"none", "", false},
		{"65 characters", strings.Repeat("a", 65), false},
		{"space", "req 1", false},
		{"newline", "req1\nX-Injected: 1", false},
		{"trailing newline", "req1\n", false},
		{"html", "<script>", false},
		{"slash", "a/b", false},
		{"unicode", "réq", false},
		{"quote", `a"b`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var seen string
			h := httpx.RequestIDs(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				seen = httpx.RequestID(r.Context())
			}))
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			if tc.incoming != "" {
				r.Header["X-Request-Id"] = []string{tc.incoming}
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			got := w.Header().Get("X-Request-Id")
			if got != seen || got == "" {
				t.Fatalf("response id %q, context id %q: want the same, non-empty", got, seen)
			}
			if tc.keep && got != tc.incoming {
				t.Errorf("id %q, want the incoming %q kept", got, tc.incoming)
			}
			if !tc.keep && !generatedID.MatchString(got) {
				t.Errorf("id %q, want a fresh random one for %q", got, tc.incoming)
			}
		})
	}
	// Fresh ids differ.
	ids := map[string]bool{}
	h := httpx.RequestIDs(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	for range 20 {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
		ids[w.Header().Get("X-Request-Id")] = true
	}
	if len(ids) != 20 {
		t.Errorf("%d distinct ids in 20 requests", len(ids))
	}
	if got := httpx.RequestID(context.Background()); got != "" {
		t.Errorf("RequestID outside a request = %q", got)
	}
}

func TestSecurityHeaders(t *testing.T) {
	h := httpx.SecurityHeaders(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
	}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
	if w.Code != http.StatusTeapot {
		t.Errorf("status %d: the wrapped handler did not run", w.Code)
	}
	for name, want := range map[string]string{
		"X-Content-Type-Options":  "nosniff",
		"X-Frame-Options":         "DENY",
		"Referrer-Policy":         "no-referrer",
		"Content-Security-Policy": "frame-ancestors 'none'",
	} {
		if got := w.Header().Get(name); !strings.Contains(got, want) {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("CSP %q, want default-src 'none'", csp)
	}
}

func TestWriteProblem(t *testing.T) {
	var w *httptest.ResponseRecorder
	h := httpx.RequestIDs(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		p := httpx.NewProblem(http.StatusBadRequest, "validation", "Invalid input", "Check the fields.")
		p.Field = "email"
		p.Errors = []valid.FieldError{{Field: "email", Code: "invalid", Message: "Not an email."}}
		httpx.WriteProblem(rw, r, p)
	}))
	w = httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodPost, "/api/v1/tenants/acme/users?x=1", nil)
	r.Header.Set("X-Request-Id", "req-42")
	h.ServeHTTP(w, r)

	if w.Code != http.StatusBadRequest {
		t.Errorf("status %d", w.Code)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type %q", ct)
	}
	if cc := w.Header().Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q", cc)
	}
	var got map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatalf("body %q: %v", w.Body, err)
	}
	want := map[string]any{
		"type": httpx.ProblemTypePrefix + "validation", "title": "Invalid input", "status": float64(400),
		"detail": "Check the fields.", "instance": "/api/v1/tenants/acme/users", "request_id": "req-42", "field": "email",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if errs, _ := got["errors"].([]any); len(errs) != 1 {
		t.Errorf("errors %v", got["errors"])
	}

	// Without a request id nothing empty is sent.
	w = httptest.NewRecorder()
	httpx.WriteProblem(w, httptest.NewRequest(http.MethodGet, "/x", nil), httpx.NewProblem(http.StatusNotFound, "not-found", "Not found", ""))
	if strings.Contains(w.Body.String(), "request_id") || strings.Contains(w.Body.String(), "detail") || w.Code != http.StatusNotFound {
		t.Errorf("body %s", w.Body)
	}
	if e := httpx.NewProblem(http.StatusNotFound, "not-found", "Not found", "No such user.").Error(); !strings.Contains(e, "No such user.") {
		t.Errorf("Error() = %q", e)
	}
}

func TestWriteJSON(t *testing.T) {
	w := httptest.NewRecorder()
	httpx.WriteJSON(w, http.StatusCreated, map[string]string{"id": "x"})
	if w.Code != http.StatusCreated || w.Header().Get("Content-Type") != "application/json" ||
		w.Header().Get("Cache-Control") != "no-store" || strings.TrimSpace(w.Body.String()) != `{"id":"x"}` {
		t.Errorf("WriteJSON: %d %v %q", w.Code, w.Header(), w.Body)
	}
}

func TestClientIP(t *testing.T) {
	for _, tc := range []struct{ remote, forwarded, want string }{
		{"192.0.2.1:1234", "", "192.0.2.1"},
		{"[2001:db8::1]:443", "", "2001:db8::1"},
		{"192.0.2.1:1234", "203.0.113.9", "192.0.2.1"}, // forwarded headers are not trusted
		{"pipe", "", "pipe"},
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = tc.remote
		if tc.forwarded != "" {
			r.Header.Set("X-Forwarded-For", tc.forwarded)
			r.Header.Set("X-Real-Ip", tc.forwarded)
		}
		if got := httpx.ClientIP(r); got != tc.want {
			t.Errorf("ClientIP(%q, XFF %q) = %q, want %q", tc.remote, tc.forwarded, got, tc.want)
		}
	}
}

func TestBearerToken(t *testing.T) {
	for _, c := range []struct {
		header, token string
		ok            bool
	}{
		{"Bearer gh_abc", "gh_abc", true},
		{"Bearer  gh_abc ", "gh_abc", true},
		{"bearer gh_abc", "", false},
		{"Basic Zm9vOmJhcg==", "", false},
		{"", "", false},
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		if c.header != "" {
			r.Header.Set("Authorization", c.header)
		}
		if tok, ok := httpx.BearerToken(r); ok != c.ok || (ok && tok != c.token) {
			t.Errorf("%q: got %q, %v", c.header, tok, ok)
		}
	}
}
