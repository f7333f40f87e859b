package flow

import (
	"context"
	"errors"

	"github.com/gatehouse-id/gatehouse/internal/connection"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/google/uuid"
)

// Errors of social login.
var (
	// ErrLinkRequired: the upstream's verified address belongs to an
	// existing account that is not linked yet; the user must prove that
	// account (password) before the identity is linked to it.
	ErrLinkRequired = errors.New("flow: prove the existing account to link this identity")
	// ErrEmailInUse: the address belongs to an existing account but the
	// upstream did not verify it (or the account cannot be proven): no
	// link, no new account.
	ErrEmailInUse = errors.New("flow: the address belongs to another account")
	// ErrNoEmail: a new account needs an address and the upstream gave none.
	ErrNoEmail = errors.New("flow: the upstream gave no email address")
	// ErrUpstreamUnverified: the upstream did not verify the address, so it
	// neither creates an account nor says whether one has it (a person
	// could otherwise claim someone's address before they sign up here).
	ErrUpstreamUnverified = errors.New("flow: the upstream did not verify the address")
	// ErrLinkedElsewhere: the identity is already linked to another user.
	ErrLinkedElsewhere = errors.New("flow: the identity is linked to another account")
)

// amrFed marks a login through an upstream identity provider.
const amrFed = "fed"

// Upstream is an account at an upstream provider, as a connection mapped it.
type Upstream struct {
	Connection    *store.Connection
	Subject       string
	Email         string
	EmailVerified bool
	Name          string
	GivenName     string
	FamilyName    string
	// Tokens are the upstream tokens (JSON) to keep sealed, or nil.
	Tokens []byte
}

// Social is the social-login step of the flow: sign in by a linked
// identity, create the account just in time, or link to an existing
// account after proof.
type Social struct {
	Flow        *Service
	Connections *connection.Service
	Audit       *events.Recorder
}

// LinkRequiredError names the account to prove (never shown to the user
// beyond what they typed: the page asks for that account's password).
type LinkRequiredError struct{ UserID string }

func (e *LinkRequiredError) Error() string { return ErrLinkRequired.Error() }
func (e *LinkRequiredError) Unwrap() error { return ErrLinkRequired }

// Login signs in by an upstream identity. A linked identity signs its user
// in; an unknown one with an address nobody uses creates the user (just in
// time, profile mapped); an unknown one whose address belongs to an
// account answers *LinkRequiredError when the upstream verified it, else
// ErrEmailInUse. With requestID it completes the request as PasswordLogin
// does (ErrRequestGone with a session when the request is gone).
func (s *Social) Login(ctx context.Context, tenant store.TenantID, requestID string, up Upstream, ip, ua string) (*store.Session, string, error) {
	if up.Connection == nil || up.Subject == "" {
		return nil, "", ErrInvalidCredentials
	}
	ids := s.Flow.Store.Connections().Identities()
	id, err := ids.GetIdentityBySubject(ctx, tenant, up.Connection.ID, up.Subject)
	var userID string
	switch {
	case err == nil:
		userID = id.UserID
		if err := s.touch(ctx, tenant, id, up); err != nil {
			return nil, "", err
		}
	case errors.Is(err, store.ErrNotFound):
		if userID, err = s.jit(ctx, tenant, up); err != nil {
			return nil, "", err
		}
	default:
		return nil, "", err
	}
	return s.finish(ctx, tenant, requestID, userID, []string{amrFed}, ip, ua)
}

func (s *Social) touch(ctx context.Context, tenant store.TenantID, id *store.Identity, up Upstream) error {
	var sealed []byte
	if up.Tokens != nil {
		var err error
		if sealed, err = s.Connections.Seal(tenant, id.ID, "upstream_tokens", up.Tokens); err != nil {
			return err
		}
	}
	return s.Flow.Store.Connections().Identities().TouchIdentity(ctx, tenant, id.ID, s.Flow.Now(), up.Email, sealed)
}

