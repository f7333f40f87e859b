package selfservice

import (
	"context"

	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// claim runs when a mailed secret first proves the mailbox of an account
// whose email was unverified (review finding 6, pre-account hijacking):
// whoever set the account up may not have owned the address, so what they
// could have planted in the meantime goes: linked upstream identities,
// second factors and remembered devices are removed and every session
// ends. One place, whatever route planted them (account page, social
// login, passkeys, later features), so no route can be missed.
func (s *Service) claim(ctx context.Context, t *store.Tenant, userID, ip string) error {
	err := s.Store.InTx(ctx, func(tx store.Repos) error {
		idr := tx.Connections().Identities()
		ids, err := idr.ListUserIdentities(ctx, t.ID, userID)
		if err != nil {
			return err
		}
		for _, id := range ids {
			if err := idr.DeleteIdentity(ctx, t.ID, userID, id.ID); err != nil {
				return err
			}
		}
		factors, err := tx.MFA().Factors().DeleteUserFactors(ctx, t.ID, userID)
		if err != nil {
			return err
		}
		if err := tx.SelfService().OneTimeTokens().RevokeUserTokens(ctx, t.ID, userID, mfa.PurposeRemember); err != nil {
			return err
		}
		if len(ids) == 0 && factors == 0 {
			return nil
		}
		return s.Audit.Record(ctx, tx, selfActor(userID, ip), events.Entry{Tenant: t.ID, Action: "user.claimed",
			TargetType: "user", TargetID: userID,
			Changes: events.Changes{"identities": {Before: len(ids), After: 0}, "factors": {Before: factors, After: 0}}})
	})
	if err != nil {
		return err
	}
	// Back-channel logout notices for what was ended.
	return s.Sessions.EndAll(ctx, t.ID, userID)
}
