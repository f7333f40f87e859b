package saml

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	crewjam "github.com/crewjam/saml"

	"github.com/gatehouse-id/gatehouse/internal/samlreg"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Logout begun elsewhere (OpenID Connect RP-initiated logout) reaches the
// SAML service providers of the ended session too: the other surface ends
// the session, then sends the browser here with a handoff (the session ID
// and where to end up, signed with a key of the master key, valid two
// minutes, used once), and crewjam's IdP-initiated logout runs for that
// session: a LogoutRequest to each provider that took part, over SOAP
// where its metadata offers it, else through the browser, then on to the
// return URL.

// handoffTTL bounds how long a logout handoff is accepted.
const handoffTTL = 2 * time.Minute

type handoff struct {
	Session string `json:"sid"`
	Return  string `json:"ret"`
	Expires int64  `json:"exp"`
}

func (p *IdP) handoffMAC(t *store.Tenant, payload []byte) []byte {
	m := hmac.New(sha256.New, p.pairKey)
	m.Write([]byte("logout-handoff\x00" + string(t.ID) + "\x00"))
	m.Write(payload)
	return m.Sum(nil)
}

// LogoutChainURL answers where to send the browser after the session
// sessionID of t has ended so its SAML service providers are logged out
// through the browser, ending at returnTo (an absolute URL the caller has
// validated); "" when no such provider took part in the session (or they
// cannot be listed: the session has ended either way, and the error is
// logged).
func (p *IdP) LogoutChainURL(ctx context.Context, t *store.Tenant, sessionID, returnTo string) string {
	rows, err := p.cfg.Store.SAML().Participants().ListParticipants(ctx, t.ID, sessionID)
	if err != nil {
		p.cfg.Log.ErrorContext(ctx, "saml: logout participants", "err", err)
		return ""
	}
	browser := false
	for _, row := range rows {
		sp, err := p.cfg.Store.SAML().ServiceProviders().GetSP(ctx, t.ID, row.SPID)
		browser = browser || err == nil && sp.SLOURL != "" && sp.SLOBinding != samlreg.BindingSOAP
	}
	if !browser {
		return "" // none, or only SOAP providers: told when the session ended (backchannel.go)
	}
	payload, err := json.Marshal(handoff{Session: sessionID, Return: returnTo, Expires: p.cfg.Now().Add(handoffTTL).Unix()})
	if err != nil {
		return ""
	}
	tok := base64.RawURLEncoding.EncodeToString(payload) + "." + base64.RawURLEncoding.EncodeToString(p.handoffMAC(t, payload))
	return p.base(ctx, t) + "/logout/chain?" + url.Values{"h": {tok}}.Encode()
}

// readHandoff verifies a handoff of t: signature, expiry, and once only
// (remembered in the database like LogoutRequest IDs).
func (p *IdP) readHandoff(ctx context.Context, t *store.Tenant, tok string) (*handoff, bool) {
	b64, mac, ok := strings.Cut(tok, ".")
	if !ok || len(tok) > 4096 {
		return nil, false
	}
	payload, err1 := base64.RawURLEncoding.DecodeString(b64)
	sig, err2 := base64.RawURLEncoding.DecodeString(mac)
	if err1 != nil || err2 != nil || !hmac.Equal(sig, p.handoffMAC(t, payload)) {
		return nil, false
	}
	var h handoff
	if json.Unmarshal(payload, &h) != nil || h.Session == "" || p.cfg.Now().Unix() > h.Expires {
		return nil, false
	}
	replay := &dbReplay{ctx: ctx, store: p.cfg.Store, tenant: t.ID, now: p.cfg.Now}
	if replay.Consume("LogoutHandoff:"+string(sig), time.Unix(h.Expires, 0)) != nil {
		return nil, false
	}
	return &h, true
}

type chainKey struct{}

// chainSession is the ended session a logout chain runs for, "" outside
// one (SessionParticipants lists its providers).
func chainSession(ctx context.Context) string {
	s, _ := ctx.Value(chainKey{}).(string)
	return s
}

// logoutChain runs the IdP-initiated logout of a handoff's session.
func (p *IdP) logoutChain(w http.ResponseWriter, r *http.Request, t *store.Tenant) {
	h, ok := p.readHandoff(r.Context(), t, r.URL.Query().Get("h"))
	if !ok {
		p.errorPage(w, r, http.StatusBadRequest, "error.request_invalid")
		return
	}
	ctx := context.WithValue(r.Context(), chainKey{}, h.Session)
	idp, err := p.provider(ctx, t)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	sloCSP(w)
	idp.StartLogout(w, r.WithContext(ctx), &crewjam.Session{ID: h.Session}, h.Return)
}
