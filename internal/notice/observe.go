package notice

import (
	"context"

	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Observe turns audited changes into notices to the user they concern,
// inside the change's transaction:
//   - mfa.factor.add: a passkey (webauthn) or another second factor added;
//   - mfa.factor.remove and mfa.reset: second factors removed;
//   - mfa.recovery_codes.regenerate: new recovery codes;
//   - identity.link: an upstream identity linked;
//   - user.update of the status by someone other than the user: the
//     account disabled or enabled;
//   - elevation.approve and elevation.self_activate: a privileged role
//     granted.
func (s *Service) Observe(ctx context.Context, repos store.Repos, actor events.Actor, e events.Entry) error {
	kind, userID := "", e.TargetID
	switch e.Action {
	case "mfa.factor.add":
		kind = FactorAdded
		if f, ok := e.Changes["factor"].After.(map[string]any); ok && f["kind"] == store.FactorWebAuthn {
			kind = PasskeyAdded
			// A passkey added after an offer is the offer's uptake.
			if err := repos.SelfService().NoticePrefs().NudgeUptake(ctx, e.Tenant, e.TargetID, s.now()); err != nil {
				return err
			}
		}
	case "mfa.factor.remove":
		kind = FactorRemoved
	case "mfa.reset":
		if n, ok := e.Changes["factors"].Before.(int); ok && n == 0 {
			return nil
		}
		kind = FactorRemoved
	case "mfa.recovery_codes.regenerate":
		kind = RecoveryCodes
	case "identity.link":
		kind = IdentityLinked
	case "user.update":
		st, ok := e.Changes["status"]
		if !ok || (actor.Type == "user" && actor.ID == e.TargetID) {
			return nil
		}
		switch {
		case st.After == string(store.UserDisabled):
			kind = AccountDisabled
		case st.After == string(store.UserActive) && st.Before == string(store.UserDisabled):
			kind = AccountEnabled
		default:
			return nil
		}
	case "elevation.approve", "elevation.self_activate":
		el, err := repos.Authz().Elevations().GetElevation(ctx, e.Tenant, e.TargetID)
		if err != nil {
			return err
		}
		kind, userID = ElevationGrant, el.UserID
	default:
		return nil
	}
	if e.TargetType != "user" && e.TargetType != "elevation" {
		return nil
	}
	return s.Notify(ctx, repos, e.Tenant, userID, kind)
}
