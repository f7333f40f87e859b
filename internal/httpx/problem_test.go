package httpx_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/httpx"
)

// errShared stands for the package-level problems handlers return (such
// as an API's "unauthenticated").
var errShared = httpx.NewProblem(http.StatusUnauthorized, "unauthenticated", "Unauthenticated", "No credentials.")

// TestWriteProblemSharedValue: concurrent requests answered with one
// shared problem each get their own path and request id, and the shared
// value is left as it was (under -race, writing it was a data race).
func TestWriteProblemSharedValue(t *testing.T) {
	var wg sync.WaitGroup
	for _, path := range []string{"/a", "/b", "/c", "/d"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := httptest.NewRequest(http.MethodGet, path, nil)
			r = r.WithContext(httpx.WithRequestID(r.Context(), "id"+path))
			w := httptest.NewRecorder()
			httpx.WriteProblem(w, r, errShared)
			var got httpx.Problem
			if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || w.Code != http.StatusUnauthorized {
				t.Errorf("%s: %d %s (%v)", path, w.Code, w.Body, err)
				return
			}
			if got.Instance != path || got.RequestID != "id"+path || got.Type != errShared.Type {
				t.Errorf("%s: answered %+v", path, got)
			}
		}()
	}
	wg.Wait()
	if errShared.Instance != "" || errShared.RequestID != "" {
		t.Errorf("the shared problem was changed: instance %q, request id %q", errShared.Instance, errShared.RequestID)
	}
}
