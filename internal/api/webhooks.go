package api

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/valid"
	"github.com/gatehouse-id/gatehouse/internal/webhook"
)

// createWebhook: POST .../webhooks {"url","events","description"} answers
// the endpoint with its secret ("whsec_" + base64), shown this once.
func (a *API) createWebhook(w http.ResponseWriter, r *http.Request, c *call) error {
	var in webhook.Input
	if err := a.decode(w, r, &in); err != nil {
		return err
	}
	v, secret, err := a.Webhooks.Create(r.Context(), c.actor, c.tenant.ID, in)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteJSON(w, http.StatusCreated, struct {
		*webhook.View
		Secret string `json:"secret"`
	}{v, secret})
	return nil
}

func (a *API) listWebhooks(w http.ResponseWriter, r *http.Request, c *call) error {
	l, err := a.Webhooks.List(r.Context(), c.tenant.ID)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, list[webhook.View]{Items: l})
	return nil
}

func (a *API) getWebhook(w http.ResponseWriter, r *http.Request, c *call) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	v, err := a.Webhooks.Get(r.Context(), c.tenant.ID, id)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, v)
	return nil
}

// updateWebhook: PATCH .../webhooks/{id} changes the fields given;
// {"enabled":true} turns a disabled endpoint back on.
func (a *API) updateWebhook(w http.ResponseWriter, r *http.Request, c *call) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in webhook.Input
	if err := a.decode(w, r, &in); err != nil {
		return err
	}
	v, err := a.Webhooks.Update(r.Context(), c.actor, c.tenant.ID, id, in)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, v)
	return nil
}

func (a *API) deleteWebhook(w http.ResponseWriter, r *http.Request, c *call) error {
	return deleteByID(w, r, c, a.Webhooks.Delete)
}

// rotateWebhookSecret: POST .../webhooks/{id}/rotate-secret
// {"overlap_seconds"} answers the new secret; the previous one signs too
// until previous_secret_until.
func (a *API) rotateWebhookSecret(w http.ResponseWriter, r *http.Request, c *call) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in struct {
		OverlapSeconds int64 `json:"overlap_seconds"`
	}
	if r.ContentLength != 0 {
		if err := a.decode(w, r, &in); err != nil {
			return err
		}
	}
	if in.OverlapSeconds < 0 || in.OverlapSeconds > 7*24*3600 {
		return valid.Field("overlap_seconds", "invalid", "Between 0 and 604800 seconds.")
	}
	secret, until, err := a.Webhooks.RotateSecret(r.Context(), c.actor, c.tenant.ID, id, time.Duration(in.OverlapSeconds)*time.Second)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"id": id, "secret": secret, "previous_secret_until": until})
	return nil
}

// listWebhookDeliveries: GET .../webhooks/{id}/deliveries, newest first,
// with each delivery's attempts.
func (a *API) listWebhookDeliveries(w http.ResponseWriter, r *http.Request, c *call) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	p, err := page(r)
	if err != nil {
		return err
	}
	items, next, err := a.Webhooks.Deliveries(r.Context(), c.tenant.ID, id, p.After, p.Limit)
	if err != nil {
		return err
	}
	out := list[webhook.Delivery]{Items: items}
	if next != "" {
		out.NextCursor = base64.RawURLEncoding.EncodeToString([]byte(next))
	}
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}

// retryWebhookDelivery: POST .../webhooks/{id}/deliveries/{did}/retry
// makes the delivery due now: 202, sent by the next dispatcher round.
func (a *API) retryWebhookDelivery(w http.ResponseWriter, r *http.Request, c *call) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	did, err := pathID(r, "did")
	if err != nil {
		return err
	}
	if err := a.Webhooks.Retry(r.Context(), c.actor, c.tenant.ID, id, did); err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// Bounds of the event stream.
const (
	eventsPageMax = 10000
	eventsWaitMax = 300 * time.Second
	eventsPoll    = time.Second
)

// streamEvents: GET .../events streams the tenant's catalogue events as
// newline-delimited JSON (the webhook body plus "id" and "tenant"), oldest
// first, after ?cursor= (an event id; the id of the last line read is the
// next cursor). ?limit= bounds the lines (default 1000, at most 10000);
// ?wait=N (seconds, at most 300) keeps the stream open that long for
// events still to come, for a SIEM collector that follows.
func (a *API) streamEvents(w http.ResponseWriter, r *http.Request, c *call) error {
	q := r.URL.Query()
	cursor := q.Get("cursor")
	if cursor != "" && !idRE.MatchString(cursor) {
		return valid.Field("cursor", "invalid", "cursor is the id of an event this API gave out.")
	}
	limit, err := boundedInt(q.Get("limit"), 1000, 1, eventsPageMax, "limit")
	if err != nil {
		return err
	}
	wait, err := boundedInt(q.Get("wait"), 0, 0, int(eventsWaitMax/time.Second), "wait")
	if err != nil {
		return err
	}
	ctx := r.Context()
	deadline := time.Now().Add(time.Duration(wait) * time.Second)
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	enc := json.NewEncoder(w)
	sent := 0
	for sent < limit {
		evs, err := a.Events.ListEvents(ctx, c.tenant.ID, cursor, min(limit-sent, 500))
		if err != nil {
			return streamCut(r, a, err)
		}
		for _, e := range evs {
			_ = rc.SetWriteDeadline(time.Now().Add(exportStall))
			if err := enc.Encode(eventLine(&e)); err != nil {
				return nil // the collector went away
			}
			cursor = e.ID
			sent++
		}
		if len(evs) > 0 {
			_ = rc.Flush()
			continue
		}
		if !time.Now().Before(deadline) {
			return nil
		}
		_ = rc.SetWriteDeadline(time.Now().Add(exportStall))
		_ = rc.Flush()
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(eventsPoll):
		}
	}
	return nil
}

// streamCut ends a stream whose status line is out: cutting the response
// short is the only honest signal left.
func streamCut(r *http.Request, a *API, err error) error {
	if r.Context().Err() == nil {
		a.Log.ErrorContext(r.Context(), "event stream failed mid-stream", "err", err,
			"request_id", httpx.RequestID(r.Context()))
	}
	panic(http.ErrAbortHandler)
}

type eventOut struct {
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	Timestamp time.Time       `json:"timestamp"`
	Tenant    string          `json:"tenant"`
	UserID    string          `json:"user_id,omitempty"`
	Data      json.RawMessage `json:"data"`
}

// EventJSON is an event as the stream and `gatehouse events tail` print it.
func EventJSON(e *store.OutboxEvent) any { return eventLine(e) }

func eventLine(e *store.OutboxEvent) eventOut {
	return eventOut{ID: e.ID, Type: e.Type, Timestamp: e.CreatedAt, Tenant: string(e.Tenant), UserID: e.UserID, Data: e.Data}
}

func boundedInt(s string, def, lo, hi int, field string) (int, error) {
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, valid.Field(field, "invalid", field+" is a whole number from "+strconv.Itoa(lo)+" to "+strconv.Itoa(hi)+".")
	}
	return n, nil
}
