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
