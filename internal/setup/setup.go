// Package setup is the admin console's first run and upkeep: the one-time
// setup link that creates the first platform administrator while none
// exists, the headless creation of administrators, the built-in console
// roles in every tenant, and the console's own first-party OpenID Connect
// client in each tenant. It knows nothing of HTTP (internal/console
// serves the pages).
package setup

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/oauthclient"
	"github.com/gatehouse-id/gatehouse/internal/selfservice"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// LinkTTL is how long a setup link works.
const LinkTTL = time.Hour

// ErrInvalidToken: the setup link is unknown, spent or expired (never
// told apart), or an administrator exists already.
var ErrInvalidToken = errors.New("setup: invalid or expired setup link")

// ClientName names the console's client in each tenant's client list.
const ClientName = "Gatehouse console"

// Service runs the first run and the console's upkeep.
type Service struct {
	Store       store.Store
	Tenants     *tenancy.Service
	Directory   *directory.Service
	Authz       *authz.Service
	Clients     *oauthclient.Service
	SelfService *selfservice.Service
	PublicURL   string
	// AdminTenant is the slug of the tenant whose users administer the
	// platform (tenancy.DefaultSlug when empty).
	AdminTenant string
	Now         func() time.Time
}

func (s *Service) now() time.Time { return s.Now().UTC().Truncate(time.Microsecond) }

// system is the actor of what the setup does by itself.
var system = events.Actor{Type: "system", ID: "setup"}

// AdminSlug is the admin tenant's slug.
func (s *Service) AdminSlug() string {
	if s.AdminTenant == "" {
		return tenancy.DefaultSlug
	}
	return s.AdminTenant
}

// AdminTenantRecord answers the admin tenant.
func (s *Service) AdminTenantRecord(ctx context.Context) (*store.Tenant, error) {
	return s.Tenants.Resolve(ctx, s.AdminSlug())
}

// EnsureBuiltinRoles gives every tenant the built-in roles it lacks (new
// tenants get them when created: authz.Service observes tenant.create).
func (s *Service) EnsureBuiltinRoles(ctx context.Context) error {
	// One query finds the tenants lacking one (a tenant made through the
	// API gets them with its creation), not a lookup per tenant and role:
	// this runs at every start-up.
	names := make([]string, len(authz.BuiltinRoles))
	for i, b := range authz.BuiltinRoles {
		names[i] = b.Name
	}
	p := store.Page{Limit: 100}
	for {
		ts, err := s.Store.Authz().Roles().TenantsLacking(ctx, names, p)
		if err != nil {
			return err
		}
		// The page in one transaction. A role another node starting at
		// the same time made first is a conflict the role's savepoint
		// absorbs (EnsureBuiltinRoles skips it).
		if len(ts) > 0 {
			if err := s.Store.InTx(ctx, func(tx store.Repos) error { return s.Authz.EnsureBuiltinIn(ctx, tx, ts) }); err != nil {
				return err
			}
		}
		if len(ts) < p.Limit {
			return nil
		}
		p.After = string(ts[len(ts)-1])
	}
}

// HasPlatformAdmin reports whether a user of the admin tenant holds the
// platform administrator role directly.
func (s *Service) HasPlatformAdmin(ctx context.Context) (bool, error) {
	t, err := s.AdminTenantRecord(ctx)
	if err != nil {
		return false, err
	}
	r, err := s.Store.Authz().Roles().GetRoleByName(ctx, t.ID, authz.RolePlatformAdmin)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	as, err := s.Authz.ListAssignments(ctx, t.ID, store.AssignmentQuery{RoleID: r.ID, Page: store.Page{Limit: 1}})
	return len(as) > 0, err
}

func hashToken(tok string) []byte {
	h := sha256.Sum256([]byte(tok))
	return h[:]
}

