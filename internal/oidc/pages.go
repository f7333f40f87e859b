package oidc

import (
	"embed"
	"net/http"

	"github.com/gatehouse-id/gatehouse/internal/i18n"
	"github.com/gatehouse-id/gatehouse/internal/ui"
)

// The provider's own pages (sign-out confirmation, errors) use the shared
// branded, translated layout of the hosted pages.

//go:embed templates/*.html
var pageFS embed.FS

var (
	logoutPage = ui.Parse(pageFS, "templates/logout.html")
	errorPg    = ui.Parse(pageFS, "templates/error.html")
)

// frame is the layout data of a provider page for the request's tenant;
// a request without one (it cannot reach these pages) gets the defaults.
func (p *Provider) frame(r *http.Request, titleKey string) ui.Frame {
	t := tenantFrom(r.Context())
	if t == nil {
		return ui.Frame{Lang: i18n.Fallback, TitleKey: titleKey}
	}
	return ui.FrameFor(r, t, nil, titleKey)
}

// errorPage answers a translated error page; msgKey is a catalog key.
func (p *Provider) errorPage(w http.ResponseWriter, r *http.Request, status int, msgKey string) {
	f := p.frame(r, "error.title")
	ui.SetHeaders(w, f.Brand)
	errorPg.Render(w, p.log, status, f.Lang, struct {
		ui.Frame
		Message string
	}{f, msgKey})
}
