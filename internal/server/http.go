package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/domain"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/metrics"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
	"github.com/gatehouse-id/gatehouse/internal/tracing/tracehttp"
)

// maxInFlight bounds concurrent requests; past it the server answers 429
// with Retry-After instead of queueing without limit.
const maxInFlight = 1024

// Handler builds the whole HTTP surface.
func (a *App) Handler() http.Handler {
	reg := metrics.NewRegistry()
	reg.RegisterRuntime()
	reg.RegisterDBStats(a.DB.SQL().Stats)
	a.registerDomainMetrics(reg) // domainmetrics.go

	mux := http.NewServeMux()
	a.surfaces.mount(mux) // wire.go
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		httpx.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := a.DB.Ping(ctx); err != nil {
			a.Log.WarnContext(ctx, "readiness: database unreachable", "err", err)
			httpx.WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "database": "unreachable"})
			return
		}
		// The risk engine's data files: an absent one only turns signals
		// off, which the details say (never a failure).
		// schema_version is the migration this node's binary expects: during
		// a rolling upgrade it tells which nodes run which release.
		httpx.WriteJSON(w, http.StatusOK, map[string]any{"status": "ok", "database": "ok", "risk": a.Risk.Status(),
			"schema_version": sqlstore.SchemaVersion(a.DB.Dialect()), "replica": a.replicaStatus()})
	})
	mux.Handle("GET /metrics", reg.Handler())
	mux.HandleFunc("GET "+domain.WellKnownPrefix+"{token}", a.domainToken) // domains.go

	// Under an https public URL every answer pins https (config http.hsts).
	// Behind trusted proxies (trusted_proxies) the client address is
	// resolved once, before anything reads it (httpx.ClientIP).
	return httpx.HSTS(a.Config.HSTSHeader(), httpx.TrustedProxies(a.Config.TrustedProxyPrefixes(),
		middleware(a.Log, reg, tenantHosts{a.Tenants, a.Domains}, a.Limiter.Wrap, maxInFlight, a.readYourWrites(a.routeRegions(refuseSuspended(a.surfaces.pages, mux))))))
}

// middleware wraps h in what every response passes through. Request ids
// and security headers are outermost so that every answer carries them,
// the 429 of the in-flight limit included. The tenant of /t/{tenant}/...
// is resolved once, here, for every surface; outside metrics and the
// access log, which read the pattern the mux sets on their request. The
// per-tenant rate limit runs inside the tenant's resolution and the access
// log, so a refused request costs no handler work but is still metered and
// logged.
func middleware(log *slog.Logger, reg *metrics.Registry, tenants httpx.TenantResolver, limit func(http.Handler) http.Handler, max int, h http.Handler) http.Handler {
	h = recoverer(log, h)
	h = limit(h)
	h = accessLog(log, h)
	h = tracehttp.Middleware(h) // a span per request, its trace id in the log lines
	h = reg.Middleware(h)
	h = httpx.ResolveTenants(tenants, h)
	h = limitInFlight(max, h)
	h = httpx.SecurityHeaders(h)
	return httpx.RequestIDs(h)
}

// Listen binds cfg.Addr and answers cfg with a port of 0 in its public URL
// replaced by the port bound: the config to Open the App with, so every
// service is built with the URL it is reached at.
func Listen(cfg config.Config) (net.Listener, config.Config, error) {
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, cfg, fmt.Errorf("listen %s: %w", cfg.Addr, err)
	}
	cfg.PublicURL = boundPublicURL(cfg.PublicURL, ln.Addr().String())
	return ln, cfg, nil
}

