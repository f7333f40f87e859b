package server

import (
	"context"
	"log/slog"
	"path/filepath"

	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/consent"
	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/mail"
	"github.com/gatehouse-id/gatehouse/internal/privacy"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
)

// privacyErasers are the other services' parts of an erasure, run in its
// transaction in this order; privacySections their parts of an export.
// Services that hold personal data outside a table with tenant_id and
// user_id columns, or keep an anonymous trace of it, register here.
func privacyErasers(a *App) []privacy.Eraser   { return []privacy.Eraser{consentPart{a.Consent}} }
func privacySections(a *App) []privacy.Section { return []privacy.Section{consentPart{a.Consent}} }

// consentPart is consent's part: its records and preferences in the
// export (section "consent"), and on erasure the records counted
// anonymously per purpose before they go.
type consentPart struct{ c *consent.Service }

func (p consentPart) EraseUser(ctx context.Context, repos store.Repos, tenant store.TenantID, userID string) error {
	_, err := p.c.EraseUser(ctx, repos, tenant, userID)
	return err
}

func (p consentPart) SectionName() string { return "consent" }

func (p consentPart) ExportUser(ctx context.Context, _ store.Repos, tenant store.TenantID, userID string) (any, error) {
	return p.c.ExportUser(ctx, tenant, userID)
}

// newPrivacy builds the data-subject rights service. Development mail
// files are forgotten on erasure when no SMTP server is configured.
func newPrivacy(cfg config.Config, log *slog.Logger, db *sqlstore.DB, a *App, shredder *privacy.Shredder, rec *events.Recorder) *privacy.Service {
	s := &privacy.Service{Store: db, Shredder: shredder, Audit: rec, Sessions: a.Sessions, Groups: a.Directory,
		Log: log, Now: a.now, Notify: a.Notices, Erasers: privacyErasers(a), Sections: privacySections(a)}
	if cfg.SMTP.Host == "" {
		s.Files = &mail.FileSender{Dir: filepath.Join(cfg.DataDir, "mail")}
	}
	return s
}

// sealAuditLog converts the audit chains written before crypto-shredding
// (privacy.Shredder.ConvertAudit): once per tenant, at every start-up
// until done. A chain that does not verify is left alone and logged; the
// server starts anyway, and new entries are sealed regardless.
func (a *App) sealAuditLog(ctx context.Context) {
	done, err := a.Privacy.Shredder.ConvertAudit(ctx, a.DB, a.now())
	for _, c := range done {
		a.Log.Info("privacy: audit chain re-chained with sealed personal data", "tenant", c.Tenant, "entries", c.Entries)
	}
	if err != nil {
		a.Log.Error("privacy: audit chain conversion", "err", err)
	}
}

// retention runs the tenants' retention policies (hourly upkeep).
func (a *App) retention(ctx context.Context) {
	res, err := a.Privacy.RunRetention(ctx)
	if err != nil && ctx.Err() == nil {
		a.Log.Warn("privacy: retention", "err", err)
	}
	for t, c := range res {
		if c.Noticed+c.Erased+c.Held > 0 {
			a.Log.Info("privacy: retention", "tenant", t, "noticed", c.Noticed, "erased", c.Erased, "held", c.Held)
		}
	}
}
