package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/oauthclient"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
)

// Dynamic client registration (RFC 7591) at {issuer}/register and client
// management (RFC 7592) at {issuer}/register/{client_id}. Who may register
// is the tenant's settings.oauth.registration: closed, initial_access_token
// (an initial access token, a tenant-admin API key, or a software
// statement of a trusted issuer) or open. The rules of a registered client
// are internal/oauthclient's (registration.go).

const registerPath = "/register"

// Registrations without a token (open mode, software statements) are
// limited per source network: anonymousRegistrations in a run of attempts
// less than anonymousWindow apart, counted in the database for every node.
const (
	anonymousRegistrations = 20
	anonymousWindow        = time.Hour
)

// anonymousRegistrationsOver counts this attempt and answers 429 (and
// true) once the source network is over the limit.
func (p *Provider) anonymousRegistrationsOver(w http.ResponseWriter, r *http.Request) bool {
	ctx := r.Context()
	n, err := p.store.OAuth().Throttle().Fail(ctx, tenantFrom(ctx).ID, "dcr:"+sourceFrom(ctx), p.now(), anonymousWindow)
	if err != nil {
		p.writeRegErr(w, r, err)
		return true
	}
	if n > anonymousRegistrations {
		w.Header().Set("Retry-After", "3600")
		regError(w, http.StatusTooManyRequests, "slow_down", "too many registrations from this network; try again later")
		return true
	}
	return false
}

// oauthSettings are the request's tenant's settings.oauth (defaults when
// they cannot be read).
func oauthSettings(ctx context.Context) oauthclient.OAuthSettings {
	t := tenantFrom(ctx)
	if t == nil {
		return oauthclient.OAuthSettings{Registration: oauthclient.RegistrationClosed}
	}
	set, _ := tenancy.ParseSettings(t.Settings)
	return set.OAuth
}

// registrationEndpoint is advertised in discovery unless registration is
// closed.
func (p *Provider) registrationEndpoint(ctx context.Context) string {
	if p.clients == nil || oauthSettings(ctx).Mode() == oauthclient.RegistrationClosed {
		return ""
	}
	return p.issuer(ctx) + registerPath
}

func (p *Provider) metadataDocumentsAllowed(ctx context.Context) bool {
	return p.clients != nil && oauthSettings(ctx).ClientIDMetadataDocuments
}

// routeRegistration serves the registration endpoints, answering true
// when the path was one of them.
func (p *Provider) routeRegistration(w http.ResponseWriter, r *http.Request) bool {
	id, sub := strings.CutPrefix(r.URL.Path, registerPath+"/")
	if r.URL.Path != registerPath && (!sub || id == "" || strings.Contains(id, "/")) {
		return false
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	if p.clients == nil {
		http.NotFound(w, r)
		return true
	}
	switch {
	case !sub && r.Method == http.MethodPost:
		p.register(w, r)
	case sub && (r.Method == http.MethodGet || r.Method == http.MethodPut || r.Method == http.MethodDelete):
		p.manageRegistration(w, r, id)
	default:
		w.Header().Set("Allow", map[bool]string{false: "POST", true: "GET, PUT, DELETE"}[sub])
		regError(w, http.StatusMethodNotAllowed, "invalid_request", "method not allowed")
	}
	return true
}

func regError(w http.ResponseWriter, status int, code, desc string) {
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	}
	httpx.WriteJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

// readMetadata decodes a JSON registration request body.
func readMetadata(w http.ResponseWriter, r *http.Request) (oauthclient.Metadata, map[string]json.RawMessage, bool) {
	var md oauthclient.Metadata
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		regError(w, http.StatusUnsupportedMediaType, "invalid_request", "the body must be application/json")
		return md, nil, false
	}
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(&raw); err != nil || dec.More() {
		regError(w, http.StatusBadRequest, "invalid_client_metadata", "the body is not a JSON object")
		return md, nil, false
	}
	b, _ := json.Marshal(raw)
	if err := json.Unmarshal(b, &md); err != nil {
		regError(w, http.StatusBadRequest, "invalid_client_metadata", "a member has the wrong type")
		return md, nil, false
	}
	return md, raw, true
}

