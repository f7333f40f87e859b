package selfservice

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/mail"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// Invitation is what an administrator's invitation created.
type Invitation struct {
	ID        string    `json:"id"`
	UserID    string    `json:"user_id"`
	Email     string    `json:"email"`
	ExpiresAt time.Time `json:"expires_at"`
	// Link is the invitation link itself, for a caller that hands it over
	// (the CLI's admin create); never in the API's answer.
	Link string `json:"-"`
}

// NewInvitation is the input of Invite.
type NewInvitation struct {
	Email     string `json:"email"`
	Locale    string `json:"locale,omitempty"`
	GivenName string `json:"given_name,omitempty"`
}

// Invite creates a user without a password (or takes the one already
// invited and not yet active) and mails a link to choose a password, valid
// for InviteTTL; a new invitation voids the older ones. Errors:
// *valid.Error, *valid.Conflict (email, when the user already has a
// password), store.ErrNotFound (no tenant).
func (s *Service) Invite(ctx context.Context, actor events.Actor, t *store.Tenant, in NewInvitation) (*Invitation, error) {
	email := strings.TrimSpace(in.Email)
	if code := directory.CheckEmail(email); code != "" {
		return nil, valid.Field("email", code, "This is not a valid email address.")
	}
	u, err := s.Store.Users().GetUserByEmail(ctx, t.ID, directory.NormalizeEmail(email))
	switch {
	case err == nil && u.PasswordHash != "":
		return nil, &valid.Conflict{Field: "email", Cause: store.ErrConflict}
	case errors.Is(err, store.ErrNotFound):
		u, err = s.Directory.CreateUser(ctx, actor, t.ID, directory.NewUser{Email: email, Locale: in.Locale, GivenName: in.GivenName})
		if err != nil {
			return nil, err
		}
	case err != nil:
		return nil, err
	}
	sec, err := newSecret(t.ID, u.ID, store.PurposeInvitation, "", InviteTTL, s.now(), false)
	if err != nil {
		return nil, err
	}
	err = s.Store.InTx(ctx, func(tx store.Repos) error {
		ots := tx.SelfService().OneTimeTokens()
		if err := ots.RevokeUserTokens(ctx, t.ID, u.ID, store.PurposeInvitation); err != nil {
			return err
		}
		if err := ots.CreateToken(ctx, &sec.rec); err != nil {
			return err
		}
		if err := s.send(ctx, tx, t, mail.KindInvite, u.Email, pick(in.Locale, u.Locale), s.link(t, "/invitation", sec.token), "", InviteTTL); err != nil {
			return err
		}
		return s.Audit.Record(ctx, tx, actor, events.Entry{Tenant: t.ID, Action: "user.invite", TargetType: "user",
			TargetID: u.ID, Changes: events.Changes{"invitation": {Before: nil, After: sec.rec.ID}}})
	})
	if err != nil {
		return nil, err
	}
	return &Invitation{ID: sec.rec.ID, UserID: u.ID, Email: u.Email, ExpiresAt: sec.rec.ExpiresAt,
		Link: s.link(t, "/invitation", sec.token)}, nil
}
