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

	"github.com/gatehouse-id/gatehouse/internal/api"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/metrics"
	"github.com/gatehouse-id/gatehouse/internal/scim"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
)

// maxInFlight bounds concurrent requests; past it the server answers 429
// with Retry-After instead of queueing without limit.
const maxInFlight = 1024

// Handler builds the whole HTTP surface.
func (a *App) Handler() http.Handler {
	reg := metrics.NewRegistry()
	reg.RegisterRuntime()
	reg.RegisterDBStats(a.DB.SQL().Stats)

	mux := http.NewServeMux()
	a.SelfService.PublicURL = a.Config.PublicURL // Serve may have learnt the bound port
	(&api.API{
		Tenants: a.Tenants, Directory: a.Directory, Clients: a.Clients, Sessions: a.Sessions, Audit: a.DB.Audit(), Log: a.Log,
		Authz:        a.Authz,
		SAMLSPs:      a.SAMLSPs,
		MaxBodyBytes: a.Config.HTTP.MaxBodyBytes, Now: time.Now, SelfService: a.SelfService,
		Connections: a.Connections, PublicURL: a.Config.PublicURL,
		MFA: a.MFA, Imports: a.Imports,
	}).Mount(mux)
	(&scim.Server{Tenants: a.Tenants, Directory: a.Directory, Log: a.Log, PublicURL: a.Config.PublicURL,
		MaxBodyBytes: a.Config.HTTP.MaxBodyBytes}).Mount(mux)
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
		httpx.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok", "database": "ok"})
	})
	mux.Handle("GET /metrics", reg.Handler())
	if err := a.mountLogin(mux); err != nil {
		// Only a programming error in the provider's fixed configuration
		// gets here; nothing the operator sets can.
		panic(err)
	}

	// Under an https public URL every answer pins https (config http.hsts).
	return httpx.HSTS(a.Config.HSTSHeader(), middleware(a.Log, reg, a.Tenants, maxInFlight, mux))
}

// middleware wraps h in what every response passes through. Request ids
// and security headers are outermost so that every answer carries them,
// the 429 of the in-flight limit included. The tenant of /t/{tenant}/...
// is resolved once, here, for every surface; outside metrics and the
// access log, which read the pattern the mux sets on their request.
func middleware(log *slog.Logger, reg *metrics.Registry, tenants httpx.TenantResolver, max int, h http.Handler) http.Handler {
	h = recoverer(log, h)
	h = accessLog(log, h)
	h = reg.Middleware(h)
	h = httpx.ResolveTenants(tenants, h)
	h = limitInFlight(max, h)
	h = httpx.SecurityHeaders(h)
	return httpx.RequestIDs(h)
}

// Serve listens on cfg.Addr and serves until ctx ends, then shuts down
// gracefully: in-flight requests complete within the shutdown timeout.
// ready, when non-nil, receives the bound address once listening.
func (a *App) Serve(ctx context.Context, ready func(addr string)) error {
	ln, err := net.Listen("tcp", a.Config.Addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", a.Config.Addr, err)
	}
	a.Config.PublicURL = boundPublicURL(a.Config.PublicURL, ln.Addr().String())
	stopLDAP, err := a.startLDAP()
	if err != nil {
		ln.Close()
		return err
	}
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
	go a.rotateKeys(ctx)
	go a.MailWorker().Run(ctx) // selfservice.go
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
	if created {
		fmt.Fprintf(out, "Created tenant %q (issuer %s/t/%s).\n", t.Slug, a.Config.PublicURL, t.Slug)
		fmt.Fprintf(out, "Get a management API key with:\n  gatehouse apikey create --tenant %s --scopes admin\n", tenancy.DefaultSlug)
		fmt.Fprintf(out, "or, for every tenant:\n  gatehouse apikey create --platform --scopes admin\n")
	}
	return nil
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

// rotateKeys runs the hourly upkeep: signing keys due for rotation (nodes
// may race; a lost race is a harmless conflict) and expired tokens.
func (a *App) rotateKeys(ctx context.Context) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if n, err := a.Tenants.RotateDue(ctx, tenancy.DefaultKeyMaxAge); err != nil && ctx.Err() == nil {
			a.Log.Warn("key rotation", "err", err)
		} else if n > 0 {
			a.Log.Info("rotated signing keys", "tenants", n)
		}
		// Expired codes, tokens and device codes are dead weight.
		if n, err := a.DB.OAuth().Tokens().DeleteExpired(ctx, time.Now()); err != nil && ctx.Err() == nil {
			a.Log.Warn("deleting expired tokens", "err", err)
		} else if n > 0 {
			a.Log.Info("deleted expired tokens", "rows", n)
		}
		a.sweepSelfService(ctx) // selfservice.go
		if n, err := a.DB.SAML().Requests().DeleteExpired(ctx, time.Now()); err != nil && ctx.Err() == nil {
			a.Log.Warn("deleting expired SAML requests", "err", err)
		} else if n > 0 {
			a.Log.Info("deleted expired SAML requests", "rows", n)
		}
		if n, err := a.DB.MFA().Ceremonies().DeleteExpiredCeremonies(ctx, time.Now()); err != nil && ctx.Err() == nil {
			a.Log.Warn("deleting expired passkey ceremonies", "err", err)
		} else if n > 0 {
			a.Log.Info("deleted expired passkey ceremonies", "rows", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
