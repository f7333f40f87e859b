// Package scim is the SCIM 2.0 provisioning server (RFC 7643, RFC 7644) of
// every tenant, at /t/{tenant}/scim/v2. Callers authenticate with a tenant
// API key holding the scim scope. Resources map onto directory users and
// groups, and every write goes through the directory service, so SCIM
// writes are validated, audited and evented exactly like the REST API's.
// Filters are translated to SQL by the store (internal/store/scimfilter
// parses them); PATCH paths with filters are evaluated here on the one
// resource being changed.
package scim

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
)

// ContentType is SCIM's media type; application/json is accepted too.
const ContentType = "application/scim+json"

// Schema URNs.
const (
	URIUser       = "urn:ietf:params:scim:schemas:core:2.0:User"
	URIGroup      = "urn:ietf:params:scim:schemas:core:2.0:Group"
	URIEnterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	URIList       = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	URIPatch      = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	URIError      = "urn:ietf:params:scim:api:messages:2.0:Error"
)

// Server serves SCIM for every tenant.
type Server struct {
	Tenants   *tenancy.Service
	Directory *directory.Service
	Log       *slog.Logger
	// PublicURL prefixes meta.location.
	PublicURL string
	// MaxBodyBytes bounds request bodies (default 1 MiB).
	MaxBodyBytes int64
}

// req is an authenticated SCIM request in one tenant.
type req struct {
	*http.Request
	tenant *store.Tenant
	actor  events.Actor
	base   string // {public}/t/{slug}/scim/v2
}

type handler func(w http.ResponseWriter, r *req) error

// Mount registers the SCIM routes.
func (s *Server) Mount(mux *http.ServeMux) {
	const b = "/t/{tenant}/scim/v2"
	listUsers, searchUsers := listHandlers(s.users)
	listGroups, searchGroups := listHandlers(s.groups)
	for _, rt := range []struct {
		pattern string
		h       handler
	}{
		{"GET " + b + "/ServiceProviderConfig", s.serviceProviderConfig},
		{"GET " + b + "/ResourceTypes", s.resourceTypes},
		{"GET " + b + "/ResourceTypes/{id}", s.resourceType},
		{"GET " + b + "/Schemas", s.schemas},
		{"GET " + b + "/Schemas/{id}", s.schema},
		{"GET " + b + "/Users", listUsers},
		{"POST " + b + "/Users/.search", searchUsers},
		{"POST " + b + "/Users", s.createUser},
		{"GET " + b + "/Users/{id}", s.getUser},
		{"PUT " + b + "/Users/{id}", s.putUser},
		{"PATCH " + b + "/Users/{id}", s.patchUser},
		{"DELETE " + b + "/Users/{id}", s.deleteUser},
		{"GET " + b + "/Groups", listGroups},
		{"POST " + b + "/Groups/.search", searchGroups},
		{"POST " + b + "/Groups", s.createGroup},
		{"GET " + b + "/Groups/{id}", s.getGroup},
		{"PUT " + b + "/Groups/{id}", s.putGroup},
		{"PATCH " + b + "/Groups/{id}", s.patchGroup},
		{"DELETE " + b + "/Groups/{id}", s.deleteGroup},
	} {
		mux.Handle(rt.pattern, s.wrap(rt.h))
	}
	// Anything else under the base is a SCIM 404, not the OpenID
	// provider's.
	mux.Handle(b+"/", s.wrap(func(http.ResponseWriter, *req) error {
		return &Error{Status: http.StatusNotFound, Detail: "No such SCIM endpoint."}
	}))
}

var errUnauthorized = &Error{Status: http.StatusUnauthorized,
	Detail: "Send a tenant API key with the scim scope as a Bearer token."}

func (s *Server) wrap(h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rq, err := s.authenticate(r)
		if err == nil {
			max := s.MaxBodyBytes
			if max <= 0 {
				max = 1 << 20
			}
			r.Body = http.MaxBytesReader(w, r.Body, max)
			err = h(w, rq)
		}
		if err != nil {
			s.writeError(w, r, err)
		}
	})
}

// authenticate answers 401 alike for a missing, unknown, expired or
// revoked key, a key without the scim scope, a platform key, a key of
// another tenant and an unknown tenant: a caller learns nothing else.
func (s *Server) authenticate(r *http.Request) (*req, error) {
	token, ok := httpx.BearerToken(r)
	if !ok {
		return nil, errUnauthorized
	}
	key, err := s.Tenants.AuthenticateAPIKey(r.Context(), token)
	if errors.Is(err, tenancy.ErrBadToken) {
		return nil, errUnauthorized
	}
	if err != nil {
		return nil, err
	}
	if key.Tenant == store.PlatformTenant || !slices.Contains(key.Scopes, tenancy.ScopeSCIM) {
		return nil, errUnauthorized
	}
	// The tenant the server resolved from the path (httpx.ResolveTenants).
	t, ok := httpx.Tenant(r)
	if !ok || t.ID != key.Tenant {
		return nil, errUnauthorized
	}
	return &req{Request: r, tenant: t,
		actor: events.Actor{Type: "apikey", ID: key.ID, ClientIP: httpx.ClientIP(r), RequestID: httpx.RequestID(r.Context())},
		base:  httpx.TenantBase(r.Context(), s.PublicURL, t.Slug) + "/scim/v2"}, nil
}

// decode reads a JSON body into v; the content type must be JSON.
func decode(r *req, v any) error {
	ct := strings.TrimSpace(strings.Split(r.Header.Get("Content-Type"), ";")[0])
	if ct != ContentType && ct != "application/json" {
		return &Error{Status: http.StatusUnsupportedMediaType, Detail: "Send application/scim+json."}
	}
	dec := json.NewDecoder(r.Body)
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return &Error{Status: http.StatusRequestEntityTooLarge, Detail: "The body is too large."}
		}
		return &Error{Status: http.StatusBadRequest, Type: "invalidSyntax", Detail: "The body is not valid JSON."}
	}
	if _, err := dec.Token(); err != io.EOF {
		return &Error{Status: http.StatusBadRequest, Type: "invalidSyntax", Detail: "The body holds more than one JSON value."}
	}
	return nil
}

// decodeResource reads a resource body and normalizes it under def.
func decodeResource(r *req, def *attrDef) (map[string]any, error) {
	var body map[string]any
	if err := decode(r, &body); err != nil {
		return nil, err
	}
	n, err := normalize(def, body, "")
	if err != nil {
		return nil, err
	}
	return n.(map[string]any), nil
}

// write sends a SCIM resource or message.
func write(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", ContentType)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
