package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

type clientRepo struct{ *scope }

const clientCols = `tenant_id, id, name, secret_hash, is_public, auth_method, redirect_uris, post_logout_redirect_uris,
grant_types, scopes, third_party, id_token_alg, access_token_alg, access_token_ttl, id_token_ttl, refresh_token_ttl,
backchannel_logout_uri, jwks, claim_mappings, version, created_at, updated_at, authz_claims,
allowed_origins, introspection, dpop_bound_access_tokens, dpop_nonce_required, token_exchange, security, omit_refresh_id_token,
` + clientExtCols

func scanClient(r scanner) (*store.Client, error) {
	var (
		c                                                      store.Client
		tenant, redirects, postLogout, grants, scopes, mapping string
		jwks                                                   sql.NullString
		authz, origins, exchange, security                     string
		atTTL, idTTL, rtTTL, created, updated                  int64
	)
	err := r.Scan(&tenant, &c.ID, &c.Name, &c.SecretHash, &c.Public, &c.AuthMethod, &redirects, &postLogout,
		&grants, &scopes, &c.ThirdParty, &c.IDTokenAlg, &c.AccessTokenAlg, &atTTL, &idTTL, &rtTTL,
		&c.BackchannelLogoutURI, &jwks, &mapping, &c.Version, &created, &updated, &authz,
		&origins, &c.Introspection, &c.DPoPBound, &c.DPoPNonce, &exchange, &security, &c.OmitRefreshIDToken,
		&c.BackchannelTokenDelivery, &c.BackchannelNotificationEndpoint, &c.BackchannelUserCodeParameter,
		&c.RequireSignedRequestObject)
	if err != nil {
		return nil, err
	}
	c.Tenant = store.TenantID(tenant)
	for _, l := range []struct {
		raw string
		dst *[]string
	}{{redirects, &c.RedirectURIs}, {postLogout, &c.PostLogoutRedirectURIs}, {grants, &c.GrantTypes}, {scopes, &c.Scopes},
		{origins, &c.AllowedOrigins}} {
		if err := parseList(l.raw, l.dst); err != nil {
			return nil, err
		}
	}
	if err := json.Unmarshal([]byte(mapping), &c.ClaimMappings); err != nil {
		return nil, err
	}
	if len(c.ClaimMappings) == 0 {
		c.ClaimMappings = nil
	}
	if err := json.Unmarshal([]byte(authz), &c.AuthzClaims); err != nil {
		return nil, err
	}
	if err := parseTokenExchange(exchange, &c.TokenExchange); err != nil { // registrations.go
		return nil, err
	}
	if err := json.Unmarshal([]byte(security), &c.Security); err != nil {
		return nil, err
	}
	if jwks.Valid {
		c.JWKS = json.RawMessage(jwks.String)
	}
	c.AccessTokenTTL, c.IDTokenTTL, c.RefreshTokenTTL = fromDurMicros(atTTL), fromDurMicros(idTTL), fromDurMicros(rtTTL)
	c.CreatedAt, c.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &c, nil
}

func validClient(c *store.Client) error {
	switch {
	case c.ID == "" || c.Tenant == "":
		return errors.New("sqlstore: client needs an id and a tenant")
	case len(c.JWKS) > 0 && !json.Valid(c.JWKS):
		return errors.New("sqlstore: client JWKS is not valid JSON")
	}
	return nil
}

// normClient makes c what it reads back as: lists and maps nil when empty,
// durations at stored precision.
func normClient(c *store.Client) {
	c.SecretHash = bytesOrNil(c.SecretHash)
	c.RedirectURIs, c.PostLogoutRedirectURIs = normList(c.RedirectURIs), normList(c.PostLogoutRedirectURIs)
	c.GrantTypes, c.Scopes = normList(c.GrantTypes), normList(c.Scopes)
	c.AllowedOrigins = normList(c.AllowedOrigins)
	c.TokenExchange = normTokenExchange(c.TokenExchange)
	c.Introspection = introspectionOrOwn(c.Introspection)
	if len(c.JWKS) == 0 {
		c.JWKS = nil
	} else {
		c.JWKS = cloneBytes(c.JWKS)
	}
	if len(c.ClaimMappings) == 0 {
		c.ClaimMappings = nil
	} else {
		m := make(map[string]string, len(c.ClaimMappings))
		for k, v := range c.ClaimMappings {
			m[k] = v
		}
		c.ClaimMappings = m
	}
	c.AccessTokenTTL, c.IDTokenTTL, c.RefreshTokenTTL = microDur(c.AccessTokenTTL), microDur(c.IDTokenTTL), microDur(c.RefreshTokenTTL)
}

