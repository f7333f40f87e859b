package oidc

// OpenID Connect Client-Initiated Backchannel Authentication (CIBA Core
// 1.0), poll and ping modes. A client registered for the CIBA grant posts
// to the backchannel authentication endpoint naming a user (login_hint:
// email or username; or an id_token_hint), gets an auth_req_id, and waits:
// polling the token endpoint (poll) or until its notification endpoint is
// called (ping). The user is mailed an approval link; the approval page
// (internal/web, ciba.go there) signs them in through the usual flow, with
// its steps (MFA policy, risk, a passkey where they have one), shows the
// client and the binding message, and records the answer here.
//
// A hint that names nobody (or an inactive user) gets the same answer as
// one that names a user: a request is stored that nobody can approve and
// that ends expired_token, and nothing is mailed. So the endpoint tells
// nothing about which users exist.

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/mail"
	"github.com/gatehouse-id/gatehouse/internal/seal"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
)

const (
	// cibaPath is the backchannel authentication endpoint, under the issuer.
	cibaPath = "/bc-authorize"
	// GrantCIBA is the token endpoint's grant_type for CIBA.
	GrantCIBA = "urn:openid:params:grant-type:ciba"
	// cibaLifetime is expires_in when the client asks for none;
	// requested_expiry may ask for 1 s up to cibaMaxLifetime.
	cibaLifetime    = 5 * time.Minute
	cibaMaxLifetime = 10 * time.Minute
	// cibaInterval is the polling interval; a poll sooner than it (less a
	// second of jitter) is slow_down.
	cibaInterval = 5 * time.Second
	// cibaGrace keeps a request readable past its end so that a late poll
	// learns expired_token rather than invalid_grant.
	cibaGrace = 10 * time.Minute
	// authReqPrefix and cibaApprovalPrefix mark the client's auth_req_id
	// and the mailed link's secret for secret scanners.
	authReqPrefix      = "gh_ar_"
	cibaApprovalPrefix = "gh_ca_"
	maxBindingMessage  = 64 // runes: it is shown to the user on a small screen
	maxNotifyToken     = 1024
)

// CIBAMailer mails approval links: the tenant's mail templates rendered
// into the durable queue the mail worker delivers.
type CIBAMailer struct {
	Queue    *mail.Queue
	Renderer *mail.Renderer
}

// cibaKeys are the provider's CIBA secrets, derived from the master key:
// mac derives auth_req_ids from request ids (so a ping can name the
// request without the id being stored in the clear), sealer seals the
// ping mode's client_notification_token at rest.
type cibaKeys struct {
	mac    []byte
	sealer *seal.Sealer
}

func newCIBAKeys(master []byte) (*cibaKeys, error) {
	m := sha256.Sum256(append([]byte("gatehouse-ciba-auth-req\x00"), master...))
	k := sha256.Sum256(append([]byte("gatehouse-ciba-notify\x00"), master...))
	s, err := seal.New(k[:], rand.Reader)
	if err != nil {
		return nil, err
	}
	return &cibaKeys{mac: m[:], sealer: s}, nil
}

// authReqID is the auth_req_id of request id in tenant.
func (k *cibaKeys) authReqID(tenant store.TenantID, id string) string {
	m := hmac.New(sha256.New, k.mac)
	m.Write([]byte(string(tenant) + "\x00" + id))
	return authReqPrefix + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func cibaAAD(tenant store.TenantID, id string) []byte {
	return []byte("ciba-notify:" + string(tenant) + ":" + id)
}

type cibaResponse struct {
	AuthReqID string `json:"auth_req_id"`
	ExpiresIn int    `json:"expires_in"`
	Interval  int    `json:"interval"`
}

// cibaExpiry is the advertised end of a request (the store keeps it
// cibaGrace longer).
func cibaExpiry(c *store.CIBARequest) time.Time { return c.ExpiresAt.Add(-cibaGrace) }

// postOnly marks an answer of an endpoint that takes credentials
// uncacheable and refuses any method but POST (405); it reports whether
// the request may go on.
func postOnly(w http.ResponseWriter, r *http.Request) bool {
	w.Header().Set("Cache-Control", "no-store")
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		op.WriteError(w, r, op.NewStatusError(oidc.ErrInvalidRequest().WithDescription("use POST"), http.StatusMethodNotAllowed), nil)
		return false
	}
	return true
}

