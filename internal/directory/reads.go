package directory

import (
	"context"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// read runs a lag-tolerant read (a list or search) on the read replica
// when there is a healthy one, else on the primary. Sign-in, token and
// session paths never come here: they read s.Store, the primary.
func (s *Service) read(ctx context.Context, fn func(store.Repos) error) error {
	if s.Reads == nil {
		return fn(s.Store)
	}
	return s.Reads.Do(ctx, fn)
}

// Search is the filtered directory search (store.DirSearch) of the LDAP
// interface, run as a lag-tolerant read: on the read replica when there
// is a healthy one, else on the primary.
func (s *Service) Search() store.DirSearch { return readSearch{s} }

type readSearch struct{ s *Service }

func (r readSearch) FilterUsers(ctx context.Context, tenant store.TenantID, f store.DirFilter, p store.Page) ([]store.User, error) {
	var us []store.User
	err := r.s.read(ctx, func(repos store.Repos) (err error) {
		us, err = repos.Directory().FilterUsers(ctx, tenant, f, p)
		return err
	})
	return us, err
}

func (r readSearch) FilterGroups(ctx context.Context, tenant store.TenantID, f store.DirFilter, p store.Page) ([]store.Group, error) {
	var gs []store.Group
	err := r.s.read(ctx, func(repos store.Repos) (err error) {
		gs, err = repos.Directory().FilterGroups(ctx, tenant, f, p)
		return err
	})
	return gs, err
}
