package web

import (
	"errors"
	"net/http"

	"github.com/gatehouse-id/gatehouse/internal/hooks"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/ui"
)

// hookText is the sentence a page shows for a hook's refusal: the hook's
// message in the page's language (html/template escapes it), else a
// generic one. ok is false when err is no refusal.
func hookText(f ui.Frame, err error) (string, bool) {
	var d *hooks.DeniedError
	if !errors.As(err, &d) {
		return "", false
	}
	if m := d.Message.In(f.Lang); m != "" {
		return m, true
	}
	return f.T("hooks.denied_body"), true
}

// hookDenied answers a sign-in the tenant's post_login hook refused: a
// page with the hook's message; no session was made.
func (p *Pages) hookDenied(w http.ResponseWriter, r *http.Request, t *store.Tenant, err error) bool {
	f := ui.FrameFor(r, t, nil, "hooks.denied_title")
	text, ok := hookText(f, err)
	if !ok {
		return false
	}
	p.render(w, http.StatusForbidden, "message", view{Frame: f, Message: text})
	return true
}
