package account

import (
	"context"
	"errors"
	"net/url"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/mail"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// PurposeRevertEmail is the one-time token purpose of the link, mailed to
// the previous address after an email change, that undoes the change.
const PurposeRevertEmail = "revert_email"

// RevertTTL is how long the link undoing an email change works.
const RevertTTL = 7 * 24 * time.Hour

// revertPrefix marks revert link tokens for secret scanners.
const revertPrefix = "gh_er_"

// ErrNoticeFailed: the change was made, but its notice could not be
// queued (the cause is wrapped).
var ErrNoticeFailed = errors.New("account: the change was made but its notice was not queued")

// noticeEmailChanged mints the link that undoes the change from before to
// u's current address (only its hash is stored, bound to the user, with
// the previous address) and mails it to the previous address, in the
// user's language, in one transaction.
func (s *Service) noticeEmailChanged(ctx context.Context, tenant store.TenantID, u, before *store.User) error {
	t, err := s.Store.Tenants().GetTenant(ctx, tenant)
	if err != nil {
		return err
	}
	token, err := linkToken(revertPrefix)
	if err != nil {
		return err
	}
	now := s.now()
	return s.Store.InTx(ctx, func(tx store.Repos) error {
		if err := tx.SelfService().OneTimeTokens().CreateToken(ctx, &store.OneTimeToken{ID: uuid.Must(uuid.NewV7()).String(),
			Tenant: tenant, Purpose: PurposeRevertEmail, UserID: u.ID, Hash: hashToken(token), Data: before.Email,
			CreatedAt: now, ExpiresAt: now.Add(RevertTTL)}); err != nil {
			return err
		}
		return s.Mailer.SendNotice(ctx, tx, t, u.ID, mail.KindEmailChanged, before.Email, u.Locale,
			s.PublicURL+"/t/"+t.Slug+"/email/revert?token="+url.QueryEscape(token), RevertTTL)
	})
}

// revertable bounds a revert link token before any lookup.
func revertable(token string) bool {
	return len(token) > len(revertPrefix) && len(token) <= 128
}

// CheckRevertLink reports whether a link undoing an email change still
// works. ErrBadLink when not.
func (s *Service) CheckRevertLink(ctx context.Context, tenant store.TenantID, token string) error {
	if !revertable(token) {
		return ErrBadLink
	}
	_, err := s.Store.SelfService().OneTimeTokens().PeekToken(ctx, tenant, PurposeRevertEmail, hashToken(token))
	if errors.Is(err, store.ErrNotFound) {
		return ErrBadLink
	}
	return err
}

// RevertEmailChange spends a link mailed to a previous address and puts
// that address back, verified (the link proved the mailbox). Every other
// revert link and pending email change of the user dies, and every
// session ends with what was issued in it. ErrBadLink for an unknown,
// used or expired link; ErrEmailTaken when another account has the
// address now.
func (s *Service) RevertEmailChange(ctx context.Context, ip, requestID string, tenant store.TenantID, token string) (*store.User, error) {
	if !revertable(token) {
		return nil, ErrBadLink
	}
	ots := s.Store.SelfService().OneTimeTokens()
	tok, err := ots.ConsumeToken(ctx, tenant, PurposeRevertEmail, hashToken(token))
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrBadLink
	}
	if err != nil {
		return nil, err
	}
	actor := Actor(tok.UserID, ip, requestID)
	u, err := s.setVerifiedEmail(ctx, actor, tenant, tok.UserID, tok.Data)
	if err != nil {
		return nil, err
	}
	err = s.Store.InTx(ctx, func(tx store.Repos) error {
		for _, p := range []string{PurposeRevertEmail, PurposeChangeEmail} {
			if err := tx.SelfService().OneTimeTokens().RevokeUserTokens(ctx, tenant, u.ID, p); err != nil {
				return err
			}
		}
		return s.Audit.Record(ctx, tx, actor, events.Entry{Tenant: tenant, Action: "user.email_revert",
			TargetType: "user", TargetID: u.ID, Changes: events.Changes{"email": {After: u.Email}}})
	})
	if err != nil {
		return nil, err
	}
	if err := s.Sessions.EndAll(ctx, tenant, u.ID); err != nil {
		return nil, err
	}
	return u, nil
}

// noticePasswordChanged mails the user a notice that the password
// changed, with a link to reset it.
func (s *Service) noticePasswordChanged(ctx context.Context, tenant store.TenantID, userID string) error {
	t, err := s.Store.Tenants().GetTenant(ctx, tenant)
	if err != nil {
		return err
	}
	u, err := s.Store.Users().GetUser(ctx, tenant, userID)
	if err != nil {
		return err
	}
	return s.Store.InTx(ctx, func(tx store.Repos) error {
		return s.Mailer.SendNotice(ctx, tx, t, u.ID, mail.KindPasswordChanged, u.Email, u.Locale,
			s.PublicURL+"/t/"+t.Slug+"/password/forgot", 0)
	})
}
