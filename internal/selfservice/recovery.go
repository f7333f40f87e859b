package selfservice

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/connection"
	"github.com/gatehouse-id/gatehouse/internal/credential"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/mail"
	"github.com/gatehouse-id/gatehouse/internal/risk"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// VerifyLink spends a verification link and marks the email verified.
// browser is the sign-up browser cookie the request carried ("" for
// none): a first proof from another browser removes the password chosen
// at sign-up. ErrInvalidToken when the link is unknown, used or expired.
func (s *Service) VerifyLink(ctx context.Context, t *store.Tenant, token, ip, browser string) (*store.User, error) {
	rec, err := s.consume(ctx, t, store.PurposeVerifyEmail, token)
	if err != nil {
		return nil, err
	}
	return s.markVerified(ctx, t, rec.UserID, proof{ip: ip, browser: browser})
}

// VerifyCode checks the code of a sign-up's ticket and marks the email
// verified. ErrWrongCode for a wrong code or an unknown, spent or expired
// ticket (a ticket allows CodeAttempts tries). browser as VerifyLink.
func (s *Service) VerifyCode(ctx context.Context, t *store.Tenant, ticket, code, ip, browser string) (*store.User, error) {
	rec, err := s.useCode(ctx, t, store.PurposeVerifyEmail, ticket, strings.TrimSpace(code))
	if err != nil {
		return nil, err
	}
	return s.markVerified(ctx, t, rec.UserID, proof{ip: ip, browser: browser})
}

// provenByMail reports whether u's mailbox was proven here before: the
// address is verified, and not only on an upstream's word.
func provenByMail(u *store.User) bool { return u.EmailVerified && !u.EmailVerifiedUpstream }

// markVerified marks the user's email verified; the first proof by mail
// claims the account for the mailbox's owner (claim).
func (s *Service) markVerified(ctx context.Context, t *store.Tenant, userID string, p proof) (*store.User, error) {
	ip := p.ip
	before, err := s.Store.Users().GetUser(ctx, t.ID, userID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrInvalidToken
	}
	if err != nil {
		return nil, err
	}
	yes := true
	u, err := s.Directory.UpdateUser(ctx, selfActor(userID, ip), t.ID, userID, 0, directory.UserPatch{EmailVerified: &yes})
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrInvalidToken
	}
	if err != nil {
		return nil, err
	}
	if !provenByMail(before) {
		if err := s.claim(ctx, t, userID, p); err != nil {
			return nil, err
		}
		if u, err = s.Store.Users().GetUser(ctx, t.ID, userID); err != nil {
			return nil, err
		}
	}
	_ = s.Store.SelfService().OneTimeTokens().RevokeUserTokens(ctx, t.ID, userID, store.PurposeVerifyEmail)
	return u, nil
}

// ForgotPassword mails a reset link to the account of email, if there is
// an active one; it answers the same, no sooner than Floor, either way.
// Only *ThrottledError (per address, counted for every request) and
// storage failures are errors.
func (s *Service) ForgotPassword(ctx context.Context, t *store.Tenant, email, ip, lang string) error {
	start := time.Now()
	if err := s.limitIP(ctx, t.ID, "mail", ip, mailPerIP); err != nil {
		return err
	}
	defer s.pad(ctx, start)
	u, err := s.activeUser(ctx, t, email)
	if err != nil || u == nil {
		return err
	}
	// A blocked request answers the same and mails nothing (risk.go).
	if blocked, err := s.assess(ctx, t, risk.KindReset, u.ID, ip, ""); err != nil || blocked {
		return err
	}
	sec, err := newSecret(t.ID, u.ID, store.PurposeResetPassword, "", ResetTTL, s.now(), false)
	if err != nil {
		return err
	}
	return s.Store.InTx(ctx, func(tx store.Repos) error {
		// One live reset link at a time: a new request voids older ones.
		if err := tx.SelfService().OneTimeTokens().RevokeUserTokens(ctx, t.ID, u.ID, store.PurposeResetPassword); err != nil {
			return err
		}
		if err := tx.SelfService().OneTimeTokens().CreateToken(ctx, &sec.rec); err != nil {
			return err
		}
		return s.send(ctx, tx, t, mail.KindReset, u.Email, pick(lang, u.Locale), s.link(t, "/password/reset", sec.token), "", ResetTTL)
	})
}

// pick is the request's language, else the user's.
func pick(lang, userLocale string) string {
	if lang != "" {
		return lang
	}
	return userLocale
}

// activeUser finds the active account of email; nil, nil when none.
func (s *Service) activeUser(ctx context.Context, t *store.Tenant, email string) (*store.User, error) {
	email = strings.TrimSpace(email)
	if directory.CheckEmail(email) != "" {
		return nil, nil
	}
	u, err := s.Store.Users().GetUserByEmail(ctx, t.ID, directory.NormalizeEmail(email))
	if errors.Is(err, store.ErrNotFound) || (err == nil && u.Status != store.UserActive) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	// A federating directory owns the password: no reset here, and the
	// same answer as for an unknown address.
	if owned, err := connection.DirectoryOwned(ctx, s.Store, t.ID, u.ID); err != nil || owned {
		return nil, err
	}
	return u, nil
}

