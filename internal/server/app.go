// Package server wires Gatehouse together: config -> store -> services ->
// HTTP handlers and middleware, and runs the HTTP server with a graceful
// shutdown. The CLI uses App too, so commands act on the same data.
package server

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/broker"
	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/connection"
	"github.com/gatehouse-id/gatehouse/internal/consent"
	"github.com/gatehouse-id/gatehouse/internal/dashboard"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/domain"
	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/hooks"
	"github.com/gatehouse-id/gatehouse/internal/keys"
	"github.com/gatehouse-id/gatehouse/internal/legacy"
	"github.com/gatehouse-id/gatehouse/internal/mail"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/notice"
	"github.com/gatehouse-id/gatehouse/internal/oauthclient"
	"github.com/gatehouse-id/gatehouse/internal/privacy"
	"github.com/gatehouse-id/gatehouse/internal/provision"
	"github.com/gatehouse-id/gatehouse/internal/proxyapp"
	"github.com/gatehouse-id/gatehouse/internal/ratelimit"
	"github.com/gatehouse-id/gatehouse/internal/risk"
	"github.com/gatehouse-id/gatehouse/internal/samlreg"
	"github.com/gatehouse-id/gatehouse/internal/seal"
	"github.com/gatehouse-id/gatehouse/internal/selfservice"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/setup"
	"github.com/gatehouse-id/gatehouse/internal/store/replica"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
	"github.com/gatehouse-id/gatehouse/internal/tracing"
	"github.com/gatehouse-id/gatehouse/internal/userimport"
	"github.com/gatehouse-id/gatehouse/internal/webhook"
)

// App is an opened deployment: its store, its services and its HTTP
// surfaces, all built once by OpenWith and never changed afterwards.
type App struct {
	Config    config.Config
	Log       *slog.Logger
	DB        *sqlstore.DB
	Tenants   *tenancy.Service
	Directory *directory.Service
	Clients   *oauthclient.Service
	SAMLSPs   *samlreg.Service
	// ProxyApps is forward authentication's registry and sessions.
	ProxyApps *proxyapp.Service
	// Domains is custom domains (domains.go).
	Domains  *domain.Service
	Sessions *session.Service
	Audit    *events.Recorder
	Keys     *keys.Manager
	Authz    *authz.Service
	// Setup runs the admin console's first run (internal/setup).
	Setup *setup.Service
	// SelfService runs sign-up, recovery, email login and invitations;
	// Mail is its queue, delivered by the worker Serve starts (selfservice.go).
	SelfService *selfservice.Service
	Mail        *mail.Queue
	mailKick    chan struct{}
	// Notices tells users of changes to their account; Announcer
	// publishes and mails announcements (internal/notice).
	Notices   *notice.Service
	Announcer *notice.Announcer
	sealer    *seal.Sealer
	// Connections and Broker run identity brokering.
	Connections *connection.Service
	Broker      *broker.Broker
	// Legacy checks passwords at legacy user stores and syncs federated
	// directories (legacy.go).
	Legacy *legacy.Service
	// Meter meters usage per tenant and month; Serve flushes its counters
	// every second (internal/tenancy).
	Meter *tenancy.Meter
	// Dashboard keeps the console dashboard's per-minute rollups; Serve
	// flushes, samples and sweeps them (internal/dashboard).
	Dashboard *dashboard.Counter
	// Consent holds consent purposes, records and communication
	// preferences; ExportUser and EraseUser serve the data-subject rights
	// (internal/consent).
	Consent *consent.Service
	// MFA checks and manages second factors (internal/mfa).
	MFA *mfa.Service
	// Hooks registers and runs the tenants' synchronous hooks.
	Hooks *hooks.Service
	// Flow runs every login (internal/flow), built once for the hosted
	// pages, the protocols and LDAP binds.
	Flow *flow.Service
	// Risk scores attempts and keeps the sign-in history (internal/risk).
	Risk *risk.Engine
	// now is the clock every service was given.
	now func() time.Time
	// stats are the domain metrics' counters (domainmetrics.go).
	stats *domainStats
	// The HTTP surfaces Handler mounts (wire.go).
	surfaces surfaces
	// Importer and Exporter move users in and out in bulk (internal/userimport).
	Importer *userimport.Importer
	Exporter *userimport.Exporter
	// Imports runs the API's asynchronous imports; Close stops them.
	Imports *userimport.Runner
	// Limiter enforces the per-tenant rate limits (ratelimit.go); redis,
	// when set, holds its buckets and the DPoP replay cache, and is closed
	// by Close. sweepReplays: the DPoP jtis are in the database's table,
	// which Serve sweeps (dpop.go).
	Limiter      *ratelimit.Limiter
	planRPS      planRPSCache
	redis        *ratelimit.Redis
	sweepReplays bool
	// nats publishes events when nats_url is set; Close closes it (sinks.go).
	nats io.Closer
	// Privacy serves data-subject rights: erasure, legal holds, exports,
	// requests and retention (internal/privacy; privacy.go).
	Privacy *privacy.Service
	// Outbox writes catalogue events in their change's transaction;
	// Webhooks manages endpoints; eventSinks and eventKick feed the
	// dispatcher Serve starts (events.go).
	Outbox     *events.Outbox
	Webhooks   *webhook.Service
	eventSinks []events.Sink
	eventKick  chan struct{}
	// Provisioning pushes users and groups to outbound SCIM targets; its
	// sink is among eventSinks (provisioning.go).
	Provisioning *provision.Service
	// Catalogue is the tenant catalogue's database when the deployment is
	// split into regions (DB itself when they are one), else nil
	// (regions.go).
	Catalogue *sqlstore.DB
	// Reads takes lag-tolerant reads to the read replica, when there is
	// one; Serve checks its health every second (replica.go).
	Reads *replica.Reads
}

