package saml

import (
	"embed"
	"net/http"

	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/i18n"
	"github.com/gatehouse-id/gatehouse/internal/ui"
)

// The identity provider's own pages (errors, the sign-out confirmation)
// use the shared branded, translated layout of the hosted pages. The
// self-submitting protocol forms (assertion.go, slo.go) are not pages a
// person reads: they stay minimal, with the one script the CSP allows.

//go:embed templates/*.html
var pageFS embed.FS

var (
	errorPg    = ui.Parse(pageFS, "templates/error.html")
	logoutPage = ui.Parse(pageFS, "templates/logout.html")
)

// frame is the layout data of an IdP page for the request's tenant; a
// request without one (it cannot reach these pages) gets the defaults.
func frame(r *http.Request, titleKey string) ui.Frame {
	t, ok := httpx.Tenant(r)
	if !ok {
		return ui.Frame{Lang: i18n.Fallback, TitleKey: titleKey}
	}
	return ui.FrameFor(r, t, nil, titleKey)
}

// errorPage answers a translated error page; msgKey is a catalog key.
func (p *IdP) errorPage(w http.ResponseWriter, r *http.Request, status int, msgKey string) {
	f := frame(r, "error.title")
	ui.SetHeaders(w, f.Brand)
	errorPg.Render(w, p.cfg.Log, status, f.Lang, struct {
		ui.Frame
		Message string
	}{f, msgKey})
}
