package mfa

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/mail"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
)

// Email one-time codes as a second factor, where the tenant's
// mfa.email_code allows them: a 6-digit code mailed through the mail
// queue, stored as a hash in a one-time token of purpose PurposeEmailCode
// (5 attempts, 10 minutes, the last one sent is the only live one). The
// page carries the token's id as a ticket; the code is the secret.

// PurposeEmailCode marks a mailed second-factor code.
const PurposeEmailCode = store.PurposeMFAEmailCode

const (
	emailCodeTTL      = 10 * time.Minute
	emailCodeAttempts = 5
)

// ErrEmailCodeOff: the tenant does not allow email codes, or the user's
// address is not verified.
var ErrEmailCodeOff = errors.New("mfa: email codes are not available")

func emailCodeHash(id, code string) []byte {
	h := sha256.Sum256([]byte("gh_mfa_email:" + id + ":" + code))
	return h[:]
}

// EnableEmailCode adds the email factor for u (audited); first factor
// answers fresh recovery codes.
func (s *Service) EnableEmailCode(ctx context.Context, actor events.Actor, t *store.Tenant, u *store.User) ([]string, error) {
	set, err := tenancy.ParseSettings(t.Settings)
	if err != nil {
		return nil, err
	}
	if !set.MFA.EmailCode || !u.EmailVerified {
		return nil, ErrEmailCodeOff
	}
	fs, err := s.Store.MFA().Factors().ListFactors(ctx, t.ID, u.ID)
	if err != nil {
		return nil, err
	}
	enrolled := false
	for _, f := range fs {
		if f.Kind == store.FactorEmail {
			return nil, nil // already on
		}
		enrolled = enrolled || f.Confirmed
	}
	f := &store.Factor{ID: newID(), Tenant: t.ID, UserID: u.ID, Kind: store.FactorEmail, Name: u.Email, Confirmed: true, CreatedAt: s.Now()}
	var codes []string
	err = s.Store.InTx(ctx, func(tx store.Repos) error {
		if err := tx.MFA().Factors().CreateFactor(ctx, f); err != nil {
			return err
		}
		if !enrolled {
			if codes, err = s.replaceCodes(ctx, tx, t.ID, u.ID); err != nil {
				return err
			}
		}
		return s.Audit.Record(ctx, tx, actor, events.Entry{Tenant: t.ID, Action: "mfa.factor.add",
			TargetType: "user", TargetID: u.ID,
			Changes: events.Changes{"factor": {After: map[string]any{"id": f.ID, "kind": f.Kind}}}})
	})
	return codes, err
}

// HasEmailCode reports whether u may get a code by email now.
func (s *Service) HasEmailCode(ctx context.Context, t *store.Tenant, userID string) bool {
	set, err := tenancy.ParseSettings(t.Settings)
	if err != nil || !set.MFA.EmailCode || s.Mail == nil {
		return false
	}
	fs, err := s.Store.MFA().Factors().ListFactors(ctx, t.ID, userID)
	if err != nil {
		return false
	}
	for _, f := range fs {
		if f.Kind == store.FactorEmail {
			return true
		}
	}
	return false
}

// SendEmailCode mails a fresh code to u (earlier ones die) and answers
// the ticket (the token id) the page keeps. ErrEmailCodeOff when u has no
// email factor or the tenant does not allow it.
func (s *Service) SendEmailCode(ctx context.Context, t *store.Tenant, u *store.User, lang string) (string, error) {
	if !s.HasEmailCode(ctx, t, u.ID) || !u.EmailVerified {
		return "", ErrEmailCodeOff
	}
	return s.sendCode(ctx, t, u, lang)
}

// SendStepUpCode mails a code to u as SendEmailCode does, for a sign-in
// the risk engine stepped up when u has no second factor of their own:
// it needs only a mail queue and an address on record (the code goes to
// the account's address, never one the attempt names). ErrEmailCodeOff
// otherwise.
func (s *Service) SendStepUpCode(ctx context.Context, t *store.Tenant, u *store.User, lang string) (string, error) {
	if s.Mail == nil || u.Email == "" {
		return "", ErrEmailCodeOff
	}
	return s.sendCode(ctx, t, u, lang)
}

// sendCode mails a fresh code to u and answers its ticket.
func (s *Service) sendCode(ctx context.Context, t *store.Tenant, u *store.User, lang string) (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return "", err
	}
	code := fmt.Sprintf("%06d", n.Int64())
	id := newID()
	link := make([]byte, 32)
	if _, err := rand.Read(link); err != nil {
		return "", err
	}
	p := tenancy.PresentationOf(t, s.PublicURL+"/t/"+t.Slug)
	if lang == "" {
		lang = p.DefaultLocale
	}
	m, err := s.Mail.Renderer.Render(mail.KindMFACode, mail.Data{To: u.Email, Tenant: p.Brand.Name, Slug: t.Slug, Code: code,
		Minutes: int(emailCodeTTL / time.Minute), Support: p.Brand.SupportEmail, Colour: p.Brand.Color, Language: lang})
	if err != nil {
		return "", err
	}
	now := s.Now()
	err = s.Store.InTx(ctx, func(tx store.Repos) error {
		ots := tx.SelfService().OneTimeTokens()
		if err := ots.RevokeUserTokens(ctx, t.ID, u.ID, PurposeEmailCode); err != nil {
			return err
		}
		h := sha256.Sum256(link)
		if err := ots.CreateToken(ctx, &store.OneTimeToken{ID: id, Tenant: t.ID, Purpose: PurposeEmailCode, UserID: u.ID,
			Hash: h[:], CodeHash: emailCodeHash(id, code), MaxAttempts: emailCodeAttempts,
			CreatedAt: now, ExpiresAt: now.Add(emailCodeTTL)}); err != nil {
			return err
		}
		_, err := s.Mail.Queue.Enqueue(ctx, tx, t.ID, mail.KindMFACode, m)
		return err
	})
	if err != nil {
		return "", err
	}
	return id, nil
}

// useEmailCode spends the mailed code of ticket for userID. The ticket's
// owner is checked before the attempt counts, so another user's session
// can neither spend nor wear out the code.
func (s *Service) useEmailCode(ctx context.Context, tenant store.TenantID, userID, ticket, code string) error {
	if ticket == "" || len(ticket) > 64 || len(code) != 6 {
		return ErrInvalidCode
	}
	want := emailCodeHash(ticket, code)
	_, err := s.Store.SelfService().OneTimeTokens().UseCode(ctx, tenant, ticket, PurposeEmailCode, userID, func(h []byte) bool {
		return subtle.ConstantTimeCompare(h, want) == 1
	})
	if err != nil {
		return ErrInvalidCode
	}
	return nil
}

// Mailer is how internal/mfa reaches the mail queue (Enqueue wakes the
// worker itself).
type Mailer struct {
	Queue    *mail.Queue
	Renderer *mail.Renderer
}
