package notice

import (
	"context"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/i18n"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// Bounds of an announcement.
const (
	maxTitle    = 200
	maxBody     = 5000
	maxAudience = 50
	maxName     = 200
)

// Audience names who an announcement is for; empty is everyone.
type Audience struct {
	Groups []string `json:"groups"`
	Roles  []string `json:"roles"`
}

// NewAnnouncement is the input of Create.
type NewAnnouncement struct {
	Title    map[string]string `json:"title"`
	Body     map[string]string `json:"body"`
	Audience Audience          `json:"audience"`
	Channels []string          `json:"channels"`
	StartsAt *time.Time        `json:"starts_at"`
	EndsAt   *time.Time        `json:"ends_at"`
}

// AnnouncementView is an announcement as the API answers it, with the
// states of its mails.
type AnnouncementView struct {
	ID string `json:"id"`
	NewAnnouncement
	CreatedAt  time.Time            `json:"created_at"`
	Deliveries store.DeliveryCounts `json:"deliveries"`
}

func checkTexts(c *valid.Collector, field string, texts map[string]string, limit int) {
	if len(texts) == 0 {
		c.Add(field, "required", field+" maps a language (en, de, es) to its text.")
	}
	for lang, s := range texts {
		switch {
		case !i18n.Supported(lang):
			c.Add(field+"."+lang, "invalid", "The languages are en, de and es.")
		case s == "" || !utf8.ValidString(s) || utf8.RuneCountInString(s) > limit:
			c.Add(field+"."+lang, "invalid", "The text has 1 to "+itoa(limit)+" characters.")
		}
	}
}

func checkNames(c *valid.Collector, field string, names []string) {
	if len(names) > maxAudience {
		c.Add(field, "too_long", "At most "+itoa(maxAudience)+" names.")
	}
	for _, n := range names {
		if n == "" || len(n) > maxName || !utf8.ValidString(n) {
			c.Add(field, "invalid", "Each name has 1 to "+itoa(maxName)+" characters.")
			return
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// Create validates in, stores it and, with the email channel, queues its
// mails; it is audited (announcement.create).
func (a *Announcer) Create(ctx context.Context, actor events.Actor, tenant store.TenantID, in NewAnnouncement) (*AnnouncementView, error) {
	var c valid.Collector
	checkTexts(&c, "title", in.Title, maxTitle)
	checkTexts(&c, "body", in.Body, maxBody)
	checkNames(&c, "audience.groups", in.Audience.Groups)
	checkNames(&c, "audience.roles", in.Audience.Roles)
	if len(in.Channels) == 0 {
		c.Add("channels", "required", "channels lists login_page, account_page or email.")
	}
	for i, ch := range in.Channels {
		if !slices.Contains([]string{ChannelLogin, ChannelAccount, ChannelEmail}, ch) || slices.Index(in.Channels, ch) != i {
			c.Add("channels", "invalid", "channels lists login_page, account_page or email, each once.")
			break
		}
	}
	if in.StartsAt != nil && in.EndsAt != nil && !in.EndsAt.After(*in.StartsAt) {
		c.Add("ends_at", "invalid", "ends_at is after starts_at.")
	}
	if err := c.Err(); err != nil {
		return nil, err
	}
	an := &store.Announcement{Tenant: tenant, Title: in.Title, Body: in.Body, Groups: in.Audience.Groups,
		Roles: in.Audience.Roles, Channels: in.Channels, StartsAt: utc(in.StartsAt), EndsAt: utc(in.EndsAt)}
	if _, err := a.Publish(ctx, an); err != nil {
		return nil, err
	}
	if err := a.Notices.Audit.Record(ctx, a.Store, actor, events.Entry{Tenant: tenant, Action: "announcement.create",
		TargetType: "announcement", TargetID: an.ID, Changes: events.Changes{"channels": {After: an.Channels}}}); err != nil {
		return nil, err
	}
	return a.Get(ctx, tenant, an.ID)
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC().Truncate(time.Microsecond)
	return &u
}

// Get answers one announcement with its delivery counts.
func (a *Announcer) Get(ctx context.Context, tenant store.TenantID, id string) (*AnnouncementView, error) {
	repo := a.Store.SelfService().Announcements()
	an, err := repo.GetAnnouncement(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	counts, err := repo.CountDeliveries(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	v := view(an)
	v.Deliveries = counts
	return &v, nil
}

func view(an *store.Announcement) AnnouncementView {
	return AnnouncementView{ID: an.ID, NewAnnouncement: NewAnnouncement{Title: an.Title, Body: an.Body,
		Audience: Audience{Groups: orEmpty(an.Groups), Roles: orEmpty(an.Roles)}, Channels: an.Channels,
		StartsAt: an.StartsAt, EndsAt: an.EndsAt}, CreatedAt: an.CreatedAt}
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// List answers the tenant's announcements (newest first, at most 500)
// with their delivery counts.
func (a *Announcer) List(ctx context.Context, tenant store.TenantID) ([]AnnouncementView, error) {
	repo := a.Store.SelfService().Announcements()
	list, err := repo.ListAnnouncements(ctx, tenant)
	if err != nil {
		return nil, err
	}
	out := make([]AnnouncementView, 0, len(list))
	for i := range list {
		v := view(&list[i])
		if v.Deliveries, err = repo.CountDeliveries(ctx, tenant, v.ID); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// Delete removes an announcement from the pages (mails already queued are
// sent); audited (announcement.delete). store.ErrNotFound when unknown.
func (a *Announcer) Delete(ctx context.Context, actor events.Actor, tenant store.TenantID, id string) error {
	return a.Store.InTx(ctx, func(tx store.Repos) error {
		if err := tx.SelfService().Announcements().DeleteAnnouncement(ctx, tenant, id); err != nil {
			return err
		}
		return a.Notices.Audit.Record(ctx, tx, actor, events.Entry{Tenant: tenant, Action: "announcement.delete",
			TargetType: "announcement", TargetID: id})
	})
}

// Adoption answers the tenant's MFA and passkey adoption, with the uptake
// of the passkey offers made after password logins.
func (a *Announcer) Adoption(ctx context.Context, tenant store.TenantID) (store.Adoption, error) {
	return a.Store.SelfService().NoticePrefs().Adoption(ctx, tenant)
}
