package web

// The device page (RFC 8628 section 3.3): the user enters the code shown
// on a device, signs in through the login page if needed (the usual flow,
// so every login step applies), sees which client asks for what, and
// approves or denies. Wrong codes are throttled per address.

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/ui"
)

// DeviceProtocol is what the device page needs from the device grant's
// front end (Pages.Device).
type DeviceProtocol interface {
	// DeviceByUserCode answers the pending device authorization of a user
	// code as typed; store.ErrNotFound when there is none (unknown,
	// expired, already decided).
	DeviceByUserCode(ctx context.Context, t *store.Tenant, userCode string) (*store.DeviceCode, error)
	// DecideDevice records the session user's approval or denial.
	DecideDevice(ctx context.Context, t *store.Tenant, userCode string, sess *store.Session, approve bool) error
}

// Wrong user codes from one address: deviceGuesses per deviceGuessWindow
// (sliding from the last failure), then 429. A right code resets nothing,
// or one's own device authorization would reset the count.
const (
	deviceGuesses     = 10
	deviceGuessWindow = 15 * time.Minute
)

var devicePages = map[string]*ui.Page{
	"device":         ui.Parse(templateFS, "templates/device.html"),
	"device_confirm": ui.Parse(templateFS, "templates/device_confirm.html"),
}

type deviceView struct {
	view
	UserCode string
	Account  string
	Scopes   []string
}

func (p *Pages) renderDevice(w http.ResponseWriter, status int, name string, v deviceView) {
	devicePages[name].Render(w, p.Log, status, v.Lang, v)
}

func (p *Pages) deviceProtocol(w http.ResponseWriter, r *http.Request) (DeviceProtocol, bool) {
	dp, ok := p.Device, p.Device != nil
	if !ok {
		http.NotFound(w, r)
	}
	return dp, ok
}

// showDeviceForm is the code entry form, prefilled with code when given.
func (p *Pages) showDeviceForm(w http.ResponseWriter, r *http.Request, t *store.Tenant, status int, msg, code string) {
	if len(code) > 32 {
		code = ""
	}
	p.renderDevice(w, status, "device", deviceView{view: view{Frame: ui.FrameFor(r, t, nil, "device.title"),
		Error: msg, Action: "/t/" + t.Slug + "/device", CSRF: p.csrf(w, r)}, UserCode: code})
}

// deviceForm: GET /t/{tenant}/device[?user_code=...]. With a session and a
// code (verification_uri_complete, or back from the login) it goes
// straight to the confirmation; otherwise it shows the entry form.
func (p *Pages) deviceForm(w http.ResponseWriter, r *http.Request, t *store.Tenant) {
	dp, ok := p.deviceProtocol(w, r)
	if !ok {
		return
	}
	code := r.URL.Query().Get("user_code")
	sess := p.currentSession(r.Context(), r, t)
	if code == "" || sess == nil {
		p.showDeviceForm(w, r, t, http.StatusOK, "", code)
		return
	}
	if id := r.URL.Query().Get("login"); id != "" { // back from the login: its request is spent
		_, _ = p.Flow.Take(r.Context(), t.ID, id, sess.ID)
	}
	d, ok := p.deviceLookup(w, r, t, dp, code)
	if !ok || !p.deviceMFA(w, r, t, dp, code, sess) { // device_mfa.go
		return
	}
	p.showDeviceConfirm(w, r, t, d, sess)
}

