package server

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/natsink"
	"github.com/gatehouse-id/gatehouse/internal/ssf"
)

// newTransmitter builds every tenant's Shared Signals transmitter: its
// endpoints are mounted with the other surfaces, and it is one of the
// outbox's sinks (EventSinks).
func newTransmitter(a *App, cfg config.Config, log *slog.Logger) *ssf.Transmitter {
	return ssf.New(ssf.Config{Store: a.DB, Keys: a.Keys, Sealer: a.sealer, Tenants: a.Tenants, Audit: a.Audit,
		PublicURL: cfg.PublicURL, Now: a.now, Log: log})
}

// openNATS connects the NATS JetStream sink when nats_url is set. The
// server need not be up: the client reconnects, and deliveries fail (the
// outbox retries them) until it is.
func (a *App) openNATS() error {
	url := string(a.Config.NATSURL)
	if url == "" {
		return nil
	}
	s, err := natsink.Open(url, a.Log)
	if err != nil {
		return fmt.Errorf("nats_url: %w", err)
	}
	a.nats = natsCloser{s}
	return nil
}

type natsCloser struct{ *natsink.Sink }

func (c natsCloser) Close() error { c.Sink.Close(); return nil }

// EventSinks answers the sinks the outbox delivers every catalogue event
// to besides webhooks: the Shared Signals transmitter, and the NATS
// JetStream stream when nats_url is set. Each Deliver is idempotent per
// event id (the SSF queue keeps one SET per stream and event; JetStream
// drops a repeated Nats-Msg-Id), so the outbox may deliver again after an
// error.
func (a *App) EventSinks() []events.Sink {
	sinks := []events.Sink{a.surfaces.ssf}
	if c, ok := a.nats.(natsCloser); ok {
		sinks = append(sinks, c.Sink)
	}
	return sinks
}

// SETs a poll receiver never acknowledges are kept this long; delivered
// and failed ones (already without their token) a week.
const (
	ssfFinishedRetention = 7 * 24 * time.Hour
	ssfPendingRetention  = 30 * 24 * time.Hour
)

func (a *App) purgeSSF(ctx context.Context, now time.Time) (int64, error) {
	return a.DB.SSF().PurgeSSFSets(ctx, now.Add(-ssfFinishedRetention), now.Add(-ssfPendingRetention))
}
