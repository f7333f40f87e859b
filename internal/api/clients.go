package api

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/oauthclient"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// clientOut is an OAuth client as the API shows it: never the secret's
// hash; the secret itself only in the answer that created it.
type clientOut struct {
	ClientID                     string            `json:"client_id"`
	Name                         string            `json:"name"`
	Public                       bool              `json:"public"`
	ThirdParty                   bool              `json:"third_party"`
	TokenEndpointAuthMethod      string            `json:"token_endpoint_auth_method"`
	RedirectURIs                 []string          `json:"redirect_uris"`
	PostLogoutRedirectURIs       []string          `json:"post_logout_redirect_uris"`
	GrantTypes                   []string          `json:"grant_types"`
	Scopes                       []string          `json:"scopes"`
	IDTokenSignedResponseAlg     string            `json:"id_token_signed_response_alg"`
	AccessTokenSignedResponseAlg string            `json:"access_token_signed_response_alg"`
	AccessTokenTTL               int64             `json:"access_token_ttl"`
	IDTokenTTL                   int64             `json:"id_token_ttl"`
	RefreshTokenTTL              int64             `json:"refresh_token_ttl"`
	BackchannelLogoutURI         string            `json:"backchannel_logout_uri,omitempty"`
	JWKS                         json.RawMessage   `json:"jwks,omitempty"`
	ClaimMappings                map[string]string `json:"claim_mappings"`
	AuthzClaims                  store.AuthzClaims `json:"authz_claims"`
	AllowedOrigins               []string          `json:"allowed_origins"`
	Introspection                string            `json:"introspection"`
	DPoPBoundAccessTokens        bool              `json:"dpop_bound_access_tokens"`
	DPoPNonceRequired            bool              `json:"dpop_nonce_required"`
	IDTokenOnRefresh             bool              `json:"id_token_on_refresh"`
	HasSecret                    bool              `json:"has_secret"`
	Version                      int64             `json:"version"`
	CreatedAt                    time.Time         `json:"created_at"`
	UpdatedAt                    time.Time         `json:"updated_at"`
	// TokenExchange is the token exchange policy (docs/token-exchange.md).
	TokenExchange store.TokenExchangePolicy `json:"token_exchange"`
	oauthclient.SecurityOut
	// The CIBA and JAR fields, by their registered names.
	oauthclient.RequestMetadata
	// ClientSecret is present only in the answers to create and rotate.
	ClientSecret string `json:"client_secret,omitempty"`
}

func clientJSON(c *store.Client) clientOut {
	list := func(s []string) []string {
		if s == nil {
			return []string{}
		}
		return s
	}
	cm := maps.Clone(c.ClaimMappings)
	if cm == nil {
		cm = map[string]string{}
	}
	return clientOut{
		ClientID: c.ID, Name: c.Name, Public: c.Public, ThirdParty: c.ThirdParty,
		TokenEndpointAuthMethod: c.AuthMethod, RedirectURIs: list(c.RedirectURIs),
		PostLogoutRedirectURIs: list(c.PostLogoutRedirectURIs), GrantTypes: list(c.GrantTypes),
		Scopes: list(c.Scopes), IDTokenSignedResponseAlg: c.IDTokenAlg,
		AccessTokenSignedResponseAlg: c.AccessTokenAlg,
		AccessTokenTTL:               int64(c.AccessTokenTTL / time.Second),
		IDTokenTTL:                   int64(c.IDTokenTTL / time.Second),
		RefreshTokenTTL:              int64(c.RefreshTokenTTL / time.Second),
		BackchannelLogoutURI:         c.BackchannelLogoutURI, JWKS: slices.Clone(c.JWKS),
		ClaimMappings: cm, AuthzClaims: c.AuthzClaims, AllowedOrigins: list(c.AllowedOrigins),
		Introspection: c.Introspection, DPoPBoundAccessTokens: c.DPoPBound, DPoPNonceRequired: c.DPoPNonce,
		SecurityOut:      oauthclient.Security(c),
		IDTokenOnRefresh: !c.OmitRefreshIDToken,
		HasSecret:        len(c.SecretHash) > 0, Version: c.Version, TokenExchange: c.TokenExchange,
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
		RequestMetadata: oauthclient.MetadataOf(c),
	}
}

func clientID(c *store.Client) string { return c.ID }

func clientVersion(c *store.Client) int64 { return c.Version }

func (a *API) listClients(w http.ResponseWriter, r *http.Request, c *call) error {
	p, err := page(r)
	if err != nil {
		return err
	}
	cs, err := a.Clients.ListClients(r.Context(), c.tenant.ID, p)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, makeList(p, cs, clientID, clientJSON))
	return nil
}

func (a *API) createClient(w http.ResponseWriter, r *http.Request, c *call) error {
	var in oauthclient.NewClient
	if err := a.decode(w, r, &in); err != nil {
		return err
	}
	if err := a.Tenants.CheckQuota(r.Context(), c.tenant.ID, store.OwnedClients); err != nil {
		return err
	}
	cl, secret, err := a.Clients.CreateClient(r.Context(), c.actor, c.tenant.ID, in)
	if err != nil {
		return err
	}
	out := clientJSON(cl)
	out.ClientSecret = secret
	writeCreated(w, "/api/v1/tenants/"+c.tenant.Slug+"/clients/"+cl.ID, cl.Version, out)
	return nil
}

func (a *API) getClient(w http.ResponseWriter, r *http.Request, c *call) error {
	return getByID(w, r, c, a.Clients.GetClient, clientVersion, clientJSON)
}

func (a *API) updateClient(w http.ResponseWriter, r *http.Request, c *call) error {
	return patchByID(a, w, r, c, a.Clients.UpdateClient, clientVersion, clientJSON)
}

func (a *API) deleteClient(w http.ResponseWriter, r *http.Request, c *call) error {
	return deleteByID(w, r, c, a.Clients.DeleteClient)
}

func (a *API) rotateClientSecret(w http.ResponseWriter, r *http.Request, c *call) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	cl, secret, err := a.Clients.RotateSecret(r.Context(), c.actor, c.tenant.ID, id)
	if err != nil {
		return err
	}
	out := clientJSON(cl)
	out.ClientSecret = secret
	writeVersioned(w, http.StatusOK, cl.Version, out)
	return nil
}
