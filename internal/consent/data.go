package consent

import (
	"context"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// UserData is what this package holds about one person, for the data
// export (access and portability): every consent record, oldest first,
// and the communication preferences.
type UserData struct {
	Records     []Record     `json:"consent_records"`
	Preferences *Preferences `json:"preferences"`
}

// ExportUser answers the user's consent records and preferences for the
// data export; store.ErrNotFound when the user does not exist.
func (s *Service) ExportUser(ctx context.Context, tenant store.TenantID, userID string) (*UserData, error) {
	recs, err := s.Records(ctx, tenant, userID)
	if err != nil {
		return nil, err
	}
	prefs, err := s.Preferences(ctx, tenant, userID)
	if err != nil {
		return nil, err
	}
	return &UserData{Records: recs, Preferences: prefs}, nil
}

// EraseUser deletes the user's consent records, skipped asks and
// preferences through repos (the erasure's transaction), keeping only an
// anonymous count per purpose, version and state (ConsentCounts), the
// proof that consent was collected. Run it before the user row is
// deleted: the rows would otherwise go with the user (ON DELETE CASCADE)
// without being counted. It answers how many records were erased.
func (s *Service) EraseUser(ctx context.Context, repos store.Repos, tenant store.TenantID, userID string) (int, error) {
	return repos.Purposes().EraseConsents(ctx, tenant, userID)
}

// ConsentCounts answers the tenant's anonymous counts of erased records.
func (s *Service) ConsentCounts(ctx context.Context, tenant store.TenantID) ([]store.ConsentCount, error) {
	return s.Store.Purposes().ConsentCounts(ctx, tenant)
}
