package web

import (
	"net/http"
	"slices"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/consent"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/ui"
)

// The consent purposes step of a sign-in (flow.ErrPurposesAsked): one
// page lists the tenant's purposes that are new to the user (or have a
// new version). "Continue" records each shown purpose as granted when
// ticked, withdrawn (declined) when not; "Not now" leaves optional ones
// undecided (not asked again at this version). A required purpose must be
// ticked to continue; declining it records the refusal, ends the session
// and the login, and says so on a page of its own.

var purposesPage = ui.Parse(templateFS, "templates/purposes.html")

// mountPurposes registers the purposes step and the account page's
// privacy section (account_privacy.go).
func (p *Pages) mountPurposes(mux *http.ServeMux) {
	mux.HandleFunc("GET /t/{tenant}/purposes", p.page(p.purposesForm))
	mux.HandleFunc("POST /t/{tenant}/purposes", p.page(p.purposesSubmit))
	mux.HandleFunc("GET /t/{tenant}/account/privacy", p.page(p.privacyShow))
	mux.HandleFunc("POST /t/{tenant}/account/privacy/consents", p.accountAction(p.privacyConsent))
	mux.HandleFunc("POST /t/{tenant}/account/privacy/preferences", p.accountAction(p.privacyPreferences))
}

// purposeRow is one purpose on the page, in the page's language.
type purposeRow struct {
	Name, Version, Title, Description string
	Required, Checked                 bool
}

type purposesView struct {
	view
	ErrorText   string
	Purposes    []purposeRow
	AnyRequired bool
}

func purposeRows(ps []store.ConsentPurpose, lang string, checked func(string) bool) ([]purposeRow, bool) {
	rows, anyRequired := make([]purposeRow, len(ps)), false
	for i, x := range ps {
		rows[i] = purposeRow{Name: x.Name, Version: x.Version, Title: consent.Text(x.Title, lang),
			Description: consent.Text(x.Description, lang), Required: x.Required, Checked: checked(x.Name)}
		if rows[i].Title == "" {
			rows[i].Title = x.Name
		}
		anyRequired = anyRequired || x.Required
	}
	return rows, anyRequired
}

// purposesForm: GET .../purposes?id=... shows the purposes to answer.
func (p *Pages) purposesForm(w http.ResponseWriter, r *http.Request, t *store.Tenant) {
	ar, ok := p.consentRequest(w, r, t, r.URL.Query().Get("id"))
	if !ok {
		return
	}
	p.showPurposes(w, r, t, ar, http.StatusOK, "", nil)
}

func (p *Pages) showPurposes(w http.ResponseWriter, r *http.Request, t *store.Tenant, ar *store.LoginRequest, status int, errKey string, granted []string) {
	ps, err := p.Flow.PendingPurposes(r.Context(), t.ID, ar.UserID)
	if err != nil {
		p.purposesFail(w, r, t, err)
		return
	}
	if len(ps) == 0 { // answered meanwhile (another tab): go on
		p.continueLogin(w, r, t, ar)
		return
	}
	f := ui.FrameFor(r, t, ar.UILocales, "consent.purposes_title")
	v := purposesView{view: view{Frame: f, Action: "/t/" + t.Slug + "/purposes", CSRF: p.csrf(w, r), RequestID: ar.ID}}
	v.Purposes, v.AnyRequired = purposeRows(ps, f.Lang, func(n string) bool { return slices.Contains(granted, n) })
	if errKey != "" {
		v.ErrorText = f.T(errKey)
	}
	allowFormRedirect(w, ar.ReturnURI)
	purposesPage.Render(w, p.Log, status, f.Lang, v)
}