// Serve serves on ln (from Listen) until ctx ends, then shuts down
// gracefully: in-flight requests complete within the shutdown timeout.
// ready, when non-nil, receives the bound address once listening.
func (a *App) Serve(ctx context.Context, ln net.Listener, ready func(addr string)) error {
	stopLDAP, err := a.startLDAP()
	if err != nil {
		ln.Close()
		return err
	}
	tln, err := a.listenTLS(ctx, ln) // domains.go
	if err != nil {
		ln.Close()
		_ = stopLDAP(ctx)
		return err
	}
	ln = tln
	stopTracing, err := tracehttp.Setup(ctx, a.Config.Domains.OTelEndpoint, "gatehouse")
	if err != nil {
		ln.Close()
		_ = stopLDAP(ctx)
		return err
	}
	defer func() { _ = stopTracing(context.WithoutCancel(ctx)) }()
	hc := a.Config.HTTP
	srv := &http.Server{
		Handler:           a.Handler(),
		ReadHeaderTimeout: hc.ReadHeaderTimeout,
		ReadTimeout:       hc.ReadTimeout,
		WriteTimeout:      hc.WriteTimeout,
		IdleTimeout:       hc.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(a.Log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	a.Log.Info("gatehouse listening", "addr", ln.Addr().String(), "public_url", a.Config.PublicURL,
		"db", a.DB.Dialect())
	if ready != nil {
		ready(ln.Addr().String())
	}
	go a.upkeepEvery(ctx, time.Hour)
	go a.syncDirectories(ctx)  // legacy.go
	go a.MailWorker().Run(ctx) // selfservice.go
	go a.Meter.Run(ctx, time.Second)
	go a.Dashboard.Run(ctx, 0, 0, 0)
	go a.Dispatcher().Run(ctx) // events.go
	go a.Reads.Run(ctx, time.Second)
	go a.sweepReplaysEvery(ctx, replaySweepEvery) // dpop.go
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	a.Log.Info("shutting down: finishing in-flight requests", "timeout", hc.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), hc.ShutdownTimeout)
	defer cancel()
	// LDAP stops alongside HTTP, within the same deadline: an idle LDAP
	// client must not eat the time HTTP requests have to finish.
	ldapDone := make(chan error, 1)
	go func() { ldapDone <- stopLDAP(sctx) }()
	err = srv.Shutdown(sctx)
	if lerr := <-ldapDone; lerr != nil {
		a.Log.Warn("ldap shutdown", "err", lerr)
	}
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	// The requests are done: their usage counters go out before the exit.
	a.Meter.FlushQuietly(sctx)
	a.Log.Info("stopped")
	return nil
}

// Bootstrap ensures the default tenant exists and, on first start, tells
// the operator how to get in.
func (a *App) Bootstrap(ctx context.Context, out io.Writer) error {
	t, created, err := a.Tenants.EnsureDefault(ctx)
	if err != nil {
		return fmt.Errorf("default tenant: %w", err)
	}
	// With regions, every tenant of this region is in the catalogue.
	if n, err := a.Tenants.SyncCatalogue(ctx); err != nil {
		a.Log.Warn("tenant catalogue", "err", err)
	} else if n > 0 {
		a.Log.Info("entered tenants in the catalogue", "tenants", n, "region", a.Config.Region)
	}
	if created {
		fmt.Fprintf(out, "Created tenant %q (issuer %s/t/%s).\n", t.Slug, a.Config.PublicURL, t.Slug)
		fmt.Fprintf(out, "Get a management API key with:\n  gatehouse apikey create --tenant %s --scopes admin\n", tenancy.DefaultSlug)
		fmt.Fprintf(out, "or, for every tenant:\n  gatehouse apikey create --platform --scopes admin\n")
	}
	return a.bootstrapConsole(ctx, out) // console.go
}

// boundPublicURL replaces a port of 0 in the public URL (the default public
// URL of an addr with port 0) by the port actually bound.
func boundPublicURL(public, bound string) string {
	u, err := url.Parse(public)
	if err != nil || u.Port() != "0" {
		return public
	}
	_, port, err := net.SplitHostPort(bound)
	if err != nil {
		return public
	}
	u.Host = net.JoinHostPort(u.Hostname(), port)
	return u.String()
}

// upkeepEvery runs the hourly upkeep until ctx ends.
func (a *App) upkeepEvery(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		a.upkeep(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// upkeep rotates the signing keys due for rotation (nodes may race; a lost
// race is a harmless conflict) and removes what has expired in every
// tenant: codes, tokens, device codes and ended sessions, one-time tokens
// and mails finished a week ago, deleted tenants past their purge date, SAML requests, login requests and passkey
// ceremonies are dead weight once past their time.
func (a *App) upkeep(ctx context.Context) {
	if n, err := a.Tenants.RotateDue(ctx, tenancy.DefaultKeyMaxAge); err != nil && ctx.Err() == nil {
		a.Log.Warn("key rotation", "err", err)
	} else if n > 0 {
		a.Log.Info("rotated signing keys", "tenants", n)
	}
	// Deleted tenants past their grace period lose every row (tenancy).
	if n, err := a.Tenants.PurgeDue(ctx, 100); err != nil && ctx.Err() == nil {
		a.Log.Warn("tenant purge", "err", err)
	} else if n > 0 {
		a.Log.Info("purged deleted tenants", "tenants", n)
	}
	a.retention(ctx) // privacy.go
	now := a.now()
	for _, sw := range []struct {
		what  string
		sweep func(context.Context, time.Time) (int64, error)
	}{
		{"expired tokens", a.DB.OAuth().Tokens().DeleteExpired},
		{"expired one-time tokens", a.DB.SelfService().OneTimeTokens().DeleteExpiredTokens},
		{"finished mails", func(ctx context.Context, now time.Time) (int64, error) {
			return a.DB.SelfService().MailQueue().PurgeMail(ctx, now.Add(-7*24*time.Hour))
		}},
		{"expired SAML requests", a.DB.SAML().Requests().DeleteExpired},
		{"expired forward-auth codes and sessions", a.DB.Proxy().DeleteExpired},
		{"expired login requests", a.DB.Logins().DeleteExpiredLoginRequests},
		{"expired passkey ceremonies", a.DB.MFA().Ceremonies().DeleteExpiredCeremonies},
		{"finished Shared Signals SETs", a.purgeSSF}, // sinks.go
		{"delivered events", a.purgeEvents},          // events.go
	} {
		if n, err := sw.sweep(ctx, now); err != nil && ctx.Err() == nil {
			a.Log.Warn("upkeep: deleting "+sw.what, "err", err)
		} else if n > 0 {
			a.Log.Info("upkeep: deleted "+sw.what, "rows", n)
		}
	}
	a.riskUpkeep(ctx) // riskmodel.go
}
