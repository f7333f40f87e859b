package selfservice

import (
	"context"

	"github.com/gatehouse-id/gatehouse/internal/risk"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// assess runs the risk engine on a sign-up or a reset request (the
// network, bot and breached-password signals; there is no history to
// compare a new account with) and audits it as signup.risk or reset.risk.
// It reports whether the tenant's thresholds block the attempt: the caller
// then answers as for any other attempt and does nothing, so the answer
// tells nothing. A step_up has no second factor to ask here: the mailbox
// proof that sign-up and reset need anyway is the step.
func (s *Service) assess(ctx context.Context, t *store.Tenant, kind risk.Kind, userID, ip, password string) (bool, error) {
	if s.Risk == nil {
		return false, nil
	}
	a := risk.Attempt{Kind: kind, UserID: userID, IP: ip, UserAgent: risk.UserAgent(ctx)}
	if password != "" {
		a.PasswordKey = s.Risk.PasswordKey(password)
		breached, err := s.Risk.IsBreached(password)
		if err != nil {
			return false, err
		}
		a.Breached = breached
	}
	as, _, ok, err := s.Risk.Assess(ctx, t.ID, "", a)
	if err != nil || !ok {
		return false, err
	}
	err = s.Store.InTx(ctx, func(tx store.Repos) error {
		return s.Risk.Record(ctx, tx, selfActor(userID, ip), t.ID, kind, userID, as)
	})
	return as.Decision == risk.Block, err
}
