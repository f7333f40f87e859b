package consent

import (
	"context"
	"slices"

	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// SignupPurposes answers the purposes a sign-up form shows (the newest
// version of each) and checks the names ticked: every required purpose
// must be among them, else a validation error on field purposes. Names
// that are not purposes are ignored (a stale form).
func SignupPurposes(ctx context.Context, repos store.Repos, tenant store.TenantID, ticked []string) ([]store.ConsentPurpose, error) {
	latest, err := repos.Purposes().ListPurposes(ctx, tenant, true)
	if err != nil {
		return nil, err
	}
	for _, p := range latest {
		if p.Required && !slices.Contains(ticked, p.Name) {
			return nil, valid.Field("purposes", "required", "Every required purpose must be granted to sign up.")
		}
	}
	return latest, nil
}

// RecordSignup records, in the sign-up's transaction tx, the purposes
// shown at sign-up: those ticked as granted (how signup), the others as
// skipped, so the first sign-in does not ask them again.
func (s *Service) RecordSignup(ctx context.Context, tx store.Repos, tenant store.TenantID, userID string, shown []store.ConsentPurpose, ticked []string, src Source) error {
	var ds []Decision
	for _, p := range shown {
		if slices.Contains(ticked, p.Name) {
			ds = append(ds, Decision{Purpose: p.Name, Version: p.Version, State: store.ConsentGranted})
			continue
		}
		if err := tx.Purposes().MarkAsked(ctx, tenant, userID, p.Name, p.Version, s.Now()); err != nil {
			return err
		}
	}
	src.How = HowSignup
	actor := events.Actor{Type: "user", ID: userID, ClientIP: src.IP}
	_, err := s.record(ctx, tx, actor, tenant, userID, ds, src)
	return err
}
