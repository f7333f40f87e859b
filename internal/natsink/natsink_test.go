package natsink

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/natsink/natstest"
)

func newEvent(t *testing.T, slug, typ, user string) events.Event {
	t.Helper()
	id, err := uuid.NewV7()
	if err != nil {
		t.Fatal(err)
	}
	data, _ := json.Marshal(map[string]string{"user_id": user})
	return events.Event{ID: id.String(), Type: typ, Timestamp: time.Now().UTC().Truncate(time.Microsecond),
		Tenant: "tenant-" + slug, TenantSlug: slug, UserID: user, Data: data}
}

// received reads every message of the stream with a consumer of its own,
// as a subscriber would.
func received(t *testing.T, url string, want int) []jetstream.Msg {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := js.OrderedConsumer(ctx, StreamName, jetstream.OrderedConsumerConfig{FilterSubjects: []string{"gatehouse.>"}})
	if err != nil {
		t.Fatal(err)
	}
	batch, err := c.Fetch(want+1, jetstream.FetchMaxWait(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var out []jetstream.Msg
	for m := range batch.Messages() {
		out = append(out, m)
	}
	if len(out) != want {
		t.Fatalf("stream holds %d messages, want %d", len(out), want)
	}
	return out
}

func deliver(t *testing.T, s *Sink, ev events.Event) {
	t.Helper()
	if err := s.Deliver(context.Background(), ev); err != nil {
		t.Fatalf("deliver %s: %v", ev.Type, err)
	}
}

// TestPublishesToStream: the stream is created when absent; each event
// arrives on gatehouse.<slug>.<type> with the webhook body and its id as
// Nats-Msg-Id; a second delivery of an event is dropped by the stream.
func TestPublishesToStream(t *testing.T) {
	srv := natstest.Start(t, t.TempDir(), 0)
	sink, err := Open(srv.URL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	evs := []events.Event{
		newEvent(t, "acme", "user.created", "u1"),
		newEvent(t, "acme", "user.password.changed", "u1"),
		newEvent(t, "other-co", "session.ended", "u2"),
	}
	for _, ev := range evs {
		deliver(t, sink, ev)
	}
	deliver(t, sink, evs[1]) // the outbox delivering again
	msgs := received(t, srv.URL(), len(evs))
	for i, m := range msgs {
		ev := evs[i]
		if want := "gatehouse." + ev.TenantSlug + "." + ev.Type; m.Subject() != want {
			t.Errorf("message %d subject %q, want %q", i, m.Subject(), want)
		}
		if got := m.Headers().Get(jetstream.MsgIDHeader); got != ev.ID {
			t.Errorf("message %d Nats-Msg-Id %q, want %q", i, got, ev.ID)
		}
		var body map[string]json.RawMessage
		if err := json.Unmarshal(m.Data(), &body); err != nil {
			t.Fatal(err)
		}
		if len(body) != 3 || string(body["type"]) != `"`+ev.Type+`"` || string(body["data"]) != string(ev.Data) {
			t.Errorf("message %d body %s", i, m.Data())
		}
		var ts time.Time
		if err := json.Unmarshal(body["timestamp"], &ts); err != nil || !ts.Equal(ev.Timestamp) {
			t.Errorf("message %d timestamp %s, want %s", i, body["timestamp"], ev.Timestamp)
		}
	}
	nc, _ := nats.Connect(srv.URL())
	defer nc.Close()
	js, _ := jetstream.New(nc)
	st, err := js.Stream(context.Background(), StreamName)
	if err != nil {
		t.Fatal(err)
	}
	if subj := st.CachedInfo().Config.Subjects; len(subj) != 1 || subj[0] != "gatehouse.>" {
		t.Errorf("stream subjects %v", subj)
	}
}

// TestServerRestartLosesNothing: while the server is down Deliver fails
// (the outbox keeps the event); once the server is back on the same store
// the retry publishes it, and what was published before is still there.
func TestServerRestartLosesNothing(t *testing.T) {
	srv := natstest.Start(t, t.TempDir(), 0)
	url := srv.URL()
	sink, err := Open(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	before := newEvent(t, "acme", "user.created", "u1")
	deliver(t, sink, before)

	srv.Stop()
	during := newEvent(t, "acme", "session.ended", "u1")
	if err := sink.Deliver(context.Background(), during); err == nil {
		t.Fatal("Deliver succeeded while the server was down")
	}

	natstest.Start(t, srv.Dir, srv.Port)
	// The outbox retries; the client reconnects within about a second.
	deadline := time.Now().Add(15 * time.Second)
	for {
		err := sink.Deliver(context.Background(), during)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no delivery after the restart: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	msgs := received(t, url, 2)
	for i, ev := range []events.Event{before, during} {
		if got := msgs[i].Headers().Get(jetstream.MsgIDHeader); got != ev.ID {
			t.Errorf("message %d is %q, want %q", i, got, ev.ID)
		}
	}
}

// TestServerAbsentAtStart: Open does not need the server; deliveries fail
// until it comes, then the stream is created and they succeed.
func TestServerAbsentAtStart(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	url := fmt.Sprintf("nats://127.0.0.1:%d", port)
	sink, err := Open(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	ev := newEvent(t, "acme", "user.created", "u1")
	if err := sink.Deliver(context.Background(), ev); err == nil {
		t.Fatal("Deliver succeeded without a server")
	}
	natstest.Start(t, t.TempDir(), port)
	deadline := time.Now().Add(15 * time.Second)
	for sink.Deliver(context.Background(), ev) != nil {
		if time.Now().After(deadline) {
			t.Fatal("no delivery once the server came")
		}
		time.Sleep(200 * time.Millisecond)
	}
	received(t, url, 1)
}

func TestSubjectRefusesUnsafeTokens(t *testing.T) {
	for _, c := range []struct{ slug, typ string }{
		{"acme", "user.*"}, {"ac me", "user.created"}, {"acme", "user..created"}, {"", "user.created"}, {"a>", "x"},
	} {
		if s, err := Subject(events.Event{TenantSlug: c.slug, Type: c.typ}); err == nil {
			t.Errorf("Subject(%q, %q) = %q, want an error", c.slug, c.typ, s)
		}
	}
	if s, err := Subject(events.Event{TenantSlug: "acme-eu", Type: "user.email.verified"}); err != nil || s != "gatehouse.acme-eu.user.email.verified" {
		t.Errorf("Subject = %q, %v", s, err)
	}
}
