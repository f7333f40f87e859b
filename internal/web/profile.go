package web

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/profileschema"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
	"github.com/gatehouse-id/gatehouse/internal/ui"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// The profile step's page (flow.ErrProfileRequired): only the fields due
// at this login, labelled in the page's language from the schema, with
// the input type and autocomplete token of each; a field the user may
// still skip carries a "skip for now" box. Posting it stores the answers
// and goes on with the login.

var profilePage = ui.Parse(templateFS, "templates/profile.html")

// profileInput is one field of the page.
type profileInput struct {
	Name, Label, Input, Autocomplete, Value string
	Options                                 []string
	MaxLength                               int
	Checked, Mandatory                      bool
	// Error is the field's problem, translated ("" for none).
	Error string
}

// profileForm: GET .../login/profile?id=... shows the due fields.
func (p *Pages) profileForm(w http.ResponseWriter, r *http.Request, t *store.Tenant) {
	ar, ok := p.consentRequest(w, r, t, r.URL.Query().Get("id"))
	if !ok {
		return
	}
	p.showProfile(w, r, t, ar, http.StatusOK, nil, nil)
}

// showProfile renders the page; sent are the values posted before (nil on
// first show), problems the fields' errors.
func (p *Pages) showProfile(w http.ResponseWriter, r *http.Request, t *store.Tenant, ar *store.LoginRequest, status int, sent map[string]any, problems *valid.Error) {
	sess := p.currentSession(r.Context(), r, t)
	due, err := p.Flow.ProfilePrompts(r.Context(), t.ID, ar, sess)
	if err != nil {
		p.message(w, r, t, http.StatusBadRequest, "error.expired_title", "error.request_unknown")
		return
	}
	if len(due) == 0 { // answered meanwhile (another tab): go on
		p.profileDone(w, r, t, ar, p.Flow.Complete(r.Context(), t.ID, ar.ID, sess))
		return
	}
	f := ui.FrameFor(r, t, ar.UILocales, "profile.title")
	errs := map[string]string{}
	if problems != nil {
		for _, fe := range problems.Fields {
			key := "profile.field_invalid"
			if fe.Code == "required" {
				key = "profile.required"
			}
			errs[strings.TrimPrefix(fe.Field, "attributes.")] = f.T(key)
		}
	}
	fields := make([]profileInput, 0, len(due))
	optional := false
	for _, d := range due {
		fd := d.Field
		in := profileInput{Name: fd.Name, Label: fd.LabelFor(f.Lang), Input: fd.InputType(), Autocomplete: fd.Autocomplete,
			Options: fd.Enum, Mandatory: d.Mandatory, Error: errs[fd.Name]}
		if fd.Type != profileschema.TypeBool && fd.Type != profileschema.TypeEnum {
			in.MaxLength = fd.Limit()
		}
		switch v := sent[fd.Name].(type) {
		case string:
			in.Value = v
		case bool:
			in.Checked = v
		}
		optional = optional || !d.Mandatory
		fields = append(fields, in)
	}
	view := struct {
		view
		Fields    []profileInput
		Optional  bool
		ErrorText string
	}{view: view{Frame: f, Action: "/t/" + t.Slug + "/login/profile", CSRF: p.csrf(w, r), RequestID: ar.ID},
		Fields: fields, Optional: optional}
	if problems != nil {
		view.ErrorText = f.T("profile.invalid")
	}
	allowFormRedirect(w, ar.ReturnURI)
	profilePage.Render(w, p.Log, status, f.Lang, view)
}

// profileSubmit: POST .../login/profile stores the answers and goes on.
func (p *Pages) profileSubmit(w http.ResponseWriter, r *http.Request, t *store.Tenant) {
	if !p.readForm(w, r, t, "profile.title") {
		return
	}
	ar, ok := p.consentRequest(w, r, t, r.PostFormValue("id"))
	if !ok {
		return
	}
	ctx := r.Context()
	sess := p.currentSession(ctx, r, t)
	due, err := p.Flow.ProfilePrompts(ctx, t.ID, ar, sess)
	if err != nil {
		p.message(w, r, t, http.StatusBadRequest, "error.expired_title", "error.request_unknown")
		return
	}
	// Only the due fields are read: the page cannot write anything else.
	a := flow.ProfileAnswer{Values: map[string]any{}, Skip: r.PostForm["skip"], IP: httpx.ClientIP(r)}
	for _, d := range due {
		vs, present := r.PostForm["f."+d.Field.Name]
		sent := ""
		if present {
			sent = vs[0]
		}
		if d.Field.Type == profileschema.TypeBool && !present && slices.Contains(a.Skip, d.Field.Name) {
			continue // a skipped checkbox is no answer, not false
		}
		if v := profileschema.FormValue(d.Field, sent, present); v != nil {
			a.Values[d.Field.Name] = v
		}
	}
	err = p.Flow.SubmitProfile(ctx, t.ID, ar, sess, a)
	var ve *valid.Error
	if errors.As(err, &ve) {
		p.showProfile(w, r, t, ar, http.StatusBadRequest, a.Values, ve)
		return
	}
	p.profileDone(w, r, t, ar, err)
}

// profileDone answers the browser once the profile step went on with err.
func (p *Pages) profileDone(w http.ResponseWriter, r *http.Request, t *store.Tenant, ar *store.LoginRequest, err error) {
	switch {
	case err == nil:
		p.returnTo(w, r, t, ar, http.StatusSeeOther)
	case p.finished(w, r, t, ar, "", err): // a later step waits
	default:
		p.Log.ErrorContext(r.Context(), "web: profile step", "err", err, "request_id", httpx.RequestID(r.Context()))
		p.message(w, r, t, http.StatusInternalServerError, "error.title", "error.generic")
	}
}

// profileLabel answers the label in lang of the tenant's profile schema
// field that field ("attributes.<name>") names; false when it names none.
func profileLabel(t *store.Tenant, field, lang string) (string, bool) {
	name, ok := strings.CutPrefix(field, "attributes.")
	if !ok {
		return "", false
	}
	sc, err := tenancy.ProfileSchemaOf(t)
	if err != nil {
		return "", false
	}
	f, ok := sc.Find(name)
	if !ok {
		return "", false
	}
	return f.LabelFor(lang), true
}
