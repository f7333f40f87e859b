package selfservice

import (
	"context"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/notice"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// securable bounds a "this was not me" token before any lookup.
func securable(token string) bool {
	return strings.HasPrefix(token, notice.SecurePrefix) && len(token) <= 128
}

// CheckSecureLink reports whether a notice's "this was not me" link still
// works: ErrInvalidToken when not.
func (s *Service) CheckSecureLink(ctx context.Context, t *store.Tenant, token string) error {
	if !securable(token) {
		return ErrInvalidToken
	}
	_, err := s.checkToken(ctx, t, notice.PurposeSecure, token)
	return err
}

// SecureAccount spends a notice's "this was not me" link: every session of
// the user ends (with what was issued in it), every other such link and
// every remembered device and network is forgotten, and, when the user is
// active and has a password, a reset starts: it answers the reset token,
// which the page hands to the reset form at once (the link proved the
// mailbox, as a reset mail would). ErrInvalidToken for an unknown, used or
// expired link.
func (s *Service) SecureAccount(ctx context.Context, t *store.Tenant, token, ip string) (reset string, err error) {
	if !securable(token) {
		return "", ErrInvalidToken
	}
	rec, err := s.consume(ctx, t, notice.PurposeSecure, token)
	if err != nil {
		return "", err
	}
	u, err := s.Directory.GetUser(ctx, t.ID, rec.UserID)
	if err != nil {
		return "", err
	}
	var sec *secret
	if u.Status == store.UserActive && u.PasswordHash != "" {
		if sec, err = newSecret(t.ID, u.ID, store.PurposeResetPassword, "", ResetTTL, s.now(), false); err != nil {
			return "", err
		}
	}
	err = s.Store.InTx(ctx, func(tx store.Repos) error {
		tokens := tx.SelfService().OneTimeTokens()
		for _, p := range []string{notice.PurposeSecure, store.PurposeResetPassword} {
			if err := tokens.RevokeUserTokens(ctx, t.ID, u.ID, p); err != nil {
				return err
			}
		}
		if err := tx.OAuth().Recognition().Forget(ctx, t.ID, u.ID); err != nil {
			return err
		}
		if sec != nil {
			if err := tokens.CreateToken(ctx, &sec.rec); err != nil {
				return err
			}
		}
		return s.Audit.Record(ctx, tx, selfActor(u.ID, ip), events.Entry{Tenant: t.ID, Action: "user.secure",
			TargetType: "user", TargetID: u.ID, Changes: events.Changes{"notice": {After: rec.Data}}})
	})
	if err != nil {
		return "", err
	}
	if err := s.Sessions.EndAll(ctx, t.ID, u.ID); err != nil {
		return "", err
	}
	if sec == nil {
		return "", nil
	}
	return sec.token, nil
}
