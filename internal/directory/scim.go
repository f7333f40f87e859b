package directory

import (
	"context"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// FilterUsers answers a SCIM list request, filtered and sorted by the
// database. Errors: store.ErrBadFilter for a filter it cannot run.
func (s *Service) FilterUsers(ctx context.Context, tenant store.TenantID, q store.SCIMQuery) ([]store.User, int64, error) {
	return s.Store.Users().FilterUsers(ctx, tenant, q)
}

// FilterGroups is FilterUsers for groups.
func (s *Service) FilterGroups(ctx context.Context, tenant store.TenantID, q store.SCIMQuery) ([]store.Group, int64, error) {
	return s.Store.Groups().FilterGroups(ctx, tenant, q)
}
