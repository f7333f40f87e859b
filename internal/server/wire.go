package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/api"
	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/broker"
	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/connection"
	"github.com/gatehouse-id/gatehouse/internal/consent"
	"github.com/gatehouse-id/gatehouse/internal/console"
	"github.com/gatehouse-id/gatehouse/internal/credential"
	"github.com/gatehouse-id/gatehouse/internal/dashboard"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/forwardauth"
	"github.com/gatehouse-id/gatehouse/internal/hookhttp"
	"github.com/gatehouse-id/gatehouse/internal/hooks"
	"github.com/gatehouse-id/gatehouse/internal/keys"
	"github.com/gatehouse-id/gatehouse/internal/legacy"
	"github.com/gatehouse-id/gatehouse/internal/mail"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/notice"
	"github.com/gatehouse-id/gatehouse/internal/oauthclient"
	"github.com/gatehouse-id/gatehouse/internal/oidc"
	"github.com/gatehouse-id/gatehouse/internal/privacy"
	"github.com/gatehouse-id/gatehouse/internal/proxyapp"
	"github.com/gatehouse-id/gatehouse/internal/region"
	"github.com/gatehouse-id/gatehouse/internal/safehttp"
	"github.com/gatehouse-id/gatehouse/internal/saml"
	"github.com/gatehouse-id/gatehouse/internal/samlreg"
	"github.com/gatehouse-id/gatehouse/internal/scim"
	"github.com/gatehouse-id/gatehouse/internal/seal"
	"github.com/gatehouse-id/gatehouse/internal/selfservice"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/setup"
	"github.com/gatehouse-id/gatehouse/internal/ssf"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
	"github.com/gatehouse-id/gatehouse/internal/userimport"
	"github.com/gatehouse-id/gatehouse/internal/web"
	"github.com/gatehouse-id/gatehouse/internal/webhook"
)

// surfaces are the HTTP front ends Handler mounts, built with the services.
type surfaces struct {
	api   *api.API
	scim  *scim.Server
	pages *web.Pages
	oidc  *oidc.Provider
	saml  *saml.IdP
	fwd   *forwardauth.Handler
	ssf   *ssf.Transmitter // Shared Signals (sinks.go)
	// console is the admin console and the welcome and setup pages.
	console *console.Console
	// regions forwards other regions' tenants; nil without regions (regions.go).
	regions *region.Router
}