// Options are what a deployment (or a test) gives the services Open builds.
type Options struct {
	// Steps, when set, answers the login's steps before the session
	// (default flow.DefaultSteps): a deployment adds its own steps here.
	Steps func(*flow.Service) []flow.Step
	// Now is every service's clock (default time.Now).
	Now func() time.Time
	// Rand is the random source of the services that draw secrets: seals,
	// password salts, signing keys, factor seeds (default crypto/rand).
	Rand io.Reader
	// catalogue is the opened tenant catalogue (regions.go); replica the
	// read replica (replica.go).
	catalogue *sqlstore.DB
	replica   *sqlstore.DB
	// redis is the opened redis_url, nil without one (ratelimit.go).
	redis *ratelimit.Redis
}

// Open connects to the database (applying migrations), loads or creates the
// master key and builds the services.
func Open(ctx context.Context, cfg config.Config, log *slog.Logger) (*App, error) {
	return OpenWith(ctx, cfg, log, Options{})
}

// OpenWith is Open with opts. cfg is final here: its public URL is the one
// every service and surface is built with (Listen fixes a port of 0 first).
func OpenWith(ctx context.Context, cfg config.Config, log *slog.Logger, opts Options) (*App, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	log = slog.New(tracing.LogHandler(log.Handler())) // trace_id on every line written in a span
	if err := cfg.CheckRegions(); err != nil {
		return nil, err
	}
	driver, dsn := cfg.NodeDSN() // the region's database when regions are on
	if driver == "sqlite" {
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("data dir: %w", err)
		}
	}
	db, err := sqlstore.Open(ctx, driver, dsn, sqlstore.Options{MaxOpenConns: cfg.DBMaxOpenConns, Now: opts.Now})
	if err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	key, err := masterKey(cfg, log)
	if err != nil {
		db.Close()
		return nil, err
	}
	if opts.catalogue, err = openCatalogue(ctx, cfg, db, dsn); err != nil { // regions.go
		db.Close()
		return nil, err
	}
	if opts.replica, err = openReplica(cfg, driver, opts); err != nil { // replica.go
		db.Close()
		return nil, err
	}
	opts.redis, err = openRedis(ctx, cfg) // ratelimit.go
	var app *App
	if err == nil {
		app, err = build(cfg, log, db, key, opts) // wire.go
	}
	if err != nil {
		if opts.catalogue != nil && opts.catalogue != db {
			opts.catalogue.Close()
		}
		if opts.redis != nil {
			opts.redis.Close()
		}
		db.Close()
		return nil, err
	}
	app.openLimiter()
	if err := app.openNATS(); err != nil { // sinks.go
		app.Close()
		return nil, err
	}
	app.eventSinks = append(app.eventSinks, app.EventSinks()...) // sinks.go
	app.sealAuditLog(ctx)                                        // privacy.go
	return app, nil
}

// Close stops the background imports after their batch and releases the
// database.
func (a *App) Close() error {
	a.Imports.Close()
	_ = a.Risk.Geo.Close()
	a.Provisioning.Close()
	if a.redis != nil {
		a.redis.Close()
	}
	if a.nats != nil {
		a.nats.Close()
	}
	a.closeCatalogue() // regions.go
	if a.Reads.Replica != nil {
		a.Reads.Replica.Close()
	}
	return a.DB.Close()
}

// masterKey is GATEHOUSE_MASTER_KEY, or the key in {data_dir}/master.key,
// created on first start. Every node of a deployment needs the same key.
func masterKey(cfg config.Config, log *slog.Logger) ([]byte, error) {
	key, err := cfg.MasterKeyBytes()
	if err != nil || key != nil {
		return key, err
	}
	path := filepath.Join(cfg.DataDir, "master.key")
	b, err := os.ReadFile(path)
	if err == nil {
		key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
		if err != nil || len(key) != seal.KeySize {
			return nil, fmt.Errorf("master key file %s: not 32 bytes of base64", path)
		}
		return key, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("master key file: %w", err)
	}
	if key, err = seal.NewKey(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	// O_EXCL: two processes starting together must not both write a key.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return masterKey(cfg, log)
	}
	if err != nil {
		return nil, fmt.Errorf("master key file: %w", err)
	}
	_, err = f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("master key file: %w", err)
	}
	log.Warn("generated a master key; production should supply its own through GATEHOUSE_MASTER_KEY",
		"path", path)
	return key, nil
}
