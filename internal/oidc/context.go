package oidc

import (
	"context"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

type ctxKey int

const (
	tenantKey ctxKey = iota
	sessionKey
)

// withTenant puts the tenant this request is about into ctx; the mount
// handler resolves it once from /t/{tenant}.
func withTenant(ctx context.Context, t *store.Tenant) context.Context {
	return context.WithValue(ctx, tenantKey, t)
}

// tenantFrom returns the request's tenant. The op library calls storage
// with the request's context, so every storage call knows its tenant.
func tenantFrom(ctx context.Context) *store.Tenant {
	t, _ := ctx.Value(tenantKey).(*store.Tenant)
	return t
}

// withSessionToken carries the browser's session cookie value, for logout.
func withSessionToken(ctx context.Context, token string) context.Context {
	return context.WithValue(ctx, sessionKey, token)
}

func sessionTokenFrom(ctx context.Context) string {
	s, _ := ctx.Value(sessionKey).(string)
	return s
}
