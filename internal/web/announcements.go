package web

import (
	"net/http"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/notice"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Announcements on the login and account pages. A dismissed announcement
// is remembered in a cookie of the browser (its ids, at most
// maxDismissed), so dismissing works before sign-in too.

const maxDismissed = 20

// dismissedCookie names a tenant's cookie of dismissed announcements.
func (p *Pages) dismissedCookie(slug string) string {
	if p.Secure() {
		return "__Host-gh_dismissed_" + slug
	}
	return "gh_dismissed_" + slug
}

// dismissed answers the ids the browser dismissed.
func (p *Pages) dismissed(r *http.Request, t *store.Tenant) []string {
	c, err := r.Cookie(p.dismissedCookie(t.Slug))
	if err != nil {
		return nil
	}
	var out []string
	for _, id := range strings.Split(c.Value, ".") {
		if uuid.Validate(id) == nil && len(out) < maxDismissed {
			out = append(out, id)
		}
	}
	return out
}

// announcements answers what channel shows to userID ("" before sign-in)
// in lang, less what the browser dismissed. A failure is logged and shows
// nothing: the page itself matters more.
func (p *Pages) announcements(r *http.Request, t *store.Tenant, channel, userID, lang string) []notice.ShownAnnouncement {
	if p.Announcer == nil {
		return nil
	}
	list, err := p.Announcer.Shown(r.Context(), t, channel, userID, lang)
	if err != nil {
		p.Log.ErrorContext(r.Context(), "web: announcements", "err", err, "request_id", httpx.RequestID(r.Context()))
		return nil
	}
	gone := p.dismissed(r, t)
	return slices.DeleteFunc(list, func(a notice.ShownAnnouncement) bool { return slices.Contains(gone, a.ID) })
}

// dismissAnnouncement: POST .../announcements/dismiss remembers the id in
// the browser's cookie and goes back to the page (a path of the tenant).
func (p *Pages) dismissAnnouncement(w http.ResponseWriter, r *http.Request, t *store.Tenant) {
	if !p.readForm(w, r, t, "announcement.dismiss") {
		return
	}
	id := r.PostForm.Get("id")
	if uuid.Validate(id) != nil {
		p.message(w, r, t, http.StatusBadRequest, "announcement.dismiss", "error.form_unreadable")
		return
	}
	ids := p.dismissed(r, t)
	if !slices.Contains(ids, id) {
		ids = append(ids, id)
	}
	if len(ids) > maxDismissed {
		ids = ids[len(ids)-maxDismissed:]
	}
	p.tenantCookie(w, t, p.dismissedCookie(t.Slug), strings.Join(ids, "."), 365*24*3600)
	http.Redirect(w, r, backTo(t, r.PostForm.Get("back")), http.StatusSeeOther)
}

// backTo answers back when it is a path of the tenant's pages, else the
// account page: never another site.
func backTo(t *store.Tenant, back string) string {
	prefix := "/t/" + t.Slug + "/"
	if !strings.HasPrefix(back, prefix) || strings.ContainsAny(back, "\\\r\n") || strings.Contains(back, "//") ||
		len(back) > 2048 {
		return prefix + "account"
	}
	return back
}

// loginAnnouncements answers the login page's announcements: to everyone,
// and, when the browser is already signed in (a new sign-in asked by an
// application), to the audiences its user is in.
func (p *Pages) loginAnnouncements(r *http.Request, t *store.Tenant, lang string) []notice.ShownAnnouncement {
	userID := ""
	if sess := p.currentSession(r.Context(), r, t); sess != nil {
		userID = sess.UserID
	}
	return p.announcements(r, t, notice.ChannelLogin, userID, lang)
}

// accountNotices: POST .../account/notices sets whether the user mutes the
// notices not about security and announcement mails (checkbox "muted").
func (p *Pages) accountNotices(a *accountReq) {
	err := p.Store.SelfService().NoticePrefs().SetNoticesMuted(a.r.Context(), a.t.ID, a.sess.UserID, a.r.PostForm.Get("muted") == "on")
	p.accountResult(a, err, "notices")
}

// accountAnnouncements answers the account page's announcements for userID.
func (p *Pages) accountAnnouncements(r *http.Request, t *store.Tenant, userID, lang string) []notice.ShownAnnouncement {
	return p.announcements(r, t, notice.ChannelAccount, userID, lang)
}
