// Package legacy checks passwords at a tenant's legacy user stores, the
// connections of type legacy_ldap (an LDAP directory) and legacy_http (an
// endpoint answering a signed POST of username and password). In migrate
// mode it moves accounts over lazily: the first good password creates or
// completes the account here with an argon2id hash, and the legacy store
// is never asked about it again. In federate mode the directory stays the
// source of truth: every login binds through, and Sync mirrors its
// accounts and groups. The flow (internal/flow) calls Authenticate inside
// its throttled password check; it talks to the network, so it sits with
// the protocol surfaces.
package legacy

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/connection"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Service asks legacy stores.
type Service struct {
	Store       store.Store
	Connections *connection.Service
	Directory   *directory.Service
	Audit       *events.Recorder
	Log         *slog.Logger
	Now         func() time.Time
	// Timeout bounds one conversation with a legacy store (default 10 s).
	Timeout time.Duration

	clientOnce sync.Once
	client     *http.Client
}

var _ flow.Legacy = (*Service)(nil)

// Profile is an account as a legacy store describes it. Subject names it
// there for good (an LDAP entry's DN unless mapped otherwise).
type Profile struct {
	Subject       string
	Username      string
	Email         string
	EmailVerified bool
	GivenName     string
	FamilyName    string
}

// Answers of a backend's Check besides a profile; any other error is the
// legacy store failing.
var (
	errNoAccount     = errors.New("legacy: no such account")
	errWrongPassword = errors.New("legacy: wrong password")
)

// backend is one legacy store's protocol.
type backend interface {
	// Check answers the profile of the account identifier names when
	// password is its password: errNoAccount, errWrongPassword, or the
	// store's failure.
	Check(ctx context.Context, identifier, password string) (*Profile, error)
}

func (s *Service) timeout() time.Duration {
	if s.Timeout > 0 {
		return s.Timeout
	}
	return 10 * time.Second
}

// Authenticate implements flow.Legacy. An account here is asked about
// when a legacy connection owns it (a linked identity): always when
// federating, while it has no password of its own when migrating. An
// account not here is looked for in every open legacy store, in creation
// order; the first that knows it decides.
func (s *Service) Authenticate(ctx context.Context, tenant store.TenantID, identifier, password string) (*store.User, error) {
	if password == "" || len(identifier) > 1024 {
		return nil, flow.ErrNotLegacy
	}
	conns, err := s.Connections.LegacyStores(ctx, tenant)
	if err != nil || len(conns) == 0 {
		return nil, errOr(err, flow.ErrNotLegacy)
	}
	now := s.Now()
	u, err := s.Directory.UserFor(ctx, tenant, identifier)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return s.firstLogin(ctx, tenant, conns, identifier, password, now)
	case err != nil:
		return nil, err
	}
	conn, id, err := s.owner(ctx, tenant, u.ID, conns)
	if err != nil || conn == nil {
		return nil, errOr(err, flow.ErrNotLegacy)
	}
	st, err := connection.SettingsOf(conn)
	if err != nil {
		return nil, err
	}
	if st.Mode != connection.ModeFederate && (u.PasswordHash != "" || !st.Open(now)) {
		return nil, flow.ErrNotLegacy
	}
	p, err := s.check(ctx, conn, st, identifier, password)
	if err != nil {
		return nil, s.refuse(ctx, conn, err)
	}
	if p.Subject != id.Subject {
		return nil, s.refuse(ctx, conn, errSubjectMoved)
	}
	if u.Status != store.UserActive {
		return nil, directory.ErrInvalidCredentials
	}
	return s.signedIn(ctx, conn, st, u, id, p, password, now)
}

var errSubjectMoved = errors.New("legacy: the identifier names another account at the legacy store")

func errOr(err, otherwise error) error {
	if err != nil {
		return err
	}
	return otherwise
}