// purposesSubmit: POST .../purposes records the answers and goes on.
func (p *Pages) purposesSubmit(w http.ResponseWriter, r *http.Request, t *store.Tenant) {
	if !p.readForm(w, r, t, "consent.purposes_title") {
		return
	}
	ctx := r.Context()
	ar, ok := p.consentRequest(w, r, t, r.PostFormValue("id"))
	if !ok {
		return
	}
	ps, err := p.Flow.PendingPurposes(ctx, t.ID, ar.UserID)
	if err != nil {
		p.purposesFail(w, r, t, err)
		return
	}
	granted := r.PostForm["grant"]
	decision := r.PostFormValue("decision")
	switch decision {
	case "save", "skip", "decline":
	default:
		p.message(w, r, t, http.StatusBadRequest, "consent.purposes_title", "error.form_unreadable")
		return
	}
	// Only what was shown is recorded, at the version shown; a purpose
	// published while the page was open is asked on the next round.
	var shown []store.ConsentPurpose
	for _, x := range ps {
		if slices.Contains(r.PostForm["shown"], x.Name+"@"+x.Version) {
			shown = append(shown, x)
		}
	}
	src := consent.Source{How: consent.HowLogin, IP: httpx.ClientIP(r), UserAgent: r.UserAgent()}
	actor := account.Actor(ar.UserID, src.IP, httpx.RequestID(ctx))
	var ds []consent.Decision
	missing := false
	for _, x := range shown {
		switch {
		case decision == "skip" && !x.Required:
			continue
		case slices.Contains(granted, x.Name):
			ds = append(ds, consent.Decision{Purpose: x.Name, Version: x.Version, State: store.ConsentGranted})
		case x.Required && decision != "decline":
			missing = true
		default:
			ds = append(ds, consent.Decision{Purpose: x.Name, Version: x.Version, State: store.ConsentWithdrawn})
		}
	}
	if missing {
		p.showPurposes(w, r, t, ar, http.StatusBadRequest, "consent.purposes_required_missing", granted)
		return
	}
	if _, err := p.Consent.Record(ctx, actor, t.ID, ar.UserID, ds, src); err != nil {
		p.purposesFail(w, r, t, err)
		return
	}
	if decision == "skip" {
		if err := p.Consent.Skip(ctx, t.ID, ar.UserID, shown); err != nil {
			p.purposesFail(w, r, t, err)
			return
		}
	}
	if decision == "decline" && slices.ContainsFunc(ds, func(d consent.Decision) bool {
		return d.State == store.ConsentWithdrawn && requiredIn(shown, d.Purpose)
	}) {
		// A required purpose refused: no login. The session this login
		// made ends with it; the application learns nothing more.
		p.Flow.Drop(ctx, t.ID, ar.ID)
		if sess := p.currentSession(ctx, r, t); sess != nil {
			_ = p.Sessions.End(ctx, t.ID, sess.ID)
		}
		p.clearSessionCookie(w, t)
		p.message(w, r, t, http.StatusForbidden, "consent.purposes_declined_title", "consent.purposes_declined_body")
		return
	}
	p.continueLogin(w, r, t, ar)
}

// signupPurposes are the rows of the sign-up form's purposes (none when
// the pages have no consent service); a posted form keeps its ticks.
func (p *Pages) signupPurposes(w http.ResponseWriter, r *http.Request, t *store.Tenant, lang string) ([]purposeRow, bool) {
	if p.Consent == nil {
		return nil, true
	}
	ps, err := p.Store.Purposes().ListPurposes(r.Context(), t.ID, true)
	if err != nil {
		p.purposesFail(w, r, t, err)
		return nil, false
	}
	rows, _ := purposeRows(ps, lang, func(n string) bool { return slices.Contains(r.PostForm["purpose"], n) })
	return rows, true
}

func requiredIn(ps []store.ConsentPurpose, name string) bool {
	return slices.ContainsFunc(ps, func(x store.ConsentPurpose) bool { return x.Name == name && x.Required })
}

// continueLogin runs the steps after the session again and goes where
// they lead: the next waiting step, or the application.
func (p *Pages) continueLogin(w http.ResponseWriter, r *http.Request, t *store.Tenant, ar *store.LoginRequest) {
	sess := p.currentSession(r.Context(), r, t)
	if sess == nil {
		p.message(w, r, t, http.StatusBadRequest, "error.expired_title", "error.request_unknown")
		return
	}
	err := p.Flow.Complete(r.Context(), t.ID, ar.ID, sess)
	switch {
	case err == nil:
		p.returnTo(w, r, t, ar, http.StatusSeeOther)
	case p.finished(w, r, t, ar, "", err): // another step waits
	default:
		p.purposesFail(w, r, t, err)
	}
}

func (p *Pages) purposesFail(w http.ResponseWriter, r *http.Request, t *store.Tenant, err error) {
	p.Log.ErrorContext(r.Context(), "web: consent purposes", "err", err, "request_id", httpx.RequestID(r.Context()))
	p.message(w, r, t, http.StatusInternalServerError, "error.title", "error.generic")
}
