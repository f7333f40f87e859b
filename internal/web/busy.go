package web

import (
	"errors"
	"net/http"

	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// busy answers store.ErrBusy (the database could not take a lock in time;
// nothing was written) with a 503 page asking to try again, and
// Retry-After, reporting whether it did. Every page's fallback for an
// unexpected error asks it first, so lock contention is never a 500.
func (p *Pages) busy(w http.ResponseWriter, r *http.Request, t *store.Tenant, err error) bool {
	if !errors.Is(err, store.ErrBusy) {
		return false
	}
	p.Log.WarnContext(r.Context(), "web: database busy", "err", err, "request_id", httpx.RequestID(r.Context()))
	w.Header().Set("Retry-After", httpx.BusyRetryAfter)
	p.message(w, r, t, http.StatusServiceUnavailable, "busy.title", "busy.body")
	return true
}
