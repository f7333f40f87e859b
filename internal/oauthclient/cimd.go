package oauthclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"slices"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// Client ID Metadata Documents (the IETF OAuth draft MCP clients use): a
// client_id that is an https URL names a JSON document of client metadata
// at that URL. Such a client is never stored; it is rebuilt from the
// (cached) document on each use, under the same rules as a registered
// client: third-party, code flow only (with refresh), public (none) or
// private_key_jwt with inline keys.

// maxMetadataURL bounds a URL client_id.
const maxMetadataURL = 1000

// IsMetadataURL reports whether id is a well-formed client ID metadata
// document URL: https, a host, a path other than "/", no credentials,
// fragment, or dot segments.
func IsMetadataURL(id string) bool {
	if len(id) > maxMetadataURL || !strings.HasPrefix(id, "https://") {
		return false
	}
	u, err := url.Parse(id)
	if err != nil || u.Host == "" || u.User != nil || u.Fragment != "" || strings.Contains(id, "#") ||
		u.Path == "" || u.Path == "/" {
		return false
	}
	for _, seg := range strings.Split(u.Path, "/") {
		if seg == "." || seg == ".." {
			return false
		}
	}
	return strings.IndexFunc(id, func(r rune) bool { return r <= ' ' || r >= 0x7f }) < 0
}

// MetadataDocumentClient builds the client of tenant that the document doc,
// fetched from id, describes. Errors: *valid.Error naming what is wrong.
func MetadataDocumentClient(tenant store.TenantID, id string, doc []byte) (*store.Client, error) {
	var md Metadata
	var extra struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	if err := dec.Decode(&md); err != nil || json.Unmarshal(doc, &extra) != nil {
		return nil, valid.Field("client_id", "invalid", "The client ID metadata document is not a JSON object.")
	}
	switch {
	case extra.ClientID != id:
		return nil, valid.Field("client_id", "invalid", "The document's client_id is not the URL it was fetched from.")
	case extra.ClientSecret != "":
		return nil, valid.Field("client_secret", "invalid", "A client ID metadata document cannot carry a secret.")
	case md.TokenEndpointAuthMethod != "" && md.TokenEndpointAuthMethod != AuthNone && md.TokenEndpointAuthMethod != AuthPrivateKeyJWT:
		return nil, valid.Field("token_endpoint_auth_method", "invalid", "The method is none or private_key_jwt.")
	case md.JWKSURI != "":
		return nil, valid.Field("jwks_uri", "invalid", "jwks_uri is not supported; put the keys in jwks.")
	}
	method := md.TokenEndpointAuthMethod
	if method == "" {
		method = AuthNone
	}
	grants := md.GrantTypes
	if len(grants) == 0 {
		grants = []string{GrantAuthorizationCode}
	}
	for _, g := range grants {
		if g != GrantAuthorizationCode && g != GrantRefreshToken {
			return nil, valid.Field("grant_types", "invalid", "A metadata document client may use authorization_code and refresh_token only.")
		}
	}
	name := md.ClientName
	if name == "" {
		u, _ := url.Parse(id)
		name = u.Host
	}
	if len([]rune(name)) > maxName {
		name = string([]rune(name)[:maxName])
	}
	cl := &store.Client{ID: id, Tenant: tenant, Name: name, Public: method == AuthNone, AuthMethod: method,
		RedirectURIs: slices.Clone(md.RedirectURIs), PostLogoutRedirectURIs: slices.Clone(md.PostLogoutRedirectURIs),
		GrantTypes: slices.Clone(grants), ThirdParty: true, Version: 1,
		// The client's declared ID token algorithm (RS256 when absent).
		IDTokenAlg: md.IDTokenSignedResponseAlg}
	if md.Scope != "" {
		cl.Scopes = strings.Fields(md.Scope)
	}
	var c valid.Collector
	cl.JWKS = normaliseJWKS(&c, md.JWKS)
	applyDefaults(cl)
	check(&c, cl)
	if err := c.Err(); err != nil {
		return nil, err
	}
	return cl, nil
}

// SyncMetadataClient stores cl, a client built by MetadataDocumentClient,
// so that what is issued to it (requests, tokens, consents) can name it:
// created on first use, updated when its document has changed, audited
// both times. The stored copy is never read as the truth: the document is.
func (s *Service) SyncMetadataClient(ctx context.Context, cl *store.Client) error {
	actor := events.Actor{Type: "system", ID: "client_id_metadata_document"}
	return s.Store.InTx(ctx, func(tx store.Repos) error {
		old, err := tx.OAuth().Clients().GetClient(ctx, cl.Tenant, cl.ID)
		if errors.Is(err, store.ErrNotFound) {
			n := *cl
			n.CreatedAt, n.UpdatedAt = s.now(), s.now()
			return s.insertClient(ctx, tx, actor, &n)
		}
		if err != nil {
			return err
		}
		before := auditFields(old)
		changes := events.Diff(before, auditFields(cl))
		if len(changes) == 0 {
			return nil
		}
		if _, err := tx.OAuth().Clients().UpdateClient(ctx, cl.Tenant, cl.ID, func(x *store.Client) error {
			v, created := x.Version, x.CreatedAt
			*x = *cl
			x.Version, x.CreatedAt = v, created
			return nil
		}); err != nil {
			return err
		}
		return s.Audit.Record(ctx, tx, actor, events.Entry{Tenant: cl.Tenant, Action: "client.update",
			TargetType: "client", TargetID: cl.ID, Changes: changes})
	})
}
