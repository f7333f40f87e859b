package tenancy

import (
	"regexp"

	"github.com/gatehouse-id/gatehouse/internal/branding"
	"github.com/gatehouse-id/gatehouse/internal/i18n"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// profileAttrRE names a profile attribute; MaxProfileAttributes bounds them.
var profileAttrRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)

// MaxProfileAttributes bounds the account page's profile attributes.
const MaxProfileAttributes = 20

// checkPresentation validates and normalises the branding, language and
// account page settings.
func checkPresentation(c *valid.Collector, set *Settings) {
	set.Branding.Check(c, "settings.branding")
	if set.DefaultLocale != "" && !i18n.Supported(set.DefaultLocale) {
		c.Add("settings.default_locale", "invalid", "The default language is one of en, de, es.")
	}
	if len(set.ProfileAttributes) > MaxProfileAttributes {
		c.Add("settings.profile_attributes", "too_long", "At most 20 profile attributes.")
	}
	seen := map[string]bool{}
	for _, a := range set.ProfileAttributes {
		if !profileAttrRE.MatchString(a) || seen[a] {
			c.Add("settings.profile_attributes", "invalid", "Profile attributes are distinct names of lowercase letters, digits and _ (at most 40), starting with a letter.")
			return
		}
		seen[a] = true
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
