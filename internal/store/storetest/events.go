package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

var eventTests = []test{
	{"Events/OutboxDispatchAndTenantIsolation", testOutboxDispatch},
	{"Events/WebhookCRUD", testWebhookCRUD},
	{"Events/ClaimKeepsChainsInOrder", testClaimChains},
	{"Events/AttemptsRetryAndRedact", testAttemptsRetryRedact},
}

func mkEvent(t *testing.T, s store.Repos, tenant store.TenantID, typ, user string) store.OutboxEvent {
	t.Helper()
	e := store.OutboxEvent{ID: newID(), Tenant: tenant, Type: typ, UserID: user, Data: []byte(`{"user_id":"` + user + `","email":"a@example.com"}`)}
	if err := s.Events().Outbox().AppendEvent(ctx(t), &e); err != nil {
		t.Fatalf("AppendEvent: %v", err)
	}
	return e
}

func eventIDs(es []store.OutboxEvent) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.ID
	}
	return out
}

func testOutboxDispatch(t *testing.T, s store.Store) {
	a, b := mkTenant(t, s), mkTenant(t, s)
	e1 := mkEvent(t, s, a, "user.created", "u1")
	e2 := mkEvent(t, s, b, "user.created", "u2")
	e3 := mkEvent(t, s, a, "user.updated", "u1")
	ob := s.Events().Outbox()
	got, err := ob.ListUndispatched(ctx(t), 10)
	if err != nil || !slices.Equal(eventIDs(got), []string{e1.ID, e2.ID, e3.ID}) {
		t.Fatalf("ListUndispatched = %v, %v", eventIDs(got), err)
	}
	if string(got[0].Data) != string(e1.Data) || got[0].Type != "user.created" || got[0].UserID != "u1" || got[0].CreatedAt.IsZero() {
		t.Fatalf("event read back as %+v", got[0])
	}
	if err := ob.LockDispatch(ctx(t)); err == nil {
		t.Fatal("LockDispatch outside a transaction succeeded")
	}
	err = s.InTx(ctx(t), func(tx store.Repos) error {
		if err := tx.Events().Outbox().LockDispatch(ctx(t)); err != nil {
			return err
		}
		return tx.Events().Outbox().MarkDispatched(ctx(t), []string{e1.ID, e2.ID})
	})
	if err != nil {
		t.Fatalf("MarkDispatched: %v", err)
	}
	if got, _ := ob.ListUndispatched(ctx(t), 10); !slices.Equal(eventIDs(got), []string{e3.ID}) {
		t.Fatalf("after dispatch: %v", eventIDs(got))
	}
	// Tenant isolation: each tenant lists and reads only its own.
	if got, err := ob.ListEvents(ctx(t), a, "", 10); err != nil || !slices.Equal(eventIDs(got), []string{e1.ID, e3.ID}) {
		t.Fatalf("ListEvents(a) = %v, %v", eventIDs(got), err)
	}
	if got, _ := ob.ListEvents(ctx(t), a, e1.ID, 10); !slices.Equal(eventIDs(got), []string{e3.ID}) {
		t.Fatalf("ListEvents(a, after e1) = %v", eventIDs(got))
	}
	if _, err := ob.GetEvent(ctx(t), b, e1.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetEvent across tenants: %v", err)
	}
	// Purge removes old dispatched events only.
	n, err := ob.PurgeEvents(ctx(t), time.Now().Add(time.Hour))
	if err != nil || n != 2 {
		t.Fatalf("PurgeEvents = %d, %v; want 2", n, err)
	}
	if _, err := ob.GetEvent(ctx(t), a, e3.ID); err != nil {
		t.Fatalf("undispatched event purged: %v", err)
	}
}

func mkWebhook(t *testing.T, s store.Repos, tenant store.TenantID, types ...string) *store.Webhook {
	t.Helper()
	w := &store.Webhook{ID: newID(), Tenant: tenant, URL: "https://hooks.example.com/in", Description: "crm",
		EventTypes: types, Secret: []byte("sealed-secret")}
	if err := s.Events().Webhooks().CreateWebhook(ctx(t), w); err != nil {
		t.Fatalf("CreateWebhook: %v", err)
	}
	return w
}

