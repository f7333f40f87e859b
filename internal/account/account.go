// Package account is a signed-in user's self-service: edit the profile,
// change the email address (it takes effect only once the new address
// follows a link sent to it), change the password, end sessions on other
// devices, revoke apps, download one's data and delete the account. Each
// change is audited with the user as the actor; the password-bound ones go
// through the login throttle. It knows nothing of HTTP: internal/web
// serves the page and maps these errors to messages.
package account

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse-id/gatehouse/internal/connection"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/privacy"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// Errors the page tells apart. Password failures are flow's
// ErrInvalidCredentials and *flow.ThrottledError.
var (
	// ErrNotYours: the session or app named is not the user's (or does
	// not exist): the same answer either way, and nothing changes.
	ErrNotYours = errors.New("account: no such session or app of this user")
	// ErrBadLink: an email-change link unknown, used or expired.
	ErrBadLink = errors.New("account: link unknown, used or expired")
	// ErrEmailTaken: the new address belongs to another account by the
	// time its owner confirmed it.
	ErrEmailTaken = errors.New("account: address already in use")
	// ErrDirectoryOwned: the account belongs to a federating directory,
	// which owns its password and address (connection.DirectoryOwned).
	ErrDirectoryOwned = errors.New("account: managed by the organisation's directory")
)

// directoryOwned answers ErrDirectoryOwned for an account a federating
// directory owns.
func (s *Service) directoryOwned(ctx context.Context, tenant store.TenantID, userID string) error {
	owned, err := connection.DirectoryOwned(ctx, s.Store, tenant, userID)
	if err == nil && owned {
		err = ErrDirectoryOwned
	}
	return err
}

// Service serves the account page's actions.
type Service struct {
	Store     store.Store
	Directory *directory.Service
	Sessions  *session.Service
	Flow      *flow.Service
	Audit     *events.Recorder
	// Mailer sends the email-change link (see Mailer).
	Mailer Mailer
	// PublicURL makes the mailed link absolute.
	PublicURL string
	Now       func() time.Time
	// Privacy erases the account on deletion and builds its data
	// download (internal/privacy).
	Privacy *privacy.Service
}

func (s *Service) now() time.Time { return s.Now().UTC().Truncate(time.Microsecond) }

// Actor is the signed-in user as the audit log's actor.
func Actor(userID, ip, requestID string) events.Actor {
	return events.Actor{Type: "user", ID: userID, ClientIP: ip, RequestID: requestID}
}

// ProfileInput is what the profile form sets. Attributes holds the
// tenant's profile attributes; "" removes one.
type ProfileInput struct {
	GivenName  string
	FamilyName string
	Attributes map[string]string
}

// maxAttrValue bounds a profile attribute's value.
const maxAttrValue = 200

// UpdateProfile sets the names and the tenant's profile attributes; any
// other attribute key is refused. Errors: *valid.Error, ErrDirectoryOwned
// (new names for an account a federating directory owns).
func (s *Service) UpdateProfile(ctx context.Context, actor events.Actor, t *store.Tenant, userID string, in ProfileInput) (*store.User, error) {
	set, err := tenancy.ParseSettings(t.Settings)
	if err != nil {
		return nil, err
	}
	allowed := map[string]bool{}
	for _, a := range set.ProfileAttributes {
		allowed[a] = true
	}
	for _, f := range set.ProfileSchema.Fields { // profile.go
		allowed[f.Name] = allowed[f.Name] || f.UserEditable
	}
	var c valid.Collector
	patch := map[string]any{}
	for k, v := range in.Attributes {
		v = strings.TrimSpace(v)
		switch {
		case !allowed[k]:
			c.Add("attributes."+k, "unknown", "This attribute cannot be set here.")
		case utf8.RuneCountInString(v) > maxAttrValue || !utf8.ValidString(v) || strings.IndexFunc(v, unicode.IsControl) >= 0:
			c.Add("attributes."+k, "invalid", "At most 200 characters, no control characters.")
		case v == "":
			patch[k] = nil
		default:
			patch[k] = schemaValue(set.ProfileSchema, k, v)
		}
	}
	if err := c.Err(); err != nil {
		return nil, err
	}
	given, family := strings.TrimSpace(in.GivenName), strings.TrimSpace(in.FamilyName)
	p := directory.UserPatch{GivenName: &given, FamilyName: &family}
	if err := s.directoryOwned(ctx, t.ID, userID); errors.Is(err, ErrDirectoryOwned) {
		// The directory owns the names: they stay unless unchanged.
		u, err := s.Store.Users().GetUser(ctx, t.ID, userID)
		if err != nil {
			return nil, err
		}
		if given != u.GivenName || family != u.FamilyName {
			return nil, ErrDirectoryOwned
		}
		p.GivenName, p.FamilyName = nil, nil
	} else if err != nil {
		return nil, err
	}
	if len(patch) > 0 {
		if p.Attributes, err = json.Marshal(patch); err != nil {
			return nil, err
		}
	}
	return s.Directory.UpdateUser(ctx, actor, t.ID, userID, 0, p)
}

