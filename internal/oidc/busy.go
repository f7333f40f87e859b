package oidc

import (
	"context"
	"errors"
	"sync/atomic"

	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// temporarilyUnavailable is OAuth's error code for a server that cannot
// answer now but may later (RFC 6749 4.1.2.1, used at the token endpoint
// too): what a store.ErrBusy becomes.
const temporarilyUnavailable = "temporarily_unavailable"

type busyKey struct{}

// withBusyFlag gives a request a flag that busyError sets; the
// protocolWriter then answers the request's error 503 with Retry-After
// instead of the status the op library chose for the error code.
func withBusyFlag(ctx context.Context) (context.Context, *atomic.Bool) {
	f := new(atomic.Bool)
	return context.WithValue(ctx, busyKey{}, f), f
}

// busyError answers err as temporarily_unavailable when it is
// store.ErrBusy (the database could not take a lock in time; nothing was
// written), flagging the request; ok is false for any other error.
func busyError(ctx context.Context, err error) (*oidc.Error, bool) {
	if !errors.Is(err, store.ErrBusy) {
		return nil, false
	}
	if f, _ := ctx.Value(busyKey{}).(*atomic.Bool); f != nil {
		f.Store(true)
	}
	return &oidc.Error{ErrorType: temporarilyUnavailable, Description: "the server is busy; retry later"}, true
}
