// Package natsink publishes catalogue events to a NATS JetStream stream.
// Each event goes to the subject gatehouse.<tenant slug>.<event type> with
// the webhook body as message and the event id as Nats-Msg-Id, so the
// stream drops a second copy of an event the outbox delivers again.
package natsink

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/webhook/post"
)

const (
	// StreamName is the stream Gatehouse publishes to and creates when absent.
	StreamName = "GATEHOUSE_EVENTS"
	// SubjectPrefix starts every subject; the stream takes SubjectPrefix + ">".
	SubjectPrefix = "gatehouse."
	// DuplicateWindow is how long the stream remembers message ids for a
	// stream Gatehouse creates. The outbox retries for longer, but a
	// retry that republishes an event the stream already holds follows a
	// lost acknowledgement, which comes back within seconds or minutes.
	DuplicateWindow = 24 * time.Hour
	// PublishTimeout bounds one publish and its acknowledgement.
	PublishTimeout = 5 * time.Second
)

// Sink is an events.Sink that publishes to JetStream. It is safe for
// concurrent use.
type Sink struct {
	nc     *nats.Conn
	js     jetstream.JetStream
	log    *slog.Logger
	mu     sync.Mutex
	stream bool // the stream is known to exist
}

var _ events.Sink = (*Sink)(nil)

// Open connects to the NATS server at url. It does not wait for the
// server: while the server is away Open still succeeds, the client keeps
// reconnecting, and Deliver fails (so the outbox tries again) until it is
// back. The stream is looked up, and created when absent, on the first
// delivery that finds the server.
func Open(url string, log *slog.Logger) (*Sink, error) {
	if log == nil {
		log = slog.Default()
	}
	nc, err := nats.Connect(url,
		nats.Name("gatehouse"),
		nats.RetryOnFailedConnect(true),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(time.Second),
		// No reconnect buffer: a publish while disconnected fails at once
		// instead of waiting in memory, where a crash would lose it.
		nats.ReconnectBufSize(-1),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("nats: disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(*nats.Conn) { log.Info("nats: reconnected") }),
	)
	if err != nil {
		return nil, fmt.Errorf("natsink: connect: %w", err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("natsink: jetstream: %w", err)
	}
	return &Sink{nc: nc, js: js, log: log}, nil
}

// Name implements events.Sink.
func (s *Sink) Name() string { return "nats" }

// Close drops the connection.
func (s *Sink) Close() { s.nc.Close() }

// Body is the message: the webhook body (post.Body), {"type",
// "timestamp","data"}; the event id travels as Nats-Msg-Id.
func Body(ev events.Event) ([]byte, error) {
	return json.Marshal(post.Body{Type: ev.Type, Timestamp: ev.Timestamp.UTC(), Data: ev.Data})
}

// Subject answers gatehouse.<tenant slug>.<event type>; an error when a
// part holds a character a subject cannot carry or is empty.
func Subject(ev events.Event) (string, error) {
	if !token(ev.TenantSlug) {
		return "", fmt.Errorf("natsink: tenant slug %q cannot be a subject token", ev.TenantSlug)
	}
	for _, p := range strings.Split(ev.Type, ".") {
		if !token(p) {
			return "", fmt.Errorf("natsink: event type %q cannot be subject tokens", ev.Type)
		}
	}
	return SubjectPrefix + ev.TenantSlug + "." + ev.Type, nil
}

// token: a non-empty subject token of safe characters (no wildcards,
// separators or white space).
func token(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// Deliver publishes ev and waits for the stream's acknowledgement. An
// error (server away, no acknowledgement in time) means not delivered;
// a duplicate acknowledged by the stream is delivered.
func (s *Sink) Deliver(ctx context.Context, ev events.Event) error {
	if ev.ID == "" {
		return errors.New("natsink: event without id")
	}
	subject, err := Subject(ev)
	if err != nil {
		return err
	}
	body, err := Body(ev)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, PublishTimeout)
	defer cancel()
	if err := s.ensureStream(ctx); err != nil {
		return err
	}
	msg := &nats.Msg{Subject: subject, Data: body, Header: nats.Header{}}
	if _, err := s.js.PublishMsg(ctx, msg, jetstream.WithMsgID(ev.ID)); err != nil {
		// Look the stream up again next time: an operator may have
		// removed it while the server was away.
		s.mu.Lock()
		s.stream = false
		s.mu.Unlock()
		return fmt.Errorf("natsink: publish %s: %w", ev.Type, err)
	}
	return nil
}

// ensureStream looks the stream up once per process and creates it when
// absent. A stream an operator made stays as it is.
func (s *Sink) ensureStream(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stream {
		return nil
	}
	_, err := s.js.Stream(ctx, StreamName)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		_, err = s.js.CreateStream(ctx, jetstream.StreamConfig{
			Name:       StreamName,
			Subjects:   []string{SubjectPrefix + ">"},
			Storage:    jetstream.FileStorage,
			Duplicates: DuplicateWindow,
		})
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			err = nil // another node created it first
		}
	}
	if err != nil {
		return fmt.Errorf("natsink: stream %s: %w", StreamName, err)
	}
	s.stream = true
	return nil
}
