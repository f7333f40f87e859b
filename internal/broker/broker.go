// Package broker signs users in at upstream identity providers (identity
// brokering): it starts an authorization request at a
// connection's upstream (state, nonce and PKCE on every one), and on the
// callback exchanges the code, verifies the ID token (issuer, audience,
// signature through the JWKS, nonce, expiry) or reads the OAuth 2.0
// profile, and answers the mapped profile. Logins in flight live in the
// store (sealed, used once), so any node can finish them. Outbound calls
// use a client with a short timeout, bounded response sizes and no
// redirects to anything but https (or loopback http in development).
// Failures are audited and answered as *Error for a friendly page.
package broker

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/gatehouse-id/gatehouse/internal/connection"
	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// DefaultTimeout bounds every call to an upstream (discovery, JWKS, token,
// userinfo): a provider that hangs ends the login on a friendly page.
const DefaultTimeout = 10 * time.Second

// stateTTL is how long a login may stay at the upstream.
const stateTTL = 10 * time.Minute

// Purposes of broker states.
const (
	PurposeLogin = "login"
	PurposeLink  = "link"
)

// Broker talks to upstream identity providers.
type Broker struct {
	Connections *connection.Service
	Store       store.Store
	Audit       *events.Recorder
	Log         *slog.Logger
	PublicURL   string
	// Timeout bounds each upstream call (DefaultTimeout when 0).
	Timeout time.Duration
	Now     func() time.Time

	once      sync.Once
	client    *http.Client
	mu        sync.Mutex
	providers map[string]cachedProvider
	metadata  map[string]cachedMetadata // SAML IdPs' (saml.go)
}

type cachedProvider struct {
	p    *oidc.Provider
	jwks string
	at   time.Time
}

// Reason says why an upstream login failed (audited; the page shows a
// friendly sentence and a retry).
type Reason string

// Reasons.
const (
	ReasonState       Reason = "state_mismatch"
	ReasonUpstream    Reason = "upstream_error"
	ReasonUnreachable Reason = "upstream_unreachable"
	ReasonToken       Reason = "invalid_id_token"
	ReasonNonce       Reason = "nonce_mismatch"
	ReasonProfile     Reason = "invalid_profile"
	ReasonConfig      Reason = "connection_misconfigured"
	// ReasonUserinfoSubject: the upstream's userinfo answer is about
	// another account than its ID token.
	ReasonUserinfoSubject Reason = "userinfo_subject_mismatch"
)

// Error is a failed upstream login. Reason is safe to show and audit;
// Err (the cause) only goes to the log.
type Error struct {
	Reason Reason
	Err    error
}

func (e *Error) Error() string { return "broker: " + string(e.Reason) + ": " + fmt.Sprint(e.Err) }
func (e *Error) Unwrap() error { return e.Err }

// Profile is an upstream account as mapped by the connection.
type Profile struct {
	Subject       string `json:"sub"`
	Email         string `json:"email,omitempty"`
	EmailVerified bool   `json:"email_verified,omitempty"`
	Name          string `json:"name,omitempty"`
	GivenName     string `json:"given_name,omitempty"`
	FamilyName    string `json:"family_name,omitempty"`
}

// Pending is what a login in flight remembers (sealed in the store).
type Pending struct {
	ConnectionID string `json:"c"`
	RequestID    string `json:"r,omitempty"`
	Nonce        string `json:"n"`
	Verifier     string `json:"v"`
	// LinkUserID is set when a signed-in user links an identity from the
	// account page.
	LinkUserID string `json:"u,omitempty"`
	// ReturnTo is a local path to go to when there is no request.
	ReturnTo string `json:"t,omitempty"`
}

// Result is a finished upstream login.
type Result struct {
	Connection *store.Connection
	Pending    Pending
	Profile    Profile
	// Tokens is the upstream token response as JSON, only when the
	// connection stores tokens.
	Tokens []byte
}

func (b *Broker) now() time.Time {
	if b.Now == nil {
		return time.Now()
	}
	return b.Now()
}

// CallbackURL is a connection's redirect URI at the upstream.
func (b *Broker) CallbackURL(t *store.Tenant, name string) string {
	return b.PublicURL + "/t/" + t.Slug + "/connections/" + name + "/callback"
}

func random() (string, error) {
	buf := make([]byte, 32)
	if _, err := rand.Read(buf); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(buf), nil
}

func hash(v string) []byte { h := sha256.Sum256([]byte(v)); return h[:] }

// Put stores v sealed under a fresh random value, for purpose, and
// answers that value (what the browser carries).
func (b *Broker) Put(ctx context.Context, tenant store.TenantID, purpose string, v any) (string, error) {
	val, err := random()
	if err != nil {
		return "", err
	}
	plain, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	h := hash(val)
	sealed, err := b.Connections.Seal(tenant, base64.RawURLEncoding.EncodeToString(h), "broker_"+purpose, plain)
	if err != nil {
		return "", err
	}
	_ = b.Store.Connections().BrokerStates().PurgeStates(ctx, b.now())
	return val, b.Store.Connections().BrokerStates().PutState(ctx, &store.BrokerState{Tenant: tenant, Hash: h,
		Purpose: purpose, Sealed: sealed, ExpiresAt: b.now().Add(stateTTL)})
}