// ProfileAttributes answers the tenant's profile attributes with the
// user's values ("" when unset or not a string), in the tenant's order.
func ProfileAttributes(t *store.Tenant, u *store.User) [][2]string {
	set, err := tenancy.ParseSettings(t.Settings)
	if err != nil {
		return nil
	}
	var attrs map[string]any
	_ = json.Unmarshal(u.Attributes, &attrs)
	out := make([][2]string, 0, len(set.ProfileAttributes))
	for _, a := range set.ProfileAttributes {
		v, _ := attrs[a].(string)
		out = append(out, [2]string{a, v})
	}
	return append(out, editableFields(set, attrs)...)
}

// identifier is what the login throttle counts a user's attempts under.
func identifier(u *store.User) string {
	if u.Email != "" {
		return u.Email
	}
	return u.Username
}

// Reauthenticate checks the user's current password under the login
// throttle. Errors: flow.ErrInvalidCredentials, *flow.ThrottledError.
func (s *Service) Reauthenticate(ctx context.Context, tenant store.TenantID, userID, password, ip string) (*store.User, error) {
	u, err := s.Store.Users().GetUser(ctx, tenant, userID)
	if err != nil {
		return nil, err
	}
	if password == "" || len(password) > 1024 {
		return nil, flow.ErrInvalidCredentials
	}
	got, err := s.Flow.CheckPassword(ctx, tenant, identifier(u), password, ip)
	if err != nil {
		return nil, err
	}
	if got.ID != u.ID { // an identifier shared by email and username
		return nil, flow.ErrInvalidCredentials
	}
	return got, nil
}

// ChangePassword checks the current password, sets the new one (checked
// against the tenant's policy), which ends every session of the user and
// their tokens, mails the user a notice, and starts a fresh session for
// this browser: its cookie value is returned. Errors: those of
// Reauthenticate, *valid.Error; ErrNoticeFailed (with the token) when
// only the notice failed.
func (s *Service) ChangePassword(ctx context.Context, actor events.Actor, tenant store.TenantID, userID, current, next, userAgent string) (string, error) {
	if _, err := s.Reauthenticate(ctx, tenant, userID, current, actor.ClientIP); err != nil {
		return "", err
	}
	if err := s.directoryOwned(ctx, tenant, userID); err != nil {
		return "", err
	}
	if len(next) > 1024 {
		return "", valid.Field("password", "too_long", "A password has at most 1024 bytes.")
	}
	if _, err := s.Directory.UpdateUser(ctx, actor, tenant, userID, 0, directory.UserPatch{Password: &next}); err != nil {
		return "", err
	}
	_, token, err := s.Sessions.Create(ctx, tenant, userID, []string{"pwd"}, userAgent, actor.ClientIP)
	if err != nil {
		return "", err
	}
	if err := s.noticePasswordChanged(ctx, tenant, userID); err != nil {
		return token, fmt.Errorf("%w: %w", ErrNoticeFailed, err)
	}
	return token, nil
}

// EndSession ends one of the user's sessions and its tokens.
// ErrNotYours for a session of someone else or none.
func (s *Service) EndSession(ctx context.Context, actor events.Actor, tenant store.TenantID, userID, sessionID string) error {
	if len(sessionID) > 64 {
		return ErrNotYours
	}
	sess, err := s.Store.OAuth().Sessions().GetSession(ctx, tenant, sessionID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (sess.UserID != userID || sess.RevokedAt != nil)) {
		return ErrNotYours
	}
	if err != nil {
		return err
	}
	if err := s.Sessions.End(ctx, tenant, sessionID); err != nil {
		return err
	}
	return s.record(ctx, actor, events.Entry{Tenant: tenant, Action: "session.end", TargetType: "session", TargetID: sessionID,
		Changes: events.Changes{"user_id": {Before: userID, After: nil}}})
}

// App is a client the user has granted access to.
type App struct {
	ClientID string
	Name     string
	Scopes   []string
	Since    time.Time
}