func testWebhookCRUD(t *testing.T, s store.Store) {
	a, b := mkTenant(t, s), mkTenant(t, s)
	ws := s.Events().Webhooks()
	w := mkWebhook(t, s, a, "user.created", "user.updated")
	if err := ws.CreateWebhook(ctx(t), &store.Webhook{ID: newID(), Tenant: "nope", URL: "https://x", Secret: []byte("s")}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("webhook of a missing tenant: %v", err)
	}
	got, err := ws.GetWebhook(ctx(t), a, w.ID)
	if err != nil || got.URL != w.URL || !slices.Equal(got.EventTypes, w.EventTypes) || string(got.Secret) != "sealed-secret" ||
		got.PrevSecret != nil || got.DisabledAt != nil {
		t.Fatalf("GetWebhook = %+v, %v", got, err)
	}
	if _, err := ws.GetWebhook(ctx(t), b, w.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetWebhook across tenants: %v", err)
	}
	until := time.Now().Add(time.Hour).UTC().Truncate(time.Microsecond)
	up, err := ws.UpdateWebhook(ctx(t), a, w.ID, func(w *store.Webhook) error {
		w.PrevSecret, w.Secret, w.PrevUntil = w.Secret, []byte("new"), &until
		w.EventTypes = []string{"user.deleted"}
		return nil
	})
	if err != nil || string(up.Secret) != "new" || string(up.PrevSecret) != "sealed-secret" || !up.PrevUntil.Equal(until) {
		t.Fatalf("UpdateWebhook = %+v, %v", up, err)
	}
	boom := errors.New("boom")
	if _, err := ws.UpdateWebhook(ctx(t), a, w.ID, func(*store.Webhook) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("fn error: %v", err)
	}
	if _, err := ws.UpdateWebhook(ctx(t), b, w.ID, func(*store.Webhook) error { return nil }); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("UpdateWebhook across tenants: %v", err)
	}
	if l, err := ws.ListWebhooks(ctx(t), a, store.Page{}); err != nil || len(l) != 1 || l[0].EventTypes[0] != "user.deleted" {
		t.Fatalf("ListWebhooks = %+v, %v", l, err)
	}
	if l, _ := ws.ListWebhooks(ctx(t), b, store.Page{}); len(l) != 0 {
		t.Fatalf("ListWebhooks(b) = %+v", l)
	}
	if err := ws.DeleteWebhook(ctx(t), b, w.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("DeleteWebhook across tenants: %v", err)
	}
	if err := ws.DeleteWebhook(ctx(t), a, w.ID); err != nil {
		t.Fatalf("DeleteWebhook: %v", err)
	}
	if _, err := ws.GetWebhook(ctx(t), a, w.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted webhook: %v", err)
	}
}

func insertDeliveries(t *testing.T, s store.Store, ds []store.EventDelivery) []store.EventDelivery {
	t.Helper()
	err := s.InTx(ctx(t), func(tx store.Repos) error {
		if err := tx.Events().Outbox().LockDispatch(ctx(t)); err != nil {
			return err
		}
		return tx.Events().Deliveries().InsertDeliveries(ctx(t), ds)
	})
	if err != nil {
		t.Fatalf("InsertDeliveries: %v", err)
	}
	return ds
}

func delivery(tenant store.TenantID, endpoint, user string) store.EventDelivery {
	return store.EventDelivery{ID: newID(), Tenant: tenant, EventID: newID(), EventType: "user.updated",
		Sink: store.SinkWebhook, EndpointID: endpoint, UserKey: user}
}

func deliveryIDs(ds []store.EventDelivery) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.ID
	}
	return out
}