// register creates a client (RFC 7591 3).
func (p *Provider) register(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	t := tenantFrom(ctx)
	set := oauthSettings(ctx)
	if set.Mode() == oauthclient.RegistrationClosed {
		regError(w, http.StatusForbidden, "access_denied", "client registration is closed for this tenant")
		return
	}
	md, _, ok := readMetadata(w, r)
	if !ok {
		return
	}
	var statement map[string]any
	actor := events.Actor{Type: "registration", ID: "open", ClientIP: sourceFrom(ctx)}
	if md.SoftwareStatement != "" {
		var err error
		statement, err = oauthclient.VerifySoftwareStatement(md.SoftwareStatement, set.SoftwareStatementIssuers, p.now())
		if err != nil {
			p.writeRegErr(w, r, err)
			return
		}
		actor.ID = "software_statement"
	}
	initial := ""
	if token, bearer := httpx.BearerToken(r); bearer {
		switch {
		case strings.HasPrefix(token, oauthclient.InitialTokenPrefix):
			initial, actor.ID = token, "initial_access_token"
		case strings.HasPrefix(token, tenancy.TokenPrefix):
			k, err := p.tenants.AuthenticateAPIKey(ctx, token)
			if err != nil || k.Tenant != t.ID || !slices.Contains(k.Scopes, tenancy.ScopeAdmin) {
				regError(w, http.StatusUnauthorized, "invalid_token", "the initial access token is invalid, expired or spent")
				return
			}
			actor = events.Actor{Type: "apikey", ID: k.ID, ClientIP: sourceFrom(ctx)}
		default:
			regError(w, http.StatusUnauthorized, "invalid_token", "the initial access token is invalid, expired or spent")
			return
		}
	} else if set.Mode() == oauthclient.RegistrationInitialToken && statement == nil {
		regError(w, http.StatusUnauthorized, "invalid_token", "an initial access token is required")
		return
	}
	if actor.Type == "registration" && initial == "" && p.anonymousRegistrationsOver(w, r) {
		return
	}
	reg, err := p.clients.Register(ctx, actor, t.ID, md, statement, set.RegistrationPolicy, initial)
	if err != nil {
		p.writeRegErr(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusCreated, p.registrationJSON(ctx, reg))
}

// manageRegistration reads, replaces or deletes a registered client
// (RFC 7592 2), authorised by its registration access token. A wrong
// token, a client not registered dynamically and an unknown client get
// the same 401 (RFC 7592 3: no enumeration).
func (p *Provider) manageRegistration(w http.ResponseWriter, r *http.Request, id string) {
	ctx := r.Context()
	t := tenantFrom(ctx)
	token, _ := httpx.BearerToken(r)
	actor := events.Actor{Type: "registration", ID: id, ClientIP: sourceFrom(ctx)}
	switch r.Method {
	case http.MethodGet:
		cl, md, err := p.clients.Registration(ctx, t.ID, id, token)
		if err != nil {
			p.writeRegErr(w, r, err)
			return
		}
		httpx.WriteJSON(w, http.StatusOK, p.registrationJSON(ctx, &oauthclient.Registered{Client: cl, Metadata: md}))
	case http.MethodPut:
		if _, _, err := p.clients.Registration(ctx, t.ID, id, token); err != nil {
			p.writeRegErr(w, r, err)
			return
		}
		md, raw, ok := readMetadata(w, r)
		if !ok {
			return
		}
		var bodyID string
		_ = json.Unmarshal(raw["client_id"], &bodyID)
		if bodyID != id {
			regError(w, http.StatusBadRequest, "invalid_client_metadata", "client_id must be the registered client's")
			return
		}
		if md.SoftwareStatement != "" {
			regError(w, http.StatusBadRequest, "invalid_client_metadata", "a software statement is accepted at registration only")
			return
		}
		reg, err := p.clients.UpdateRegistration(ctx, actor, t.ID, id, token, md, oauthSettings(ctx).RegistrationPolicy)
		if err != nil {
			p.writeRegErr(w, r, err)
			return
		}
		httpx.WriteJSON(w, http.StatusOK, p.registrationJSON(ctx, reg))
	case http.MethodDelete:
		if err := p.clients.DeleteRegistration(ctx, actor, t.ID, id, token); err != nil {
			p.writeRegErr(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

func (p *Provider) writeRegErr(w http.ResponseWriter, r *http.Request, err error) {
	var re *oauthclient.RegistrationError
	switch {
	case errors.As(err, &re):
		regError(w, http.StatusBadRequest, re.Code, re.Description)
	case errors.Is(err, oauthclient.ErrRegistrationToken):
		regError(w, http.StatusUnauthorized, "invalid_token", "the token is invalid, expired or spent")
	default:
		if be, ok := busyError(r.Context(), err); ok { // busy.go
			w.Header().Set("Retry-After", "1")
			regError(w, http.StatusServiceUnavailable, string(be.ErrorType), be.Description)
			return
		}
		p.log.ErrorContext(r.Context(), "oidc: registration", "err", err)
		regError(w, http.StatusInternalServerError, "server_error", "internal error")
	}
}

// registrationJSON is RFC 7591 3.2.1's response: the metadata as
// registered, with the client's credentials and management endpoint.
func (p *Provider) registrationJSON(ctx context.Context, reg *oauthclient.Registered) map[string]any {
	var out map[string]any
	b, _ := json.Marshal(reg.Metadata) // a struct of strings, lists and raw JSON always marshals
	_ = json.Unmarshal(b, &out)
	c := reg.Client
	out["client_id"] = c.ID
	out["client_id_issued_at"] = c.CreatedAt.Unix()
	out["client_name"] = c.Name
	out["grant_types"] = c.GrantTypes
	out["token_endpoint_auth_method"] = c.AuthMethod
	out["registration_client_uri"] = p.issuer(ctx) + registerPath + "/" + c.ID
	if reg.Secret != "" {
		out["client_secret"] = reg.Secret
		out["client_secret_expires_at"] = 0
	}
	if reg.RegistrationToken != "" {
		out["registration_access_token"] = reg.RegistrationToken
	}
	return out
}