// Apps answers the user's granted apps.
func (s *Service) Apps(ctx context.Context, tenant store.TenantID, userID string) ([]App, error) {
	cs, err := s.Store.OAuth().Consents().ListConsents(ctx, tenant, userID)
	if err != nil {
		return nil, err
	}
	out := make([]App, 0, len(cs))
	for _, c := range cs {
		name := c.ClientID
		if cl, err := s.Store.OAuth().Clients().GetClient(ctx, tenant, c.ClientID); err == nil && cl.Name != "" {
			name = cl.Name
		}
		out = append(out, App{ClientID: c.ClientID, Name: name, Scopes: c.Scopes, Since: c.CreatedAt})
	}
	return out, nil
}

// RevokeApp forgets the user's consent to clientID and revokes every
// token that client holds for the user, in one transaction.
// ErrNotYours when the user has no consent for it.
func (s *Service) RevokeApp(ctx context.Context, actor events.Actor, tenant store.TenantID, userID, clientID string) error {
	if len(clientID) > 128 {
		return ErrNotYours
	}
	return s.Store.InTx(ctx, func(tx store.Repos) error {
		c, err := tx.OAuth().Consents().GetConsent(ctx, tenant, userID, clientID)
		if errors.Is(err, store.ErrNotFound) {
			return ErrNotYours
		}
		if err != nil {
			return err
		}
		if err := tx.OAuth().Consents().DeleteConsent(ctx, tenant, userID, clientID); err != nil {
			return err
		}
		if err := tx.OAuth().Tokens().RevokeUserClientTokens(ctx, tenant, userID, clientID); err != nil {
			return err
		}
		return s.Audit.Record(ctx, tx, actor, events.Entry{Tenant: tenant, Action: "consent.revoke", TargetType: "user",
			TargetID: userID, Changes: events.Changes{"consent." + clientID: {Before: c.Scopes, After: nil}}})
	})
}

// Grant is a client's access that no browser session holds: a device
// signed in by the device flow, or an offline refresh token.
type Grant struct {
	ID, ClientID, Name string
	Kind               string // session.GrantDevice or session.GrantOffline
	Since, LastUsed    time.Time
}

// OfflineGrants answers the user's live grants held without a session
// (those under a session end with it, and the page lists sessions).
func (s *Service) OfflineGrants(ctx context.Context, tenant store.TenantID, userID string) ([]Grant, error) {
	gs, err := s.Sessions.Grants(ctx, tenant, userID)
	if err != nil {
		return nil, err
	}
	out := []Grant{}
	for i := range gs {
		g := &gs[i]
		kind := session.GrantKind(g)
		if kind == session.GrantSession {
			continue
		}
		name := g.ClientID
		if cl, err := s.Store.OAuth().Clients().GetClient(ctx, tenant, g.ClientID); err == nil && cl.Name != "" {
			name = cl.Name
		}
		out = append(out, Grant{ID: g.ID, ClientID: g.ClientID, Name: name, Kind: kind, Since: g.CreatedAt, LastUsed: g.LastUsedAt})
	}
	return out, nil
}

// RevokeGrant revokes one grant of the user and its tokens. ErrNotYours
// when the user has no live grant of that id.
func (s *Service) RevokeGrant(ctx context.Context, actor events.Actor, tenant store.TenantID, userID, id string) error {
	err := s.Sessions.RevokeGrant(ctx, actor, tenant, userID, id)
	if errors.Is(err, store.ErrNotFound) {
		return ErrNotYours
	}
	return err
}

// Delete erases the account after the password is re-entered: its
// sessions end, then the person is erased (privacy.Service.Erase).
// Errors: those of Reauthenticate and of Erase (privacy.ErrHold).
func (s *Service) Delete(ctx context.Context, actor events.Actor, tenant store.TenantID, userID, password string) error {
	if _, err := s.Reauthenticate(ctx, tenant, userID, password, actor.ClientIP); err != nil {
		return err
	}
	// Erasure ends the sessions first (with their back-channel notices),
	// then erases the person, which a legal hold refuses.
	_, err := s.Privacy.Erase(ctx, actor, tenant, userID)
	return err
}

// Export is "download my data": privacy.Service.Export for the signed-in
// user.
func (s *Service) Export(ctx context.Context, actor events.Actor, tenant store.TenantID, userID string) (*privacy.Export, error) {
	return s.Privacy.Export(ctx, actor, tenant, userID)
}

func (s *Service) record(ctx context.Context, actor events.Actor, e events.Entry) error {
	return s.Store.InTx(ctx, func(tx store.Repos) error { return s.Audit.Record(ctx, tx, actor, e) })
}
