package proxyapp

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"slices"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// CodeTTL bounds the trip of a signed-in browser from Gatehouse to the
// application's callback.
const CodeTTL = 60 * time.Second

// Errors of the access decisions.
var (
	// ErrNoAccess: no valid application session (none, unknown, expired,
	// another application's, or its Gatehouse session has ended); the
	// browser signs in.
	ErrNoAccess = errors.New("proxyapp: no valid session for this application")
	// ErrDenied: the user is signed in but not allowed in this
	// application (groups, roles, disabled account).
	ErrDenied = errors.New("proxyapp: the user may not use this application")
	// ErrStepUp: the session lacks the second factor the application asks for.
	ErrStepUp = errors.New("proxyapp: the application asks for a second factor")
)

// Identity is what the proxy passes on about the user.
type Identity struct {
	User   *store.User
	Groups []string
	Roles  []string
	AMR    []string
}

func hash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// secret is 256 bits from crypto/rand with a kind prefix.
func secret(prefix string) (string, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	return prefix + base64.RawURLEncoding.EncodeToString(raw), nil
}

// Allowed answers the identity of u for app, or ErrDenied when u is not
// active or is in none of its allowed groups and holds none of its
// allowed roles (both lists empty let every active user in).
func (s *Service) Allowed(ctx context.Context, app *store.ProxyApp, u *store.User) (*Identity, error) {
	if u.Status != store.UserActive {
		return nil, ErrDenied
	}
	gs, err := s.Store.Groups().UserGroups(ctx, app.Tenant, u.ID, true)
	if err != nil {
		return nil, err
	}
	id := &Identity{User: u}
	for _, g := range gs {
		id.Groups = append(id.Groups, g.Name)
	}
	if s.Authz != nil {
		eff, err := s.Authz.EffectiveRoles(ctx, app.Tenant, u.ID)
		if err != nil {
			return nil, err
		}
		for _, r := range eff.Active {
			id.Roles = append(id.Roles, r.Role.Name)
		}
	}
	slices.Sort(id.Groups)
	slices.Sort(id.Roles)
	if len(app.AllowedGroups) == 0 && len(app.AllowedRoles) == 0 {
		return id, nil
	}
	for _, g := range app.AllowedGroups {
		if slices.Contains(id.Groups, g) {
			return id, nil
		}
	}
	for _, r := range app.AllowedRoles {
		if slices.Contains(id.Roles, r) {
			return id, nil
		}
	}
	return nil, ErrDenied
}

// NewBrowserState answers a state value for the cookie the sign-in sets
// on the application's domain, and the hash the login keeps of it.
func NewBrowserState() (state string, stateHash []byte, err error) {
	state, err = secret("gh_fab_")
	if err != nil {
		return "", nil, err
	}
	return state, hash(state), nil
}

// IssueCode stores a single-use code that carries the signed-in session
// sess to app's callback, where the browser returns to returnURL (already
// validated against app's domains). browserHash is the hash of the state
// cookie of the browser that started the sign-in.
func (s *Service) IssueCode(ctx context.Context, app *store.ProxyApp, sess *store.Session, returnURL string, browserHash []byte) (string, error) {
	code, err := secret("gh_fac_")
	if err != nil {
		return "", err
	}
	err = s.Store.Proxy().CreateCode(ctx, &store.ProxyCode{Tenant: app.Tenant, Hash: hash(code), AppID: app.ID,
		SessionID: sess.ID, ReturnURL: returnURL, BrowserHash: browserHash, ExpiresAt: s.now().Add(CodeTTL)})
	if err != nil {
		return "", err
	}
	return code, nil
}

