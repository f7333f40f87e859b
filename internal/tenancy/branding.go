package tenancy

import (
	"github.com/gatehouse-id/gatehouse/internal/branding"
	"github.com/gatehouse-id/gatehouse/internal/i18n"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// checkPresentation validates and normalises the branding and language
// settings.
func checkPresentation(c *valid.Collector, set *Settings) {
	set.Branding.Check(c, "settings.branding")
	if set.DefaultLocale != "" && !i18n.Supported(set.DefaultLocale) {
		c.Add("settings.default_locale", "invalid", "The default language is one of en, de, es.")
	}
}

// Presentation is how a tenant's pages and mails look and speak.
type Presentation struct {
	Brand branding.Resolved
	// DefaultLocale is the tenant's fallback language (always supported).
	DefaultLocale string
	// Logo is the stored branding's logo setting, as set (for serving an
	// inline logo).
	Logo string
}

// PresentationOf resolves t's branding and default language for a page
// (base "/t/{slug}") or a mail (base "{public_url}/t/{slug}", so links and
// the logo are absolute). Settings that fail to parse give the defaults.
func PresentationOf(t *store.Tenant, base string) Presentation {
	set, err := ParseSettings(t.Settings)
	if err != nil {
		set = DefaultSettings()
	}
	loc := set.DefaultLocale
	if !i18n.Supported(loc) {
		loc = i18n.Fallback
	}
	return Presentation{Brand: set.Branding.Resolve(t.Name, base), DefaultLocale: loc, Logo: set.Branding.LogoURL}
}
