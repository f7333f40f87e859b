package selfservice

import (
	"context"
	"errors"
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
	// Past the wrong-code limit the mail carries the link alone: codes stay
	// locked against guessing, and the owner, who reads the mail, still
	// signs in (wrong codes typed by someone else lock nobody out).
	locked, err := s.magicLocked(ctx, t.ID, u.ID)
	if err != nil {
		return "", err
	}
	sec, err := newSecret(t.ID, u.ID, store.PurposeMagicLink, requestID, MagicTTL, s.now(), !locked)
	if err != nil {
		return "", err
	}
	minted := false
	err = s.Store.InTx(ctx, func(tx store.Repos) error {
		// The recipient's limit is counted before anything is minted: past
		// it no code exists that could be guessed.
		over, err := s.recipientOver(ctx, tx, t, mail.KindMagic, u.Email)
		if err != nil || over {
			return err
		}
		// One live sign-in code at a time: a new request voids older ones.
		ots := tx.SelfService().OneTimeTokens()
		if err := ots.RevokeUserTokens(ctx, t.ID, u.ID, store.PurposeMagicLink); err != nil {
			return err
		}
		if err := ots.CreateToken(ctx, &sec.rec); err != nil {
			return err
		}
		minted = true
		return s.deliver(ctx, tx, t, mail.KindMagic, u.Email, pick(lang, u.Locale), s.link(t, "/login/email", sec.token), sec.code, MagicTTL)
	})
	if err != nil {
		return "", err
	}
	if !minted {
		return fakeTicket(), nil
	}
	return sec.rec.ID, nil
}

// magicWrongPerUser bounds wrong sign-in codes per user per limitWindow,
// whatever tickets and addresses they come through; past it every live
// code of the user dies and none is minted until the window passes.
const magicWrongPerUser = 2 * CodeAttempts

func magicKey(userID string) string { return "magic:" + userID }

// magicLocked reports whether the user's wrong sign-in codes are past
// magicWrongPerUser.
func (s *Service) magicLocked(ctx context.Context, tenant store.TenantID, userID string) (bool, error) {
	n, _, err := s.Store.OAuth().Throttle().Failures(ctx, tenant, magicKey(userID), s.now(), limitWindow)
	return n > magicWrongPerUser, err
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

// FinishEmailLink spends a sign-in link. browser is the sign-up browser
// cookie the request carried (see VerifyLink). Errors: ErrPasswordless,
// ErrInvalidToken.
func (s *Service) FinishEmailLink(ctx context.Context, t *store.Tenant, token, browser string) (*EmailLogin, error) {
	if !settingsOf(t).SelfService.Passwordless {
		return nil, ErrPasswordless
	}
	rec, err := s.consume(ctx, t, store.PurposeMagicLink, token)
	if err != nil {
		return nil, err
	}
	return s.emailLogin(ctx, t, rec, browser)
}

// FinishEmailCode checks a sign-in code (browser as FinishEmailLink).
// Errors: ErrPasswordless, ErrWrongCode.
func (s *Service) FinishEmailCode(ctx context.Context, t *store.Tenant, ticket, code, browser string) (*EmailLogin, error) {
	if !settingsOf(t).SelfService.Passwordless {
		return nil, ErrPasswordless
	}
	rec, err := s.useCode(ctx, t, store.PurposeMagicLink, ticket, strings.TrimSpace(code))
	if errors.Is(err, ErrWrongCode) && rec != nil {
		// Count the failure against the user, across tickets; past the
		// limit, every live code of the user dies.
		over, cerr := s.count(ctx, s.Store, t.ID, magicKey(rec.UserID), magicWrongPerUser)
		if cerr != nil {
			return nil, cerr
		}
		if over {
			s.Log.WarnContext(ctx, "selfservice: sign-in codes of a user locked after wrong codes", "tenant", t.Slug)
			if rerr := s.Store.SelfService().OneTimeTokens().RevokeUserTokens(ctx, t.ID, rec.UserID, store.PurposeMagicLink); rerr != nil {
				return nil, rerr
			}
		}
		return nil, ErrWrongCode
	}
	if err != nil {
		return nil, err
	}
	// A right code of a user already locked (a code minted just before
	// the lock) is refused too.
	if locked, err := s.magicLocked(ctx, t.ID, rec.UserID); err != nil || locked {
		if err == nil {
			err = ErrWrongCode
		}
		return nil, err
	}
	return s.emailLogin(ctx, t, rec, browser)
}

// emailLogin: the mailbox is proven, so the email counts as verified.
func (s *Service) emailLogin(ctx context.Context, t *store.Tenant, rec *store.OneTimeToken, browser string) (*EmailLogin, error) {
	u, err := s.Store.Users().GetUser(ctx, t.ID, rec.UserID)
	if err != nil || u.Status != store.UserActive {
		return nil, ErrInvalidToken
	}
	if !provenByMail(u) {
		if _, err := s.markVerified(ctx, t, u.ID, proof{browser: browser}); err != nil {
			return nil, err
		}
	}
	return &EmailLogin{UserID: u.ID, RequestID: rec.Data}, nil
}