func nullJSON(raw json.RawMessage) sql.NullString {
	return sql.NullString{String: string(raw), Valid: len(raw) > 0}
}

func mappingJSON(m map[string]string) string {
	if len(m) == 0 {
		return "{}"
	}
	b, _ := json.Marshal(m) // map[string]string always marshals
	return string(b)
}

// CreateClient inserts c with Version 1; ErrConflict when the id is taken
// in the tenant, ErrNotFound when the tenant does not exist.
func (r clientRepo) CreateClient(ctx context.Context, c *store.Client) error {
	if err := validClient(c); err != nil {
		return err
	}
	n := *c
	normClient(&n)
	n.Version = 1
	if n.CreatedAt.IsZero() {
		n.CreatedAt = r.db.now()
	}
	n.CreatedAt = micro(n.CreatedAt)
	if n.UpdatedAt.IsZero() {
		n.UpdatedAt = n.CreatedAt
	}
	n.UpdatedAt = micro(n.UpdatedAt)
	err := r.single(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO clients (`+clientCols+`) VALUES (`+placeholders(0, 30+clientExtN)+`)`,
			string(n.Tenant), n.ID, n.Name, nullBytes(n.SecretHash), n.Public, n.AuthMethod, listJSON(n.RedirectURIs),
			listJSON(n.PostLogoutRedirectURIs), listJSON(n.GrantTypes), listJSON(n.Scopes), n.ThirdParty,
			n.IDTokenAlg, n.AccessTokenAlg, durMicros(n.AccessTokenTTL), durMicros(n.IDTokenTTL),
			durMicros(n.RefreshTokenTTL), n.BackchannelLogoutURI, nullJSON(n.JWKS), mappingJSON(n.ClaimMappings),
			n.Version, n.CreatedAt.UnixMicro(), n.UpdatedAt.UnixMicro(), authzClaimsJSON(n.AuthzClaims),
			listJSON(n.AllowedOrigins), introspectionOrOwn(n.Introspection), n.DPoPBound, n.DPoPNonce,
			tokenExchangeJSON(n.TokenExchange), securityJSON(n.Security), n.OmitRefreshIDToken,
			n.BackchannelTokenDelivery, n.BackchannelNotificationEndpoint, n.BackchannelUserCodeParameter,
			n.RequireSignedRequestObject)
		return wrapErr("create client", err)
	})
	if err != nil {
		return err
	}
	*c = n
	return nil
}

func (r clientRepo) get(ctx context.Context, q querier, op, lock string, tenant store.TenantID, id string) (*store.Client, error) {
	c, err := scanClient(q.QueryRowContext(ctx, `SELECT `+clientCols+` FROM clients WHERE tenant_id = $1 AND id = $2`+lock, string(tenant), id))
	return c, wrapErr(op, err)
}

// GetClient reads through the client cache (cache.go) outside a
// transaction; inside one it reads the row, as the transaction sees it.
func (r clientRepo) GetClient(ctx context.Context, tenant store.TenantID, id string) (*store.Client, error) {
	if r.tx != nil {
		return r.get(ctx, r.q, "get client", "", tenant, id)
	}
	k := recordKey{tenant, id}
	c, ok, gen := r.db.clients.get(k)
	if ok {
		return c, nil
	}
	c, err := r.get(ctx, r.q, "get client", "", tenant, id)
	if err != nil {
		return nil, err
	}
	r.db.clients.put(k, c, gen)
	return c, nil
}

// ListClients pages the tenant's clients by id.
func (r clientRepo) ListClients(ctx context.Context, tenant store.TenantID, p store.Page) ([]store.Client, error) {
	rows, err := r.q.QueryContext(ctx, `SELECT `+clientCols+` FROM clients WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3`,
		string(tenant), p.After, p.ClampLimit())
	if err != nil {
		return nil, wrapErr("list clients", err)
	}
	return collect(rows, "list clients", scanClient)
}

func (r clientRepo) UpdateClient(ctx context.Context, tenant store.TenantID, id string, fn func(*store.Client) error) (*store.Client, error) {
	var out *store.Client
	err := r.write(ctx, func(q querier) error {
		old, err := r.get(ctx, q, "update client", r.forUpdate(), tenant, id)
		if err != nil {
			return err
		}
		n := *old
		normClient(&n) // deep copies, so fn cannot reach old
		if err := fn(&n); err != nil {
			return err
		}
		if n.ID != old.ID || n.Tenant != old.Tenant {
			return errors.New("sqlstore: update client: the closure changed the id or tenant")
		}
		if err := validClient(&n); err != nil {
			return err
		}
		normClient(&n)
		n.Version, n.CreatedAt, n.UpdatedAt = old.Version+1, old.CreatedAt, r.db.nowMicro()
		res, err := q.ExecContext(ctx, `UPDATE clients SET name = $1, secret_hash = $2, is_public = $3, auth_method = $4,
redirect_uris = $5, post_logout_redirect_uris = $6, grant_types = $7, scopes = $8, third_party = $9, id_token_alg = $10,
access_token_alg = $11, access_token_ttl = $12, id_token_ttl = $13, refresh_token_ttl = $14,
backchannel_logout_uri = $15, jwks = $16, claim_mappings = $17, version = $18, updated_at = $19,
authz_claims = $23, allowed_origins = $24, introspection = $25,
dpop_bound_access_tokens = $26, dpop_nonce_required = $27, token_exchange = $28, security = $29, omit_refresh_id_token = $30 WHERE tenant_id = $20 AND id = $21 AND version = $22`,
			n.Name, nullBytes(n.SecretHash), n.Public, n.AuthMethod, listJSON(n.RedirectURIs), listJSON(n.PostLogoutRedirectURIs),
			listJSON(n.GrantTypes), listJSON(n.Scopes), n.ThirdParty, n.IDTokenAlg, n.AccessTokenAlg,
			durMicros(n.AccessTokenTTL), durMicros(n.IDTokenTTL), durMicros(n.RefreshTokenTTL), n.BackchannelLogoutURI,
			nullJSON(n.JWKS), mappingJSON(n.ClaimMappings), n.Version, n.UpdatedAt.UnixMicro(),
			string(n.Tenant), n.ID, old.Version, authzClaimsJSON(n.AuthzClaims),
			listJSON(n.AllowedOrigins), introspectionOrOwn(n.Introspection), n.DPoPBound, n.DPoPNonce,
			tokenExchangeJSON(n.TokenExchange), securityJSON(n.Security), n.OmitRefreshIDToken)
		if err != nil {
			return wrapErr("update client", err)
		}
		if err := guardRow(res, "update client"); err != nil {
			return err
		}
		if err := updateClientExt(ctx, q, &n); err != nil { // clients_ext.go
			return err
		}
		out = &n
		return r.notify(ctx, q, store.Change{Kind: store.ChangeClient, Tenant: tenant, ID: id})
	})
	if err != nil {
		return nil, err
	}
	r.committed(store.Change{Kind: store.ChangeClient, Tenant: tenant, ID: id})
	return out, nil
}

// DeleteClient deletes the client; the foreign keys cascade to everything
// issued to it (authorization requests, tokens, consents, device codes).
func (r clientRepo) DeleteClient(ctx context.Context, tenant store.TenantID, id string) error {
	ch := store.Change{Kind: store.ChangeClient, Tenant: tenant, ID: id}
	err := r.write(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `DELETE FROM clients WHERE tenant_id = $1 AND id = $2`, string(tenant), id)
		if err != nil {
			return wrapErr("delete client", err)
		}
		if err := oneRow(res, "delete client"); err != nil {
			return err
		}
		return r.notify(ctx, q, ch)
	})
	if err == nil {
		r.committed(ch)
	}
	return err
}

// authzClaimsJSON stores a client's role and permission claim choice
// (migration 0003).
func authzClaimsJSON(a store.AuthzClaims) string {
	b, _ := json.Marshal(a) // a struct of strings and a bool always marshals
	return string(b)
}

// introspectionOrOwn stores a client's introspection setting, "own" when
// none was chosen (migration 0014).
func introspectionOrOwn(s string) string {
	if s == "" {
		return "own"
	}
	return s
}

// securityJSON is the stored form of a client's ClientSecurity.
func securityJSON(s store.ClientSecurity) string {
	b, _ := json.Marshal(s) // strings and a bool always marshal
	return string(b)
}