// SetupLink issues a new one-time setup link, valid LinkTTL, while no
// platform administrator exists; "" when one does.
func (s *Service) SetupLink(ctx context.Context) (string, error) {
	has, err := s.HasPlatformAdmin(ctx)
	if err != nil || has {
		return "", err
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	tok := base64.RawURLEncoding.EncodeToString(b)
	now := s.now()
	if err := s.Store.Console().CreateSetupToken(ctx, &store.SetupToken{Hash: hashToken(tok), CreatedAt: now,
		ExpiresAt: now.Add(LinkTTL)}); err != nil {
		return "", err
	}
	return s.PublicURL + "/setup?token=" + url.QueryEscape(tok), nil
}

// CheckSetupToken reports whether tok is a live setup link while no
// platform administrator exists (ErrInvalidToken otherwise).
func (s *Service) CheckSetupToken(ctx context.Context, tok string) error {
	if tok == "" || len(tok) > 100 {
		return ErrInvalidToken
	}
	if has, err := s.HasPlatformAdmin(ctx); err != nil {
		return err
	} else if has {
		return ErrInvalidToken
	}
	_, err := s.Store.Console().PeekSetupToken(ctx, hashToken(tok), s.now())
	if errors.Is(err, store.ErrNotFound) {
		return ErrInvalidToken
	}
	return err
}

// FirstAdmin is the setup form's input.
type FirstAdmin struct {
	Email    string
	Password string
	ClientIP string
}

// CompleteSetup spends the setup link and creates the first platform
// administrator: a user of the admin tenant with the password (checked
// by the tenant's password policy), holding gatehouse.platform_admin.
// Errors: ErrInvalidToken, *valid.Error and *valid.Conflict (the input;
// the link is not spent).
func (s *Service) CompleteSetup(ctx context.Context, tok string, in FirstAdmin) (*store.User, error) {
	if err := s.CheckSetupToken(ctx, tok); err != nil {
		return nil, err
	}
	t, err := s.AdminTenantRecord(ctx)
	if err != nil {
		return nil, err
	}
	if in.Password == "" {
		return nil, valid.Field("password", "required", "Choose a password.")
	}
	actor := system
	actor.ClientIP = in.ClientIP
	pw := in.Password
	u, err := s.Directory.CreateUser(ctx, actor, t.ID, directory.NewUser{Email: strings.TrimSpace(in.Email), Password: &pw})
	if err != nil {
		return nil, err
	}
	// The link is spent only once the input was good; a lost race undoes
	// the user this call created.
	if _, err := s.Store.Console().ConsumeSetupToken(ctx, hashToken(tok), s.now()); err != nil {
		_ = s.Directory.DeleteUser(ctx, actor, t.ID, u.ID)
		if errors.Is(err, store.ErrNotFound) {
			return nil, ErrInvalidToken
		}
		return nil, err
	}
	if err := s.grantPlatform(ctx, actor, t.ID, u.ID); err != nil {
		return nil, err
	}
	return u, nil
}

func (s *Service) grantPlatform(ctx context.Context, actor events.Actor, tenant store.TenantID, userID string) error {
	if err := s.Authz.EnsureBuiltin(ctx, tenant); err != nil {
		return err
	}
	_, _, err := s.Authz.AssignUser(ctx, actor, tenant, userID, authz.RolePlatformAdmin)
	var conflict *valid.Conflict
	if errors.As(err, &conflict) {
		return nil
	}
	return err
}

// CreateAdmin makes email a platform administrator of the admin tenant
// headless (the CLI): the user is created without a password when new,
// given gatehouse.platform_admin, and invited; the answer is the link to
// set the password. Errors: *valid.Error, *valid.Conflict (the user has a
// password already: give the role through the roles API instead).
func (s *Service) CreateAdmin(ctx context.Context, actor events.Actor, email string) (*selfservice.Invitation, error) {
	t, err := s.AdminTenantRecord(ctx)
	if err != nil {
		return nil, err
	}
	inv, err := s.SelfService.Invite(ctx, actor, t, selfservice.NewInvitation{Email: email})
	if err != nil {
		return nil, err
	}
	return inv, s.grantPlatform(ctx, actor, t.ID, inv.UserID)
}

// ConsoleClient answers the client_id of the console's client in tenant,
// registering it on first use (a public, first-party client: code flow
// with PKCE), again when it was deleted, and adding redirectURI to its
// redirect URIs when the public URL changed. Concurrent first uses agree
// on one client.
func (s *Service) ConsoleClient(ctx context.Context, tenant store.TenantID, redirectURI string) (string, error) {
	id, err := s.Store.Console().ConsoleClient(ctx, tenant)
	if err == nil {
		cl, err := s.Clients.GetClient(ctx, tenant, id)
		if errors.Is(err, store.ErrNotFound) {
			// Deleted through the API: register a new one.
			if err := s.Store.Console().ForgetConsoleClient(ctx, tenant, id); err != nil {
				return "", err
			}
			return s.ConsoleClient(ctx, tenant, redirectURI)
		} else if err != nil {
			return "", err
		}
		if !slices.Contains(cl.RedirectURIs, redirectURI) {
			uris := append(slices.Clone(cl.RedirectURIs), redirectURI)
			if _, err := s.Clients.UpdateClient(ctx, system, tenant, id, 0, oauthclient.ClientPatch{RedirectURIs: &uris}); err != nil {
				return "", err
			}
		}
		return id, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return "", err
	}
	cl, _, err := s.Clients.CreateClient(ctx, system, tenant, oauthclient.NewClient{
		Name: ClientName, RedirectURIs: []string{redirectURI}, Public: true,
		TokenEndpointAuthMethod: "none", GrantTypes: []string{"authorization_code"},
		Scopes: []string{"openid", "profile", "email"},
	})
	if err != nil {
		return "", err
	}
	if err := s.Store.Console().SetConsoleClient(ctx, tenant, cl.ID, s.now()); errors.Is(err, store.ErrConflict) {
		// Another node registered one first: keep theirs.
		_ = s.Clients.DeleteClient(ctx, system, tenant, cl.ID)
		return s.ConsoleClient(ctx, tenant, redirectURI)
	} else if err != nil {
		return "", err
	}
	return cl.ID, nil
}
