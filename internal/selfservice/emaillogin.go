package selfservice

import (
	"context"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/mail"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// StartEmailLogin mails a sign-in link and code to the account of email,
// if there is an active one, for the pending authorization request
// requestID; it answers the ticket the code form carries, the same (and no
// sooner than Floor) whether or not the account exists. Errors:
// ErrPasswordless, *ThrottledError.
func (s *Service) StartEmailLogin(ctx context.Context, t *store.Tenant, requestID, email, ip, lang string) (string, error) {
	if !settingsOf(t).SelfService.Passwordless {
		return "", ErrPasswordless
	}
	start := time.Now()
	if err := s.limitIP(ctx, t.ID, "mail", ip, mailPerIP); err != nil {
		return "", err
	}
	defer s.pad(ctx, start)
	u, err := s.activeUser(ctx, t, email)
	if err != nil {
		return "", err
	}
	if u == nil {
		return fakeTicket(), nil
	}
	sec, err := newSecret(t.ID, u.ID, store.PurposeMagicLink, requestID, MagicTTL, s.now(), true)
	if err != nil {
		return "", err
	}
	err = s.Store.InTx(ctx, func(tx store.Repos) error {
		if err := tx.SelfService().OneTimeTokens().CreateToken(ctx, &sec.rec); err != nil {
			return err
		}
		return s.send(ctx, tx, t, mail.KindMagic, u.Email, pick(lang, u.Locale), s.link(t, "/login/email", sec.token), sec.code, MagicTTL)
	})
	if err != nil {
		return "", err
	}
	return sec.rec.ID, nil
}

// EmailLogin is a spent sign-in link or code: who signed in, and the
// authorization request to continue.
type EmailLogin struct {
	UserID    string
	RequestID string
}

// CheckEmailLink reports whether a sign-in link still works, and answers
// the authorization request it continues ("" for none).
func (s *Service) CheckEmailLink(ctx context.Context, t *store.Tenant, token string) (string, error) {
	if !settingsOf(t).SelfService.Passwordless {
		return "", ErrPasswordless
	}
	rec, err := s.checkToken(ctx, t, store.PurposeMagicLink, token)
	if err != nil {
		return "", err
	}
	return rec.Data, nil
}

// FinishEmailLink spends a sign-in link. Errors: ErrPasswordless,
// ErrInvalidToken.
func (s *Service) FinishEmailLink(ctx context.Context, t *store.Tenant, token string) (*EmailLogin, error) {
	if !settingsOf(t).SelfService.Passwordless {
		return nil, ErrPasswordless
	}
	rec, err := s.consume(ctx, t, store.PurposeMagicLink, token)
	if err != nil {
		return nil, err
	}
	return s.emailLogin(ctx, t, rec)
}

// FinishEmailCode checks a sign-in code. Errors: ErrPasswordless,
// ErrWrongCode.
func (s *Service) FinishEmailCode(ctx context.Context, t *store.Tenant, ticket, code string) (*EmailLogin, error) {
	if !settingsOf(t).SelfService.Passwordless {
		return nil, ErrPasswordless
	}
	rec, err := s.useCode(ctx, t, store.PurposeMagicLink, ticket, strings.TrimSpace(code))
	if err != nil {
		return nil, err
	}
	return s.emailLogin(ctx, t, rec)
}

// emailLogin: the mailbox is proven, so the email counts as verified.
func (s *Service) emailLogin(ctx context.Context, t *store.Tenant, rec *store.OneTimeToken) (*EmailLogin, error) {
	u, err := s.Store.Users().GetUser(ctx, t.ID, rec.UserID)
	if err != nil || u.Status != store.UserActive {
		return nil, ErrInvalidToken
	}
	if !u.EmailVerified {
		if _, err := s.markVerified(ctx, t, u.ID, ""); err != nil {
			return nil, err
		}
	}
	return &EmailLogin{UserID: u.ID, RequestID: rec.Data}, nil
}
