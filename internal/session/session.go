// Package session manages browser sessions: the server-side record behind
// the session cookie that gives single sign-on across a tenant's clients.
// Only the SHA-256 of the cookie value is stored; any node can continue a
// session. It knows nothing of HTTP: the web package sets the cookie.
package session

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/memo"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Defaults for a tenant's session lifetimes.
const (
	DefaultIdle     = 24 * time.Hour
	DefaultAbsolute = 14 * 24 * time.Hour
	// touchEvery bounds how often a session's last-seen time is written.
	touchEvery = time.Minute
)

// ErrNoSession is the answer for a missing, unknown, revoked, idle or
// expired session.
var ErrNoSession = errors.New("session: no valid session")

// Service creates, finds and ends sessions.
type Service struct {
	Store    store.Store
	Now      func() time.Time
	Idle     time.Duration
	Absolute time.Duration
	// OnEnd, when set, runs after a session has ended (the OpenID provider
	// sends back-channel logout notices from it). Its failures are its own.
	OnEnd func(ctx context.Context, s *store.Session)
	// OnCreate, when set, runs after a session has started (authz raises
	// the break-glass alert from it). Its failures are its own.
	OnCreate func(ctx context.Context, s *store.Session)
	// Audit records grant revocations; nil records nothing.
	Audit *events.Recorder
	// Meter, when set, meters logins: it may refuse a user a plan's hard
	// MAU limit keeps out, and counts the user active in the session's
	// own transaction (exact: never lost, never doubled).
	Meter Activity
	// Events, when set, writes login.succeeded and session.created when a
	// session starts and session.ended when one ends, in the session's
	// own transaction.
	Events *events.Outbox

	// onSession remembers the clients AddClient found on sessions.
	onSession memo.Set[sessionClient]
}

type sessionClient struct {
	tenant            store.TenantID
	session, clientID string
}

// Activity meters authentications (tenancy.Meter).
type Activity interface {
	// Admit refuses a user a tenant's plan does not let in this month.
	Admit(ctx context.Context, tenant store.TenantID, userID string) error
	// MarkActive counts the user active this month through repos.
	MarkActive(ctx context.Context, repos store.Repos, tenant store.TenantID, userID string) error
	// Add counts n of metric for tenant, off the request's path.
	Add(tenant store.TenantID, metric string, n int64)
}

func (s *Service) now() time.Time { return s.Now().UTC().Truncate(time.Microsecond) }

func hash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// Create starts a session for userID and returns it with the cookie value,
// which is fresh at every login (no fixation).
func (s *Service) Create(ctx context.Context, tenant store.TenantID, userID string, amr []string, userAgent, ip string) (*store.Session, string, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return nil, "", err
	}
	token := base64.RawURLEncoding.EncodeToString(raw)
	id, err := uuid.NewV7()
	if err != nil {
		return nil, "", err
	}
	now := s.now()
	if len(userAgent) > 256 {
		userAgent = userAgent[:256]
	}
	sess := &store.Session{
		ID: id.String(), Tenant: tenant, UserID: userID, TokenHash: hash(token),
		AuthTime: now, AMR: slices.Clone(amr), UserAgent: userAgent, IP: ip,
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(s.absolute()),
	}
	if s.Meter == nil && s.Events == nil {
		if err := s.Store.OAuth().Sessions().CreateSession(ctx, sess); err != nil {
			return nil, "", err
		}
	} else {
		if s.Meter != nil {
			if err := s.Meter.Admit(ctx, tenant, userID); err != nil {
				return nil, "", err
			}
		}
		err := s.Store.InTx(ctx, func(tx store.Repos) error {
			if err := tx.OAuth().Sessions().CreateSession(ctx, sess); err != nil {
				return err
			}
			if err := s.emitStart(ctx, tx, sess); err != nil {
				return err
			}
			if s.Meter == nil {
				return nil
			}
			return s.Meter.MarkActive(ctx, tx, tenant, userID)
		})
		if err != nil {
			return nil, "", err
		}
		if s.Meter != nil {
			s.Meter.Add(tenant, store.MetricLoginsSucceeded, 1)
		}
	}
	if s.OnCreate != nil {
		s.OnCreate(ctx, sess)
	}
	return sess, token, nil
}

func (s *Service) absolute() time.Duration {
	if s.Absolute > 0 {
		return s.Absolute
	}
	return DefaultAbsolute
}