// deviceSubmit: POST /t/{tenant}/device with the code, and action approve
// or deny from the confirmation screen.
func (p *Pages) deviceSubmit(w http.ResponseWriter, r *http.Request, t *store.Tenant) {
	ctx := r.Context()
	dp, ok := p.deviceProtocol(w, r)
	if !ok {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		p.message(w, r, t, http.StatusBadRequest, "device.problem", "error.form_unreadable")
		return
	}
	if !p.checkCSRF(r) {
		p.message(w, r, t, http.StatusForbidden, "device.problem", "error.form_expired")
		return
	}
	code := r.PostFormValue("user_code")
	action := r.PostFormValue("action")
	switch action {
	case "", "approve", "deny":
	default:
		p.message(w, r, t, http.StatusBadRequest, "device.problem", "device.choose")
		return
	}
	d, ok := p.deviceLookup(w, r, t, dp, code)
	if !ok {
		return
	}
	sess := p.currentSession(ctx, r, t)
	if sess == nil {
		req := deviceRequest(t, d)
		if err := p.Flow.Start(ctx, req); err != nil {
			p.deviceError(w, r, t, err)
			return
		}
		http.Redirect(w, r, "/t/"+t.Slug+"/login?id="+url.QueryEscape(req.ID), http.StatusSeeOther)
		return
	}
	// Denying needs no second factor; seeing the confirmation and
	// approving need the device client's MFA policy met (device_mfa.go).
	if action != "deny" && !p.deviceMFA(w, r, t, dp, code, sess) {
		return
	}
	if action == "" {
		p.showDeviceConfirm(w, r, t, d, sess)
		return
	}
	approve := action == "approve"
	if err := dp.DecideDevice(ctx, t, code, sess, approve); err != nil {
		p.deviceError(w, r, t, err)
		return
	}
	if approve {
		p.message(w, r, t, http.StatusOK, "device.connected_title", "device.connected_body",
			"client", p.clientName(ctx, t, d.ClientID))
		return
	}
	p.message(w, r, t, http.StatusOK, "device.denied_title", "device.denied_body")
}

// deviceLookup finds the pending authorization of code, counting a wrong
// code against the address; it answers the page itself when there is none.
func (p *Pages) deviceLookup(w http.ResponseWriter, r *http.Request, t *store.Tenant, dp DeviceProtocol, code string) (*store.DeviceCode, bool) {
	ctx := r.Context()
	th := p.Store.OAuth().Throttle()
	key := "device:" + httpx.ClientIP(r)
	now := time.Now()
	n, last, err := th.Failures(ctx, t.ID, key, now, deviceGuessWindow)
	if err != nil {
		p.deviceError(w, r, t, err)
		return nil, false
	}
	if n >= deviceGuesses {
		wait := deviceGuessWindow - now.Sub(last)
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		p.showDeviceForm(w, r, t, http.StatusTooManyRequests, "device.throttled", "")
		return nil, false
	}
	d, err := dp.DeviceByUserCode(ctx, t, code)
	if errors.Is(err, store.ErrNotFound) {
		if _, err := th.Fail(ctx, t.ID, key, now, deviceGuessWindow); err != nil {
			p.deviceError(w, r, t, err)
			return nil, false
		}
		p.showDeviceForm(w, r, t, http.StatusBadRequest, "device.invalid", code)
		return nil, false
	}
	if err != nil {
		p.deviceError(w, r, t, err)
		return nil, false
	}
	return d, true
}

func (p *Pages) showDeviceConfirm(w http.ResponseWriter, r *http.Request, t *store.Tenant, d *store.DeviceCode, sess *store.Session) {
	ctx := r.Context()
	f := ui.FrameFor(r, t, nil, "device.title")
	account := ""
	if u, err := p.Store.Users().GetUser(ctx, t.ID, sess.UserID); err == nil {
		account = u.Email
		if account == "" {
			account = u.Username
		}
	}
	p.renderDevice(w, http.StatusOK, "device_confirm", deviceView{
		view: view{Frame: f, ClientName: p.clientName(ctx, t, d.ClientID),
			Action: "/t/" + t.Slug + "/device", CSRF: p.csrf(w, r)},
		UserCode: formatUserCode(d.UserCode), Account: account, Scopes: scopeTexts(f, d.Scopes)})
}

func (p *Pages) clientName(ctx context.Context, t *store.Tenant, id string) string {
	if c, err := p.Store.OAuth().Clients().GetClient(ctx, t.ID, id); err == nil && c.Name != "" {
		return c.Name
	}
	return id
}

// deviceError: store.ErrNotFound means the authorization ended meanwhile.
func (p *Pages) deviceError(w http.ResponseWriter, r *http.Request, t *store.Tenant, err error) {
	if errors.Is(err, store.ErrNotFound) {
		p.message(w, r, t, http.StatusBadRequest, "device.expired_title", "device.expired_body")
		return
	}
	p.Log.ErrorContext(r.Context(), "web: device", "err", err, "request_id", httpx.RequestID(r.Context()))
	p.message(w, r, t, http.StatusInternalServerError, "device.problem", "error.generic")
}

// formatUserCode shows a stored user code as XXXX-XXXX.
func formatUserCode(c string) string {
	if len(c) != 8 {
		return c
	}
	return c[:4] + "-" + c[4:]
}