// owner answers the legacy connection among conns that userID is linked
// to, with the link (nil when none).
func (s *Service) owner(ctx context.Context, tenant store.TenantID, userID string, conns []store.Connection) (*store.Connection, *store.Identity, error) {
	ids, err := s.Store.Connections().Identities().ListUserIdentities(ctx, tenant, userID)
	if err != nil {
		return nil, nil, err
	}
	for i := range ids {
		for j := range conns {
			if conns[j].ID == ids[i].ConnectionID {
				return &conns[j], &ids[i], nil
			}
		}
	}
	return nil, nil, nil
}

// firstLogin asks the open legacy stores about an account not here yet.
func (s *Service) firstLogin(ctx context.Context, tenant store.TenantID, conns []store.Connection, identifier, password string, now time.Time) (*store.User, error) {
	for i := range conns {
		conn := &conns[i]
		st, err := connection.SettingsOf(conn)
		if err != nil {
			return nil, err
		}
		if !st.Open(now) {
			continue
		}
		p, err := s.check(ctx, conn, st, identifier, password)
		if errors.Is(err, errNoAccount) {
			continue
		}
		if err != nil {
			return nil, s.refuse(ctx, conn, err)
		}
		u, id, err := s.adopt(ctx, conn, p)
		if err != nil {
			return nil, s.refuse(ctx, conn, err)
		}
		return s.signedIn(ctx, conn, st, u, id, p, password, now)
	}
	return nil, flow.ErrNotLegacy
}

// check asks conn's store, bounded by the timeout.
func (s *Service) check(ctx context.Context, conn *store.Connection, st connection.Settings, identifier, password string) (*Profile, error) {
	b, err := s.backend(conn, st)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout())
	defer cancel()
	return b.Check(ctx, identifier, password)
}

func (s *Service) backend(conn *store.Connection, st connection.Settings) (backend, error) {
	secret, err := s.Connections.Secret(conn)
	if err != nil {
		return nil, err
	}
	allowLoopback := s.Connections.Policy.AllowLoopbackHTTP
	if conn.Type == connection.TypeLegacyHTTP {
		return &httpBackend{st: st, secret: secret, client: s.httpClient(allowLoopback)}, nil
	}
	return &ldapBackend{st: st, password: secret, allowLoopback: allowLoopback}, nil
}

// refuse audits why a legacy store did not let someone in and answers
// what a wrong password answers. A wrong password is not audited (the
// throttle counts it); an unknown account at a store that was asked
// about a linked one is.
func (s *Service) refuse(ctx context.Context, conn *store.Connection, err error) error {
	if errors.Is(err, errWrongPassword) {
		return directory.ErrInvalidCredentials
	}
	reason := "unavailable"
	var conflict *conflictError
	switch {
	case errors.Is(err, errNoAccount):
		reason = "account_gone"
	case errors.Is(err, errSubjectMoved):
		reason = "subject_mismatch"
	case errors.As(err, &conflict):
		reason = conflict.reason
	}
	s.Log.WarnContext(ctx, "legacy: login refused", "tenant", string(conn.Tenant), "connection", conn.Name,
		"reason", reason, "err", err)
	aerr := s.Audit.Record(ctx, s.Store, events.Actor{Type: "system", ID: "legacy"}, events.Entry{Tenant: conn.Tenant,
		Action: "connection.legacy_failed", TargetType: "connection", TargetID: conn.ID,
		Changes: events.Changes{"reason": {After: reason}}})
	if aerr != nil {
		s.Log.ErrorContext(ctx, "legacy: audit", "err", aerr)
	}
	return directory.ErrInvalidCredentials
}

// conflictError: the legacy account cannot become an account here (its
// address or username is taken, or fails validation).
type conflictError struct {
	reason string
	err    error
}

func (e *conflictError) Error() string { return "legacy: " + e.reason + ": " + e.err.Error() }
func (e *conflictError) Unwrap() error { return e.err }
