package server

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/webhook/post"
)

// eventRetention is how long delivered events stay for the SIEM export
// (GET .../events, gatehouse events tail) before upkeep removes them.
const eventRetention = 30 * 24 * time.Hour

// buildEventSinks answers the sinks every event goes to besides webhook
// endpoints. Register a sink with one line below:
//
//	sinks = append(sinks, mySink) // an events.Sink
func buildEventSinks(cfg config.Config, log *slog.Logger) ([]events.Sink, error) {
	var sinks []events.Sink
	_, _ = cfg, log
	return sinks, nil
}

// Dispatcher answers the outbox's dispatcher: webhook deliveries through
// the safe HTTP client (loopback receivers only on a development
// deployment, whose public URL is http://) and the registered sinks.
func (a *App) Dispatcher() *events.Dispatcher {
	dev := strings.HasPrefix(a.Config.PublicURL, "http://")
	return &events.Dispatcher{Store: a.DB, Sealer: a.sealer, Poster: post.New(dev, a.now, "Gatehouse-Webhooks/1"),
		Sinks: a.eventSinks, Log: a.Log, Now: a.now, Kick: a.eventKick, OnDead: a.Webhooks.OnDead}
}

func (a *App) purgeEvents(ctx context.Context, now time.Time) (int64, error) {
	return a.DB.Events().Outbox().PurgeEvents(ctx, now.Add(-eventRetention))
}