// backchannelAuthentication is the backchannel authentication endpoint
// (CIBA Core 1.0 section 7).
func (p *Provider) backchannelAuthentication(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if !postOnly(w, r) {
		return
	}
	if err := r.ParseForm(); err != nil {
		op.WriteError(w, r, oidc.ErrInvalidRequest().WithDescription("the request body could not be read"), nil)
		return
	}
	c, ok := p.formClient(w, r) // the token endpoint's client authentication (par.go)
	if !ok {
		return
	}
	resp, err := p.startCIBA(ctx, c, r.PostForm)
	if err != nil {
		op.WriteError(w, r, p.storage.hide(ctx, err), nil)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(resp)
}

// cibaParams are the parameters of a backchannel authentication request;
// each at most once.
var cibaParams = []string{"scope", "client_notification_token", "acr_values", "login_hint_token", "id_token_hint",
	"login_hint", "binding_message", "user_code", "requested_expiry", "request", "client_id"}

// startCIBA validates the request of c, stores it and mails the user.
func (p *Provider) startCIBA(ctx context.Context, c *client, f map[string][]string) (*cibaResponse, error) {
	get := func(k string) string {
		if v := f[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	for _, k := range cibaParams {
		if len(f[k]) > 1 {
			return nil, oidc.ErrInvalidRequest().WithDescription("parameter %s repeated", k)
		}
	}
	if !c.hasGrant(GrantCIBA) || c.c.BackchannelTokenDelivery == "" {
		return nil, oidc.ErrUnauthorizedClient().WithDescription("the client is not registered for CIBA")
	}
	scopes := strings.Fields(get("scope"))
	hints := 0
	for _, k := range []string{"login_hint", "id_token_hint", "login_hint_token"} {
		if get(k) != "" {
			hints++
		}
	}
	token := get("client_notification_token")
	binding := get("binding_message")
	switch {
	case get("request") != "":
		return nil, oidc.ErrInvalidRequest().WithDescription("signed authentication requests are not supported")
	case get("user_code") != "":
		return nil, oidc.ErrInvalidRequest().WithDescription("user_code is not supported")
	case !slices.Contains(scopes, oidc.ScopeOpenID):
		return nil, oidc.ErrInvalidScope().WithDescription("scope must include openid")
	case hints != 1:
		return nil, oidc.ErrInvalidRequest().WithDescription("exactly one of login_hint and id_token_hint is required")
	case get("login_hint_token") != "":
		return nil, oidc.ErrInvalidRequest().WithDescription("login_hint_token is not supported")
	case c.c.BackchannelTokenDelivery == "ping" && token == "":
		return nil, oidc.ErrInvalidRequest().WithDescription("client_notification_token is required in ping mode")
	case len(token) > maxNotifyToken || strings.IndexFunc(token, func(r rune) bool { return r <= ' ' || r > '~' }) >= 0:
		return nil, oidc.ErrInvalidRequest().WithDescription("client_notification_token is malformed")
	case len(get("login_hint")) > 254:
		return nil, oidc.ErrInvalidRequest().WithDescription("login_hint is too long")
	case !validBinding(binding):
		e := oidc.ErrInvalidRequest().WithDescription("binding_message must be at most 64 printable characters")
		e.ErrorType = "invalid_binding_message"
		return nil, e
	}
	scopes, err := deviceScopes(c, scopes) // each allowed, no duplicates (device.go)
	if err != nil {
		return nil, err
	}
	acr := strings.Fields(get("acr_values"))
	if len(acr) > 16 {
		return nil, oidc.ErrInvalidRequest().WithDescription("too many acr_values")
	}
	life := cibaLifetime
	if s := get("requested_expiry"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || time.Duration(n)*time.Second > cibaMaxLifetime {
			return nil, oidc.ErrInvalidRequest().WithDescription("requested_expiry must be 1 to 600 seconds")
		}
		life = time.Duration(n) * time.Second
	}
	u, err := p.cibaUser(ctx, get("login_hint"), get("id_token_hint"))
	if err != nil {
		return nil, err
	}
	t := tenantFrom(ctx)
	now := p.now()
	id := uuid.Must(uuid.NewV7()).String()
	approval, err := randomToken(cibaApprovalPrefix)
	if err != nil {
		return nil, err
	}
	authReq := p.ciba.authReqID(t.ID, id)
	rec := &store.CIBARequest{ID: id, Tenant: t.ID, AuthReqHash: sha(authReq), ApprovalHash: sha(approval),
		ClientID: c.c.ID, Scopes: scopes, ACRValues: acr, BindingMessage: binding, CreatedAt: now,
		ExpiresAt: now.Add(life + cibaGrace)}
	if token != "" {
		if rec.NotificationToken, err = p.ciba.sealer.Seal([]byte(token), cibaAAD(t.ID, id)); err != nil {
			return nil, err
		}
	}
	if u != nil {
		rec.UserID = u.ID
	}
	if err := p.store.OAuth().CIBA().CreateCIBARequest(ctx, rec); err != nil {
		return nil, err
	}
	if u != nil {
		// After the answer, so that its time does not tell whether the
		// hint named a user. A mail that cannot be queued leaves a request
		// nobody can approve: it ends expired_token.
		go p.queueCIBAMail(context.WithoutCancel(ctx), t, u, approval, life)
	}
	p.log.InfoContext(ctx, "oidc: backchannel authentication requested", "client_id", c.c.ID, "ciba_id", id)
	return &cibaResponse{AuthReqID: authReq, ExpiresIn: int(life / time.Second), Interval: int(cibaInterval / time.Second)}, nil
}

// validBinding: at most maxBindingMessage printable characters (letters,
// digits, punctuation, spaces), valid UTF-8.
func validBinding(s string) bool {
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > maxBindingMessage {
		return false
	}
	return strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) < 0
}

// cibaUser answers the active user a hint names, nil when it names nobody
// who can approve (nothing tells the client which). An id_token_hint must
// be one of ours, unexpired or not (as for logout); a forged one is
// refused.
func (p *Provider) cibaUser(ctx context.Context, loginHint, idTokenHint string) (*store.User, error) {
	tn := tenantFrom(ctx).ID
	users := p.store.Users()
	var (
		u   *store.User
		err error
	)
	switch {
	case idTokenHint != "":
		ictx := op.ContextWithIssuer(ctx, p.issuer(ctx))
		claims, verr := op.VerifyIDTokenHint[*oidc.IDTokenClaims](ictx, idTokenHint, p.srv.Provider().IDTokenHintVerifier(ictx))
		// An expired ID token still names its user (a hint, as at logout).
		_, expired := errors.AsType[op.IDTokenHintExpiredError](verr)
		if verr != nil && !expired || claims == nil || claims.Subject == "" {
			return nil, oidc.ErrInvalidRequest().WithDescription("id_token_hint is not a valid ID token of this issuer")
		}
		u, err = users.GetUser(ctx, tn, claims.Subject)
	default:
		u, err = users.GetUserByEmail(ctx, tn, directory.NormalizeEmail(loginHint))
		if errors.Is(err, store.ErrNotFound) {
			u, err = users.GetUserByUsername(ctx, tn, directory.NormalizeUsername(loginHint))
		}
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, err
	case u.Status != store.UserActive || u.Email == "" || p.cibaMailer == nil:
		return nil, nil
	}
	return u, nil
}

// queueCIBAMail renders the approval mail of u with the link's secret and
// queues it for the mail worker; a failure is logged.
func (p *Provider) queueCIBAMail(ctx context.Context, t *store.Tenant, u *store.User, approval string, life time.Duration) {
	m, err := p.cibaMail(t, u, approval, life)
	if err == nil {
		_, err = p.cibaMailer.Queue.Enqueue(ctx, p.store, t.ID, mail.KindCIBA, *m)
	}
	if err != nil {
		p.log.ErrorContext(ctx, "oidc: CIBA approval mail not queued", "err", err)
	}
}

// cibaMail renders the approval mail of u with the link's secret.
func (p *Provider) cibaMail(t *store.Tenant, u *store.User, approval string, life time.Duration) (*mail.Message, error) {
	pr := tenancy.PresentationOf(t, p.publicURL+"/t/"+t.Slug)
	lang := u.Locale
	if lang == "" {
		lang = pr.DefaultLocale
	}
	minutes := int((life + time.Minute - 1) / time.Minute)
	m, err := p.cibaMailer.Renderer.Render(mail.KindCIBA, mail.Data{To: u.Email, Tenant: pr.Brand.Name, Slug: t.Slug,
		Link: p.publicURL + "/t/" + t.Slug + "/ciba?token=" + approval, Minutes: minutes,
		Support: pr.Brand.SupportEmail, Colour: pr.Brand.Color, Language: lang})
	if err != nil {
		return nil, err
	}
	return &m, nil
}

// cibaDiscovery is what discovery says of CIBA (CIBA Core 1.0 section 4).
type cibaDiscovery struct {
	BackchannelEndpoint string   `json:"backchannel_authentication_endpoint"`
	BackchannelModes    []string `json:"backchannel_token_delivery_modes_supported"`
	BackchannelUserCode bool     `json:"backchannel_user_code_parameter_supported"`
}

func (p *Provider) cibaDiscovery(ctx context.Context) cibaDiscovery {
	return cibaDiscovery{BackchannelEndpoint: p.issuer(ctx) + cibaPath, BackchannelModes: []string{"poll", "ping"}}
}
