package store

import (
	"context"
	"time"
)

// Hook triggers: the points of the login and registration flow where a
// synchronous hook is called.
const (
	HookPreRegistration = "pre_registration"
	HookPostLogin       = "post_login"
	HookPreToken        = "pre_token"
)

// Hook failure policies: what a hook that times out or fails decides.
const (
	HookFailAllow = "allow"
	HookFailDeny  = "deny"
)

// Hook is a tenant's synchronous hook: Gatehouse POSTs a signed
// description of the login or registration in flight to URL and follows
// the answer. A tenant has at most one hook per trigger.
type Hook struct {
	ID      string // UUIDv7
	Tenant  TenantID
	Trigger string // HookPreRegistration, HookPostLogin or HookPreToken
	URL     string
	// TimeoutMS bounds the call, in milliseconds.
	TimeoutMS int
	OnFailure string // HookFailAllow or HookFailDeny
	// AllowedClaims are the claim names a pre_token answer may add.
	AllowedClaims []string
	// SealedSecret is the signing secret ("whsec_..."), sealed with the
	// master key and bound to the tenant and id.
	SealedSecret []byte
	Version      int64
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Hooks stores a tenant's synchronous hooks.
//
// Beyond doc.go: CreateHook answers ErrConflict when the tenant already
// has a hook of that trigger (and for an id in use), ErrNotFound when the
// tenant does not exist. UpdateHook may not change the trigger.
type Hooks interface {
	CreateHook(ctx context.Context, h *Hook) error
	GetHook(ctx context.Context, tenant TenantID, id string) (*Hook, error)
	// HookFor answers the tenant's hook of trigger, ErrNotFound for none.
	HookFor(ctx context.Context, tenant TenantID, trigger string) (*Hook, error)
	ListHooks(ctx context.Context, tenant TenantID, p Page) ([]Hook, error)
	UpdateHook(ctx context.Context, tenant TenantID, id string, fn func(*Hook) error) (*Hook, error)
	DeleteHook(ctx context.Context, tenant TenantID, id string) error
}
