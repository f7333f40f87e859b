package web

import (
	"net/http"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/ui"
)

// Suspended answers any hosted page of a suspended tenant: 403 and a page,
// in the visitor's language, saying the sign-in service is suspended.
func (p *Pages) Suspended(w http.ResponseWriter, r *http.Request, t *store.Tenant) {
	f := ui.FrameFor(r, t, nil, "suspended.title")
	w.Header().Set("Cache-Control", "no-store")
	p.render(w, http.StatusForbidden, "message", view{Frame: f, Message: f.T("suspended.message", "tenant", f.Brand.Name)})
}