// Take spends the state of value val and decodes it into v;
// store.ErrNotFound when it is unknown, spent or expired.
func (b *Broker) Take(ctx context.Context, tenant store.TenantID, purpose, val string, v any) error {
	if val == "" || len(val) > 128 {
		return store.ErrNotFound
	}
	h := hash(val)
	st, err := b.Store.Connections().BrokerStates().TakeState(ctx, tenant, purpose, h)
	if err != nil {
		return err
	}
	plain, err := b.Connections.Open(tenant, base64.RawURLEncoding.EncodeToString(h), "broker_"+purpose, st.Sealed)
	if err != nil {
		return store.ErrNotFound
	}
	return json.Unmarshal(plain, v)
}

// Start begins a login at conn's upstream: it stores the pending login and
// answers the upstream's authorization URL and the state value, which the
// browser must also carry in a cookie (the callback compares the two).
func (b *Broker) Start(ctx context.Context, t *store.Tenant, conn *store.Connection, p Pending) (authURL, state string, err error) {
	st, err := connection.SettingsOf(conn)
	if err != nil {
		return "", "", &Error{Reason: ReasonConfig, Err: err}
	}
	if p.Nonce, err = random(); err != nil {
		return "", "", err
	}
	if p.Verifier, err = random(); err != nil {
		return "", "", err
	}
	p.ConnectionID = conn.ID
	if connection.ProtocolOf(conn.Type) == connection.ProtoSAML {
		authURL, state, err = b.samlStart(ctx, t, conn, st, &p, func() (string, error) { return b.Put(ctx, t.ID, PurposeLogin, p) })
		if err != nil {
			return "", "", b.fail(ctx, t, conn, err)
		}
		return authURL, state, nil
	}
	cfg, err := b.oauthConfig(ctx, t, conn, st)
	if err != nil {
		return "", "", b.fail(ctx, t, conn, err)
	}
	if state, err = b.Put(ctx, t.ID, PurposeLogin, p); err != nil {
		return "", "", err
	}
	return authCodeURL(cfg, st, conn, state, p), state, nil
}

// Finish completes the login whose state the callback carries. cookie is
// the state the browser's cookie holds; form is the callback's query or
// posted form. Errors: *Error (audited), with a Result whose Pending
// names the request to retry when it is known.
func (b *Broker) Finish(ctx context.Context, t *store.Tenant, conn *store.Connection, cookie string, form url.Values) (*Result, error) {
	state := form.Get("state")
	if connection.ProtocolOf(conn.Type) == connection.ProtoSAML {
		state = form.Get("RelayState")
	}
	var p Pending
	failed := func(err error) (*Result, error) { return &Result{Pending: p}, b.fail(ctx, t, conn, err) }
	if state == "" || !equal(state, cookie) {
		// The browser's own login (its cookie) ends too; its request can
		// be retried.
		if cookie != "" && b.Take(ctx, t.ID, PurposeLogin, cookie, &p) != nil {
			p = Pending{}
		}
		return failed(&Error{Reason: ReasonState, Err: errors.New("state does not match the browser's")})
	}
	if err := b.Take(ctx, t.ID, PurposeLogin, state, &p); err != nil || p.ConnectionID != conn.ID {
		p = Pending{}
		return failed(&Error{Reason: ReasonState, Err: fmt.Errorf("state unknown, spent or of another connection: %v", err)})
	}
	if connection.ProtocolOf(conn.Type) == connection.ProtoSAML {
		st, err := connection.SettingsOf(conn)
		if err != nil {
			return failed(&Error{Reason: ReasonConfig, Err: err})
		}
		res, err := b.samlFinish(ctx, t, conn, st, p, form)
		if err != nil {
			return failed(err)
		}
		res.Connection, res.Pending = conn, p
		return res, nil
	}
	if e := form.Get("error"); e != "" {
		return failed(&Error{Reason: ReasonUpstream, Err: fmt.Errorf("upstream answered error %.100q", e)})
	}
	code := form.Get("code")
	if code == "" || len(code) > 4096 {
		return failed(&Error{Reason: ReasonUpstream, Err: errors.New("no code")})
	}
	st, err := connection.SettingsOf(conn)
	if err != nil {
		return failed(&Error{Reason: ReasonConfig, Err: err})
	}
	res, err := b.exchange(ctx, t, conn, st, p, code, form)
	if err != nil {
		return failed(err)
	}
	res.Connection, res.Pending = conn, p
	return res, nil
}

// fail audits a failed login and answers it as *Error.
func (b *Broker) fail(ctx context.Context, t *store.Tenant, conn *store.Connection, err error) error {
	var be *Error
	if !errors.As(err, &be) {
		be = &Error{Reason: ReasonUnreachable, Err: err}
	}
	b.Log.WarnContext(ctx, "broker: upstream login failed", "tenant", t.Slug, "connection", conn.Name,
		"reason", string(be.Reason), "err", be.Err)
	aerr := b.Audit.Record(ctx, b.Store, events.Actor{Type: "system", ID: "broker"}, events.Entry{Tenant: t.ID,
		Action: "connection.login_failed", TargetType: "connection", TargetID: conn.ID,
		Changes: events.Changes{"reason": {After: string(be.Reason)}}})
	if aerr != nil {
		b.Log.ErrorContext(ctx, "broker: audit", "err", aerr)
	}
	return be
}
