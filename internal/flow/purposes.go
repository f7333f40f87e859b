package flow

import (
	"context"
	"errors"

	purpose "github.com/gatehouse-id/gatehouse/internal/consent"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// ErrPurposesAsked: the login waits while the user answers the tenant's
// consent purposes that are new to them (a new purpose, or a new version
// of one); the page /purposes lists them, records the answers
// (internal/consent) and calls Complete to go on.
var ErrPurposesAsked = errors.New("flow: consent purposes wait for the user")

// purposes is the step that asks the tenant's consent purposes, after the
// session, for every login of an application (not the account page's own
// sign-in, where the privacy section shows them). Optional purposes may
// be declined or skipped; a required one must be granted to go on
// (consent.Pending says what is left).
type purposes struct{ s *Service }

func (purposes) Name() string { return "purposes" }

func (p purposes) Needed(ctx context.Context, st *State) (bool, error) {
	if st.Request == nil || st.Request.Origin == OriginAccount {
		return false, nil
	}
	ask, err := purpose.Pending(ctx, p.s.Store, st.Tenant, st.User.ID)
	return len(ask) > 0, err
}

func (purposes) Handle(context.Context, *State) error { return ErrPurposesAsked }

// PendingPurposes answers the purposes the user of a request waiting at
// the purposes step must still answer.
func (s *Service) PendingPurposes(ctx context.Context, tenant store.TenantID, userID string) ([]store.ConsentPurpose, error) {
	return purpose.Pending(ctx, s.Store, tenant, userID)
}