// CheckResetLink reports whether a reset link still works (the page asks
// for a password only then). ErrInvalidToken when not.
func (s *Service) CheckResetLink(ctx context.Context, t *store.Tenant, token string) error {
	_, err := s.checkToken(ctx, t, store.PurposeResetPassword, token)
	return err
}

// ResetPassword sets a new password through a reset link. The link is
// spent only once the password passes the tenant's policy; the new
// password ends every session of the user and the tokens issued in them,
// and proves the mailbox (the email counts as verified). Errors:
// ErrInvalidToken, *valid.Error (password).
func (s *Service) ResetPassword(ctx context.Context, t *store.Tenant, token, password, ip string) (*store.User, error) {
	return s.setPasswordByLink(ctx, t, store.PurposeResetPassword, token, password, ip)
}

// CheckInvitation reports whether an invitation link still works.
func (s *Service) CheckInvitation(ctx context.Context, t *store.Tenant, token string) error {
	_, err := s.checkToken(ctx, t, store.PurposeInvitation, token)
	return err
}

// AcceptInvitation sets the invited user's password (as ResetPassword).
func (s *Service) AcceptInvitation(ctx context.Context, t *store.Tenant, token, password, ip string) (*store.User, error) {
	return s.setPasswordByLink(ctx, t, store.PurposeInvitation, token, password, ip)
}

func (s *Service) setPasswordByLink(ctx context.Context, t *store.Tenant, purpose, token, password, ip string) (*store.User, error) {
	rec, err := s.checkToken(ctx, t, purpose, token)
	if err != nil {
		return nil, err
	}
	u, err := s.Store.Users().GetUser(ctx, t.ID, rec.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrInvalidToken
	}
	if err != nil {
		return nil, err
	}
	// Check the policy before spending the link, so a refused password
	// leaves it usable.
	if err := settingsOf(t).PasswordPolicy.Check(password, u.Email, u.Username, u.GivenName, u.FamilyName); err != nil {
		var pe *credential.PolicyError
		if errors.As(err, &pe) {
			return nil, valid.Field("password", pe.Reason, pe.Message)
		}
		return nil, err
	}
	if _, err := s.consume(ctx, t, purpose, token); err != nil {
		return nil, err
	}
	yes, wasProven := true, provenByMail(u)
	// UpdateUser ends the user's sessions and their tokens with a new
	// password, in the same transaction.
	u, err = s.Directory.UpdateUser(ctx, selfActor(u.ID, ip), t.ID, u.ID, 0, directory.UserPatch{
		Password: &password, EmailVerified: &yes,
	})
	if err != nil {
		return nil, err
	}
	if !wasProven {
		// The first proof of the mailbox: claim the account (this ends
		// every session too); the new password is the owner's.
		if err := s.claim(ctx, t, u.ID, proof{ip: ip, setPassword: true}); err != nil {
			return nil, err
		}
	} else if err := s.Sessions.EndAll(ctx, t.ID, u.ID); err != nil {
		// Back-channel logout notices for what was ended.
		s.Log.WarnContext(ctx, "selfservice: end sessions after a password reset", "err", err)
	}
	_ = s.Store.SelfService().OneTimeTokens().RevokeUserTokens(ctx, t.ID, u.ID, purpose)
	if purpose == store.PurposeResetPassword {
		s.notifyPasswordChanged(ctx, t, u)
	}
	return u, nil
}

// ResendVerification mails a new verification link and code to the
// unverified user named by identifier (email or username). Call it only after the user proved the password (a login
// refused for an unverified email): it reveals nothing to anyone else.
// Mails count against the recipient's hourly limit.
func (s *Service) ResendVerification(ctx context.Context, t *store.Tenant, identifier, lang string) error {
	users := s.Store.Users()
	u, err := users.GetUserByEmail(ctx, t.ID, directory.NormalizeEmail(identifier))
	if errors.Is(err, store.ErrNotFound) {
		u, err = users.GetUserByUsername(ctx, t.ID, directory.NormalizeUsername(identifier))
	}
	if err != nil || u.EmailVerified {
		return err
	}
	sec, err := newSecret(t.ID, u.ID, store.PurposeVerifyEmail, "", VerifyTTL, s.now(), true)
	if err != nil {
		return err
	}
	// Older links and codes stay valid (a code page may still be open);
	// verifying spends them all.
	return s.Store.InTx(ctx, func(tx store.Repos) error {
		if err := tx.SelfService().OneTimeTokens().CreateToken(ctx, &sec.rec); err != nil {
			return err
		}
		return s.send(ctx, tx, t, mail.KindVerify, u.Email, pick(lang, u.Locale), s.link(t, "/verify", sec.token), sec.code, VerifyTTL)
	})
}
