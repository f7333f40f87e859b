// Package selfservice is customer self-service: sign-up with the tenant's
// password policy and terms, email verification by link or code,
// forgotten passwords, passwordless email login and invitations. Every
// secret it mails is single use, short lived and stored only as a hash;
// codes are bounded in attempts. Answers that would tell whether an
// address has an account (sign-up, reset, email login) are the same
// either way and padded to the same minimum time. It knows nothing of
// HTTP: internal/web and internal/api call it.
package selfservice

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net/netip"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/consent"
	"github.com/gatehouse-id/gatehouse/internal/credential"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/hooks"
	"github.com/gatehouse-id/gatehouse/internal/mail"
	"github.com/gatehouse-id/gatehouse/internal/notice"
	"github.com/gatehouse-id/gatehouse/internal/risk"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
)

// Lifetimes of what is mailed, and the attempts a code allows.
const (
	VerifyTTL     = 24 * time.Hour
	ResetTTL      = 30 * time.Minute
	MagicTTL      = 15 * time.Minute
	InviteTTL     = 7 * 24 * time.Hour
	CodeAttempts  = 5
	DefaultFloor  = 400 * time.Millisecond
	codeDigits    = 6
	maxTokenChars = 64
)

// Rate limits, counted in the database (store.Throttle) so they hold
// across nodes: sign-ups per address per hour, mails per recipient per
// hour (beyond it mails are silently dropped, so the limit reveals
// nothing), and mail-sending requests per address per hour.
const (
	mailPerTo     = 5
	mailPerIP     = 30
	limitWindow   = time.Hour
	throttleRetry = 15 * time.Minute
)

// Errors. Pages turn them into sentences; none says whether an account
// exists.
var (
	ErrSignupClosed   = errors.New("selfservice: sign-up is closed")
	ErrInviteOnly     = errors.New("selfservice: sign-up is by invitation only")
	ErrPasswordless   = errors.New("selfservice: email login is off for this tenant")
	ErrInvalidToken   = errors.New("selfservice: link or code unknown, used or expired")
	ErrWrongCode      = errors.New("selfservice: wrong code")
	ErrAlreadyCreated = errors.New("selfservice: the user already has a password")
)

// ThrottledError is the flow's: one type for "wait", whichever page asks.
type ThrottledError = flow.ThrottledError

// Service runs the self-service flows of every tenant.
type Service struct {
	Store     store.Store
	Directory *directory.Service
	Hasher    *credential.Hasher
	Sessions  *session.Service
	Queue     *mail.Queue
	Renderer  *mail.Renderer
	Notices   *notice.Service
	Audit     *events.Recorder
	Log       *slog.Logger
	Now       func() time.Time
	// PublicURL is the base of mailed links.
	PublicURL string
	// Floor is the least time an answer that must not reveal an account
	// takes (default DefaultFloor): both paths end at the same time.
	Floor time.Duration
	// Sleep waits (tests replace it); default time.Sleep with ctx.
	Sleep func(ctx context.Context, d time.Duration)
	// Meter counts sign-ups and holds the tenant's plan, whose
	// signups_per_hour caps self-service sign-up; nil: no plan limits.
	Meter *tenancy.Meter
	// Risk, when set, assesses sign-ups and reset requests (risk.go).
	Risk *risk.Engine
	// Hooks, when set, runs the tenant's pre_registration hook (signup.go).
	Hooks *hooks.Service
	// Consent, when set, shows and records consent purposes at sign-up.
	Consent *consent.Service
}

func (s *Service) now() time.Time { return s.Now().UTC().Truncate(time.Microsecond) }

