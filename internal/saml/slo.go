package saml

import (
	"encoding/xml"
	"errors"
	"html/template"
	"net/http"

	crewjam "github.com/crewjam/saml"

	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/ui"
)

// Forms crewjam renders during single logout, with the one script our CSP
// allows (by hash).
var (
	logoutResponseForm = template.Must(template.New("r").Parse(`<!doctype html><html lang="en"><meta charset="utf-8"><title>Continue</title>` +
		`<form method="post" action="{{.URL}}"><input type="hidden" name="SAMLResponse" value="{{.SAMLResponse}}">` +
		`{{if .RelayState}}<input type="hidden" name="RelayState" value="{{.RelayState}}">{{end}}` +
		`<noscript><button type="submit">Continue</button></noscript></form><script>` + postScript + `</script></html>`))
	logoutRequestForm = template.Must(template.New("q").Parse(`<!doctype html><html lang="en"><meta charset="utf-8"><title>Continue</title>` +
		`<form method="post" action="{{.URL}}"><input type="hidden" name="SAMLRequest" value="{{.SAMLRequest}}">` +
		`<noscript><button type="submit">Continue</button></noscript></form><script>` + postScript + `</script></html>`))
)

// sloCSP lets the logout pages post to a provider's registered endpoint
// (which one is only known inside crewjam) with our one script.
func sloCSP(w http.ResponseWriter) {
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; script-src 'sha256-"+postScriptHash+
		"'; form-action 'self' https: http:; frame-ancestors 'none'; base-uri 'none'")
}

// slo receives LogoutRequests from providers (they must be signed:
// crewjam refuses unsigned ones) and LogoutResponses to the logout
// requests we sent, with HTTP-Redirect or HTTP-POST.
func (p *IdP) slo(w http.ResponseWriter, r *http.Request, t *store.Tenant) {
	param := "SAMLRequest"
	if r.URL.Query().Has("SAMLResponse") || (r.Method == http.MethodPost && r.PostFormValue("SAMLResponse") != "") {
		param = "SAMLResponse"
	}
	p.screened(w, r, t, param, func(idp *crewjam.IdentityProvider) {
		sloCSP(w)
		idp.ServeSLO(w, r)
	})
}

// logoutForm asks the user to confirm an IdP-initiated logout (a GET
// changes nothing).
func (p *IdP) logoutForm(w http.ResponseWriter, r *http.Request, t *store.Tenant) {
	f := frame(r, "logout.confirm_title")
	ui.SetHeaders(w, f.Brand)
	tok := httpx.CSRF{PublicURL: p.cfg.PublicURL}.Token(w, r)
	logoutPage.Render(w, p.cfg.Log, http.StatusOK, f.Lang, struct {
		ui.Frame
		Tenant, Action, CSRF string
	}{f, t.Name, "/t/" + t.Slug + "/saml/logout", tok})
}

// logoutSubmit ends the browser's session and tells every provider it
// signed in to (front-channel: the browser visits each in turn, then lands
// on the logged-out page).
func (p *IdP) logoutSubmit(w http.ResponseWriter, r *http.Request, t *store.Tenant) {
	if err := r.ParseForm(); err != nil || !(httpx.CSRF{PublicURL: p.cfg.PublicURL}).Check(r) {
		p.errorPage(w, r, http.StatusForbidden, "error.form_expired")
		return
	}
	ctx := r.Context()
	sess, err := p.cfg.Sessions.Lookup(ctx, t.ID, p.cookie(r, t))
	if err != nil {
		http.Redirect(w, r, "/t/"+t.Slug+"/logged-out", http.StatusSeeOther)
		return
	}
	idp, err := p.provider(ctx, t)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	p.expireCookie(w, t)
	sloCSP(w)
	idp.StartLogout(w, r, &crewjam.Session{ID: sess.ID}, p.cfg.PublicURL+"/t/"+t.Slug+"/logged-out")
	if err := p.cfg.Sessions.End(withinSAMLLogout(ctx), t.ID, sess.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
		p.cfg.Log.ErrorContext(ctx, "saml: end session", "err", err)
	}
}

func (p *IdP) expireCookie(w http.ResponseWriter, t *store.Tenant) {
	path := "/"
	if !httpsURL(p.cfg.PublicURL) {
		path = "/t/" + t.Slug + "/"
	}
	http.SetCookie(w, &http.Cookie{Name: p.cfg.SessionCookie(t.Slug), Value: "", Path: path, MaxAge: -1,
		HttpOnly: true, Secure: httpsURL(p.cfg.PublicURL), SameSite: http.SameSiteLaxMode})
}

func httpsURL(u string) bool { return len(u) > 8 && u[:8] == "https://" }

