package web

// The account page's two-step verification section
// (/t/{tenant}/account/mfa): list, add (QR code drawn by us, manual key,
// confirmed by a first code), remove, and recovery codes shown once. Every
// form is an account form (CSRF, Origin, live session); every change is
// audited by internal/mfa.

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
	"github.com/gatehouse-id/gatehouse/internal/ui"
)

var accountMFAPage = ui.Parse(templateFS, "templates/account_mfa.html", "templates/passkey_box.html")

type mfaAccountView struct {
	ui.Frame
	CSRF, Notice, Error string
	Factors             []mfa.FactorInfo
	CodesLeft           int
	Enrol               *mfa.Enrolment
	Codes               []string
	Passkey             *passkeyBox
	// EmailCode offers codes by email (the tenant allows them).
	EmailCode bool
	// Proof is the field each change asks for: "password", "code" or
	// none (mfa_reauth.go).
	Proof string
}

func (p *Pages) mountAccountMFA(mux *http.ServeMux) {
	mux.HandleFunc("GET /t/{tenant}/account/mfa", p.page(p.accountMFAShow))
	mux.HandleFunc("GET /t/{tenant}/account/mfa/totp/qr", p.page(p.accountMFAQR))
	mux.HandleFunc("POST /t/{tenant}/account/mfa/totp", p.accountAction(p.accountMFAEnrol))
	mux.HandleFunc("POST /t/{tenant}/account/mfa/totp/confirm", p.accountAction(p.accountMFAConfirm))
	mux.HandleFunc("POST /t/{tenant}/account/mfa/remove", p.accountAction(p.accountMFARemove))
	mux.HandleFunc("POST /t/{tenant}/account/mfa/recovery", p.accountAction(p.accountMFARecovery))
	mux.HandleFunc("POST /t/{tenant}/account/mfa/forget", p.accountAction(p.accountMFAForget))
	mux.HandleFunc("POST /t/{tenant}/account/mfa/email", p.accountAction(p.accountMFAEmail))
}

// accountMFAEmail turns on codes by email (tenant permitting, verified
// address only).
func (p *Pages) accountMFAEmail(a *accountReq) {
	if !p.mfaProven(a, false) { // mfa_reauth.go
		return
	}
	u, err := p.Store.Users().GetUser(a.r.Context(), a.t.ID, a.sess.UserID)
	if err != nil {
		p.accountFail(a, err)
		return
	}
	codes, err := p.MFA.EnableEmailCode(a.r.Context(), a.actor(), a.t, u)
	if errors.Is(err, mfa.ErrEmailCodeOff) {
		p.showAccountMFA(a, http.StatusBadRequest, mfaAccountView{Error: a.f.T("mfa.invalid")})
		return
	}
	if err != nil {
		p.accountFail(a, err)
		return
	}
	p.factorAdded(a, codes)
}

// accountMFAForget revokes every remembered device of the user.
func (p *Pages) accountMFAForget(a *accountReq) {
	if err := p.Flow.ForgetDevices(a.r.Context(), a.t.ID, a.sess.UserID); err != nil {
		p.accountFail(a, err)
		return
	}
	http.Redirect(a.w, a.r, "/t/"+a.t.Slug+"/account/mfa?done=forgotten&ui_locales="+a.f.Lang, http.StatusSeeOther)
}

func (p *Pages) accountMFAShow(w http.ResponseWriter, r *http.Request, t *store.Tenant) {
	f := ui.FrameFor(r, t, nil, "mfa.title")
	sess := p.currentSession(r.Context(), r, t)
	if sess == nil {
		http.Redirect(w, r, p.accountLoginURL(t, f.Lang), http.StatusFound)
		return
	}
	a := &accountReq{w: w, r: r, t: t, sess: sess, f: f}
	v := mfaAccountView{}
	switch r.URL.Query().Get("done") {
	case "added":
		v.Notice = f.T("mfa.done_added")
	case "removed":
		v.Notice = f.T("mfa.done_removed")
	case "forgotten":
		v.Notice = f.T("mfa.done_forgotten")
	}
	p.showAccountMFA(a, http.StatusOK, v)
}

func (p *Pages) showAccountMFA(a *accountReq, status int, v mfaAccountView) {
	s, err := p.MFA.List(a.r.Context(), a.t.ID, a.sess.UserID)
	if err != nil {
		p.accountFail(a, err)
		return
	}
	a.f.TitleKey = "mfa.title"
	v.Frame, v.CSRF, v.CodesLeft = a.f, p.csrf(a.w, a.r), s.RecoveryCodes
	for _, fi := range s.Factors {
		if fi.Confirmed {
			v.Factors = append(v.Factors, fi)
		}
	}
	if set, err := tenancy.ParseSettings(a.t.Settings); err == nil {
		v.EmailCode = set.MFA.EmailCode
	}
	allowPasskeyScript(a.w)
	base := "/t/" + a.t.Slug + "/account/mfa/passkey/"
	v.Proof = p.mfaProof(a) // mfa_reauth.go
	v.Passkey = &passkeyBox{Mode: "register", Begin: base + "begin", Finish: base + "finish", CSRF: v.CSRF,
		Error: a.f.T("mfa.passkey_failed"), Proof: v.Proof}
	a.w.Header().Set("Cache-Control", "no-store") // seeds and codes are shown here
	a.w.Header().Set("Referrer-Policy", "no-referrer")
	accountMFAPage.Render(a.w, p.Log, status, a.f.Lang, v)
}