// pad waits until Floor has passed since start.
func (s *Service) pad(ctx context.Context, start time.Time) {
	floor := s.Floor
	if floor == 0 {
		floor = DefaultFloor
	}
	d := floor - time.Since(start)
	if d <= 0 {
		return
	}
	if s.Sleep != nil {
		s.Sleep(ctx, d)
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

func settingsOf(t *store.Tenant) tenancy.Settings {
	set, err := tenancy.ParseSettings(t.Settings)
	if err != nil {
		return tenancy.DefaultSettings()
	}
	return set
}

// secret is one mailed secret: the link token and its 6-digit code.
type secret struct {
	token, code string
	rec         store.OneTimeToken
}

func hashToken(tok string) []byte {
	h := sha256.Sum256([]byte(tok))
	return h[:]
}

// codeHash binds a code to its token, so equal codes of two tokens differ.
func codeHash(id, code string) []byte {
	h := sha256.Sum256([]byte("code:" + id + ":" + code))
	return h[:]
}

func newSecret(tenant store.TenantID, userID, purpose, data string, ttl time.Duration, now time.Time, withCode bool) (*secret, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return nil, err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return nil, err
	}
	sec := &secret{token: "gh_ml_" + base64.RawURLEncoding.EncodeToString(raw)}
	sec.rec = store.OneTimeToken{ID: id.String(), Tenant: tenant, Purpose: purpose, UserID: userID,
		Hash: hashToken(sec.token), Data: data, CreatedAt: now, ExpiresAt: now.Add(ttl)}
	if withCode {
		n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
		if err != nil {
			return nil, err
		}
		sec.code = fmt.Sprintf("%0*d", codeDigits, n.Int64())
		sec.rec.CodeHash, sec.rec.MaxAttempts = codeHash(sec.rec.ID, sec.code), CodeAttempts
	}
	return sec, nil
}

// fakeTicket answers a ticket id indistinguishable from a real one, for
// the path where no account exists.
func fakeTicket() string { return uuid.Must(uuid.NewV7()).String() }

// count records one event of key and reports whether it is over limit.
func (s *Service) count(ctx context.Context, repos store.Repos, tenant store.TenantID, key string, limit int) (bool, error) {
	n, err := repos.OAuth().Throttle().Fail(ctx, tenant, key, s.now(), limitWindow)
	if err != nil {
		return false, err
	}
	return n > limit, nil
}

// limitIP applies a visible per-address limit (it is counted whether or
// not an account exists, so it reveals nothing). IPv6 addresses count per
// /64 (one host usually holds a whole /64).
func (s *Service) limitIP(ctx context.Context, tenant store.TenantID, kind, ip string, limit int) error {
	over, err := s.count(ctx, s.Store, tenant, kind+"-ip:"+ipBucket(ip), limit)
	if err != nil {
		return err
	}
	if over {
		return &ThrottledError{RetryAfter: throttleRetry}
	}
	return nil
}

// limitPlanSignups applies the tenant's plan's signups_per_hour to all of
// the tenant's self-service sign-ups together.
func (s *Service) limitPlanSignups(ctx context.Context, tenant store.TenantID) error {
	p, err := s.Meter.Plan(ctx, tenant)
	if err != nil || p == nil || p.Limits.SignupsPerHour == nil {
		return err
	}
	over, err := s.count(ctx, s.Store, tenant, "signup-plan", int(*p.Limits.SignupsPerHour))
	if err != nil {
		return err
	}
	if over {
		return &ThrottledError{RetryAfter: throttleRetry}
	}
	return nil
}

// ipBucket is the per-address throttle key of ip: an IPv6 address's /64,
// else the address as given.
func ipBucket(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil || !a.Is6() || a.Is4In6() {
		return ip
	}
	p, err := a.Prefix(64)
	if err != nil {
		return ip
	}
	return p.String()
}

// recipientOver counts a mail to address to and reports whether the
// recipient's hourly limit is spent (the mail must then be dropped).
func (s *Service) recipientOver(ctx context.Context, repos store.Repos, t *store.Tenant, kind, to string) (bool, error) {
	over, err := s.count(ctx, repos, t.ID, "mail-to:"+directory.NormalizeEmail(to), mailPerTo)
	if err != nil {
		return false, err
	}
	if over {
		s.Log.WarnContext(ctx, "selfservice: mail to a recipient over its hourly limit dropped", "tenant", t.Slug, "kind", kind)
	}
	return over, nil
}

// send renders and queues a mail of kind to u through repos (the caller's
// transaction: every write goes through it, or SQLite would wait on its
// own lock), unless the recipient's hourly limit is spent (then it is
// dropped, and logged).
func (s *Service) send(ctx context.Context, repos store.Repos, t *store.Tenant, kind, to, lang, link, code string, ttl time.Duration) error {
	over, err := s.recipientOver(ctx, repos, t, kind, to)
	if err != nil || over {
		return err
	}
	return s.deliver(ctx, repos, t, kind, to, lang, link, code, ttl)
}

// deliver renders and queues a mail whose recipient limit was counted.
func (s *Service) deliver(ctx context.Context, repos store.Repos, t *store.Tenant, kind, to, lang, link, code string, ttl time.Duration) error {
	base := s.PublicURL + "/t/" + t.Slug
	p := tenancy.PresentationOf(t, base)
	if lang == "" {
		lang = p.DefaultLocale
	}
	m, err := s.Renderer.Render(kind, mail.Data{To: to, Tenant: p.Brand.Name, Slug: t.Slug, Link: link, Code: code,
		Minutes: int(ttl / time.Minute), Support: p.Brand.SupportEmail, Colour: p.Brand.Color, Language: lang})
	if err != nil {
		return err
	}
	_, err = s.Queue.Enqueue(ctx, repos, t.ID, kind, m)
	return err
}

// link is the absolute URL of a tenant page carrying a token.
func (s *Service) link(t *store.Tenant, path, token string) string {
	return s.PublicURL + "/t/" + t.Slug + path + "?token=" + token
}

// checkToken reads a live token of purpose from a link without spending it.
func (s *Service) checkToken(ctx context.Context, t *store.Tenant, purpose, token string) (*store.OneTimeToken, error) {
	if token == "" || len(token) > maxTokenChars {
		return nil, ErrInvalidToken
	}
	rec, err := s.Store.SelfService().OneTimeTokens().PeekToken(ctx, t.ID, purpose, hashToken(token))
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrInvalidToken
	}
	return rec, err
}

