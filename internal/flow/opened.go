package flow

import (
	"context"
	"errors"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// OpenedTTL is how long a login may take, from its request's creation,
// once the login page has shown it. A front end gives a new request a
// shorter first life, so requests nobody opens (an unauthenticated caller
// makes them) leave the store soon.
const OpenedTTL = 30 * time.Minute

// Opened extends r's life to OpenedTTL after its creation, when it is
// shorter: the login page calls it each time it shows r. An OIDC login's
// authorization request (r.Return) lives as long, in the same
// transaction, so the callback still finds it. ErrRequestGone when r
// ended meanwhile.
func (s *Service) Opened(ctx context.Context, tenant store.TenantID, r *store.LoginRequest) (*store.LoginRequest, error) {
	until := r.CreatedAt.Add(OpenedTTL)
	if !r.ExpiresAt.Before(until) {
		return r, nil
	}
	extend := func(exp *time.Time) {
		if exp.Before(until) {
			*exp = until
		}
	}
	var out *store.LoginRequest
	err := s.Store.InTx(ctx, func(tx store.Repos) error {
		var err error
		out, err = tx.Logins().UpdateLoginRequest(ctx, tenant, r.ID, func(x *store.LoginRequest) error {
			extend(&x.ExpiresAt)
			return nil
		})
		if err != nil || r.Origin != OriginOIDC {
			return err
		}
		_, err = tx.OAuth().AuthRequests().UpdateAuthRequest(ctx, tenant, r.Return, func(x *store.AuthRequest) error {
			extend(&x.ExpiresAt)
			return nil
		})
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrRequestGone
	}
	return out, err
}
