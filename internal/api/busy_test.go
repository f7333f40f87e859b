package api

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// TestBusyIs503: lock contention (store.ErrBusy, however wrapped) is
// answered 503 problem+json with Retry-After, never 500.
func TestBusyIs503(t *testing.T) {
	a := &API{Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for _, err := range []error{store.ErrBusy, fmt.Errorf("directory: create user: %w", fmt.Errorf("sqlstore: begin: %w", store.ErrBusy))} {
		w := httptest.NewRecorder()
		a.writeError(w, httptest.NewRequest(http.MethodPost, "/api/v1/tenants/default/users", nil), err)
		var p httpx.Problem
		if jerr := json.Unmarshal(w.Body.Bytes(), &p); jerr != nil {
			t.Fatalf("%v: body %q: %v", err, w.Body, jerr)
		}
		if w.Code != http.StatusServiceUnavailable || p.Status != http.StatusServiceUnavailable ||
			p.Type != httpx.ProblemTypePrefix+"busy" || w.Header().Get("Retry-After") != httpx.BusyRetryAfter ||
			w.Header().Get("Content-Type") != "application/problem+json" {
			t.Errorf("%v: answered %d %+v, Retry-After %q, Content-Type %q", err, w.Code, p,
				w.Header().Get("Retry-After"), w.Header().Get("Content-Type"))
		}
	}
	w := httptest.NewRecorder()
	a.writeError(w, httptest.NewRequest(http.MethodGet, "/api/v1/tenants", nil), fmt.Errorf("disk on fire"))
	if w.Code != http.StatusInternalServerError || w.Header().Get("Retry-After") != "" {
		t.Errorf("an unknown error: %d, Retry-After %q", w.Code, w.Header().Get("Retry-After"))
	}
}