// consume spends a link token of purpose.
func (s *Service) consume(ctx context.Context, t *store.Tenant, purpose, token string) (*store.OneTimeToken, error) {
	if token == "" || len(token) > maxTokenChars {
		return nil, ErrInvalidToken
	}
	rec, err := s.Store.SelfService().OneTimeTokens().ConsumeToken(ctx, t.ID, purpose, hashToken(token))
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrInvalidToken
	}
	return rec, err
}

// useCode checks a code against the ticket's token (constant time, the
// attempt counted in the database). On a wrong code of a live ticket it
// answers the token with ErrWrongCode, so the caller can count the
// failure against its user.
func (s *Service) useCode(ctx context.Context, t *store.Tenant, purpose, ticket, code string) (*store.OneTimeToken, error) {
	if len(code) != codeDigits || len(ticket) > 64 || uuid.Validate(ticket) != nil {
		return nil, ErrWrongCode
	}
	want := codeHash(ticket, code)
	rec, err := s.Store.SelfService().OneTimeTokens().UseCode(ctx, t.ID, ticket, purpose, "", func(h []byte) bool {
		return subtle.ConstantTimeCompare(h, want) == 1
	})
	switch {
	case errors.Is(err, store.ErrWrongCode):
		return rec, ErrWrongCode
	case errors.Is(err, store.ErrNotFound):
		// Unknown tickets (including the fake ones) answer as a wrong
		// code, so a ticket tells nothing.
		return nil, ErrWrongCode
	}
	return rec, err
}

func selfActor(userID, ip string) events.Actor {
	return events.Actor{Type: "user", ID: userID, ClientIP: ip}
}

// SendMail queues a mail of kind for another service's flow (the account
// page's email change satisfies account.Mailer with it) through the same
// path as self-service's own mails: the recipient's hourly limit, the
// tenant's branding and language, the sealed queue, all through repos
// (the caller's transaction). link carries a secret: never log it.
func (s *Service) SendMail(ctx context.Context, repos store.Repos, t *store.Tenant, kind, to, lang, link string, ttl time.Duration) error {
	return s.send(ctx, repos, t, kind, to, lang, link, "", ttl)
}
