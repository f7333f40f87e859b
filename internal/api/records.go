package api

import (
	"context"
	"net/http"

	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// The helpers here serve the tenant's records that share one shape: read by
// the {id} path value, versioned, answered with the version as ETag.

// writeVersioned answers with a record and its version as ETag.
func writeVersioned(w http.ResponseWriter, status int, version int64, body any) {
	w.Header().Set("ETag", etag(version))
	httpx.WriteJSON(w, status, body)
}

// writeCreated answers 201 with where the new record lives and its version.
func writeCreated(w http.ResponseWriter, location string, version int64, body any) {
	w.Header().Set("Location", location)
	writeVersioned(w, http.StatusCreated, version, body)
}

// getByID answers GET .../{id}: the record of the call's tenant.
func getByID[R, O any](w http.ResponseWriter, r *http.Request, c *call,
	get func(context.Context, store.TenantID, string) (*R, error),
	version func(*R) int64, out func(*R) O) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	rec, err := get(r.Context(), c.tenant.ID, id)
	if err != nil {
		return err
	}
	writeVersioned(w, http.StatusOK, version(rec), out(rec))
	return nil
}

// patchByID answers PATCH .../{id}: the body's patch of type P applied if
// the record is still at the version If-Match names (any, without one).
func patchByID[P, R, O any](a *API, w http.ResponseWriter, r *http.Request, c *call,
	update func(context.Context, events.Actor, store.TenantID, string, int64, P) (*R, error),
	version func(*R) int64, out func(*R) O) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	ver, err := ifMatch(r)
	if err != nil {
		return err
	}
	var in P
	if err := a.decode(w, r, &in); err != nil {
		return err
	}
	rec, err := update(r.Context(), c.actor, c.tenant.ID, id, ver, in)
	if err != nil {
		return err
	}
	writeVersioned(w, http.StatusOK, version(rec), out(rec))
	return nil
}

// deleteByID answers DELETE .../{id}: 204 once the record is gone.
func deleteByID(w http.ResponseWriter, r *http.Request, c *call,
	del func(context.Context, events.Actor, store.TenantID, string) error) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := del(r.Context(), c.actor, c.tenant.ID, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
