package server

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/replica"
)

// stubReplica stands for a configured replica; readYourWrites only checks
// that there is one.
type stubReplica struct{ store.Store }

func (stubReplica) ReplicaStatus(context.Context) (replica.Status, error) {
	return replica.Status{}, nil
}

// TestReadYourWrites: a writing request reads the primary and marks its
// browser for five seconds; that browser's next reads go to the primary;
// other reads may go to the replica.
func TestReadYourWrites(t *testing.T) {
	a := &App{Reads: &replica.Reads{Replica: stubReplica{}}}
	a.Config.PublicURL = "https://id.example"
	var primary bool
	h := a.readYourWrites(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { primary = replica.Primary(r.Context()) }))
	serve := func(r *http.Request) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec
	}
	if serve(httptest.NewRequest("GET", "/t/default/account", nil)); primary {
		t.Error("a plain read was sent to the primary")
	}
	rec := serve(httptest.NewRequest("POST", "/t/default/account/profile", nil))
	c := rec.Header().Get("Set-Cookie")
	if !primary || !strings.HasPrefix(c, rywCookie+"=1") || !strings.Contains(c, "Max-Age=5") || !strings.Contains(c, "Secure") || !strings.Contains(c, "HttpOnly") {
		t.Errorf("a write: primary %v, cookie %q", primary, c)
	}
	next := httptest.NewRequest("GET", "/t/default/account", nil)
	next.AddCookie(&http.Cookie{Name: rywCookie, Value: "1"})
	if serve(next); !primary {
		t.Error("the read after a write did not go to the primary")
	}
	// Without a replica nothing is set.
	none := &App{Reads: &replica.Reads{}}
	rec = httptest.NewRecorder()
	none.readYourWrites(http.NotFoundHandler()).ServeHTTP(rec, httptest.NewRequest("POST", "/x", nil))
	if rec.Header().Get("Set-Cookie") != "" {
		t.Error("a cookie without a replica")
	}
}
