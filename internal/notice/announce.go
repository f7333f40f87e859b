package notice

import (
	"context"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/i18n"
	"github.com/gatehouse-id/gatehouse/internal/mail"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
)

// Announcement channels.
const (
	ChannelLogin   = "login_page"
	ChannelAccount = "account_page"
	ChannelEmail   = "email"
)

// DefaultMailRate is the mails per second an announcement is sent at
// when the service sets no rate.
const DefaultMailRate = 10

// batchSize is the recipients queued per transaction.
const batchSize = 500

// Announcer publishes announcements and mails them to their audience.
type Announcer struct {
	Store     store.Store
	Notices   *Service
	PublicURL string
	Now       func() time.Time
	// MailRate is the mails per second of one announcement when the
	// tenant sets none (settings.notices.mail_rate; default
	// DefaultMailRate): the queue holds each mail until its turn.
	MailRate float64
}

// Publish stores a (a new id when empty) and, when it has the email
// channel, queues one mail per member of its audience, in their language,
// skipping users who muted notices. It answers the recipients queued.
func (a *Announcer) Publish(ctx context.Context, an *store.Announcement) (int, error) {
	if an.ID == "" {
		an.ID = uuid.Must(uuid.NewV7()).String()
	}
	if err := a.Store.SelfService().Announcements().CreateAnnouncement(ctx, an); err != nil {
		return 0, err
	}
	if !slices.Contains(an.Channels, ChannelEmail) {
		return 0, nil
	}
	return a.mail(ctx, an)
}

// mail queues the announcement's mails in batches, each batch in one
// transaction with its delivery records; mail i waits until start + i/rate.
func (a *Announcer) mail(ctx context.Context, an *store.Announcement) (int, error) {
	t, err := a.Store.Tenants().GetTenant(ctx, an.Tenant)
	if err != nil {
		return 0, err
	}
	rate := a.MailRate
	if set, _ := tenancy.ParseSettings(t.Settings); set.Notices.MailRate > 0 {
		rate = float64(set.Notices.MailRate)
	}
	if rate <= 0 {
		rate = DefaultMailRate
	}
	start := a.Now().UTC()
	if an.StartsAt != nil && an.StartsAt.After(start) {
		start = *an.StartsAt
	}
	p := tenancy.PresentationOf(t, a.PublicURL+"/t/"+t.Slug)
	rendered := map[string]mail.Message{} // one rendering per language
	render := func(lang string) (mail.Message, error) {
		if !i18n.Supported(lang) {
			lang = p.DefaultLocale
		}
		if m, ok := rendered[lang]; ok {
			return m, nil
		}
		m, err := a.Notices.Renderer.Render(mail.KindAnnouncement, mail.Data{To: "", Tenant: p.Brand.Name, Slug: t.Slug,
			Link: a.PublicURL + "/t/" + t.Slug + "/account", Support: p.Brand.SupportEmail, Colour: p.Brand.Color,
			Language: lang, Title: pick(an.Title, lang, p.DefaultLocale), Body: pick(an.Body, lang, p.DefaultLocale)})
		rendered[lang] = m
		return m, err
	}
	queued, after := 0, ""
	for {
		rs, err := a.Store.SelfService().Announcements().Audience(ctx, an.Tenant, an.Groups, an.Roles, after, batchSize)
		if err != nil || len(rs) == 0 {
			return queued, err
		}
		after = rs[len(rs)-1].UserID
		err = a.Store.InTx(ctx, func(tx store.Repos) error {
			ds := make([]store.Delivery, 0, len(rs))
			n := queued
			for _, r := range rs {
				d := store.Delivery{UserID: r.UserID}
				muted, err := tx.SelfService().NoticePrefs().NoticesMuted(ctx, an.Tenant, r.UserID)
				if err != nil {
					return err
				}
				if !muted && r.Email != "" {
					m, err := render(r.Locale)
					if err != nil {
						return err
					}
					m.To = r.Email
					at := start.Add(time.Duration(float64(n) / rate * float64(time.Second)))
					if d.MailID, err = a.Notices.Queue.EnqueueAt(ctx, tx, an.Tenant, mail.KindAnnouncement, m, at); err != nil {
						return err
					}
					n++
				}
				ds = append(ds, d)
			}
			if err := tx.SelfService().Announcements().AddDeliveries(ctx, an.Tenant, an.ID, ds); err != nil {
				return err
			}
			queued = n
			return nil
		})
		if err != nil {
			return queued, err
		}
	}
}

// pick answers texts in lang, else in fallback, else in English, else
// any.
func pick(texts map[string]string, lang, fallback string) string {
	for _, l := range []string{lang, fallback, "en"} {
		if s, ok := texts[l]; ok {
			return s
		}
	}
	for _, s := range texts {
		return s
	}
	return ""
}

// Shown answers the tenant's announcements of channel that run at now and
// whose audience holds userID ("" before sign-in: only announcements to
// everyone), with title and body in lang.
func (a *Announcer) Shown(ctx context.Context, t *store.Tenant, channel, userID, lang string) ([]ShownAnnouncement, error) {
	list, err := a.Store.SelfService().Announcements().ListAnnouncements(ctx, t.ID)
	if err != nil {
		return nil, err
	}
	now := a.Now()
	def := tenancy.PresentationOf(t, "").DefaultLocale
	var out []ShownAnnouncement
	for _, an := range list {
		if !slices.Contains(an.Channels, channel) || (an.StartsAt != nil && now.Before(*an.StartsAt)) ||
			(an.EndsAt != nil && !now.Before(*an.EndsAt)) {
			continue
		}
		if len(an.Groups)+len(an.Roles) > 0 {
			if userID == "" {
				continue
			}
			in, err := a.inAudience(ctx, &an, userID)
			if err != nil {
				return nil, err
			}
			if !in {
				continue
			}
		}
		out = append(out, ShownAnnouncement{ID: an.ID, Title: pick(an.Title, lang, def), Body: pick(an.Body, lang, def)})
	}
	return out, nil
}

// ShownAnnouncement is an announcement as a page shows it.
type ShownAnnouncement struct{ ID, Title, Body string }

// inAudience asks the audience query for the one user: the same rule as
// the mail's.
func (a *Announcer) inAudience(ctx context.Context, an *store.Announcement, userID string) (bool, error) {
	return a.Store.SelfService().Announcements().InAudience(ctx, an.Tenant, an.Groups, an.Roles, userID)
}