// jit creates the user of a first login, or says why it cannot.
func (s *Social) jit(ctx context.Context, tenant store.TenantID, up Upstream) (string, error) {
	if up.Email == "" {
		return "", ErrNoEmail
	}
	trusted := vouched(up)
	if !up.EmailVerified && !trusted {
		return "", ErrUpstreamUnverified
	}
	existing, err := s.Flow.Store.Users().GetUserByEmail(ctx, tenant, directory.NormalizeEmail(up.Email))
	switch {
	case err == nil:
		if up.EmailVerified && existing.PasswordHash != "" && existing.Status == store.UserActive {
			return "", &LinkRequiredError{UserID: existing.ID}
		}
		return "", ErrEmailInUse
	case !errors.Is(err, store.ErrNotFound):
		return "", err
	}
	actor := events.Actor{Type: "system", ID: "connection:" + up.Connection.Name}
	u, err := s.Flow.Directory.CreateUser(ctx, actor, tenant, directory.NewUser{Email: up.Email,
		GivenName: clip(up.GivenName), FamilyName: clip(up.FamilyName), EmailVerified: up.EmailVerified,
		// Unless the tenant trusts this upstream for the address, its word
		// is not a proof of the mailbox here.
		EmailVerifiedUpstream: !trusted})
	if err != nil {
		if errors.Is(err, store.ErrConflict) {
			return "", ErrEmailInUse
		}
		return "", err
	}
	if err := s.link(ctx, tenant, u.ID, up, "jit"); err != nil {
		_ = s.Flow.Directory.DeleteUser(ctx, actor, tenant, u.ID) // a concurrent first login won
		return "", err
	}
	return u.ID, nil
}

// vouched reports whether the connection vouches for an address its
// upstream did not verify: the admin trusts the upstream's addresses, or
// the address is in a domain the connection was registered for (a company
// IdP that owns the domain asserts its addresses rather than verifying).
func vouched(up Upstream) bool {
	st, err := connection.Parse(up.Connection.Config)
	return err == nil && st.Vouches(directory.NormalizeEmail(up.Email))
}

func clip(s string) string {
	if len(s) > 100 {
		return ""
	}
	return s
}

// link stores the identity for userID and audits how it was proven.
func (s *Social) link(ctx context.Context, tenant store.TenantID, userID string, up Upstream, how string) error {
	id := &store.Identity{ID: uuid.Must(uuid.NewV7()).String(), Tenant: tenant, UserID: userID,
		ConnectionID: up.Connection.ID, Subject: up.Subject, Email: up.Email}
	if up.Tokens != nil {
		var err error
		if id.SealedTokens, err = s.Connections.Seal(tenant, id.ID, "upstream_tokens", up.Tokens); err != nil {
			return err
		}
	}
	return s.Flow.Store.InTx(ctx, func(tx store.Repos) error {
		if err := tx.Connections().Identities().CreateIdentity(ctx, id); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return ErrLinkedElsewhere
			}
			return err
		}
		return s.Audit.Record(ctx, tx, events.Actor{Type: "user", ID: userID}, events.Entry{Tenant: tenant,
			Action: "identity.link", TargetType: "user", TargetID: userID, Changes: events.Changes{"identity": {After: map[string]any{
				"id": id.ID, "connection": up.Connection.Name, "subject": up.Subject, "proof": how}}}})
	})
}

// LinkWithPassword links up to the account userID after its password
// (under the login throttle): the identifier typed must name that same
// account. It then signs in (amr pwd and fed) and completes requestID.
// Errors: ErrInvalidCredentials, *ThrottledError, ErrLinkedElsewhere,
// ErrRequestGone (with a session).
func (s *Social) LinkWithPassword(ctx context.Context, tenant store.TenantID, requestID, userID string, up Upstream, identifier, password, ip, ua string) (*store.Session, string, error) {
	u, err := s.Flow.CheckPassword(ctx, tenant, identifier, password, ip)
	if err != nil {
		return nil, "", err
	}
	if u.ID != userID {
		return nil, "", ErrInvalidCredentials
	}
	if err := s.link(ctx, tenant, userID, up, "password"); err != nil {
		return nil, "", err
	}
	return s.finish(ctx, tenant, requestID, userID, []string{"pwd", amrFed}, ip, ua)
}

// LinkToUser links up to a user already signed in on the account page.
// ErrLinkedElsewhere when the identity belongs to someone else.
func (s *Social) LinkToUser(ctx context.Context, tenant store.TenantID, userID string, up Upstream) error {
	id, err := s.Flow.Store.Connections().Identities().GetIdentityBySubject(ctx, tenant, up.Connection.ID, up.Subject)
	switch {
	case err == nil && id.UserID == userID:
		return s.touch(ctx, tenant, id, up)
	case err == nil:
		return ErrLinkedElsewhere
	case !errors.Is(err, store.ErrNotFound):
		return err
	}
	return s.link(ctx, tenant, userID, up, "session")
}

// finish is the flow's one finish (steps.go) for an upstream login, one
// factor (amr fed) or two first factors (pwd and fed): with no request
// (the account page) the session stands alone and ErrRequestGone says so.
func (s *Social) finish(ctx context.Context, tenant store.TenantID, requestID, userID string, amr []string, ip, ua string) (*store.Session, string, error) {
	return s.Flow.login(ctx, tenant, requestID, userID, amr, ip, ua)
}
