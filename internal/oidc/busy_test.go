package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// TestBusyAtTheTokenEndpoint: a store.ErrBusy behind a token request is
// answered as the op library writes errors, then by the protocolWriter:
// 503, Retry-After, error temporarily_unavailable; other errors keep
// their status.
func TestBusyAtTheTokenEndpoint(t *testing.T) {
	ctx, flag := withBusyFlag(context.Background())
	be, ok := busyError(ctx, fmt.Errorf("create token: %w", store.ErrBusy))
	if !ok || !flag.Load() {
		t.Fatal("store.ErrBusy not recognised")
	}
	rec := httptest.NewRecorder()
	w := &protocolWriter{ResponseWriter: rec, path: "/oauth/token", busy: flag}
	op.RequestError(w, httptest.NewRequest(http.MethodPost, "/oauth/token", nil).WithContext(ctx), be, nil)
	var body struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != httpx.BusyRetryAfter ||
		body.Error != "temporarily_unavailable" {
		t.Errorf("answered %d %s, Retry-After %q", rec.Code, rec.Body, rec.Header().Get("Retry-After"))
	}

	ctx2, flag2 := withBusyFlag(context.Background())
	if _, ok := busyError(ctx2, errors.New("other")); ok || flag2.Load() {
		t.Error("another error taken for contention")
	}
	rec = httptest.NewRecorder()
	w = &protocolWriter{ResponseWriter: rec, path: "/oauth/token", busy: flag2}
	w.WriteHeader(http.StatusBadRequest)
	if rec.Code != http.StatusBadRequest || rec.Header().Get("Retry-After") != "" {
		t.Errorf("an unflagged error became %d", rec.Code)
	}
}