// Redeem takes code once at app's callback and starts the application's
// session: it answers the cookie value, its end and the return URL.
// ErrNoAccess when the code is unknown, used, expired, another
// application's, presented by another browser than the one whose state
// cookie started the sign-in, or its Gatehouse session has ended.
// states are the values of the browser's state cookies (a browser may
// start more than one sign-in at once: a page and its favicon).
func (s *Service) Redeem(ctx context.Context, app *store.ProxyApp, code string, states []string) (token, returnURL string, expires time.Time, err error) {
	if code == "" || len(code) > 128 {
		return "", "", time.Time{}, ErrNoAccess
	}
	c, err := s.Store.Proxy().ConsumeCode(ctx, app.Tenant, hash(code))
	if errors.Is(err, store.ErrNotFound) {
		return "", "", time.Time{}, ErrNoAccess
	}
	if err != nil {
		return "", "", time.Time{}, err
	}
	if c.AppID != app.ID || !anyMatches(c.BrowserHash, states) {
		return "", "", time.Time{}, ErrNoAccess
	}
	sess, err := s.live(ctx, app.Tenant, c.SessionID)
	if err != nil {
		return "", "", time.Time{}, err
	}
	token, err = secret("gh_fas_")
	if err != nil {
		return "", "", time.Time{}, err
	}
	expires = s.now().Add(app.SessionLifetime)
	if sess.ExpiresAt.Before(expires) {
		expires = sess.ExpiresAt
	}
	err = s.Store.Proxy().CreateSession(ctx, &store.ProxySession{Tenant: app.Tenant, Hash: hash(token), AppID: app.ID,
		SessionID: sess.ID, ExpiresAt: expires})
	if errors.Is(err, store.ErrNotFound) {
		return "", "", time.Time{}, ErrNoAccess
	}
	if err != nil {
		return "", "", time.Time{}, err
	}
	return token, c.ReturnURL, expires, nil
}

// maxStates bounds the state cookies compared at a callback.
const maxStates = 16

// anyMatches reports whether one of states hashes to want.
func anyMatches(want []byte, states []string) bool {
	ok := 0
	for i, st := range states {
		if i == maxStates {
			break
		}
		if st != "" && len(st) <= 128 {
			ok |= subtle.ConstantTimeCompare(want, hash(st))
		}
	}
	return ok == 1
}

// live is the Gatehouse session id if it is still live; ErrNoAccess otherwise.
func (s *Service) live(ctx context.Context, tenant store.TenantID, id string) (*store.Session, error) {
	sess, err := s.Sessions.LiveByID(ctx, tenant, id)
	if errors.Is(err, session.ErrNoSession) {
		return nil, ErrNoAccess
	}
	return sess, err
}

// Check answers who is behind the application cookie token at app, as the
// proxy asks on every request: ErrNoAccess without a live session for app
// (its Gatehouse session ended, by logout or by an administrator, ends
// it), ErrDenied when the user may no longer use app, ErrStepUp when app
// asks for a second factor the session lacks.
func (s *Service) Check(ctx context.Context, app *store.ProxyApp, token string) (*Identity, error) {
	if token == "" || len(token) > 128 {
		return nil, ErrNoAccess
	}
	ps, err := s.Store.Proxy().GetSession(ctx, app.Tenant, hash(token))
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNoAccess
	}
	if err != nil {
		return nil, err
	}
	if ps.AppID != app.ID {
		return nil, ErrNoAccess
	}
	sess, err := s.live(ctx, app.Tenant, ps.SessionID)
	if err != nil {
		return nil, err
	}
	return s.Admit(ctx, app, sess)
}

// Admit answers the identity of the user of the live session sess at
// app: ErrStepUp when app asks for a second factor sess lacks, ErrDenied
// as Allowed, ErrNoAccess when the user is gone.
func (s *Service) Admit(ctx context.Context, app *store.ProxyApp, sess *store.Session) (*Identity, error) {
	if app.MFA == MFARequired && !mfa.Satisfied(sess.AMR) {
		return nil, ErrStepUp
	}
	u, err := s.Store.Users().GetUser(ctx, app.Tenant, sess.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNoAccess
	}
	if err != nil {
		return nil, err
	}
	id, err := s.Allowed(ctx, app, u)
	if err != nil {
		return nil, err
	}
	id.AMR = sess.AMR
	return id, nil
}

// End deletes the application session behind token (the application's
// sign-out); no error when there is none.
func (s *Service) End(ctx context.Context, tenant store.TenantID, token string) error {
	if token == "" || len(token) > 128 {
		return nil
	}
	err := s.Store.Proxy().DeleteSession(ctx, tenant, hash(token))
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}

// SignOut ends the application session behind token and the Gatehouse
// session it came from (so every other application and client of that
// session ends too); no error when there is none.
func (s *Service) SignOut(ctx context.Context, app *store.ProxyApp, token string) error {
	if token == "" || len(token) > 128 {
		return nil
	}
	ps, err := s.Store.Proxy().GetSession(ctx, app.Tenant, hash(token))
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := s.End(ctx, app.Tenant, token); err != nil {
		return err
	}
	if ps.AppID != app.ID {
		return nil
	}
	err = s.Sessions.End(ctx, app.Tenant, ps.SessionID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}
