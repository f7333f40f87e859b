package directory

import (
	"context"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// FilterUsers answers a SCIM list request, filtered and sorted by the
// database. Errors: store.ErrBadFilter for a filter it cannot run.
func (s *Service) FilterUsers(ctx context.Context, tenant store.TenantID, q store.SCIMQuery) ([]store.User, int64, error) {
	var (
		us []store.User
		n  int64
	)
	err := s.read(ctx, func(r store.Repos) (err error) {
		us, n, err = r.Users().FilterUsers(ctx, tenant, q)
		return err
	})
	return us, n, err
}

// FilterGroups is FilterUsers for groups.
func (s *Service) FilterGroups(ctx context.Context, tenant store.TenantID, q store.SCIMQuery) ([]store.Group, int64, error) {
	var (
		gs []store.Group
		n  int64
	)
	err := s.read(ctx, func(r store.Repos) (err error) {
		gs, n, err = r.Groups().FilterGroups(ctx, tenant, q)
		return err
	})
	return gs, n, err
}
