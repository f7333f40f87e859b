// Package branding is a tenant's look on its hosted pages and mails:
// display name, logo, primary colour and support address. It validates what
// an administrator sets (a logo is an https URL or a small inline image; a
// colour is #rrggbb) and resolves it for display, darkening a colour that
// would fail WCAG contrast (4.5:1) against white. It knows nothing of HTTP.
package branding

import (
	"bytes"
	"encoding/base64"
	"net/mail"
	"net/url"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// Limits on what a tenant may set.
const (
	MaxDisplayName = 100
	MaxLogoURL     = 2048
	// MaxLogoBytes bounds an inline (data:) logo's decoded image.
	MaxLogoBytes = 32 << 10
)

// DefaultColor is the primary colour of a tenant that set none.
const DefaultColor = "#2f5bea"

// Branding is what a tenant sets (stored in its settings as "branding").
// Every field is optional.
type Branding struct {
	// DisplayName replaces the tenant's name on pages and mails.
	DisplayName string `json:"display_name,omitempty"`
	// LogoURL is https://... (no credentials, no fragment) or
	// data:image/{png,jpeg,gif,webp};base64,... of at most MaxLogoBytes.
	// SVG is refused: it can carry script when opened on its own.
	LogoURL string `json:"logo_url,omitempty"`
	// PrimaryColor is #rrggbb (buttons, links, focus ring).
	PrimaryColor string `json:"primary_color,omitempty"`
	// SupportEmail is shown as a contact address on every page and mail.
	SupportEmail string `json:"support_email,omitempty"`
}

var colorRE = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

// hostRE keeps an https logo's host safe to name in a CSP header.
var hostRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?$`)

// Check records every problem of b under the field prefix (e.g.
// "settings.branding") and normalises what it accepts (colour lowercase,
// surrounding spaces trimmed).
func (b *Branding) Check(c *valid.Collector, prefix string) {
	b.DisplayName = strings.TrimSpace(b.DisplayName)
	b.LogoURL = strings.TrimSpace(b.LogoURL)
	b.PrimaryColor = strings.ToLower(strings.TrimSpace(b.PrimaryColor))
	b.SupportEmail = strings.TrimSpace(b.SupportEmail)
	if n := utf8.RuneCountInString(b.DisplayName); n > MaxDisplayName {
		c.Add(prefix+".display_name", "too_long", "A display name has at most 100 characters.")
	} else if !utf8.ValidString(b.DisplayName) || strings.IndexFunc(b.DisplayName, unicode.IsControl) >= 0 {
		c.Add(prefix+".display_name", "invalid", "A display name cannot contain control characters.")
	}
	if b.PrimaryColor != "" && !colorRE.MatchString(b.PrimaryColor) {
		c.Add(prefix+".primary_color", "invalid", "A colour is written #rrggbb, e.g. #2f5bea.")
	}
	if b.SupportEmail != "" {
		a, err := mail.ParseAddress(b.SupportEmail)
		if err != nil || a.Address != b.SupportEmail || a.Name != "" || len(b.SupportEmail) > 254 {
			c.Add(prefix+".support_email", "invalid", "The support address must be a plain email address, e.g. help@example.com.")
		}
	}
	if b.LogoURL != "" {
		if msg := checkLogo(b.LogoURL); msg != "" {
			c.Add(prefix+".logo_url", "invalid", msg)
		}
	}
}

func checkLogo(s string) string {
	if strings.HasPrefix(s, "data:") {
		if _, _, err := DecodeLogo(s); err != "" {
			return err
		}
		return ""
	}
	if len(s) > MaxLogoURL {
		return "A logo URL has at most 2048 characters."
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "https" || u.User != nil || u.Fragment != "" || !hostRE.MatchString(u.Host) {
		return "A logo is an https:// URL (no user name, no #fragment) or a data:image/png, jpeg, gif or webp of at most 32 KiB."
	}
	return ""
}

// logoMagic: content type -> the leading bytes of such an image.
var logoMagic = map[string][]byte{
	"image/png":  []byte("\x89PNG\r\n\x1a\n"),
	"image/jpeg": {0xff, 0xd8, 0xff},
	"image/gif":  []byte("GIF8"),
	"image/webp": []byte("RIFF"),
}

// DecodeLogo answers the content type and bytes of a data: logo, or a
// reason it is refused. The bytes must be the image the type names.
func DecodeLogo(s string) (contentType string, img []byte, problem string) {
	const bad = "A data: logo is data:image/png, jpeg, gif or webp;base64,... of at most 32 KiB."
	rest, ok := strings.CutPrefix(s, "data:")
	if !ok || len(s) > base64.StdEncoding.EncodedLen(MaxLogoBytes)+40 {
		return "", nil, bad
	}
	ct, payload, ok := strings.Cut(rest, ";base64,")
	magic, known := logoMagic[ct]
	if !ok || !known {
		return "", nil, bad
	}
	img, err := base64.StdEncoding.DecodeString(payload)
	if err != nil || len(img) > MaxLogoBytes || !bytes.HasPrefix(img, magic) ||
		(ct == "image/webp" && (len(img) < 12 || string(img[8:12]) != "WEBP")) {
		return "", nil, bad
	}
	return ct, img, ""
}

// Resolved is a tenant's branding ready for a page or a mail.
type Resolved struct {
	// Name is the display name, or the tenant's name.
	Name string
	// LogoURL is where a page or mail loads the logo: the https URL as
	// set, or base + "/branding/logo" for an inline logo; "" for none.
	LogoURL string
	// LogoOrigin is the https origin of an external logo (for a page's
	// img-src), "" otherwise.
	LogoOrigin string
	// Color is the primary colour, darkened when needed so white text on it
	// and it as text on white both reach 4.5:1.
	Color string
	// ColorAdjusted reports that Color differs from what the tenant set.
	ColorAdjusted bool
	// SupportEmail is the contact address, "" for none.
	SupportEmail string
}

// Resolve prepares b for display. tenantName is the fallback name; base is
// the tenant's page root ("/t/acme" for pages, the absolute
// "https://id.example.com/t/acme" for mails).
func (b Branding) Resolve(tenantName, base string) Resolved {
	r := Resolved{Name: b.DisplayName, SupportEmail: b.SupportEmail}
	if r.Name == "" {
		r.Name = tenantName
	}
	switch {
	case strings.HasPrefix(b.LogoURL, "data:"):
		r.LogoURL = base + "/branding/logo"
	case b.LogoURL != "":
		if u, err := url.Parse(b.LogoURL); err == nil {
			r.LogoURL = b.LogoURL
			r.LogoOrigin = "https://" + u.Host
		}
	}
	want := b.PrimaryColor
	if !colorRE.MatchString(want) {
		want = DefaultColor
	}
	r.Color = Accessible(want)
	r.ColorAdjusted = r.Color != strings.ToLower(want)
	return r
}
