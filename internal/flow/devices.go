package flow

import (
	"context"

	"github.com/gatehouse-id/gatehouse/internal/risk"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// What the account page shows of where a user signs in from: the recent
// completed sign-ins the risk engine keeps, and the known devices (device
// cookies), each of which the user can forget.

// KnownDevices answers the user's live known devices, most recently seen
// first.
func (s *Service) KnownDevices(ctx context.Context, tenant store.TenantID, userID string) ([]store.KnownDevice, error) {
	return s.Store.OAuth().Recognition().ListDevices(ctx, tenant, userID, s.Now())
}

// ForgetDevice forgets one known device of the user: its cookie no longer
// lets the browser past the throttle, and its next sign-in is a new
// device. store.ErrNotFound when the user has no such device.
func (s *Service) ForgetDevice(ctx context.Context, tenant store.TenantID, userID, id string) error {
	if id == "" || len(id) > 64 {
		return store.ErrNotFound
	}
	return s.Store.OAuth().Recognition().ForgetDevice(ctx, tenant, userID, id)
}

// RecentSignIns answers the user's recent completed sign-ins, newest
// first (none without the risk engine).
func (s *Service) RecentSignIns(ctx context.Context, tenant store.TenantID, userID string, limit int) ([]risk.SignIn, error) {
	if s.Risk == nil {
		return nil, nil
	}
	return s.Risk.SignIns(ctx, tenant, userID, limit)
}