func (s *Service) idle() time.Duration {
	if s.Idle > 0 {
		return s.Idle
	}
	return DefaultIdle
}

// Lookup finds the live session behind a cookie value; ErrNoSession when
// there is none. A session unused for longer than the idle timeout is over.
func (s *Service) Lookup(ctx context.Context, tenant store.TenantID, token string) (*store.Session, error) {
	if token == "" || len(token) > 64 {
		return nil, ErrNoSession
	}
	sess, err := s.Store.OAuth().Sessions().GetSessionByToken(ctx, tenant, hash(token))
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNoSession
	}
	if err != nil {
		return nil, err
	}
	return s.touch(ctx, tenant, sess)
}

// touch answers sess when it has not been idle too long, recording that
// it was used; ErrNoSession otherwise.
func (s *Service) touch(ctx context.Context, tenant store.TenantID, sess *store.Session) (*store.Session, error) {
	now := s.now()
	if now.Sub(sess.LastSeenAt) >= s.idle() {
		return nil, ErrNoSession
	}
	if now.Sub(sess.LastSeenAt) >= touchEvery {
		_, _ = s.Store.OAuth().Sessions().UpdateSession(ctx, tenant, sess.ID, func(x *store.Session) error {
			x.LastSeenAt = now
			return nil
		})
	}
	return sess, nil
}

// LiveByID is Lookup by session id, for records bound to a session (an
// application's cookie behind a proxy): ErrNoSession when the session is
// unknown, revoked, expired or idle, so ending it ends them.
func (s *Service) LiveByID(ctx context.Context, tenant store.TenantID, id string) (*store.Session, error) {
	sess, err := s.Store.OAuth().Sessions().GetSession(ctx, tenant, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNoSession
	}
	if err != nil {
		return nil, err
	}
	if sess.RevokedAt != nil || !s.now().Before(sess.ExpiresAt) {
		return nil, ErrNoSession
	}
	return s.touch(ctx, tenant, sess)
}

// AddClient records that clientID received tokens in the session, so
// logout can tell it. A session's clients are only ever added to, so once
// this node has seen clientID on the session (written or read) it stays
// there: every later call (each refresh of the client's tokens) is
// answered from memory, and a first call on a node reads the session
// before it writes, since the client is usually there already.
func (s *Service) AddClient(ctx context.Context, tenant store.TenantID, id, clientID string) error {
	k := sessionClient{tenant, id, clientID}
	if s.onSession.Has(k) {
		return nil
	}
	if x, err := s.Store.OAuth().Sessions().GetSession(ctx, tenant, id); err == nil && slices.Contains(x.Clients, clientID) {
		s.onSession.Add(k)
		return nil
	}
	_, err := s.Store.OAuth().Sessions().UpdateSession(ctx, tenant, id, func(x *store.Session) error {
		if !slices.Contains(x.Clients, clientID) {
			x.Clients = append(x.Clients, clientID)
		}
		return nil
	})
	if err == nil {
		s.onSession.Add(k)
	}
	return err
}

// emitStart writes the events of a session's start through tx.
func (s *Service) emitStart(ctx context.Context, tx store.Repos, sess *store.Session) error {
	amr := sess.AMR
	if amr == nil {
		amr = []string{}
	}
	data := map[string]any{"user_id": sess.UserID, "session_id": sess.ID, "amr": amr}
	if err := s.Events.Emit(ctx, tx, sess.Tenant, "login.succeeded", sess.UserID, data); err != nil {
		return err
	}
	return s.Events.Emit(ctx, tx, sess.Tenant, "session.created", sess.UserID, data)
}

// End revokes the session and every token issued under it, then runs
// OnEnd. store.ErrNotFound when the tenant has no such session.
func (s *Service) End(ctx context.Context, tenant store.TenantID, id string) error {
	var ended *store.Session
	err := s.Store.InTx(ctx, func(tx store.Repos) error {
		sess, err := tx.OAuth().Sessions().GetSession(ctx, tenant, id)
		if err != nil {
			return err
		}
		if err := tx.OAuth().Sessions().RevokeSession(ctx, tenant, id); err != nil {
			return err
		}
		if sess.RevokedAt == nil {
			ended = sess
			if err := s.Events.Emit(ctx, tx, tenant, "session.ended", sess.UserID,
				map[string]any{"user_id": sess.UserID, "session_id": sess.ID}); err != nil {
				return err
			}
		}
		return tx.OAuth().Tokens().RevokeSessionTokens(ctx, tenant, id, "")
	})
	if err == nil && ended != nil && s.OnEnd != nil {
		s.OnEnd(ctx, ended)
	}
	return err
}

