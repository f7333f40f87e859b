package flow

import (
	"context"
	"errors"

	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// ErrNotLegacy is Legacy's answer for an account no legacy store is asked
// about: the local password check decides.
var ErrNotLegacy = errors.New("flow: not a legacy account")

// Legacy checks passwords at a legacy user store (internal/legacy): the
// lazy migration of accounts not yet here, and the bind-through of
// accounts a directory keeps owning.
type Legacy interface {
	// Authenticate answers the active user when the legacy store that owns
	// identifier accepts password, having created or completed the
	// account; ErrNotLegacy when no legacy store is asked about
	// identifier; directory.ErrInvalidCredentials for a wrong password, a
	// disabled account or a legacy store that failed (audited there).
	Authenticate(ctx context.Context, tenant store.TenantID, identifier, password string) (*store.User, error)
}

// authenticate is the password check inside CheckPasswordThen's throttle:
// the legacy store first for the accounts it owns, else the local hash. A
// refusal by the legacy store costs one dummy hash on top, so it takes at
// least what a local refusal takes.
func (s *Service) authenticate(ctx context.Context, tenant store.TenantID, identifier, password string) (*store.User, error) {
	if s.Legacy != nil {
		u, err := s.Legacy.Authenticate(ctx, tenant, identifier, password)
		switch {
		case errors.Is(err, directory.ErrInvalidCredentials):
			s.Directory.Hasher.VerifyDummy(password)
			return nil, err
		case !errors.Is(err, ErrNotLegacy):
			return u, err
		}
	}
	return s.Directory.Authenticate(ctx, tenant, identifier, password)
}
