package selfservice

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/consent"
	"github.com/gatehouse-id/gatehouse/internal/credential"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/hooks"
	"github.com/gatehouse-id/gatehouse/internal/mail"
	"github.com/gatehouse-id/gatehouse/internal/risk"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// SignUp is the input of SignUp.
type SignUp struct {
	Email    string
	Password string
	// Accepted says the user ticked the terms and privacy box.
	Accepted bool
	// Honeypot is a field people never see; bots fill it.
	Honeypot string
	IP       string
	Lang     string
	// UserAgent is the browser's, for the pre_registration hook.
	UserAgent string
	// Browser is the secret of the signing-up browser's cookie
	// (NewBrowserSecret); only its hash is stored, bound to the account.
	Browser string
	// Purposes are the consent purposes ticked on the form
	// (internal/consent); their records carry UserAgent too.
	Purposes []string
}

// Policy answers what the sign-up page shows: the tenant's policy and
// password rules.
func Policy(t *store.Tenant) (tenancy.SelfService, credential.Policy) {
	set := settingsOf(t)
	return set.SelfService, set.PasswordPolicy
}

// SignUp creates an unverified account and mails a verification link and
// code, answering the ticket the code form carries. When the address
// already has an account, or looks like one that has (equal confusable
// skeletons), it spends the same password hash, mails the
// owner instead ("someone tried to sign up") and answers a ticket that
// looks the same; the answer takes at least Floor either way. Errors:
// ErrSignupClosed, ErrInviteOnly, *ThrottledError, and *valid.Error for
// email (invalid, blocked), password (the policy's reason codes) and
// accept (required) -- all of which depend only on the input, never on
// whether the account exists -- and *hooks.DeniedError when the tenant's
// pre_registration hook refuses (nothing is created then).
func (s *Service) SignUp(ctx context.Context, t *store.Tenant, in SignUp) (string, error) {
	start := time.Now()
	set := settingsOf(t)
	switch set.SelfService.Signup {
	case tenancy.SignupOpen:
	case tenancy.SignupInviteOnly:
		return "", ErrInviteOnly
	default:
		return "", ErrSignupClosed
	}
	if err := s.limitIP(ctx, t.ID, "signup", in.IP, set.SelfService.SignupLimit()); err != nil {
		return "", err
	}
	if err := s.limitPlanSignups(ctx, t.ID); err != nil {
		return "", err
	}
	email := strings.TrimSpace(in.Email)
	if err := checkInput(set, email, in); err != nil {
		return "", err
	}
	var purposes []store.ConsentPurpose
	if s.Consent != nil {
		var err error
		if purposes, err = consent.SignupPurposes(ctx, s.Store, t.ID, in.Purposes); err != nil {
			return "", err
		}
	}
	defer s.pad(ctx, start)
	blocked, err := s.assess(ctx, t, risk.KindSignUp, "", in.IP, in.Password) // risk.go
	if err != nil {
		return "", err
	}
	if in.Honeypot != "" || blocked {
		// A bot: look like success, do nothing but the same work.
		_, _ = s.Hasher.Hash(in.Password)
		return fakeTicket(), nil
	}
	// The pre_registration hook is asked before anything tells whether
	// the address has an account, so its answer cannot either.
	hooked, err := s.Hooks.Run(ctx, store.HookPreRegistration, hooks.Call{Tenant: t.ID, Email: email,
		IP: in.IP, UserAgent: in.UserAgent, Lang: in.Lang})
	if err != nil {
		return "", err
	}
	existing, err := s.Directory.UserForEmail(ctx, t.ID, email)
	switch {
	case err == nil:
		return s.signUpExisting(ctx, t, existing, in)
	case !errors.Is(err, store.ErrNotFound):
		return "", err
	}
	pw := in.Password
	u, err := s.Directory.CreateUser(ctx, selfActor("", in.IP), t.ID, directory.NewUser{
		Email: email, Password: &pw, Locale: in.Lang, Attributes: hooked.Attributes,
	})
	var conflict *valid.Conflict
	if errors.As(err, &conflict) {
		// Lost a race with another sign-up of the same or a look-alike
		// address: the password was not hashed yet (uniqueness is
		// checked first).
		if existing, gerr := s.Directory.UserForEmail(ctx, t.ID, email); gerr == nil {
			return s.signUpExisting(ctx, t, existing, in)
		}
	}
	if err != nil {
		return "", err
	}
	s.Meter.Add(t.ID, store.MetricSignups, 1)
	now := s.now()
	sec, err := newSecret(t.ID, u.ID, store.PurposeVerifyEmail, "", VerifyTTL, now, true)
	if err != nil {
		return "", err
	}
	err = s.Store.InTx(ctx, func(tx store.Repos) error {
		for _, d := range []struct{ doc, url, version string }{
			{"terms", set.SelfService.TermsURL, set.SelfService.TermsVersion},
			{"privacy", set.SelfService.PrivacyURL, set.SelfService.PrivacyVersion},
		} {
			if d.url == "" {
				continue
			}
			if err := tx.SelfService().Acceptances().RecordAcceptance(ctx, &store.Acceptance{Tenant: t.ID, UserID: u.ID,
				Document: d.doc, Version: d.version, AcceptedAt: now, IP: in.IP}); err != nil {
				return err
			}
		}
		if s.Consent != nil {
			if err := s.Consent.RecordSignup(ctx, tx, t.ID, u.ID, purposes, in.Purposes,
				consent.Source{IP: in.IP, UserAgent: in.UserAgent}); err != nil {
				return err
			}
		}
		if err := tx.SelfService().OneTimeTokens().CreateToken(ctx, &sec.rec); err != nil {
			return err
		}
		if err := s.bindBrowser(ctx, tx, t.ID, u.ID, in.Browser, now); err != nil {
			return err
		}
		return s.send(ctx, tx, t, mail.KindVerify, u.Email, in.Lang, s.link(t, "/verify", sec.token), sec.code, VerifyTTL)
	})
	if err != nil {
		return "", err
	}
	return sec.rec.ID, nil
}

