package httpx

import "net/http"

// BusyRetryAfter is the Retry-After, in seconds, of a 503 answered
// because the database could not take a lock in time (store.ErrBusy):
// contention clears within the busy timeout, so a second is enough.
const BusyRetryAfter = "1"

// BusyProblem answers a store.ErrBusy as problem+json: 503 with
// Retry-After set on w.
func BusyProblem(w http.ResponseWriter) *Problem {
	w.Header().Set("Retry-After", BusyRetryAfter)
	return NewProblem(http.StatusServiceUnavailable, "busy", "Busy",
		"The server is busy; nothing was changed. Retry after the time in Retry-After.")
}
