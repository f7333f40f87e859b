package server

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/natsink"
	"github.com/gatehouse-id/gatehouse/internal/natsink/natstest"
)

// TestNATSEvents: with nats_url set, a user created through the API
// reaches a JetStream consumer on gatehouse.<slug>.user.created with the
// webhook body, and its Nats-Msg-Id is the outbox event's id. The NATS
// server restarts on the same store while an event waits: the dispatcher's
// retry publishes it and nothing published before is lost.
func TestNATSEvents(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ns := natstest.Start(t, t.TempDir(), 0)
		cfg := testConfig(t, be.db(t))
		cfg.NATSURL = config.Secret(ns.URL())
		ta := openApp(t, cfg)
		tn := ta.tenant("acme")
		admin := "Bearer " + ta.key(tn.ID, "admin")
		d := ta.quickDispatcher()

		createUser := func(email string) string {
			t.Helper()
			res := ta.do(request{method: http.MethodPost, path: "/api/v1/tenants/acme/users", auth: admin,
				body: map[string]any{"email": email}})
			var u struct {
				ID string `json:"id"`
			}
			if res.status != http.StatusCreated || json.Unmarshal(res.body, &u) != nil {
				t.Fatalf("create user: %s", res)
			}
			return u.ID
		}
		// eventID answers the id of the outbox's user.created for user.
		eventID := func(user string) string {
			t.Helper()
			evs, err := ta.DB.Events().Outbox().ListEvents(context.Background(), tn.ID, "", 1000)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range evs {
				if e.Type == "user.created" && e.UserID == user {
					return e.ID
				}
			}
			t.Fatalf("no user.created event for %s", user)
			return ""
		}
		// fetch answers the user.created messages of the stream.
		fetch := func(want int) []jetstream.Msg {
			t.Helper()
			nc, err := nats.Connect(ns.URL())
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			js, _ := jetstream.New(nc)
			var out []jetstream.Msg
			deadline := time.Now().Add(20 * time.Second)
			for time.Now().Before(deadline) {
				if _, err := d.RunOnce(context.Background()); err != nil {
					t.Fatal(err)
				}
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				c, err := js.OrderedConsumer(ctx, natsink.StreamName, jetstream.OrderedConsumerConfig{
					FilterSubjects: []string{"gatehouse.acme.user.created"}})
				cancel()
				if err == nil {
					out = nil
					batch, err := c.Fetch(want+1, jetstream.FetchMaxWait(300*time.Millisecond))
					if err != nil {
						t.Fatal(err)
					}
					for m := range batch.Messages() {
						out = append(out, m)
					}
					if len(out) >= want {
						break
					}
				}
				time.Sleep(50 * time.Millisecond)
			}
			if len(out) != want {
				t.Fatalf("stream holds %d user.created messages, want %d", len(out), want)
			}
			return out
		}

		first := createUser("ann@example.com")
		msgs := fetch(1)
		if got := msgs[0].Headers().Get(jetstream.MsgIDHeader); got != eventID(first) {
			t.Errorf("Nats-Msg-Id %q, want the event id %q", got, eventID(first))
		}
		var body struct {
			Type string `json:"type"`
			Data struct {
				UserID string `json:"user_id"`
				Email  string `json:"email"`
			} `json:"data"`
		}
		if err := json.Unmarshal(msgs[0].Data(), &body); err != nil || body.Type != "user.created" ||
			body.Data.UserID != first || body.Data.Email != "ann@example.com" {
			t.Errorf("message %s", msgs[0].Data())
		}

		// NATS goes away; a user is created; the dispatcher fails to
		// publish; NATS comes back on the same store; the retry publishes.
		ns.Stop()
		second := createUser("bob@example.com")
		for range 3 {
			if _, err := d.RunOnce(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		natstest.Start(t, ns.Dir, ns.Port)
		msgs = fetch(2)
		for i, u := range []string{first, second} {
			if got := msgs[i].Headers().Get(jetstream.MsgIDHeader); got != eventID(u) {
				t.Errorf("message %d is %q, want %q", i, got, eventID(u))
			}
		}
	})
}
