package web

import (
	"net/http"

	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/ui"
)

// The passkey offer after a password login (flow.ErrPasskeyNudge): the
// user may add a passkey on the account page or go on to the application.
// The offer was recorded when it was made; "not now" just goes on.

var nudgePage = ui.Parse(templateFS, "templates/passkey_offer.html")

// passkeyOfferForm: GET .../passkey-offer?id=... shows the offer.
func (p *Pages) passkeyOfferForm(w http.ResponseWriter, r *http.Request, t *store.Tenant) {
	ar, ok := p.consentRequest(w, r, t, r.URL.Query().Get("id"))
	if !ok {
		return
	}
	f := ui.FrameFor(r, t, ar.UILocales, "passkey_offer.title")
	allowFormRedirect(w, ar.ReturnURI)
	nudgePage.Render(w, p.Log, http.StatusOK, f.Lang, view{Frame: f, Action: "/t/" + t.Slug + "/passkey-offer",
		CSRF: p.csrf(w, r), RequestID: ar.ID})
}

// passkeyOfferSubmit: POST .../passkey-offer goes on with the login.
func (p *Pages) passkeyOfferSubmit(w http.ResponseWriter, r *http.Request, t *store.Tenant) {
	if !p.readForm(w, r, t, "passkey_offer.title") {
		return
	}
	ar, ok := p.consentRequest(w, r, t, r.PostFormValue("id"))
	if !ok {
		return
	}
	err := p.Flow.Complete(r.Context(), t.ID, ar.ID, p.currentSession(r.Context(), r, t))
	switch {
	case err == nil:
		p.returnTo(w, r, t, ar, http.StatusSeeOther)
	case p.finished(w, r, t, ar, "", err): // the consent step waits
	default:
		p.Log.ErrorContext(r.Context(), "web: passkey offer", "err", err, "request_id", httpx.RequestID(r.Context()))
		p.message(w, r, t, http.StatusInternalServerError, "error.title", "error.generic")
	}
}
