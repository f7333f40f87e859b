package web

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// TestBusyPage: lock contention on a hosted page is a 503 page asking to
// try again, with Retry-After, in the browser's language; other errors are
// left to the page's own fallback.
func TestBusyPage(t *testing.T) {
	p := &Pages{Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	tn := &store.Tenant{ID: "t1", Slug: "default", Name: "Default"}
	r := httptest.NewRequest(http.MethodPost, "/t/default/signup", nil)
	r.Header.Set("Accept-Language", "de")
	w := httptest.NewRecorder()
	if !p.busy(w, r, tn, fmt.Errorf("signup: %w", store.ErrBusy)) {
		t.Fatal("store.ErrBusy not answered")
	}
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") != httpx.BusyRetryAfter ||
		!strings.Contains(w.Body.String(), "Bitte versuchen Sie es gleich noch einmal") {
		t.Errorf("answered %d, Retry-After %q:\n%.600s", w.Code, w.Header().Get("Retry-After"), w.Body)
	}
	w = httptest.NewRecorder()
	if p.busy(w, r, tn, errors.New("disk on fire")) || w.Body.Len() > 0 {
		t.Error("another error was answered as busy")
	}
}
