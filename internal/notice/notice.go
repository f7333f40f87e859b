package notice

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

	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/mail"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
)

// PurposeSecure is the one-time token purpose of the "this was not me"
// link: bound to the user, its data is the notice's kind.
const PurposeSecure = "secure_account"

// SecureTTL is how long that link works.
const SecureTTL = 7 * 24 * time.Hour

// SecurePrefix marks the link's tokens for secret scanners.
const SecurePrefix = "gh_sa_"

// Service sends notices. Audit records the "user.notice" entries: give it
// a recorder without this service among its observers.
type Service struct {
	Queue     *mail.Queue
	Renderer  *mail.Renderer
	Audit     *events.Recorder
	PublicURL string
	Now       func() time.Time
}

var _ events.Observer = (*Service)(nil)

func (s *Service) now() time.Time { return s.Now().UTC().Truncate(time.Microsecond) }

// Send queues, through repos, the notice of kind about userID's account to
// the address to, in lang (the tenant's default when empty), with link
// (which may carry a secret: never log it) valid for ttl, and audits it.
// A kind that is not about security is skipped when the user muted
// notices. Notices skip the per-recipient hourly mail limit: anyone can
// fill that limit with reset requests, and that must not silence a
// notice.
func (s *Service) Send(ctx context.Context, repos store.Repos, t *store.Tenant, userID, kind, to, lang, link string, ttl time.Duration) error {
	k, ok := registry[kind]
	if !ok {
		return errors.New("notice: unknown kind " + kind)
	}
	if !k.Security {
		if set, _ := tenancy.ParseSettings(t.Settings); set.NoticeOff(kind) {
			return nil
		}
		muted, err := repos.SelfService().NoticePrefs().NoticesMuted(ctx, t.ID, userID)
		if err != nil || muted {
			return err
		}
	}
	if err := s.enqueue(ctx, repos, t, kind, mail.Data{To: to, Link: link, Minutes: int(ttl / time.Minute), Language: lang}); err != nil {
		return err
	}
	return s.Audit.Record(ctx, repos, events.Actor{Type: "system", ID: "notice"}, events.Entry{Tenant: t.ID,
		Action: "user.notice", TargetType: "user", TargetID: userID,
		Changes: events.Changes{"notice": {After: kind}}})
}

// enqueue renders d as a mail of kind with the tenant's brand and queues
// it; it answers nothing for an address the queue refuses.
func (s *Service) enqueue(ctx context.Context, repos store.Repos, t *store.Tenant, kind string, d mail.Data) error {
	p := tenancy.PresentationOf(t, s.PublicURL+"/t/"+t.Slug)
	if d.Language == "" {
		d.Language = p.DefaultLocale
	}
	d.Tenant, d.Slug, d.Support, d.Colour = p.Brand.Name, t.Slug, p.Brand.SupportEmail, p.Brand.Color
	m, err := s.Renderer.Render(kind, d)
	if err != nil {
		return err
	}
	_, err = s.Queue.Enqueue(ctx, repos, t.ID, kind, m)
	return err
}

// Notify sends the notice of kind to userID (tenant and user read through
// repos), with the "this was not me" link when the kind has one. A user
// without an address gets nothing.
func (s *Service) Notify(ctx context.Context, repos store.Repos, tenant store.TenantID, userID, kind string) error {
	k, ok := registry[kind]
	if !ok {
		return errors.New("notice: unknown kind " + kind)
	}
	t, err := repos.Tenants().GetTenant(ctx, tenant)
	if err != nil {
		return err
	}
	u, err := repos.Users().GetUser(ctx, tenant, userID)
	if err != nil {
		return err
	}
	if u.Email == "" {
		return nil
	}
	if !k.Security {
		// Skip before minting a link nobody receives.
		if set, _ := tenancy.ParseSettings(t.Settings); set.NoticeOff(kind) {
			return nil
		}
		if muted, err := repos.SelfService().NoticePrefs().NoticesMuted(ctx, tenant, userID); err != nil || muted {
			return err
		}
	}
	link, ttl := "", time.Duration(0)
	if k.Secure {
		token, err := s.mintSecure(ctx, repos, tenant, userID, kind)
		if err != nil {
			return err
		}
		link, ttl = s.PublicURL+"/t/"+t.Slug+"/account/secure?token="+url.QueryEscape(token), SecureTTL
	}
	return s.Send(ctx, repos, t, userID, kind, u.Email, u.Locale, link, ttl)
}

// mintSecure stores the hash of a new link token bound to the user and
// the purpose, and answers the token.
func (s *Service) mintSecure(ctx context.Context, repos store.Repos, tenant store.TenantID, userID, kind string) (string, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	token := SecurePrefix + base64.RawURLEncoding.EncodeToString(raw)
	h := sha256.Sum256([]byte(token))
	now := s.now()
	err := repos.SelfService().OneTimeTokens().CreateToken(ctx, &store.OneTimeToken{ID: uuid.Must(uuid.NewV7()).String(),
		Tenant: tenant, Purpose: PurposeSecure, UserID: userID, Hash: h[:], Data: kind,
		CreatedAt: now, ExpiresAt: now.Add(SecureTTL)})
	if err != nil {
		return "", fmt.Errorf("notice: link: %w", err)
	}
	return token, nil
}
