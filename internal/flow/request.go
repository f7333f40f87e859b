package flow

import (
	"context"
	"errors"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Origins of login requests: the front ends that start a login. Each one
// registers a handler with the hosted pages (web.Origin) that resolves a
// done request's Return into its own answer; the flow itself only stores
// the name.
const (
	OriginOIDC   = "oidc"
	OriginSAML   = "saml"
	OriginDevice = "device"
	// OriginAccount is the hosted pages' own sign-in (the account page:
	// password, email link or upstream with no protocol waiting). Its
	// request lives only while the steps run: nothing waits for its
	// return, the browser lands on the account page.
	OriginAccount = "account"
	// OriginForwardAuth: a sign-in to an application behind a reverse proxy.
	OriginForwardAuth = "forward_auth"
	// OriginCIBA: a sign-in to approve a backchannel authentication
	// request (OpenID CIBA); its approval page is its consent screen.
	OriginCIBA = "ciba"
)

// accountRequest is the login request of a sign-in to the account page.
func (s *Service) accountRequest(tenant store.TenantID) *store.LoginRequest {
	now := s.Now().UTC()
	return &store.LoginRequest{ID: uuid.Must(uuid.NewV7()).String(), Tenant: tenant, Origin: OriginAccount,
		CreatedAt: now, ExpiresAt: now.Add(pendingTTL)}
}

// ownSignIn reports whether r is the hosted pages' own sign-in (origin
// account), or a request that went away meanwhile (nil): the second-factor
// policy then applies as for no client (mfa.go gate).
func ownSignIn(r *store.LoginRequest) bool { return r == nil || r.Origin == OriginAccount }

// Start stores a new login request: ID and CreatedAt are filled when
// empty. The origin sets Origin, Return, what the login must meet and
// ExpiresAt.
func (s *Service) Start(ctx context.Context, r *store.LoginRequest) error {
	if r.ID == "" {
		r.ID = uuid.Must(uuid.NewV7()).String()
	}
	if r.CreatedAt.IsZero() {
		r.CreatedAt = s.Now().UTC()
	}
	return s.Store.Logins().CreateLoginRequest(ctx, r)
}

// Load returns a pending login request: one not done yet (a request whose
// session waits at a step after the session, such as consent, is still
// pending). ErrRequestGone otherwise.
func (s *Service) Load(ctx context.Context, tenant store.TenantID, id string) (*store.LoginRequest, error) {
	if id == "" || len(id) > 64 {
		return nil, ErrRequestGone
	}
	r, err := s.Store.Logins().GetLoginRequest(ctx, tenant, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && r.Done) {
		return nil, ErrRequestGone
	}
	return r, err
}

// Lookup returns a live login request, done or not (for the pages that
// must find its origin once the login has finished).
func (s *Service) Lookup(ctx context.Context, tenant store.TenantID, id string) (*store.LoginRequest, error) {
	if id == "" || len(id) > 64 {
		return nil, ErrRequestGone
	}
	r, err := s.Store.Logins().GetLoginRequest(ctx, tenant, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrRequestGone
	}
	return r, err
}

// Take hands a done login request to its origin, once: it must have been
// completed with sessionID (the browser that signed in). ErrRequestGone
// for every other case.
func (s *Service) Take(ctx context.Context, tenant store.TenantID, id, sessionID string) (*store.LoginRequest, error) {
	if id == "" || len(id) > 64 {
		return nil, ErrRequestGone
	}
	r, err := s.Store.Logins().ConsumeLoginRequest(ctx, tenant, id, sessionID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrRequestGone
	}
	return r, err
}

// Drop ends a login request without an answer (its origin denied it).
func (s *Service) Drop(ctx context.Context, tenant store.TenantID, id string) {
	_ = s.Store.Logins().DeleteLoginRequest(ctx, tenant, id)
}
