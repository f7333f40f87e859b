// Package api is the management REST API under /api/v1: tenants, users,
// groups, OAuth clients, API keys and the audit log, authenticated by API
// keys, errors as RFC 9457 problem+json. Handlers return errors; one
// adapter maps them.
package api

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/configcode"
	"github.com/gatehouse-id/gatehouse/internal/connection"
	"github.com/gatehouse-id/gatehouse/internal/consent"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/domain"
	"github.com/gatehouse-id/gatehouse/internal/hooks"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/notice"
	"github.com/gatehouse-id/gatehouse/internal/oauthclient"
	"github.com/gatehouse-id/gatehouse/internal/privacy"
	"github.com/gatehouse-id/gatehouse/internal/provision"
	"github.com/gatehouse-id/gatehouse/internal/proxyapp"
	"github.com/gatehouse-id/gatehouse/internal/risk"
	"github.com/gatehouse-id/gatehouse/internal/samlreg"
	"github.com/gatehouse-id/gatehouse/internal/selfservice"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
	"github.com/gatehouse-id/gatehouse/internal/userimport"
	"github.com/gatehouse-id/gatehouse/internal/valid"
	"github.com/gatehouse-id/gatehouse/internal/webhook"
)

// API serves the management endpoints.
type API struct {
	Tenants      *tenancy.Service
	Directory    *directory.Service
	Clients      *oauthclient.Service
	SAMLSPs      *samlreg.Service
	Sessions     *session.Service
	Authz        *authz.Service
	Audit        store.AuditLog
	Log          *slog.Logger
	MaxBodyBytes int64
	Now          func() time.Time
	// SelfService mails invitations (invitations.go).
	SelfService *selfservice.Service
	// Connections manages upstream identity providers and linked
	// identities (connections.go); PublicURL makes their callback URLs.
	Connections *connection.Service
	PublicURL   string
	// MFA lists and resets users' second factors (factors.go).
	MFA *mfa.Service
	// ConfigCode plans and applies configuration as code (configcode.go).
	ConfigCode *configcode.Services
	// ProxyApps registers applications behind a reverse proxy (proxyapps.go).
	ProxyApps *proxyapp.Service
	// Domains registers and verifies custom domains (domains.go).
	Domains *domain.Service
	// Announcer publishes announcements (announcements.go).
	Announcer *notice.Announcer
	// Imports runs bulk imports in the background (imports.go).
	Imports *userimport.Runner
	// Exporter writes a tenant's users in an importable format (exports.go).
	Exporter *userimport.Exporter
	// Meter counts API calls per tenant and reports quota thresholds
	// (usage.go); nil counts nothing.
	Meter *tenancy.Meter
	// Privacy serves erasure, legal holds, access exports and
	// data-subject requests (privacy.go); it opens the audit entries'
	// sealed personal data for listAudit.
	Privacy *privacy.Service
	// Webhooks manages webhook endpoints; Events is the outbox the SIEM
	// stream reads (webhooks.go).
	Webhooks *webhook.Service
	Events   store.Outbox
	// Provisioning manages outbound SCIM targets (provisioning.go).
	Provisioning *provision.Service
	// Risk answers the tenant's risk model (risk.go).
	Risk *risk.Engine
	// Hooks registers the tenant's synchronous hooks (hooks.go).
	Hooks *hooks.Service
	// Consent manages consent purposes, records and preferences (consent.go).
	Consent *consent.Service
}

// handlerFunc is a route's handler: it writes a success or returns an error.
type handlerFunc func(w http.ResponseWriter, r *http.Request, c *call) error

// Mount registers every route of Routes on mux.
func (a *API) Mount(mux *http.ServeMux) {
	for _, rt := range a.routes() {
		mux.Handle(rt.Method+" "+rt.Path, a.handle(rt))
	}
	// Anything else under /api/ is a JSON 404, not the HTML default, or a
	// 405 when the path is a route's with another method. (This pattern
	// matches every method, so the mux's own 405 never happens here.)
	mux.Handle("/api/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if allow := allowedMethods(mux, r); len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			httpx.WriteProblem(w, r, httpx.NewProblem(http.StatusMethodNotAllowed, "method-not-allowed",
				"Method not allowed", "This endpoint does not answer "+r.Method+"."))
			return
		}
		httpx.WriteProblem(w, r, httpx.NewProblem(http.StatusNotFound, "not-found", "Not found", "No such endpoint."))
	}))
}

// allowedMethods lists the methods whose route matches r's path.
func allowedMethods(mux *http.ServeMux, r *http.Request) []string {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
		http.MethodPatch, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := mux.Handler(probe); strings.HasPrefix(pattern, m+" ") ||
			(m == http.MethodHead && strings.HasPrefix(pattern, http.MethodGet+" ")) {
			allow = append(allow, m)
		}
	}
	return allow
}

// handle authenticates, authorises and runs one route, mapping its error.
func (a *API) handle(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := a.authorize(r, rt)
		if err == nil && c.tenant != nil {
			a.Meter.Add(c.tenant.ID, store.MetricAPICalls, 1)
		}
		if err == nil {
			err = rt.handler(w, r, c)
		}
		if err != nil {
			a.writeError(w, r, err)
		}
	})
}

// writeError maps an error to its problem once, here; unknown errors become
// a bare 500 and their text goes only to the log.
func (a *API) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var (
		prob     *httpx.Problem
		verr     *valid.Error
		conflict *valid.Conflict
		quota    *tenancy.QuotaError
	)
	switch {
	case errors.As(err, &prob):
	case errors.As(err, &quota):
		prob = httpx.NewProblem(http.StatusForbidden, "quota-exceeded", "Quota exceeded", quota.Error())
		prob.Limit, prob.Plan = quota.Limit, quota.Plan
	case errors.As(err, &verr):
		prob = httpx.NewProblem(http.StatusBadRequest, "validation", "Invalid input", verr.Error())
		prob.Errors = verr.Fields
		prob.Field = verr.Fields[0].Field
	case errors.As(err, &conflict):
		prob = httpx.NewProblem(http.StatusConflict, "conflict", "Conflict", conflict.Error()+".")
		prob.Field = conflict.Field
	case errors.Is(err, store.ErrNotFound):
		prob = httpx.NewProblem(http.StatusNotFound, "not-found", "Not found", "No such resource.")
	case errors.Is(err, store.ErrPrecondition):
		prob = httpx.NewProblem(http.StatusPreconditionFailed, "precondition-failed", "Precondition failed",
			"The resource changed since the version named in If-Match; read it again.")
		prob.Field = "If-Match"
	case errors.Is(err, store.ErrCycle):
		prob = httpx.NewProblem(http.StatusConflict, "group-cycle", "Group cycle",
			"A group cannot contain itself, directly or through nested groups.")
		prob.Field = "group_id"
	case errors.Is(err, store.ErrConflict):
		prob = httpx.NewProblem(http.StatusConflict, "conflict", "Conflict", "The resource already exists.")
	case errors.Is(err, store.ErrBusy):
		prob = httpx.BusyProblem(w)
	default:
		a.Log.ErrorContext(r.Context(), "api: internal error", "err", err,
			"request_id", httpx.RequestID(r.Context()), "route", r.Pattern)
		prob = httpx.NewProblem(http.StatusInternalServerError, "internal", "Internal error",
			"The server could not complete the request.")
	}
	if prob.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse"`)
	}
	httpx.WriteProblem(w, r, prob)
}

func (a *API) decode(w http.ResponseWriter, r *http.Request, v any) error {
	return httpx.DecodeJSON(w, r, a.MaxBodyBytes, v)
}
