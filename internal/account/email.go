package account

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/url"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// Mailer sends the account page's mails. It is the seam to internal/mail
// (the self-service mail queue and templates), which can satisfy it; until
// that is wired, DirMailer stands in. A mail of kind takes its text from
// the catalog keys mail.{kind}.subject, .intro, .action and .ignore, whose
// placeholders are {tenant} and {minutes}.
type Mailer interface {
	// Send delivers or queues a mail of kind (MailEmailChange,
	// MailEmailInUse) to one address in lang (en, de, es). vars holds
	// "tenant" (the branded name), "minutes" (how long the link works)
	// and "link". The link carries a one-time secret: never log it.
	Send(ctx context.Context, t *store.Tenant, to, kind, lang string, vars map[string]string) error
}

// Mail kinds of the account page.
const (
	// MailEmailChange carries the link that confirms a new address.
	MailEmailChange = "email_change"
	// MailEmailInUse tells the owner of an address that someone asked to
	// move another account to it (the asker gets the usual answer).
	MailEmailInUse = "email_in_use"
)

// PurposeChangeEmail is the one-time token purpose of an email change.
const PurposeChangeEmail = "change_email"

// emailChangeTTL is how long the link to a new address stays valid.
const emailChangeTTL = time.Hour

// tokenPrefix marks email-change link tokens for secret scanners.
const tokenPrefix = "gh_ec_"

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
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return err
	}
	token := tokenPrefix + base64.RawURLEncoding.EncodeToString(raw)
	now := s.now()
	err = s.Store.InTx(ctx, func(tx store.Repos) error {
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
		return s.Audit.Record(ctx, tx, actor, events.Entry{Tenant: t.ID, Action: "user.email_change_request",
			TargetType: "user", TargetID: userID, Changes: events.Changes{"pending_email": {Before: nil, After: newEmail}}})
	})
	if err != nil {
		return err
	}
	brand := tenancy.PresentationOf(t, s.PublicURL+"/t/"+t.Slug).Brand
	vars := map[string]string{"tenant": brand.Name, "minutes": strconv.Itoa(int(emailChangeTTL.Minutes()))}
	if taken {
		// The owner of the address hears of it (and the request takes as
		// long as one that mails a link).
		vars["link"] = s.PublicURL + "/t/" + t.Slug + "/account/login"
		return s.Mailer.Send(ctx, t, newEmail, MailEmailInUse, lang, vars)
	}
	vars["link"] = s.PublicURL + "/t/" + t.Slug + "/account/email/confirm?token=" + url.QueryEscape(token)
	return s.Mailer.Send(ctx, t, newEmail, MailEmailChange, lang, vars)
}

// confirmable bounds a link token before any lookup.
func (s *Service) confirmable(token string) bool {
	return len(token) > len(tokenPrefix) && len(token) <= 128
}

// ConfirmEmailChange spends the link's token and sets the new address,
// verified (following the link proved it receives mail). ErrBadLink for
// an unknown, used or expired link; ErrEmailTaken when another account
// took the address meanwhile.
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
	verified := true
	u, err := s.Directory.UpdateUser(ctx, Actor(tok.UserID, ip, requestID), tenant, tok.UserID, 0,
		directory.UserPatch{Email: &tok.Data, EmailVerified: &verified})
	var conflict *valid.Conflict
	switch {
	case errors.As(err, &conflict):
		return nil, ErrEmailTaken
	case errors.Is(err, store.ErrNotFound):
		return nil, ErrBadLink
	}
	return u, err
}