func testClaimChains(t *testing.T, s store.Store) {
	tn := mkTenant(t, s)
	w1, w2 := mkWebhook(t, s, tn), mkWebhook(t, s, tn)
	ds := insertDeliveries(t, s, []store.EventDelivery{
		delivery(tn, w1.ID, "u1"), delivery(tn, w1.ID, "u1"), delivery(tn, w1.ID, "u2"),
		delivery(tn, w2.ID, "u1"),
		{ID: newID(), Tenant: tn, EventID: newID(), EventType: "user.updated", Sink: "nats", UserKey: "u1"},
	})
	if ds[0].Seq == 0 || ds[1].Seq <= ds[0].Seq || ds[4].Seq <= ds[3].Seq {
		t.Fatalf("seqs not increasing: %d %d %d %d %d", ds[0].Seq, ds[1].Seq, ds[2].Seq, ds[3].Seq, ds[4].Seq)
	}
	now := time.Now()
	dq := s.Events().Deliveries()
	// The head of each webhook chain only: u1's second delivery waits.
	got, err := dq.ClaimDeliveries(ctx(t), []string{store.SinkWebhook}, now, time.Minute, 10)
	if err != nil || !slices.Equal(deliveryIDs(got), []string{ds[0].ID, ds[2].ID, ds[3].ID}) {
		t.Fatalf("claim = %v, %v; want %v", deliveryIDs(got), err, []string{ds[0].ID, ds[2].ID, ds[3].ID})
	}
	if got[0].State != store.DeliverySending || got[0].Attempts != 1 || got[0].LeaseUntil == nil {
		t.Fatalf("claimed delivery = %+v", got[0])
	}
	// Leased: nothing more is due, not even the second of u1's chain.
	if got, _ := dq.ClaimDeliveries(ctx(t), []string{store.SinkWebhook}, now, time.Minute, 10); len(got) != 0 {
		t.Fatalf("claimed again while leased: %v", deliveryIDs(got))
	}
	// Another sink's deliveries go to its own claims.
	if got, _ := dq.ClaimDeliveries(ctx(t), []string{"nats"}, now, time.Minute, 10); !slices.Equal(deliveryIDs(got), []string{ds[4].ID}) {
		t.Fatalf("nats claim = %v", deliveryIDs(got))
	}
	// Delivered: the next of u1's chain becomes due.
	if err := dq.FinishAttempt(ctx(t), store.EventAttempt{DeliveryID: ds[0].ID, At: now, StatusCode: 200, LatencyMS: 3}, store.DeliveryDelivered, now); err != nil {
		t.Fatalf("FinishAttempt: %v", err)
	}
	if got, _ := dq.ClaimDeliveries(ctx(t), []string{store.SinkWebhook}, now, time.Minute, 10); !slices.Equal(deliveryIDs(got), []string{ds[1].ID}) {
		t.Fatalf("claim after delivery = %v", deliveryIDs(got))
	}
	// An expired lease is claimed again, counting another attempt.
	got, _ = dq.ClaimDeliveries(ctx(t), []string{store.SinkWebhook}, now.Add(2*time.Minute), time.Minute, 10)
	if len(got) != 3 || got[0].ID != ds[1].ID || got[0].Attempts != 2 {
		t.Fatalf("claim after lease = %+v", got)
	}
	// A disabled webhook's deliveries are not claimed.
	later := now.Add(5 * time.Minute)
	if _, err := s.Events().Webhooks().UpdateWebhook(ctx(t), tn, w2.ID, func(w *store.Webhook) error { w.DisabledAt = &now; return nil }); err != nil {
		t.Fatal(err)
	}
	got, _ = dq.ClaimDeliveries(ctx(t), []string{store.SinkWebhook}, later, time.Minute, 10)
	if !slices.Equal(deliveryIDs(got), []string{ds[1].ID, ds[2].ID}) {
		t.Fatalf("claim with w2 disabled = %v", deliveryIDs(got))
	}
}

