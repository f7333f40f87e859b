package configcode

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/gatehouse-id/gatehouse/internal/authz"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/connection"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
)

// maxObjects bounds each kind read from one tenant (1,000 pages of 1,000).
const maxObjects = 1_000_000

// liveObj is one existing object: its id, its fields as the format writes
// them (plain JSON, zero values left out) and its typed form for export.
type liveObj struct {
	id     string
	fields map[string]any
	typed  any
	conn   *store.Connection
}

// live is a tenant's current state, by kind and matching key.
type live struct {
	tenant   *store.Tenant
	settings tenancy.Settings
	objects  map[string]map[string]*liveObj
	order    map[string][]string // keys in creation order
	// clientNames maps client ids to names (roles name their application).
	clientNames map[string]string
}

// pages reads every page of a list call, in id order.
func pages[T any](ctx context.Context, list func(store.Page) ([]T, error), id func(*T) string) ([]T, error) {
	var all []T
	p := store.Page{Limit: 1000}
	for len(all) < maxObjects {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		batch, err := list(p)
		if err != nil {
			return nil, err
		}
		all = append(all, batch...)
		if len(batch) < p.Limit {
			return all, nil
		}
		p.After = id(&batch[len(batch)-1])
	}
	return nil, fmt.Errorf("more than %d objects", maxObjects)
}

func (l *live) put(list, key string, o *liveObj) error {
	if l.objects[list] == nil {
		l.objects[list] = map[string]*liveObj{}
	}
	if _, dup := l.objects[list][key]; dup {
		return fmt.Errorf("tenant %s has two %s called %q: rename one before managing them as code", l.tenant.Slug, list, key)
	}
	l.objects[list][key] = o
	l.order[list] = append(l.order[list], key)
	return nil
}

// readLive reads tenant t through the services.
func readLive(ctx context.Context, s *Services, t *store.Tenant) (*live, error) {
	set, err := tenancy.ParseSettings(t.Settings)
	if err != nil {
		return nil, err
	}
	l := &live{tenant: t, settings: set, objects: map[string]map[string]*liveObj{},
		order: map[string][]string{}, clientNames: map[string]string{}}
	id := t.ID
	if err := collect(ctx, l, "clients", func(p store.Page) ([]store.Client, error) { return s.Clients.ListClients(ctx, id, p) },
		func(c *store.Client) string { return c.ID }, func(c *store.Client) (string, *liveObj, error) {
			l.clientNames[c.ID] = c.Name
			return c.Name, plainObj(c.ID, clientOf(c)), nil
		}); err != nil {
		return nil, err
	}
	if err := collect(ctx, l, "saml_sps", func(p store.Page) ([]store.SAMLServiceProvider, error) { return s.SAMLSPs.List(ctx, id, p) },
		func(sp *store.SAMLServiceProvider) string { return sp.ID }, func(sp *store.SAMLServiceProvider) (string, *liveObj, error) {
			return sp.EntityID, plainObj(sp.ID, spOf(sp)), nil
		}); err != nil {
		return nil, err
	}
	if err := collect(ctx, l, "connections", func(p store.Page) ([]store.Connection, error) { return s.Connections.List(ctx, id, p) },
		func(c *store.Connection) string { return c.ID }, func(c *store.Connection) (string, *liveObj, error) {
			cc, err := connectionOf(c)
			if err != nil {
				return "", nil, err
			}
			o := plainObj(c.ID, cc)
			o.conn = c
			return c.Name, o, nil
		}); err != nil {
		return nil, err
	}
	if err := collect(ctx, l, "roles", func(p store.Page) ([]store.Role, error) { return s.Authz.ListRoles(ctx, id, "", p) },
		func(r *store.Role) string { return r.ID }, func(r *store.Role) (string, *liveObj, error) {
			if authz.IsBuiltin(r.Name) {
				return "", nil, nil // the built-in console roles are not configuration
			}
			return r.Name, plainObj(r.ID, roleOf(r, l.clientNames)), nil
		}); err != nil {
		return nil, err
	}
	if err := collect(ctx, l, "groups", func(p store.Page) ([]store.Group, error) { return s.Directory.ListGroups(ctx, id, p) },
		func(g *store.Group) string { return g.ID }, func(g *store.Group) (string, *liveObj, error) {
			return g.Name, plainObj(g.ID, &Group{Name: g.Name, Description: g.Description}), nil
		}); err != nil {
		return nil, err
	}
	return l, nil
}