// EndAll ends every live session of a user, with its OnEnd notices, and
// then runs RevokeAll: what every "end all sessions" and every credential
// reset or change does.
func (s *Service) EndAll(ctx context.Context, tenant store.TenantID, userID string) error {
	list, err := s.List(ctx, tenant, userID)
	if err != nil {
		return err
	}
	for i := range list {
		if err := s.End(ctx, tenant, list[i].ID); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	return RevokeAll(ctx, s.Store, tenant, userID)
}

// EndAllBy is EndAll at an administrator's request (the console's "end
// all sessions"): the ending is audited with actor.
func (s *Service) EndAllBy(ctx context.Context, actor events.Actor, tenant store.TenantID, userID string) error {
	if err := s.EndAll(ctx, tenant, userID); err != nil || s.Audit == nil {
		return err
	}
	return s.Audit.Record(ctx, s.Store, actor, events.Entry{Tenant: tenant, Action: "user.sessions_end",
		TargetType: "user", TargetID: userID})
}

// RevokeAll revokes every session of the user and every token the user
// holds at any client, whether issued under a session or not (device-flow
// and other offline grants), through repos, which may be a transaction.
// The one place a credential reset or change (password set, reset or
// changed; account claimed; user disabled) and "end all sessions" revoke
// what signs the user in, so none of them can leave a grant working. It
// sends no back-channel notices: EndAll does, and runs it.
func RevokeAll(ctx context.Context, repos store.Repos, tenant store.TenantID, userID string) error {
	if err := repos.OAuth().Sessions().RevokeUserSessions(ctx, tenant, userID); err != nil {
		return err
	}
	return repos.OAuth().Tokens().RevokeUserTokens(ctx, tenant, userID)
}

// List answers the user's live sessions (not revoked, not expired, not idle).
func (s *Service) List(ctx context.Context, tenant store.TenantID, userID string) ([]store.Session, error) {
	all, err := s.Store.OAuth().Sessions().ListUserSessions(ctx, tenant, userID)
	if err != nil {
		return nil, err
	}
	now := s.now()
	live := all[:0]
	for _, x := range all {
		if x.RevokedAt == nil && now.Before(x.ExpiresAt) && now.Sub(x.LastSeenAt) < s.idle() {
			live = append(live, x)
		}
	}
	return live, nil
}

// Kinds of grant as the account page and the API show them.
const (
	GrantDevice  = "device"  // from the device flow (RFC 8628)
	GrantOffline = "offline" // refresh token bound to no browser session
	GrantSession = "session" // refresh token issued under a browser session
)

// GrantKind names how g keeps a client signed in.
func GrantKind(g *store.TokenGrant) string {
	switch {
	case g.Kind == store.GrantDevice:
		return GrantDevice
	case g.SessionID == "":
		return GrantOffline
	}
	return GrantSession
}

// Grants answers the user's live grants (refresh families), oldest first.
func (s *Service) Grants(ctx context.Context, tenant store.TenantID, userID string) ([]store.TokenGrant, error) {
	return s.Store.OAuth().Tokens().ListUserGrants(ctx, tenant, userID)
}

// RevokeGrant revokes one live grant of the user with every token of it,
// audited as actor. store.ErrNotFound when the user has no live grant of
// that id (someone else's included).
func (s *Service) RevokeGrant(ctx context.Context, actor events.Actor, tenant store.TenantID, userID, id string) error {
	if id == "" || len(id) > 64 {
		return store.ErrNotFound
	}
	return s.Store.InTx(ctx, func(tx store.Repos) error {
		if err := tx.OAuth().Tokens().RevokeUserGrant(ctx, tenant, userID, id); err != nil {
			return err
		}
		if s.Audit == nil {
			return nil
		}
		return s.Audit.Record(ctx, tx, actor, events.Entry{Tenant: tenant, Action: "grant.revoke", TargetType: "user",
			TargetID: userID, Changes: events.Changes{"grant": {Before: id, After: nil}}})
	})
}
