package web

import (
	"errors"
	"net/http"
	"net/url"
	"slices"

	"github.com/gatehouse-id/gatehouse/internal/consent"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/ui"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// The account page's privacy section (/t/{tenant}/account/privacy): the
// tenant's consent purposes with the user's state of each, granted or
// withdrawn at once with one button; the communication channels and
// topics; and the CCPA opt-out of sale and sharing and the GDPR objection
// to profiling, recorded as consents of their reserved purposes. Every
// change goes through internal/consent (records, preferences, audit).

var privacyPage = ui.Parse(templateFS, "templates/account_privacy.html")

// privacyDone maps the notices of success redirects to messages.
var privacyDone = map[string]string{"consent": "consent.privacy_done_consent", "preferences": "consent.privacy_done_preferences"}

// channelLabels are the catalog keys of the channels' names.
var channelLabels = map[string]string{"email": "consent.privacy_channel_email", "sms": "consent.privacy_channel_sms",
	"push": "consent.privacy_channel_push"}

type consentRow struct {
	Name, Title, Description, State, At string
	Required                            bool
}

type switchRow struct {
	Name, Label string
	On          bool
}

type privacyView struct {
	ui.Frame
	CSRF, Notice, ErrorText    string
	Consents                   []consentRow
	Channels, Topics           []switchRow
	DoNotSell, ObjectProfiling bool
}

// privacyShow: GET .../account/privacy; without a session, to sign-in.
func (p *Pages) privacyShow(w http.ResponseWriter, r *http.Request, t *store.Tenant) {
	f := ui.FrameFor(r, t, nil, "consent.privacy_title")
	sess := p.currentSession(r.Context(), r, t)
	if sess == nil {
		http.Redirect(w, r, p.accountLoginURL(t, f.Lang), http.StatusFound)
		return
	}
	notice := ""
	if key, ok := privacyDone[r.URL.Query().Get("done")]; ok {
		notice = f.T(key)
	}
	p.showPrivacy(&accountReq{w: w, r: r, t: t, sess: sess, f: f}, http.StatusOK, notice, "")
}

func (p *Pages) showPrivacy(a *accountReq, status int, notice, errText string) {
	ctx := a.r.Context()
	a.f.TitleKey, a.f.Wide = "consent.privacy_title", true
	states, err := p.Consent.States(ctx, a.t.ID, a.sess.UserID)
	if err != nil {
		p.accountFail(a, err)
		return
	}
	prefs, err := p.Consent.Preferences(ctx, a.t.ID, a.sess.UserID)
	if errors.Is(err, store.ErrNotFound) {
		p.clearSessionCookie(a.w, a.t)
		http.Redirect(a.w, a.r, p.accountLoginURL(a.t, a.f.Lang), http.StatusSeeOther)
		return
	}
	if err != nil {
		p.accountFail(a, err)
		return
	}
	topics, err := consent.Topics(ctx, p.Store, a.t.ID)
	if err != nil {
		p.accountFail(a, err)
		return
	}
	v := privacyView{Frame: a.f, CSRF: p.csrf(a.w, a.r), Notice: notice, ErrorText: errText,
		DoNotSell: prefs.DoNotSell, ObjectProfiling: prefs.ObjectProfiling}
	for _, s := range states {
		row := consentRow{Name: s.Purpose.Name, Title: consent.Text(s.Purpose.Title, a.f.Lang),
			Description: consent.Text(s.Purpose.Description, a.f.Lang), Required: s.Purpose.Required, State: s.State}
		if row.Title == "" {
			row.Title = row.Name
		}
		if !s.At.IsZero() {
			row.At = s.At.UTC().Format("2006-01-02")
		}
		v.Consents = append(v.Consents, row)
	}
	for _, c := range consent.Channels {
		v.Channels = append(v.Channels, switchRow{Name: c, Label: a.f.T(channelLabels[c]), On: prefs.Channels[c]})
	}
	for _, tp := range topics {
		v.Topics = append(v.Topics, switchRow{Name: tp.Name, Label: tp.TopicLabel(a.f.Lang), On: prefs.Topics[tp.Name]})
	}
	privacyPage.Render(a.w, p.Log, status, a.f.Lang, v)
}

func privacySource(r *http.Request) consent.Source {
	return consent.Source{How: consent.HowAccount, IP: httpx.ClientIP(r), UserAgent: r.UserAgent()}
}

// privacyConsent: POST .../account/privacy/consents grants or withdraws
// one purpose (its newest version) at once.
func (p *Pages) privacyConsent(a *accountReq) {
	d := consent.Decision{Purpose: a.r.PostFormValue("purpose"), State: a.r.PostFormValue("state")}
	_, err := p.Consent.Record(a.r.Context(), a.actor(), a.t.ID, a.sess.UserID, []consent.Decision{d}, privacySource(a.r))
	var ve *valid.Error
	switch {
	case errors.As(err, &ve):
		p.showPrivacy(a, http.StatusBadRequest, "", a.f.T("consent.privacy_invalid"))
	case err != nil:
		p.accountFail(a, err)
	default:
		http.Redirect(a.w, a.r, privacyURL(a, "consent"), http.StatusSeeOther)
	}
}

// privacyPreferences: POST .../account/privacy/preferences sets the
// channels and topics (part communication) or the two rights (part
// rights): the boxes of the posted part, ticked or not.
func (p *Pages) privacyPreferences(a *accountReq) {
	var ch consent.PreferencesChange
	switch a.r.PostFormValue("part") {
	case "communication":
		topics, err := consent.Topics(a.r.Context(), p.Store, a.t.ID)
		if err != nil {
			p.accountFail(a, err)
			return
		}
		ch.Channels, ch.Topics = map[string]bool{}, map[string]bool{}
		for _, c := range consent.Channels {
			ch.Channels[c] = slices.Contains(a.r.PostForm["channel"], c)
		}
		for _, tp := range topics {
			ch.Topics[tp.Name] = slices.Contains(a.r.PostForm["topic"], tp.Name)
		}
	case "rights":
		dns, obj := a.r.PostFormValue("do_not_sell") == "yes", a.r.PostFormValue("object_profiling") == "yes"
		ch.DoNotSell, ch.ObjectProfiling = &dns, &obj
	default:
		p.showPrivacy(a, http.StatusBadRequest, "", a.f.T("consent.privacy_invalid"))
		return
	}
	if _, err := p.Consent.SetPreferences(a.r.Context(), a.actor(), a.t.ID, a.sess.UserID, ch, privacySource(a.r)); err != nil {
		p.accountFail(a, err)
		return
	}
	http.Redirect(a.w, a.r, privacyURL(a, "preferences"), http.StatusSeeOther)
}

// privacyURL is the privacy page in the request's language, with a notice.
func privacyURL(a *accountReq, done string) string {
	return "/t/" + a.t.Slug + "/account/privacy?" + url.Values{"ui_locales": {a.f.Lang}, "done": {done}}.Encode()
}