func testAttemptsRetryRedact(t *testing.T, s store.Store) {
	a, b := mkTenant(t, s), mkTenant(t, s)
	w := mkWebhook(t, s, a)
	ds := insertDeliveries(t, s, []store.EventDelivery{delivery(a, w.ID, "u1"), delivery(a, w.ID, "u2")})
	now := time.Now().UTC().Truncate(time.Microsecond)
	dq := s.Events().Deliveries()
	if _, err := dq.ClaimDeliveries(ctx(t), []string{store.SinkWebhook}, now, time.Minute, 10); err != nil {
		t.Fatal(err)
	}
	next := now.Add(3 * time.Second)
	if err := dq.FinishAttempt(ctx(t), store.EventAttempt{DeliveryID: ds[0].ID, At: now, StatusCode: 503, LatencyMS: 7, Error: "HTTP 503"}, store.DeliveryFailed, next); err != nil {
		t.Fatal(err)
	}
	d, err := dq.GetDelivery(ctx(t), a, ds[0].ID)
	if err != nil || d.State != store.DeliveryFailed || !d.NextAttemptAt.Equal(next) || d.LastError != "HTTP 503" || d.LeaseUntil != nil {
		t.Fatalf("failed delivery = %+v, %v", d, err)
	}
	if _, err := dq.GetDelivery(ctx(t), b, ds[0].ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetDelivery across tenants: %v", err)
	}
	// Not due before next; RetryDelivery makes it due now.
	if got, _ := dq.ClaimDeliveries(ctx(t), []string{store.SinkWebhook}, now.Add(time.Second), time.Minute, 10); len(got) != 0 {
		t.Fatalf("claimed before its retry time: %v", deliveryIDs(got))
	}
	if err := dq.RetryDelivery(ctx(t), a, ds[1].ID, now); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("retry of a leased delivery: %v", err)
	}
	if err := dq.RetryDelivery(ctx(t), b, ds[0].ID, now); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("retry across tenants: %v", err)
	}
	if err := dq.RetryDelivery(ctx(t), a, ds[0].ID, now.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if got, _ := dq.ClaimDeliveries(ctx(t), []string{store.SinkWebhook}, now.Add(time.Second), time.Minute, 10); !slices.Equal(deliveryIDs(got), []string{ds[0].ID}) {
		t.Fatalf("claim after retry = %v", deliveryIDs(got))
	}
	if err := dq.FinishAttempt(ctx(t), store.EventAttempt{DeliveryID: ds[0].ID, At: now.Add(2 * time.Second), StatusCode: 204, LatencyMS: 2}, store.DeliveryDelivered, now); err != nil {
		t.Fatal(err)
	}
	list, err := dq.ListDeliveries(ctx(t), a, w.ID, store.Page{})
	if err != nil || !slices.Equal(deliveryIDs(list), []string{ds[1].ID, ds[0].ID}) {
		t.Fatalf("ListDeliveries = %v, %v", deliveryIDs(list), err)
	}
	if list, _ := dq.ListDeliveries(ctx(t), a, w.ID, store.Page{After: ds[1].ID}); !slices.Equal(deliveryIDs(list), []string{ds[0].ID}) {
		t.Fatalf("ListDeliveries page 2 = %v", deliveryIDs(list))
	}
	if list, _ := dq.ListDeliveries(ctx(t), b, w.ID, store.Page{}); len(list) != 0 {
		t.Fatalf("ListDeliveries across tenants = %v", deliveryIDs(list))
	}
	at, err := dq.ListAttempts(ctx(t), a, []string{ds[0].ID, ds[1].ID})
	if err != nil || len(at[ds[0].ID]) != 2 || at[ds[0].ID][0].StatusCode != 503 || at[ds[0].ID][1].StatusCode != 204 ||
		at[ds[0].ID][0].Error != "HTTP 503" || at[ds[0].ID][0].LatencyMS != 7 || len(at[ds[1].ID]) != 0 {
		t.Fatalf("ListAttempts = %+v, %v", at, err)
	}
	if at, _ := dq.ListAttempts(ctx(t), b, []string{ds[0].ID}); len(at[ds[0].ID]) != 0 {
		t.Fatalf("ListAttempts across tenants = %+v", at)
	}
	// Redaction touches only that user's events in that tenant.
	e1, e2, e3 := mkEvent(t, s, a, "user.created", "u1"), mkEvent(t, s, a, "user.created", "u2"), mkEvent(t, s, b, "user.created", "u1")
	n, err := s.Events().Outbox().RedactUserEvents(ctx(t), a, "u1", []byte(`{"user_id":"u1"}`))
	if err != nil || n != 1 {
		t.Fatalf("RedactUserEvents = %d, %v", n, err)
	}
	for _, c := range []struct {
		tn   store.TenantID
		e    store.OutboxEvent
		want string
	}{{a, e1, `{"user_id":"u1"}`}, {a, e2, string(e2.Data)}, {b, e3, string(e3.Data)}} {
		if got, err := s.Events().Outbox().GetEvent(ctx(t), c.tn, c.e.ID); err != nil || string(got.Data) != c.want {
			t.Fatalf("event %s data = %s, %v; want %s", c.e.ID, got.Data, err, c.want)
		}
	}
	// Deleting the webhook removes its deliveries.
	if err := s.Events().Webhooks().DeleteWebhook(ctx(t), a, w.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := dq.GetDelivery(ctx(t), a, ds[0].ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delivery of a deleted webhook: %v", err)
	}
}
