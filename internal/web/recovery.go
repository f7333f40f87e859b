package web

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/credential"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/risk"
	"github.com/gatehouse-id/gatehouse/internal/selfservice"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/ui"
)

func (p *Pages) forgotForm(w http.ResponseWriter, r *http.Request, t *store.Tenant) {
	f := ui.FrameFor(r, t, nil, "forgot.title")
	p.ssRender(w, http.StatusOK, "email", ssView{Frame: f, Message: f.T("forgot.sub"), Submit: "forgot.submit",
		Action: "/t/" + t.Slug + "/password/forgot", CSRF: p.csrf(w, r)})
}

// forgotSubmit answers the same page whether or not the address has an
// account (and, through the service, after the same time).
func (p *Pages) forgotSubmit(w http.ResponseWriter, r *http.Request, t *store.Tenant) {
	email := strings.TrimSpace(r.PostFormValue("email"))
	if len(email) > 254 {
		email = ""
	}
	f := ui.FrameFor(r, t, nil, "forgot.sent_title")
	if err := p.SelfService.ForgotPassword(risk.WithUserAgent(r.Context(), r.UserAgent()), t, email, httpx.ClientIP(r), f.Lang); err != nil {
		p.fail(w, r, t, "forgot password", err)
		return
	}
	p.ssRender(w, http.StatusOK, "done", ssView{Frame: f,
		Message: f.T("forgot.sent_body", "email", email, "minutes", int(selfservice.ResetTTL.Minutes()))})
}

// newPasswordForm shows the form of a reset or invitation link that still
// works, or says it does not.
func (p *Pages) newPasswordForm(w http.ResponseWriter, r *http.Request, t *store.Tenant, v ssView, check func() error, invalid string, status int) {
	if err := check(); err != nil {
		if errors.Is(err, selfservice.ErrInvalidToken) {
			p.message(w, r, t, http.StatusBadRequest, v.TitleKey, invalid)
			return
		}
		p.fail(w, r, t, "password link", err)
		return
	}
	_, pw := selfservice.Policy(t)
	lo, hi := policyBounds(pw)
	pw.MinLength = lo
	v.Policy, v.MaxLength, v.CSRF = pw, hi, p.csrf(w, r)
	allowScript(w)
	p.ssRender(w, status, "newpassword", v)
}

// passwordLink is a mailed link that leads to choosing a password: a reset
// or an invitation.
type passwordLink struct {
	title, submit, sub, path, invalid, doneTitle, doneBody string
	check                                                  func(ctx context.Context, t *store.Tenant, token string) error
	run                                                    func(ctx context.Context, t *store.Tenant, token, password, ip string) (*store.User, error)
}

func (p *Pages) resetLink() passwordLink {
	return passwordLink{title: "reset.title", submit: "reset.submit", path: "/password/reset", invalid: "reset.invalid",
		doneTitle: "reset.done_title", doneBody: "reset.done_body",
		check: p.SelfService.CheckResetLink, run: p.SelfService.ResetPassword}
}

func (p *Pages) inviteLink() passwordLink {
	return passwordLink{title: "invite.title", submit: "invite.submit", sub: "invite.sub", path: "/invitation",
		invalid: "invite.invalid", doneTitle: "invite.done_title", doneBody: "invite.done_body",
		check: p.SelfService.CheckInvitation, run: p.SelfService.AcceptInvitation}
}

func (l passwordLink) view(r *http.Request, t *store.Tenant, tok string) ssView {
	f := ui.FrameFor(r, t, nil, l.title)
	v := ssView{Frame: f, Submit: l.submit, Action: "/t/" + t.Slug + l.path, Token: tok}
	if l.sub != "" {
		v.Message = f.T(l.sub, "tenant", f.Brand.Name)
	}
	return v
}

// linkForm: GET of a reset or invitation link.
func (p *Pages) linkForm(l func() passwordLink) pageFunc {
	return func(w http.ResponseWriter, r *http.Request, t *store.Tenant) {
		lk, tok := l(), r.URL.Query().Get("token")
		p.newPasswordForm(w, r, t, lk.view(r, t, tok), func() error {
			return lk.check(r.Context(), t, tok)
		}, lk.invalid, http.StatusOK)
	}
}

// linkSubmit: POST of a reset or invitation link's form.
func (p *Pages) linkSubmit(l func() passwordLink) pageFunc {
	return func(w http.ResponseWriter, r *http.Request, t *store.Tenant) {
		lk, tok, pw := l(), r.PostFormValue("token"), r.PostFormValue("password")
		p.setPassword(w, r, t, lk.view(r, t, tok), pw, lk.invalid, lk.doneTitle, lk.doneBody,
			func() (*store.User, error) { return lk.run(r.Context(), t, tok, pw, httpx.ClientIP(r)) })
	}
}

// setPassword runs a reset or an invitation and answers its page.
func (p *Pages) setPassword(w http.ResponseWriter, r *http.Request, t *store.Tenant, v ssView, pw, invalid, doneTitle, doneBody string, run func() (*store.User, error)) {
	if len(pw) > credential.MaxPasswordBytes {
		pw = ""
	}
	_, err := run()
	_, pol := selfservice.Policy(t)
	if text, ok := fieldText(v.Frame, pol, err); ok {
		v.ErrorText = text
		p.newPasswordForm(w, r, t, v, func() error { return nil }, invalid, http.StatusBadRequest)
		return
	}
	switch {
	case errors.Is(err, selfservice.ErrInvalidToken):
		p.message(w, r, t, http.StatusBadRequest, v.TitleKey, invalid)
	case err != nil:
		p.fail(w, r, t, "set password", err)
	default:
		// The user's sessions are over; so is this browser's.
		p.clearSessionCookie(w, t)
		p.done(w, r, t, doneTitle, doneBody, "")
	}
}
