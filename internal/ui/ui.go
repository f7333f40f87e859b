// Package ui is the one layout every hosted page shares, whichever package
// serves it (internal/web, internal/oidc, internal/saml): the tenant's
// branding, the language chosen for the request (internal/i18n), the
// strict security headers, and the `t` template function that looks
// messages up. Page templates define "content"; the layout wraps it.
package ui

import (
	"embed"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/branding"
	"github.com/gatehouse-id/gatehouse/internal/i18n"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
)

//go:embed templates/layout.html
var layoutFS embed.FS

//go:embed assets
var assetFS embed.FS

// Assets is the shared stylesheet, served under /assets/.
var Assets fs.FS = assetFS

// Frame is what the layout needs; every page's data embeds it.
type Frame struct {
	// Lang is the page's language (en, de, es): <html lang> and t.
	Lang string
	// TitleKey is the catalog key of the page title.
	TitleKey string
	// Base is the tenant's page root, /t/{slug}.
	Base string
	// Brand is the tenant's resolved branding.
	Brand branding.Resolved
	// Wide widens the card (the account page).
	Wide bool
}

// T translates key into the frame's language (for handlers' messages).
func (f Frame) T(key string, args ...any) string {
	return i18n.Default().Text(f.Lang, key, args...)
}

// FrameFor resolves t's branding and chooses the language: ui_locales
// (given, or else the request's ui_locales parameter, or the posted
// form's), then
// Accept-Language, then the tenant's default.
func FrameFor(r *http.Request, t *store.Tenant, uiLocales []string, titleKey string) Frame {
	base := "/t/" + t.Slug
	p := tenancy.PresentationOf(t, base)
	// A posted form carries the language its page was shown in (chosen
	// from the same inputs when the page was rendered): it wins, so a
	// form's answer never switches language.
	if v := r.PostForm.Get("ui_locales"); v != "" && len(v) <= 256 {
		uiLocales = strings.Fields(v)
	} else if v := r.URL.Query().Get("ui_locales"); len(uiLocales) == 0 && len(v) <= 256 {
		uiLocales = strings.Fields(v)
	}
	return Frame{
		Lang:     i18n.Choose(uiLocales, r.Header.Get("Accept-Language"), p.DefaultLocale),
		TitleKey: titleKey, Base: base, Brand: p.Brand,
	}
}

// Page is a content template compiled with the layout once per language.
type Page struct {
	name   string
	byLang map[string]*template.Template
}

// Parse compiles the layout with the named files of fsys (each defines
// "content" and may define helpers). It panics on a template error: pages
// are parsed at start-up.
func Parse(fsys fs.FS, files ...string) *Page {
	p := &Page{name: strings.Join(files, ","), byLang: map[string]*template.Template{}}
	for _, lang := range i18n.Languages() {
		tr := i18n.Default().Translator(lang)
		tmpl := template.New("layout").Funcs(template.FuncMap{"t": tr})
		tmpl = template.Must(tmpl.ParseFS(layoutFS, "templates/layout.html"))
		p.byLang[lang] = template.Must(tmpl.ParseFS(fsys, files...))
	}
	return p
}

// Render writes the page in lang (English when unsupported) with status.
// A template failure after the header is only logged.
func (p *Page) Render(w http.ResponseWriter, log *slog.Logger, status int, lang string, data any) {
	tmpl, ok := p.byLang[lang]
	if !ok {
		tmpl, lang = p.byLang[i18n.Fallback], i18n.Fallback
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Language", lang)
	w.WriteHeader(status)
	if err := tmpl.ExecuteTemplate(w, "layout", data); err != nil && log != nil {
		log.Error("ui: render", "page", p.name, "err", err)
	}
}

// CSP is the pages' policy: nothing but our own styles, images (plus the
// tenant's external logo origin, validated by internal/branding to be a
// plain https origin) and forms; never framed. formAction adds origins a
// form's POST may redirect to.
func CSP(brand branding.Resolved, formAction ...string) string {
	img := "'self'"
	if brand.LogoOrigin != "" {
		img += " " + brand.LogoOrigin
	}
	fa := "'self'"
	for _, o := range formAction {
		fa += " " + o
	}
	return "default-src 'none'; style-src 'self'; img-src " + img + "; form-action " + fa +
		"; frame-ancestors 'none'; base-uri 'none'"
}

// SetHeaders sets the headers of every page: CSP, no caching, no referrer.
func SetHeaders(w http.ResponseWriter, brand branding.Resolved, formAction ...string) {
	h := w.Header()
	h.Set("Content-Security-Policy", CSP(brand, formAction...))
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
}