// build is the composition root: every service and HTTP surface of a
// deployment, built once from cfg with one clock and one random source.
// Nothing is set on a service after it is built; the one cycle (sessions
// end through the OpenID provider's back-channel logout, and the provider
// uses sessions) is closed by a hook that reads prov, assigned below.
func build(cfg config.Config, log *slog.Logger, db *sqlstore.DB, masterKey []byte, opts Options) (*App, error) {
	now, rnd, pub := opts.Now, opts.Rand, cfg.PublicURL
	sealer, err := seal.New(masterKey, rnd)
	if err != nil {
		return nil, err
	}
	hasher, err := credential.NewHasher(credential.Params{
		MemoryKiB: cfg.Argon2.MemoryKiB, Iterations: cfg.Argon2.Iterations, Parallelism: cfg.Argon2.Parallelism,
	}, rnd)
	if err != nil {
		return nil, fmt.Errorf("argon2: %w", err)
	}
	// Notices are told of audited changes in the change's transaction;
	// they record their own entries through a recorder without observers.
	mailKick := make(chan struct{}, 1)
	queue := &mail.Queue{Sealer: sealer, Kick: mailKick}
	renderer := &mail.Renderer{Dir: filepath.Join(cfg.DataDir, "mail-templates")}
	// Every audit entry's personal data is sealed under its person's
	// data key (internal/privacy), so erasing the key shreds it.
	shredder := &privacy.Shredder{Master: sealer, Rand: rnd}
	notices := &notice.Service{Queue: queue, Renderer: renderer, Audit: &events.Recorder{Now: now, Sealer: shredder}, PublicURL: pub, Now: now}
	// The outbox writes the catalogue events of audited changes in their
	// transaction (events.go).
	eventKick := make(chan struct{}, 1)
	outbox := &events.Outbox{Now: now, Kick: eventKick}
	rec := &events.Recorder{Now: now, Observers: []events.Observer{notices, outbox}, Sealer: shredder}
	km := &keys.Manager{Sealer: sealer, Now: now, Rand: rnd}
	authzSvc := &authz.Service{Store: db, Audit: rec, Log: log, Now: now}
	var prov *oidc.Provider
	var idp *saml.IdP         // built below; session ends and OIDC logout reach its providers
	stats := newDomainStats() // domainmetrics.go
	// The dashboard's per-minute rollups are fed by the meter's counts and
	// the risk engine's decisions (internal/dashboard).
	dash := &dashboard.Counter{Store: db, Now: now, Log: log}
	meter := &tenancy.Meter{Store: db, Audit: rec, Log: log, Now: now, Tap: stats.meterTap, Dash: dash}
	// The meter checks plan limits' thresholds in the transaction of an
	// audited create of a limited object.
	rec.Observers = append(rec.Observers, meter)
	// A new tenant gets the built-in console roles in its creating
	// transaction (authz/builtin.go).
	rec.Observers = append(rec.Observers, authzSvc)
	sessions := &session.Service{Store: db, Audit: rec, Now: now, Meter: meter, Events: outbox,
		OnEnd: func(ctx context.Context, s *store.Session) {
			prov.BackchannelLogout(ctx, s)
			idp.BackchannelLogout(ctx, s) // SAML providers with a SOAP logout endpoint
		},
		// Every login of a break-glass account raises its alert (authz).
		OnCreate: func(ctx context.Context, s *store.Session) {
			stats.login("success", loginMethod(s.AMR))
			_ = authzSvc.NoteUse(ctx, s.Tenant, s.UserID, "login", "")
		},
	}
	riskEngine, err := newRiskEngine(cfg, db, masterKey, rec, now) // risk.go
	if err != nil {
		return nil, err
	}
	riskEngine.Dash = dash
	riskEngine.OpenAudit = shredder.Open
	// Synchronous hooks (internal/hooks): URLs and dials as for upstreams,
	// loopback only on a development deployment (public URL on http://).
	devLoopback := strings.HasPrefix(pub, "http://")
	hookSvc := &hooks.Service{Store: db, Audit: rec, Sealer: sealer, Now: now, Log: log, Rand: rnd,
		Poster: hookhttp.New(safehttp.Policy{AllowLoopback: devLoopback}),
		Policy: connection.URLPolicy{AllowLoopbackHTTP: devLoopback}}
	reads := newReads(db, opts.replica, log) // replica.go
	a := &App{
		Config: cfg, Log: log, DB: db, Audit: rec, Keys: km, sealer: sealer, now: now, Meter: meter, stats: stats,
		Dashboard: dash,
		Hooks:     hookSvc,
		Tenants:   &tenancy.Service{Store: db, Keys: km, Audit: rec, Now: now, Placement: newPlacement(cfg, db, opts.catalogue)},
		Catalogue: opts.catalogue,
		Directory: &directory.Service{Store: db, Hasher: hasher, Audit: rec, Now: now, Breached: riskEngine.Breached, Reads: reads},
		Reads:     reads,
		Risk:      riskEngine,
		Clients:   &oauthclient.Service{Store: db, Audit: rec, Now: now, AllowLoopbackHTTP: devLoopback},
		SAMLSPs:   &samlreg.Service{Store: db, Audit: rec, Now: now},
		Sessions:  sessions,
		Authz:     authzSvc,
		Mail:      queue, mailKick: mailKick, Notices: notices,
		Announcer: &notice.Announcer{Store: db, Notices: notices, PublicURL: pub, Now: now},
		Outbox:    outbox, eventKick: eventKick,
	}
	a.Webhooks = &webhook.Service{Store: db, Sealer: sealer, Audit: rec, Now: now, Queue: queue, Renderer: renderer,
		Policy: connection.URLPolicy{AllowLoopbackHTTP: strings.HasPrefix(pub, "http://")}}
	if a.eventSinks, err = buildEventSinks(cfg, log); err != nil { // events.go
		return nil, err
	}
	a.Provisioning = newProvisioning(db, sealer, rec, now, pub) // provisioning.go
	a.eventSinks = append(a.eventSinks, a.Provisioning.Sink())
	a.Consent = &consent.Service{Store: db, Audit: rec, Now: now}
	a.SelfService = &selfservice.Service{
		Store: db, Directory: a.Directory, Hasher: hasher, Sessions: sessions, Queue: queue,
		Renderer: renderer, Notices: notices,
		Audit: rec, Log: log, Now: now, PublicURL: pub, Meter: meter, Risk: riskEngine,
		Hooks: hookSvc, Consent: a.Consent,
	}
	// Upstream URLs must be https; http:// is accepted only for loopback
	// hosts, and only while the deployment's own public URL is http://
	// (development and tests).
	a.Connections = &connection.Service{Store: db, Audit: rec, Sealer: sealer, Now: now,
		Policy: connection.URLPolicy{AllowLoopbackHTTP: strings.HasPrefix(pub, "http://")}}
	a.ProxyApps = &proxyapp.Service{Store: db, Audit: rec, Authz: authzSvc, Sessions: sessions, Now: now}
	if a.Domains, err = newDomains(cfg, db, rec, sealer, now); err != nil { // domains.go
		return nil, err
	}
	a.Broker = &broker.Broker{Connections: a.Connections, Store: db, Audit: rec, Log: log, PublicURL: pub, Now: now}
	a.MFA = &mfa.Service{Store: db, Sealer: sealer, Audit: rec, Now: now, Rand: rnd, PublicURL: pub,
		Mail: &mfa.Mailer{Queue: a.Mail, Renderer: a.SelfService.Renderer}}
	a.Legacy = &legacy.Service{Store: db, Connections: a.Connections, Directory: a.Directory, Audit: rec, Log: log, Now: now}
	a.Flow = &flow.Service{Store: db, Directory: a.Directory, Sessions: sessions, Log: log, Now: now, MFA: a.MFA,
		MasterKey: masterKey, Legacy: a.Legacy, Notices: notices, Meter: meter, Events: outbox,
		Hooks: hookSvc, Risk: a.Risk}
	if opts.Steps != nil {
		a.Flow.Steps = opts.Steps(a.Flow)
	}
	a.Privacy = newPrivacy(cfg, log, db, a, shredder, rec) // privacy.go
	a.Importer = &userimport.Importer{Store: db, MFA: a.MFA, Audit: rec, Now: now}
	a.Exporter = &userimport.Exporter{Store: db, Audit: rec}
	a.Imports = userimport.NewRunner(a.Importer, 2)
	a.Setup = &setup.Service{Store: db, Tenants: a.Tenants, Directory: a.Directory, Authz: authzSvc, Clients: a.Clients,
		SelfService: a.SelfService, PublicURL: pub, AdminTenant: cfg.AdminTenant, Now: now}

	// The HTTP surfaces.
	regions, err := newRegionRouter(cfg, a.Tenants, log) // regions.go
	if err != nil {
		return nil, err
	}
	cookie := web.SessionCookieName(pub)
	mtls, err := mtlsConfig(cfg) // tls.go
	if err != nil {
		return nil, err
	}

	replays, sweepReplays := dpopReplays(db, opts.redis) // dpop.go
	a.redis, a.sweepReplays = opts.redis, sweepReplays
	prov, err = oidc.New(oidc.Config{
		Store: db, Tenants: a.Tenants, Sessions: sessions, Flow: a.Flow, Keys: km, Log: log,
		PublicURL: pub, MasterKey: masterKey, Now: now, SessionCookie: cookie, Authz: authzSvc, Meter: meter,
		Hooks: hookSvc, MTLS: mtls, DPoPReplays: replays,
		LogoutChain: func(ctx context.Context, t *store.Tenant, sessionID, returnTo string) string {
			return idp.LogoutChainURL(ctx, t, sessionID, returnTo)
		},
		// Token exchange and dynamic registration (oidc exchange.go, register.go).
		Upstream: a.Broker, Audit: rec, Clients: a.Clients,
		CIBAMail: &oidc.CIBAMailer{Queue: a.Mail, Renderer: a.SelfService.Renderer},
	})
	if err != nil {
		return nil, fmt.Errorf("oidc: %w", err)
	}
	idp = saml.New(saml.Config{
		Store: db, Tenants: a.Tenants, Sessions: sessions, Flow: a.Flow, Keys: km, Log: log,
		PublicURL: pub, MasterKey: masterKey, Now: now, SessionCookie: cookie, Meter: meter,
		Roles: func(ctx context.Context, tenant store.TenantID, userID string) ([]string, error) {
			// No amr here: privileged roles that require MFA stay out.
			roles, _, _, err := authzSvc.Attributes(ctx, tenant, userID, "", nil)
			return roles, err
		},
	})
	fwd := &forwardauth.Handler{Flow: a.Flow, Sessions: sessions, Apps: a.ProxyApps, Log: log,
		PublicURL: pub, SessionCookie: cookie, Keys: km, Store: db}
	a.surfaces = surfaces{
		regions: regions,
		oidc:    prov,
		saml:    idp,
		fwd:     fwd,
		ssf:     newTransmitter(a, cfg, log), // sinks.go
		pages: &web.Pages{
			Tenants: a.Tenants, Sessions: sessions, Store: db, Log: log, PublicURL: pub, Flow: a.Flow,
			SelfService: a.SelfService, MFA: a.MFA,
			SAMLApps: a.SAMLSPs, Authz: authzSvc, // the account page's app launcher and roles
			Announcer: a.Announcer,
			Consent:   a.Consent,
			// The origin handlers: each hands its own finished logins back.
			Origins: web.Origins{flow.OriginOIDC: prov, flow.OriginSAML: idp, flow.OriginDevice: web.DeviceOrigin{},
				flow.OriginForwardAuth: fwd, flow.OriginCIBA: web.CIBAOrigin{}},
			Device: prov, CIBA: prov,
			Social: &web.Social{Broker: a.Broker, Connections: a.Connections,
				Flow: &flow.Social{Flow: a.Flow, Connections: a.Connections, Audit: rec}},
			// The account page's mails go through self-service's mail path:
			// rendered per tenant and language, queued sealed, delivered by
			// the mail worker.
			Account: &account.Service{Store: db, Directory: a.Directory, Sessions: sessions, Flow: a.Flow, Audit: rec,
				Mailer: a.SelfService, PublicURL: pub, Now: now, Privacy: a.Privacy},
		},
		api: &api.API{
			Tenants: a.Tenants, Directory: a.Directory, Clients: a.Clients, Sessions: sessions, Audit: db.Audit(), Log: log,
			Authz: authzSvc, SAMLSPs: a.SAMLSPs, MaxBodyBytes: cfg.HTTP.MaxBodyBytes, Now: now,
			SelfService: a.SelfService, Connections: a.Connections, PublicURL: pub, MFA: a.MFA,
			ConfigCode: a.ConfigCode(), ProxyApps: a.ProxyApps, Announcer: a.Announcer, Domains: a.Domains,
			Imports: a.Imports, Exporter: a.Exporter, Meter: meter,
			Privacy:  a.Privacy,
			Webhooks: a.Webhooks, Events: db.Events().Outbox(),
			Provisioning: a.Provisioning,
			Risk:         a.Risk, Hooks: hookSvc, Consent: a.Consent,
		},
		console: &console.Console{
			Tenants: a.Tenants, Directory: a.Directory, Authz: authzSvc, Sessions: sessions, MFA: a.MFA,
			SelfService: a.SelfService, Privacy: a.Privacy, Audit: db.Audit(), Setup: a.Setup, Sealer: sealer,
			Connections: a.Connections,
			Log:         log, PublicURL: pub, AdminTenant: cfg.AdminTenant, IdleTimeout: cfg.ConsoleIdleTimeout, Now: now,
			More: &console.More{Dashboard: dash, Clients: a.Clients, SAMLSPs: a.SAMLSPs,
				MetadataClient: safehttp.Policy{AllowLoopback: devLoopback}.Client(10 * time.Second), AllowHTTPMetadata: devLoopback},
		},
		scim: &scim.Server{Tenants: a.Tenants, Directory: a.Directory, Log: log, PublicURL: pub,
			MaxBodyBytes: cfg.HTTP.MaxBodyBytes},
	}
	return a, nil
}

// mount registers every surface on mux.
func (s surfaces) mount(mux *http.ServeMux) {
	s.api.Mount(mux)
	s.scim.Mount(mux)
	s.pages.Mount(mux)
	s.oidc.Mount(mux)
	s.saml.Mount(mux)
	s.fwd.Mount(mux)
	s.ssf.Mount(mux)
	s.console.Mount(mux)
}

var _ account.Mailer = (*selfservice.Service)(nil)