// signUpExisting is the path for an address that has an account: the same
// hash spent, a mail to the owner, a ticket that leads nowhere.
func (s *Service) signUpExisting(ctx context.Context, t *store.Tenant, u *store.User, in SignUp) (string, error) {
	if _, err := s.Hasher.Hash(in.Password); err != nil {
		return "", err
	}
	err := s.Store.InTx(ctx, func(tx store.Repos) error {
		return s.send(ctx, tx, t, mail.KindExists, u.Email, in.Lang,
			s.PublicURL+"/t/"+t.Slug+"/password/forgot", "", 0)
	})
	if err != nil {
		return "", err
	}
	return fakeTicket(), nil
}

// checkInput validates a sign-up's fields; the answer depends only on them.
func checkInput(set tenancy.Settings, email string, in SignUp) error {
	var c valid.Collector
	if vErr := directory.CheckEmail(email); vErr != "" {
		c.Add("email", vErr, "This is not a valid email address.")
	} else if blockedDomain(set.SelfService, email) {
		c.Add("email", "blocked", "Addresses at this domain cannot be used.")
	}
	if err := set.PasswordPolicy.Check(in.Password, email); err != nil {
		var pe *credential.PolicyError
		if !errors.As(err, &pe) {
			return err
		}
		c.Add("password", pe.Reason, pe.Message)
	}
	if (set.SelfService.TermsURL != "" || set.SelfService.PrivacyURL != "") && !in.Accepted {
		c.Add("accept", "required", "Accept the terms and the privacy notice.")
	}
	return c.Err()
}

// blockedDomain reports whether email's domain (or a parent of it) is on
// the tenant's list, or on the bundled disposable list when it blocks those.
func blockedDomain(p tenancy.SelfService, email string) bool {
	at := strings.LastIndexByte(email, '@')
	if at < 0 {
		return false
	}
	d := strings.ToLower(email[at+1:])
	for {
		if p.BlockDisposable && disposable[d] {
			return true
		}
		for _, b := range p.BlockedDomains {
			if b == d {
				return true
			}
		}
		_, rest, ok := strings.Cut(d, ".")
		if !ok || !strings.Contains(rest, ".") {
			return false
		}
		d = rest
	}
}
