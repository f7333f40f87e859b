package store

import (
	"context"
	"time"
)

// LoginRequest is the login flow's own request: one sign-in on its way
// through the hosted pages, whichever front end asked for it. Origin names
// that front end and Return is its reference to what it answers once the
// login is done; the flow never reads Return, the origin's registered
// handler does. The rest is what the login must meet (policy, prompt,
// max_age) and, once the user is known, who signed in and how.
type LoginRequest struct {
	ID     string
	Tenant TenantID
	// Origin is the front end that started the login ("oidc", "saml",
	// "device", "account", ...).
	Origin string
	// Return is the origin's reference (its own request's id, a device
	// user code); opaque to the flow.
	Return string
	// ClientID is the OAuth client the login is for (MFA policy, consent,
	// the name on the page), or "".
	ClientID string
	// SPID is the SAML service provider the login is for, or "".
	SPID string
	// ReturnURI is where the protocol's answer goes (a redirect URI, an
	// ACS URL), so the pages may post towards it; "" when none.
	ReturnURI string
	Scopes    []string
	Prompt    []string
	MaxAge    *time.Duration
	LoginHint string
	UILocales []string
	ACRValues []string
	// Set once the user has signed in. SessionID is set (Done false) while
	// a step after the session (consent) waits for the user; Done when
	// every step has passed.
	UserID    string
	SessionID string
	AuthTime  time.Time
	AMR       []string
	Done      bool
	CreatedAt time.Time
	ExpiresAt time.Time
}

// LoginRequests stores the flow's login requests.
type LoginRequests interface {
	// CreateLoginRequest inserts r (CreatedAt now when unset); ErrConflict
	// when the id is taken in the tenant.
	CreateLoginRequest(ctx context.Context, r *LoginRequest) error
	// GetLoginRequest: ErrNotFound also once it has expired.
	GetLoginRequest(ctx context.Context, tenant TenantID, id string) (*LoginRequest, error)
	// UpdateLoginRequest is the closure update of doc.go; ErrNotFound also
	// once it has expired.
	UpdateLoginRequest(ctx context.Context, tenant TenantID, id string, fn func(*LoginRequest) error) (*LoginRequest, error)
	// ConsumeLoginRequest deletes a done, unexpired request completed with
	// session sessionID and answers it, in one statement: exactly one
	// caller wins; ErrNotFound for every other case (unknown, expired, not
	// done, another session, consumed before).
	ConsumeLoginRequest(ctx context.Context, tenant TenantID, id, sessionID string) (*LoginRequest, error)
	// DeleteLoginRequest deletes it, expired or not; ErrNotFound when
	// there is none.
	DeleteLoginRequest(ctx context.Context, tenant TenantID, id string) error
	// DeleteExpiredLoginRequests removes, in every tenant, the requests
	// whose ExpiresAt is before t (the periodic upkeep calls it); it
	// answers how many it removed.
	DeleteExpiredLoginRequests(ctx context.Context, before time.Time) (int64, error)
}
