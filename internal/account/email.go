package account

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/mail"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// Mailer sends the account page's mails. selfservice.Service satisfies it
// with the self-service mail path (per-recipient hourly limit, the
// tenant's branding, templates per language, the durable sealed queue of
// internal/mail), so every mail of Gatehouse leaves the same way.
type Mailer interface {
	// SendMail renders a mail of kind (mail.KindEmailChange,
	// mail.KindEmailInUse) to one address in lang (the tenant's default
	// when empty) and queues it through repos: pass the transaction of
	// the change the mail belongs to, so both commit or neither. link is
	// the mail's action link and carries a one-time secret: never log it.
	// ttl is how long the link works. A recipient over its hourly limit
	// is silently skipped (nil), so the limit reveals nothing.
	SendMail(ctx context.Context, repos store.Repos, t *store.Tenant, kind, to, lang, link string, ttl time.Duration) error
	// SendNotice queues a notice of a change to userID's account (kind
	// mail.KindEmailChanged, mail.KindPasswordChanged) to one address
	// through repos, past the recipient's hourly limit, and audits it.
	SendNotice(ctx context.Context, repos store.Repos, t *store.Tenant, userID, kind, to, lang, link string, ttl time.Duration) error
}

// PurposeChangeEmail is the one-time token purpose of an email change.
const PurposeChangeEmail = "change_email"

// emailChangeTTL is how long the link to a new address stays valid.
const emailChangeTTL = time.Hour

// tokenPrefix marks email-change link tokens for secret scanners.
const tokenPrefix = "gh_ec_"

// linkToken is a fresh link token: prefix and 256 random bits.
func linkToken(prefix string) (string, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	return prefix + base64.RawURLEncoding.EncodeToString(raw), nil
}

func hashToken(tok string) []byte {
	h := sha256.Sum256([]byte(tok))
	return h[:]
}

// StartEmailChange checks the password, then mails a single-use link to
// the new address; the account keeps its address until the link is
// followed. An address another account has gets a notice instead of a
// link, and the caller the same answer, so the form cannot be used to find
// accounts. A newer request replaces an older one. Errors: those of
// Reauthenticate, *valid.Error.
func (s *Service) StartEmailChange(ctx context.Context, actor events.Actor, t *store.Tenant, userID, newEmail, password, lang string) error {
	u, err := s.Reauthenticate(ctx, t.ID, userID, password, actor.ClientIP)
	if err != nil {
		return err
	}
	if err := s.directoryOwned(ctx, t.ID, userID); err != nil {
		return err
	}
	switch {
	case !directory.ValidEmail(newEmail):
		return valid.Field("email", "invalid", "This is not a valid email address.")
	case directory.NormalizeEmail(newEmail) == u.EmailNorm:
		return valid.Field("email", "unchanged", "This is already your address.")
	}
	_, err = s.Store.Users().GetUserByEmail(ctx, t.ID, directory.NormalizeEmail(newEmail))
	taken := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	token, err := linkToken(tokenPrefix)
	if err != nil {
		return err
	}
	now := s.now()
	return s.Store.InTx(ctx, func(tx store.Repos) error {
		ott := tx.SelfService().OneTimeTokens()
		if err := ott.RevokeUserTokens(ctx, t.ID, userID, PurposeChangeEmail); err != nil {
			return err
		}
		if !taken {
			if err := ott.CreateToken(ctx, &store.OneTimeToken{ID: uuid.Must(uuid.NewV7()).String(), Tenant: t.ID,
				Purpose: PurposeChangeEmail, UserID: userID, Hash: hashToken(token), Data: newEmail,
				CreatedAt: now, ExpiresAt: now.Add(emailChangeTTL)}); err != nil {
				return err
			}
		}
		if err := s.Audit.Record(ctx, tx, actor, events.Entry{Tenant: t.ID, Action: "user.email_change_request",
			TargetType: "user", TargetID: userID, Changes: events.Changes{"pending_email": {Before: nil, After: newEmail}}}); err != nil {
			return err
		}
		if taken {
			// The owner of the address hears of it, with no link to
			// confirm (and the request costs what one that mails a link
			// does).
			return s.Mailer.SendMail(ctx, tx, t, mail.KindEmailInUse, newEmail, lang,
				s.PublicURL+"/t/"+t.Slug+"/account/login", emailChangeTTL)
		}
		return s.Mailer.SendMail(ctx, tx, t, mail.KindEmailChange, newEmail, lang,
			s.PublicURL+"/t/"+t.Slug+"/account/email/confirm?token="+url.QueryEscape(token), emailChangeTTL)
	})
}

// confirmable bounds a link token before any lookup.
func (s *Service) confirmable(token string) bool {
	return len(token) > len(tokenPrefix) && len(token) <= 128
}

// ConfirmEmailChange spends the link's token and sets the new address,
// verified (following the link proved it receives mail), then mails the
// previous address a notice with a link that reverts the change (see
// RevertEmailChange). ErrBadLink for an unknown, used or expired link;
// ErrEmailTaken when another account took the address meanwhile.
func (s *Service) ConfirmEmailChange(ctx context.Context, ip, requestID string, tenant store.TenantID, token string) (*store.User, error) {
	if !s.confirmable(token) {
		return nil, ErrBadLink
	}
	tok, err := s.Store.SelfService().OneTimeTokens().ConsumeToken(ctx, tenant, PurposeChangeEmail, hashToken(token))
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrBadLink
	}
	if err != nil {
		return nil, err
	}
	before, err := s.Store.Users().GetUser(ctx, tenant, tok.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrBadLink
	}
	if err != nil {
		return nil, err
	}
	u, err := s.setVerifiedEmail(ctx, Actor(tok.UserID, ip, requestID), tenant, tok.UserID, tok.Data)
	if err != nil {
		return nil, err
	}
	if err := s.noticeEmailChanged(ctx, tenant, u, before); err != nil {
		// The change is done; the notice failing must not hide that.
		return u, fmt.Errorf("%w: %w", ErrNoticeFailed, err)
	}
	return u, nil
}

// setVerifiedEmail sets userID's address to email, verified (a mailed
// link to it was followed). ErrEmailTaken when another account has it,
// ErrBadLink when the user is gone.
func (s *Service) setVerifiedEmail(ctx context.Context, actor events.Actor, tenant store.TenantID, userID, email string) (*store.User, error) {
	verified := true
	u, err := s.Directory.UpdateUser(ctx, actor, tenant, userID, 0, directory.UserPatch{Email: &email, EmailVerified: &verified})
	var conflict *valid.Conflict
	switch {
	case errors.As(err, &conflict):
		return nil, ErrEmailTaken
	case errors.Is(err, store.ErrNotFound):
		return nil, ErrBadLink
	}
	return u, err
}
