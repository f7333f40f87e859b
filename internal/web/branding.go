package web

import (
	"net/http"

	"github.com/gatehouse-id/gatehouse/internal/branding"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
)

// brandingCSS: GET /t/{tenant}/branding.css sets the tenant's primary
// colour as a CSS custom property. A stylesheet (not an inline style)
// keeps the pages' CSP at style-src 'self'; the colour is a validated,
// contrast-checked #rrggbb, so nothing else can reach the CSS.
func (p *Pages) brandingCSS(w http.ResponseWriter, r *http.Request, t *store.Tenant) {
	brand := tenancy.PresentationOf(t, "/t/"+t.Slug).Brand
	h := w.Header()
	h.Set("Content-Type", "text/css; charset=utf-8")
	h.Set("Cache-Control", "public, max-age=60")
	_, _ = w.Write([]byte(":root{--brand:" + brand.Color + "}\n"))
}

// brandingLogo: GET /t/{tenant}/branding/logo serves an inline (data:)
// logo from the settings as an image of its checked type, so pages load
// it from 'self' and mails by URL.
func (p *Pages) brandingLogo(w http.ResponseWriter, r *http.Request, t *store.Tenant) {
	ct, img, problem := branding.DecodeLogo(tenancy.PresentationOf(t, "").Logo)
	if problem != "" {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", ct)
	h.Set("Cache-Control", "public, max-age=300")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	_, _ = w.Write(img)
}