// collect reads every object of one kind into l, in id order: conv
// answers an object's matching key and form, or a nil form to leave the
// object out.
func collect[T any](ctx context.Context, l *live, list string, fetch func(store.Page) ([]T, error),
	id func(*T) string, conv func(*T) (key string, o *liveObj, err error)) error {
	all, err := pages(ctx, fetch, id)
	if err != nil {
		return err
	}
	for i := range all {
		key, o, err := conv(&all[i])
		if err != nil {
			return err
		}
		if o == nil {
			continue
		}
		if err := l.put(list, key, o); err != nil {
			return err
		}
	}
	return nil
}

// groupMembers answers the emails of a group's user members.
func groupMembers(ctx context.Context, s *Services, tenant store.TenantID, groupID string) ([]any, error) {
	members, err := pages(ctx, func(p store.Page) ([]store.Member, error) {
		return s.Directory.ListMembers(ctx, tenant, groupID, p)
	}, func(m *store.Member) string { return m.ID })
	if err != nil {
		return nil, err
	}
	var out []string
	for _, m := range members {
		if m.Type != store.MemberUser {
			continue
		}
		u, err := s.Directory.GetUser(ctx, tenant, m.ID)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, u.Email)
	}
	l := make([]any, len(out))
	for i, e := range out {
		l[i] = e
	}
	return lowerSorted(l), nil
}

func plainObj(id string, typed any) *liveObj {
	var m map[string]any
	if err := roundTrip(typed, &m); err != nil {
		// The typed forms are plain structs of strings, numbers and lists:
		// they always encode.
		panic(fmt.Sprintf("configcode: encode %T: %v", typed, err))
	}
	return &liveObj{id: id, fields: m, typed: typed}
}

func clientOf(c *store.Client) *Client {
	out := &Client{Name: c.Name, Public: c.Public, ThirdParty: c.ThirdParty,
		RedirectURIs: c.RedirectURIs, PostLogoutRedirectURIs: c.PostLogoutRedirectURIs,
		GrantTypes: c.GrantTypes, Scopes: c.Scopes, TokenEndpointAuthMethod: c.AuthMethod,
		IDTokenSignedResponseAlg: c.IDTokenAlg, AccessTokenSignedResponseAlg: c.AccessTokenAlg,
		AccessTokenTTL: int64(c.AccessTokenTTL / time.Second), IDTokenTTL: int64(c.IDTokenTTL / time.Second),
		RefreshTokenTTL: int64(c.RefreshTokenTTL / time.Second), BackchannelLogoutURI: c.BackchannelLogoutURI,
		ClaimMappings: c.ClaimMappings, AllowedOrigins: c.AllowedOrigins, Introspection: c.Introspection}
	if c.AuthzClaims != (store.AuthzClaims{}) {
		ac := c.AuthzClaims
		out.AuthzClaims = &ac
	}
	if len(c.JWKS) > 0 {
		var k JWKS
		if json.Unmarshal(c.JWKS, &k) == nil {
			out.JWKS = &k
		}
	}
	return out
}

func spOf(sp *store.SAMLServiceProvider) *SAMLSP {
	sa, sr := sp.SignAssertion, sp.SignResponse
	return &SAMLSP{EntityID: sp.EntityID, Name: sp.Name, ACS: sp.ACS, SLOURL: sp.SLOURL, SLOBinding: sp.SLOBinding,
		Certificate: sp.Certificate, NameIDFormat: sp.NameIDFormat, AttributeMapping: sp.AttributeMapping,
		SignAssertion: &sa, SignResponse: &sr, EncryptAssertion: sp.EncryptAssertion,
		RequestsSigned: sp.RequestsSigned, DefaultRelayState: sp.DefaultRelayState}
}

// connectionOf is the connection as stored (not with its preset filled
// in); its secret is the reference it was applied from, or nothing.
func connectionOf(c *store.Connection) (*Connection, error) {
	st, err := connection.Parse(c.Config)
	if err != nil {
		return nil, err
	}
	ref := st.ClientSecretRef
	st.ClientSecretRef, st.Clients = "", nil
	out := &Connection{Name: c.Name, Type: c.Type, DisplayName: c.DisplayName, ClientSecret: ref, Settings: st}
	enabled := c.Enabled
	out.Enabled = &enabled
	return out, nil
}

func roleOf(r *store.Role, clientNames map[string]string) *Role {
	out := &Role{Name: r.Name, Description: r.Description, Permissions: r.Permissions,
		Application: clientNames[r.Application], Privileged: r.Privileged,
		Approval: r.Approval, Approvers: r.Approvers}
	if r.Application != "" && out.Application == "" {
		out.Application = r.Application
	}
	if r.MaxDuration > 0 {
		out.MaxDuration = r.MaxDuration.String()
	}
	if r.RequireMFA {
		t := true
		out.RequireMFA = &t
	}
	return out
}