// totpLabels are the issuer and account an authenticator app shows.
func totpLabels(t *store.Tenant, u *store.User) (issuer, account string) {
	issuer = tenancy.PresentationOf(t, "/t/"+t.Slug).Brand.Name
	return strings.ReplaceAll(issuer, ":", " "), u.Email
}

func (p *Pages) accountMFAEnrol(a *accountReq) {
	if !p.mfaProven(a, false) { // mfa_reauth.go
		return
	}
	ctx := a.r.Context()
	u, err := p.Store.Users().GetUser(ctx, a.t.ID, a.sess.UserID)
	if err != nil {
		p.accountFail(a, err)
		return
	}
	issuer, account := totpLabels(a.t, u)
	e, err := p.MFA.EnrolTOTP(ctx, a.t.ID, u.ID, a.r.PostFormValue("name"), issuer, account)
	if err != nil {
		p.accountFail(a, err)
		return
	}
	p.showAccountMFA(a, http.StatusOK, mfaAccountView{Enrol: e})
}

// accountMFAQR draws the QR code of the user's own factor being enrolled.
func (p *Pages) accountMFAQR(w http.ResponseWriter, r *http.Request, t *store.Tenant) {
	ctx := r.Context()
	sess := p.currentSession(ctx, r, t)
	id := r.URL.Query().Get("factor")
	if sess == nil || id == "" || len(id) > 64 {
		http.NotFound(w, r)
		return
	}
	u, err := p.Store.Users().GetUser(ctx, t.ID, sess.UserID)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	issuer, account := totpLabels(t, u)
	png, err := p.MFA.QRCode(ctx, t.ID, u.ID, id, issuer, account)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(png)
}

func (p *Pages) accountMFAConfirm(a *accountReq) {
	ctx := a.r.Context()
	id := a.r.PostFormValue("factor_id")
	codes, err := p.MFA.ConfirmTOTP(ctx, a.actor(), a.t.ID, a.sess.UserID, id, a.r.PostFormValue("code"))
	if errors.Is(err, mfa.ErrInvalidCode) {
		// Show the same enrolment again: the seed is still the user's.
		e := &mfa.Enrolment{FactorID: id}
		if f, gerr := p.Store.MFA().Factors().GetFactor(ctx, a.t.ID, id); gerr != nil || f.UserID != a.sess.UserID || f.Confirmed {
			e = nil
		}
		p.showAccountMFA(a, http.StatusBadRequest, mfaAccountView{Enrol: e, Error: a.f.T("mfa.invalid")})
		return
	}
	if err != nil {
		p.accountFail(a, err)
		return
	}
	p.factorAdded(a, codes)
}

func (p *Pages) accountMFARemove(a *accountReq) {
	if !p.mfaProven(a, false) { // mfa_reauth.go
		return
	}
	err := p.MFA.Remove(a.r.Context(), a.actor(), a.t.ID, a.sess.UserID, a.r.PostFormValue("factor_id"))
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		p.accountFail(a, err)
		return
	}
	http.Redirect(a.w, a.r, "/t/"+a.t.Slug+"/account/mfa?done=removed&ui_locales="+a.f.Lang, http.StatusSeeOther)
}

func (p *Pages) accountMFARecovery(a *accountReq) {
	if !p.mfaProven(a, false) { // mfa_reauth.go
		return
	}
	codes, err := p.MFA.RegenerateRecoveryCodes(a.r.Context(), a.actor(), a.t.ID, a.sess.UserID)
	if errors.Is(err, mfa.ErrNoFactor) {
		p.showAccountMFA(a, http.StatusBadRequest, mfaAccountView{Error: a.f.T("mfa.no_factors")})
		return
	}
	if err != nil {
		p.accountFail(a, err)
		return
	}
	p.showAccountMFA(a, http.StatusOK, mfaAccountView{Codes: codes})
}

// factorAdded answers a new factor: the recovery codes it came with (the
// first factor's), shown once, or back to the list.
func (p *Pages) factorAdded(a *accountReq, codes []string) {
	if len(codes) == 0 {
		http.Redirect(a.w, a.r, "/t/"+a.t.Slug+"/account/mfa?done=added&ui_locales="+a.f.Lang, http.StatusSeeOther)
		return
	}
	p.showAccountMFA(a, http.StatusOK, mfaAccountView{Notice: a.f.T("mfa.done_added"), Codes: codes})
}
