package userimport

import (
	"context"
	"encoding/json"

	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
)

// checkProfile validates a record's attributes against the tenant's
// profile schema, read once per run: an imported value must fit its field
// as an edit through the API would.
func (w *writer) checkProfile(ctx context.Context, attrs json.RawMessage) error {
	if w.schema == nil {
		t, err := w.im.Store.Tenants().GetTenant(ctx, w.spec.Tenant)
		if err != nil {
			return err
		}
		sc, err := tenancy.ProfileSchemaOf(t)
		if err != nil {
			return err
		}
		w.schema = &sc
	}
	return directory.CheckProfile(*w.schema, attrs)
}
