package selfservice

import (
	"context"
	"errors"

	"github.com/gatehouse-id/gatehouse/internal/connection"
	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// proof is how the mailbox was proven.
type proof struct {
	ip string
	// browser is the secret of the sign-up browser cookie the proof came
	// with ("" for none).
	browser string
	// setPassword says the proof itself set the password (a reset link):
	// that password is the mailbox owner's.
	setPassword bool
}

// vouches reports whether the tenant trusts the connection for the
// address emailNorm (its trust_email or domains): an identity linked
// through it stands on the tenant's trust, not on the mailbox.
func vouches(ctx context.Context, repos store.Repos, tenant store.TenantID, connID, emailNorm string) (bool, error) {
	c, err := repos.Connections().Connections().GetConnection(ctx, tenant, connID)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	st, err := connection.Parse(c.Config)
	return err == nil && st.Vouches(emailNorm), nil
}

// claim runs when a mailed secret first proves the mailbox of an account
// whose email was unverified, or verified only on an upstream's word:
// whoever set the account up may not have owned the address, so what they
// could have planted in the meantime goes: linked upstream identities,
// second factors and remembered devices are removed and every session
// ends. The password chosen at sign-up goes too, unless the proof came
// from the browser that signed up (its binding cookie) or set the
// password itself. Identities of connections the tenant trusts for the
// address stay. One place, whatever route planted them (account page,
// social login, passkeys, later features), so no route can be missed.
func (s *Service) claim(ctx context.Context, t *store.Tenant, userID string, p proof) error {
	err := s.Store.InTx(ctx, func(tx store.Repos) error {
		u, err := tx.Users().GetUser(ctx, t.ID, userID)
		if err != nil {
			return err
		}
		idr := tx.Connections().Identities()
		ids, err := idr.ListUserIdentities(ctx, t.ID, userID)
		if err != nil {
			return err
		}
		removed := 0
		for _, id := range ids {
			trusted, err := vouches(ctx, tx, t.ID, id.ConnectionID, u.EmailNorm)
			if err != nil {
				return err
			}
			if trusted {
				continue
			}
			if err := idr.DeleteIdentity(ctx, t.ID, userID, id.ID); err != nil {
				return err
			}
			removed++
		}
		factors, err := tx.MFA().Factors().DeleteUserFactors(ctx, t.ID, userID)
		if err != nil {
			return err
		}
		ots := tx.SelfService().OneTimeTokens()
		if err := ots.RevokeUserTokens(ctx, t.ID, userID, mfa.PurposeRemember); err != nil {
			return err
		}
		keep := p.setPassword
		if !keep {
			if keep, err = signedUpHere(ctx, tx, t.ID, userID, p.browser); err != nil {
				return err
			}
		}
		if err := ots.RevokeUserTokens(ctx, t.ID, userID, store.PurposeSignupBrowser); err != nil {
			return err
		}
		dropPassword := !keep && u.PasswordHash != ""
		if dropPassword || u.EmailVerifiedUpstream {
			if _, err := tx.Users().UpdateUser(ctx, t.ID, userID, func(u *store.User) error {
				if dropPassword {
					u.PasswordHash = ""
				}
				u.EmailVerifiedUpstream = false
				return nil
			}); err != nil {
				return err
			}
		}
		if removed == 0 && factors == 0 && !dropPassword {
			return nil
		}
		changes := events.Changes{"identities": {Before: len(ids), After: len(ids) - removed}, "factors": {Before: factors, After: 0}}
		if dropPassword {
			changes["password"] = events.Change{Before: "(redacted)", After: "(removed)"}
		}
		return s.Audit.Record(ctx, tx, selfActor(userID, p.ip), events.Entry{Tenant: t.ID, Action: "user.claimed",
			TargetType: "user", TargetID: userID, Changes: changes})
	})
	if err != nil {
		return err
	}
	// Back-channel logout notices for what was ended.
	return s.Sessions.EndAll(ctx, t.ID, userID)
}