// InvalidateSession ends the sessions a validated LogoutRequest names:
// those in which its provider received that NameID (and, when it lists
// session indexes, one of them). The browser's cookie is not needed: an
// HTTP-POST from another site does not carry a SameSite=Lax cookie.
func (s *sessions) InvalidateSession(w http.ResponseWriter, r *http.Request, req *crewjam.IdpLogoutRequest) error {
	ctx := r.Context()
	rows, err := s.participantsOf(r, req.Request.Issuer, req.Request.NameID)
	if err != nil {
		return err
	}
	ended := false
	for _, row := range rows {
		if !req.MatchesSession(&crewjam.Session{ID: row.SessionID, NameID: row.NameID, Index: row.SessionIndex}) {
			continue
		}
		if err := s.p.cfg.Sessions.End(withinSAMLLogout(ctx), s.t.ID, row.SessionID); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		ended = true
	}
	if ended {
		s.p.expireCookie(w, s.t)
	}
	return nil
}

// participantsOf answers the participations of the provider named by
// issuer under nameID.
func (s *sessions) participantsOf(r *http.Request, issuer *crewjam.Issuer, nameID *crewjam.NameID) ([]store.SAMLParticipant, error) {
	if issuer == nil || nameID == nil || nameID.Value == "" {
		return nil, nil
	}
	sp, err := s.p.cfg.Store.SAML().ServiceProviders().GetSPByEntityID(r.Context(), s.t.ID, issuer.Value)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return s.p.cfg.Store.SAML().Participants().FindParticipants(r.Context(), s.t.ID, sp.ID, nameID.Value)
}

// AddSessionParticipant is crewjam's hook after an assertion it made
// itself; ours are recorded by finish, so this only keeps the contract.
func (s *sessions) AddSessionParticipant(r *http.Request, session *crewjam.Session, participant crewjam.SessionParticipant) error {
	sp, err := s.p.cfg.Store.SAML().ServiceProviders().GetSPByEntityID(r.Context(), s.t.ID, participant.ServiceProviderID)
	if err != nil {
		return err
	}
	return s.p.cfg.Store.SAML().Participants().AddParticipant(r.Context(), &store.SAMLParticipant{
		Tenant: s.t.ID, SessionID: session.ID, SPID: sp.ID, NameID: participant.NameID.Value,
		NameIDFormat: participant.NameID.Format, SessionIndex: participant.SessionIndex})
}

// SessionParticipants answers every provider of each session that match
// accepts. Candidate sessions: the browser's own, and those in which the
// provider of the LogoutRequest being served received its NameID.
func (s *sessions) SessionParticipants(r *http.Request, match func(*crewjam.Session) bool) ([]crewjam.SessionParticipant, error) {
	ctx := r.Context()
	parts := s.p.cfg.Store.SAML().Participants()
	var candidates []string
	if sess, err := s.p.cfg.Sessions.Lookup(ctx, s.t.ID, s.p.cookie(r, s.t)); err == nil {
		candidates = append(candidates, sess.ID)
	}
	if id := chainSession(ctx); id != "" { // chain.go: a session ended by another surface
		candidates = append(candidates, id)
	}
	if issuer, nameID := logoutSubject(r); issuer != nil {
		rows, err := s.participantsOf(r, issuer, nameID)
		if err != nil {
			return nil, err
		}
		for _, row := range rows {
			candidates = append(candidates, row.SessionID)
		}
	}
	var out []crewjam.SessionParticipant
	done := map[string]bool{}
	for _, id := range candidates {
		if done[id] {
			continue
		}
		done[id] = true
		rows, err := parts.ListParticipants(ctx, s.t.ID, id)
		if err != nil {
			return nil, err
		}
		matched := false
		for _, row := range rows {
			matched = matched || match(&crewjam.Session{ID: row.SessionID, NameID: row.NameID, Index: row.SessionIndex})
		}
		if !matched {
			continue
		}
		for _, row := range rows {
			sp, err := s.p.cfg.Store.SAML().ServiceProviders().GetSP(ctx, s.t.ID, row.SPID)
			if err != nil || !keepParticipant(ctx, sp) { // backchannel.go
				continue // deleted since: nothing to tell
			}
			out = append(out, crewjam.SessionParticipant{
				ServiceProviderID: sp.EntityID, SessionIndex: row.SessionIndex,
				NameID: crewjam.NameID{Format: row.NameIDFormat, Value: row.NameID},
			})
		}
	}
	return out, nil
}

// logoutSubject reads the issuer and NameID of the LogoutRequest in r,
// if any, to find candidate sessions. Nothing is trusted from it: crewjam
// has verified the request, and match decides.
func logoutSubject(r *http.Request) (*crewjam.Issuer, *crewjam.NameID) {
	msg, err := readMessage(r, "SAMLRequest")
	if err != nil {
		return nil, nil
	}
	var lr crewjam.LogoutRequest
	if err := xml.Unmarshal(msg.XML, &lr); err != nil {
		return nil, nil
	}
	return lr.Issuer, lr.NameID
}
