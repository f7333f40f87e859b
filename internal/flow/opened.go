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

// Opened extends ar's life to OpenedTTL after its creation, when it is
// shorter: the login page calls it each time it shows ar. ErrRequestGone
// when ar ended meanwhile.
func (s *Service) Opened(ctx context.Context, tenant store.TenantID, ar *store.AuthRequest) (*store.AuthRequest, error) {
	until := ar.CreatedAt.Add(OpenedTTL)
	if !ar.ExpiresAt.Before(until) {
		return ar, nil
	}
	out, err := s.Store.OAuth().AuthRequests().UpdateAuthRequest(ctx, tenant, ar.ID, func(x *store.AuthRequest) error {
		if x.ExpiresAt.Before(until) {
			x.ExpiresAt = until
		}
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrRequestGone
	}
	return out, err
}
