package ssf

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// Paths under the issuer ({public_url}/t/{tenant}).
const (
	pathConfig   = "/ssf/streams"
	pathStatus   = "/ssf/status"
	pathAdd      = "/ssf/subjects/add"
	pathRemove   = "/ssf/subjects/remove"
	pathVerify   = "/ssf/verify"
	pathPoll     = "/ssf/poll/"
	maxBodyBytes = 128 << 10
)

// Mount registers the transmitter's endpoints on mux.
func (t *Transmitter) Mount(mux *http.ServeMux) {
	const p = "/t/{tenant}"
	mux.HandleFunc("GET /.well-known/ssf-configuration/t/{tenant}", t.metadata)
	mux.HandleFunc("GET "+p+"/.well-known/ssf-configuration", t.metadata)
	mux.HandleFunc("POST "+p+pathConfig, t.handle(t.createStream))
	mux.HandleFunc("GET "+p+pathConfig, t.handle(t.readStream))
	mux.HandleFunc("PATCH "+p+pathConfig, t.handle(t.updateStream(false)))
	mux.HandleFunc("PUT "+p+pathConfig, t.handle(t.updateStream(true)))
	mux.HandleFunc("DELETE "+p+pathConfig, t.handle(t.deleteStream))
	mux.HandleFunc("GET "+p+pathStatus, t.handle(t.readStatus))
	mux.HandleFunc("POST "+p+pathStatus, t.handle(t.updateStatus))
	mux.HandleFunc("POST "+p+pathAdd, t.handle(t.addSubject))
	mux.HandleFunc("POST "+p+pathRemove, t.handle(t.removeSubject))
	mux.HandleFunc("POST "+p+pathVerify, t.handle(t.verify))
	mux.HandleFunc("POST "+p+pathPoll+"{stream}", t.handle(t.poll))
}

// Metadata is the transmitter configuration (SSF 1.0 section 7.1).
type Metadata struct {
	SpecVersion          string              `json:"spec_version"`
	Issuer               string              `json:"issuer"`
	JWKSURI              string              `json:"jwks_uri"`
	DeliveryMethods      []string            `json:"delivery_methods_supported"`
	ConfigurationURL     string              `json:"configuration_endpoint"`
	StatusURL            string              `json:"status_endpoint"`
	AddSubjectURL        string              `json:"add_subject_endpoint"`
	RemoveSubjectURL     string              `json:"remove_subject_endpoint"`
	VerificationURL      string              `json:"verification_endpoint"`
	AuthorizationSchemes []map[string]string `json:"authorization_schemes"`
	DefaultSubjects      string              `json:"default_subjects"`
}

// MetadataFor answers the tenant's transmitter metadata.
func (t *Transmitter) MetadataFor(slug string) Metadata {
	iss := t.Issuer(slug)
	return Metadata{
		SpecVersion: "1_0", Issuer: iss, JWKSURI: iss + "/keys",
		DeliveryMethods:  []string{store.SSFPush, store.SSFPoll},
		ConfigurationURL: iss + pathConfig, StatusURL: iss + pathStatus,
		AddSubjectURL: iss + pathAdd, RemoveSubjectURL: iss + pathRemove, VerificationURL: iss + pathVerify,
		// Receivers present a management API key with scope ssf as a
		// bearer token (RFC 6750).
		AuthorizationSchemes: []map[string]string{{"spec_urn": "urn:ietf:rfc:6750"}},
		// A stream receives events only about the subjects it adds.
		DefaultSubjects: "NONE",
	}
}

func (t *Transmitter) metadata(w http.ResponseWriter, r *http.Request) {
	tn, err := t.tenants.ResolveSlug(r.Context(), r.PathValue("tenant"))
	if err != nil || tn.Status == store.TenantDeleted {
		httpx.WriteProblem(w, r, httpx.NewProblem(http.StatusNotFound, "not-found", "Not found", "No such tenant."))
		return
	}
	w.Header().Set("Access-Control-Allow-Origin", "*")
	httpx.WriteJSON(w, http.StatusOK, t.MetadataFor(tn.Slug))
}

// call is an authorised request: its tenant and the key's actor.
type call struct {
	tenant *store.Tenant
	actor  events.Actor
}

var (
	errUnauthenticated = httpx.NewProblem(http.StatusUnauthorized, "unauthenticated", "Unauthenticated",
		"Send a management API key with scope ssf as a bearer token.")
	errForbidden = httpx.NewProblem(http.StatusForbidden, "forbidden", "Forbidden",
		"The API key lacks the ssf scope for this tenant.")
	errSuspended = httpx.NewProblem(http.StatusForbidden, "tenant-suspended", "Tenant suspended",
		"The tenant is suspended: its streams can be read, not changed.")
)

// handle authorises the request (a key of the path's tenant with scope
// ssf or admin, or a platform key with admin) and maps fn's error once.
func (t *Transmitter) handle(fn func(w http.ResponseWriter, r *http.Request, c *call) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := t.authorize(r)
		if err == nil {
			err = fn(w, r, c)
		}
		if err != nil {
			t.writeError(w, r, err)
		}
	}
}

func (t *Transmitter) authorize(r *http.Request) (*call, error) {
	token, ok := httpx.BearerToken(r)
	if !ok {
		return nil, errUnauthenticated
	}
	key, err := t.tenants.AuthenticateAPIKey(r.Context(), token)
	if errors.Is(err, tenancy.ErrBadToken) {
		return nil, errUnauthenticated
	}
	if err != nil {
		return nil, err
	}
	tn, err := t.tenants.ResolveSlug(r.Context(), r.PathValue("tenant"))
	if err != nil {
		return nil, err
	}
	platform := key.Tenant == store.PlatformTenant
	// A key of another tenant finds this one absent, as in the API.
	if (!platform && key.Tenant != tn.ID) || tn.Status == store.TenantDeleted {
		return nil, store.ErrNotFound
	}
	if !slices.Contains(key.Scopes, tenancy.ScopeAdmin) && (platform || !slices.Contains(key.Scopes, tenancy.ScopeSSF)) {
		return nil, errForbidden
	}
	if tn.Status == store.TenantSuspended && r.Method != http.MethodGet && !strings.Contains(r.URL.Path, pathPoll) {
		return nil, errSuspended
	}
	return &call{tenant: tn, actor: events.Actor{Type: "apikey", ID: key.ID, ClientIP: httpx.ClientIP(r),
		RequestID: httpx.RequestID(r.Context())}}, nil
}

func (t *Transmitter) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var (
		prob *httpx.Problem
		verr *valid.Error
	)
	switch {
	case errors.As(err, &prob):
	case errors.As(err, &verr):
		prob = httpx.NewProblem(http.StatusBadRequest, "validation", "Invalid input", verr.Error())
		prob.Errors, prob.Field = verr.Fields, verr.Fields[0].Field
	case errors.Is(err, store.ErrNotFound):
		prob = httpx.NewProblem(http.StatusNotFound, "not-found", "Not found", "No such stream.")
	case errors.Is(err, store.ErrPrecondition), errors.Is(err, store.ErrConflict):
		prob = httpx.NewProblem(http.StatusConflict, "conflict", "Conflict", "The stream changed meanwhile; try again.")
	case errors.Is(err, context.Canceled):
		return
	default:
		t.log.ErrorContext(r.Context(), "ssf: internal error", "err", err,
			"request_id", httpx.RequestID(r.Context()), "route", r.Pattern)
		prob = httpx.NewProblem(http.StatusInternalServerError, "internal", "Internal error",
			"The server could not complete the request.")
	}
	if prob.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse"`)
	}
	httpx.WriteProblem(w, r, prob)
}
