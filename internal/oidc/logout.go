package oidc

import (
	"net/http"
	"net/url"
	"slices"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/ui"
)

// logoutParams are the end_session parameters carried through the
// confirmation form.
var logoutParams = []string{"post_logout_redirect_uri", "state", "client_id", "ui_locales", "logout_hint"}

// confirmLogout guards RP-initiated logout without an id_token_hint: nothing
// proves the request comes from an application the user uses, so a
// cross-site link could sign the user out. The user confirms on a page
// (CSRF-protected form) first. It reports whether it answered.
func (p *Provider) confirmLogout(w http.ResponseWriter, r *http.Request) bool {
	if err := r.ParseForm(); err != nil {
		p.errorPage(w, r, http.StatusBadRequest, "logout.unreadable")
		return true
	}
	if r.Form.Get("id_token_hint") != "" {
		return false
	}
	csrf := httpx.CSRF{PublicURL: p.publicURL}
	if r.Method == http.MethodPost && r.PostForm.Get("confirm") == "yes" {
		if csrf.Check(r) {
			return false // confirmed: the library ends the session
		}
		p.errorPage(w, r, http.StatusForbidden, "logout.form_expired")
		return true
	}
	fields := map[string]string{}
	for _, k := range logoutParams {
		if v := r.Form.Get(k); v != "" && len(v) <= 2048 {
			fields[k] = v
		}
	}
	// A post-logout URI is checked now against the client's registered
	// ones (never shown on a page and followed later unchecked); without a
	// client to check it against it is dropped: the OP's own page follows.
	if uri, ok := fields["post_logout_redirect_uri"]; ok {
		if fields["client_id"] == "" {
			delete(fields, "post_logout_redirect_uri")
		} else if c, err := p.storage.client(r.Context(), fields["client_id"]); err != nil ||
			!slices.Contains(c.c.PostLogoutRedirectURIs, uri) {
			op.WriteError(w, r, oidc.ErrInvalidRequest().WithDescription("post_logout_redirect_uri is not registered for this client"), nil)
			return true
		}
	}
	var formAction []string
	if u, err := url.Parse(fields["post_logout_redirect_uri"]); err == nil && u.Scheme != "" && u.Host != "" {
		// The library redirects there after the POST, and browsers check
		// form-action on redirects too (it only redirects to registered URIs).
		formAction = append(formAction, u.Scheme+"://"+u.Host)
	}
	f := p.frame(r, "logout.confirm_title")
	ui.SetHeaders(w, f.Brand, formAction...)
	logoutPage.Render(w, p.log, http.StatusOK, f.Lang, struct {
		ui.Frame
		Action string
		CSRF   string
		Fields map[string]string
	}{f, p.issuer(r.Context()) + "/end_session", csrf.Token(w, r), fields})
	return true
}
