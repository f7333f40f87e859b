package oidc

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/uuid"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"golang.org/x/text/language"

	"github.com/gatehouse-id/gatehouse/internal/consent"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Token prefixes let secret scanners recognise Gatehouse tokens.
const (
	refreshPrefix = "gh_rt_"
	codePrefix    = "gh_ac_"
)

func jsonMarshal(v any) ([]byte, error)   { return json.Marshal(v) }
func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// randomToken is prefix + 256 random bits, base64url.
func randomToken(prefix string) (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b), nil
}

// grant is what a set of tokens is issued for.
type grant struct {
	tenant    store.TenantID
	issuer    string
	client    *client
	userID    string // "" for client_credentials
	scopes    []string
	sessionID string
	familyID  string
	kind      string // of the refresh family: store.GrantCode ("") or GrantDevice
	authTime  time.Time
	amr       []string
	nonce     string
	grantType string // the token request's grant_type, for metering
	// hookClaims are the pre_token hook's claims (hooks.go).
	hookClaims map[string]any
	// jkt is the DPoP key thumbprint the tokens are bound to, "" for
	// Bearer tokens (dpop.go).
	jkt string
	// audience replaces the access token's aud (the client) and act is
	// its act claim: token exchange (exchange.go).
	audience []string
	act      map[string]any
	// details are the approved RFC 9396 authorization_details (rar.go).
	details []byte
	// noIDToken: a refresh for a client that asked for pure access-token
	// renewals (store.Client.OmitRefreshIDToken).
	noIDToken bool
	// user is the user of userID when the grant has read it and found it
	// active (code exchange, refresh); nil makes the hook and the ID token
	// read it.
	user *store.User
}

// signJWT signs claims with the tenant's active key of alg, typ in header.
func (p *Provider) signJWT(ctx context.Context, tenant store.TenantID, alg, typ string, claims map[string]any) (string, error) {
	k, err := p.keys.signer(ctx, tenant, alg)
	if err != nil {
		return "", err
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: k.alg, Key: &jose.JSONWebKey{Key: k.key, KeyID: k.id}},
		(&jose.SignerOptions{}).WithType(jose.ContentType(typ)))
	if err != nil {
		return "", fmt.Errorf("oidc: signer: %w", err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	obj, err := signer.Sign(payload)
	if err != nil {
		return "", err
	}
	return obj.CompactSerialize()
}

// mintAccessToken issues an RFC 9068 JWT access token. It writes no row:
// the token is verified by its signature and revoked through the store's
// revocations (jwtaccess.go), which its jti, family and session name.
//
// It is the one place every grant passes, so it meters: the user a token
// is issued for is counted active this month (one insert-or-ignore, once
// per user and month on a node; a failure fails the request, so no issued
// token goes uncounted), and the token is counted under its grant type.
func (p *Provider) mintAccessToken(ctx context.Context, g grant) (string, time.Time, error) {
	now := p.now()
	jti, err := newJTI(now)
	if err != nil {
		return "", time.Time{}, err
	}
	if g.userID != "" {
		if err := p.meter.MarkActiveNow(ctx, g.tenant, g.userID); err != nil {
			return "", time.Time{}, err
		}
	}
	p.meter.Add(g.tenant, store.MetricTokensPrefix+g.grantType, 1)
	exp := now.Add(g.client.accessTokenLifetime())
	sub := g.userID
	if sub == "" {
		sub = g.client.c.ID
	}
	claims := map[string]any{
		"iss": g.issuer, "sub": sub, "aud": []string{g.client.c.ID}, "client_id": g.client.c.ID,
		"iat": now.Unix(), "exp": exp.Unix(), "jti": jti,
		"scope": joinScopes(g.scopes),
	}
	if g.userID != "" {
		claims["auth_time"] = g.authTime.Unix()
		claims["acr"] = acrFor(g.amr)
		claims["amr"] = g.amr
		if g.sessionID != "" {
			claims[sidClaim] = g.sessionID
		}
		if g.familyID != "" {
			claims[familyClaim] = g.familyID
		}
	}
	if err := p.addAuthzClaims(ctx, g, claims, &exp); err != nil {
		return "", time.Time{}, err
	}
	addHookClaims(g, claims)
	if g.audience != nil {
		claims["aud"] = g.audience
	}
	if g.act != nil {
		claims["act"] = g.act
	}
	claims["exp"] = exp.Unix()
	cnf := map[string]string{}
	if g.jkt != "" {
		cnf["jkt"] = g.jkt // RFC 9449 6.1
	}
	if x5t := p.certBinding(ctx, g.client); x5t != "" {
		cnf["x5t#S256"] = x5t // RFC 8705 3.1 (mtls.go)
	}
	if len(cnf) > 0 {
		claims["cnf"] = cnf
	}
	if len(g.details) > 0 {
		claims["authorization_details"] = json.RawMessage(g.details) // RFC 9396 9.1
	}
	tok, err := p.signJWT(ctx, g.tenant, g.client.accessTokenAlg(), "at+jwt", claims)
	if err != nil {
		return "", time.Time{}, err
	}
	p.noteTokenUse(ctx, g)
	return tok, exp, nil
}

// mintIDToken issues the ID token, with profile claims by scope.
func (p *Provider) mintIDToken(ctx context.Context, g grant, accessToken string) (string, error) {
	now := p.now()
	info := new(oidc.UserInfo)
	if g.user != nil {
		if err := p.fillUserinfoOf(ctx, info, g.user, g.client.c, g.scopes); err != nil {
			return "", err
		}
	} else if err := p.fillUserinfo(ctx, info, g.userID, g.client.c, g.scopes); err != nil {
		return "", err
	}
	claims := map[string]any{}
	raw, err := json.Marshal(info)
	if err != nil {
		return "", err
	}
	if err := json.Unmarshal(raw, &claims); err != nil {
		return "", err
	}
	claims["iss"] = g.issuer
	claims["sub"] = g.userID
	claims["aud"] = []string{g.client.c.ID}
	claims["azp"] = g.client.c.ID
	claims["iat"] = now.Unix()
	claims["exp"] = now.Add(g.client.IDTokenLifetime()).Unix()
	claims["auth_time"] = g.authTime.Unix()
	claims["acr"] = acrFor(g.amr)
	claims["amr"] = g.amr
	if err := p.addRiskClaim(ctx, g, claims); err != nil { // risk.go
		return "", err
	}
	if g.nonce != "" {
		claims["nonce"] = g.nonce
	}
	if g.sessionID != "" {
		claims["sid"] = g.sessionID
	}
	exp := now.Add(g.client.IDTokenLifetime())
	if err := p.addAuthzClaims(ctx, g, claims, &exp); err != nil {
		return "", err
	}
	addHookClaims(g, claims)
	claims["exp"] = exp.Unix()
	alg := g.client.idTokenAlg()
	if accessToken != "" {
		claims["at_hash"] = atHash(accessToken, alg)
	}
	return p.signJWT(ctx, g.tenant, alg, "JWT", claims)
}

// atHash is the left half of the token's hash (OIDC Core 3.1.3.6), with the
// hash that matches alg (SHA-256 for RS256, ES256; EdDSA uses SHA-512 per
// its registration, but SHA-256 for Ed25519 is what clients expect).
func atHash(token, alg string) string {
	h := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(h[:len(h)/2])
}

// mintRefreshToken makes the next refresh token of a family (unsaved).
func (p *Provider) newRefreshToken(g grant) (*store.RefreshToken, string, error) {
	tok, err := randomToken(refreshPrefix)
	if err != nil {
		return nil, "", err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return nil, "", err
	}
	now := p.now()
	// RFC 9449 5: a public client's refresh token is bound to its DPoP
	// key; a confidential client's is bound by its authentication.
	jkt := ""
	if g.client.c.Public {
		jkt = g.jkt
	}
	return &store.RefreshToken{JKT: jkt,
		ID: id.String(), Tenant: g.tenant, Hash: sha(tok), FamilyID: g.familyID, ClientID: g.client.c.ID,
		UserID: g.userID, SessionID: g.sessionID, Scopes: g.scopes, AuthTime: g.authTime, AMR: g.amr, Kind: g.kind,
		CreatedAt: now, ExpiresAt: now.Add(g.client.refreshTokenLifetime()),
	}, tok, nil
}

func joinScopes(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += " "
		}
		out += x
	}
	return out
}

// fillUserinfo sets the claims the scopes allow, plus the client's claims
// mapped from user attributes.
func (p *Provider) fillUserinfo(ctx context.Context, info *oidc.UserInfo, userID string, c *store.Client, scopes []string) error {
	return p.fillUserinfoFrom(ctx, info, p.store.Users().GetUser, userID, c, scopes)
}

// fillUserinfoCached is fillUserinfo from the user cache
// (store.Users.GetUserCached), for the answers of introspection and
// userinfo.
func (p *Provider) fillUserinfoCached(ctx context.Context, info *oidc.UserInfo, userID string, c *store.Client, scopes []string) error {
	return p.fillUserinfoFrom(ctx, info, p.store.Users().GetUserCached, userID, c, scopes)
}

func (p *Provider) fillUserinfoFrom(ctx context.Context, info *oidc.UserInfo,
	read func(context.Context, store.TenantID, string) (*store.User, error), userID string, c *store.Client, scopes []string) error {
	tn := tenantFrom(ctx)
	if tn == nil {
		return oidc.ErrServerError()
	}
	u, err := read(ctx, tn.ID, userID)
	if err != nil || u.Status != store.UserActive {
		return oidc.ErrAccessDenied().WithDescription("user not found or not active")
	}
	return p.fillUserinfoOf(ctx, info, u, c, scopes)
}

// fillUserinfoOf is fillUserinfo for a user already read and found active.
func (p *Provider) fillUserinfoOf(ctx context.Context, info *oidc.UserInfo, u *store.User, c *store.Client, scopes []string) error {
	tn := tenantFrom(ctx)
	if tn == nil || u.Tenant != tn.ID {
		return oidc.ErrServerError()
	}
	info.Subject = u.ID
	if slices.Contains(scopes, oidc.ScopeProfile) {
		info.GivenName, info.FamilyName = u.GivenName, u.FamilyName
		if u.Locale != "" {
			info.Locale = oidc.NewLocale(language.Make(u.Locale))
		}
		info.Name = joinName(u.GivenName, u.FamilyName)
		info.PreferredUsername = u.Username
		if u.Username == "" {
			info.PreferredUsername = u.Email
		}
		info.UpdatedAt = oidc.FromTime(u.UpdatedAt)
	}
	if slices.Contains(scopes, oidc.ScopeEmail) {
		info.Email, info.EmailVerified = u.Email, oidc.Bool(u.EmailVerified)
	}
	if slices.Contains(scopes, oidc.ScopePhone) && u.Phone != "" {
		info.PhoneNumber, info.PhoneNumberVerified = u.Phone, oidc.Bool(u.PhoneVerified)
	}
	mapClaims(info, u, c, profileClaimGate(tn, scopes)) // profileclaims.go
	if err := p.userinfoAuthzClaims(ctx, info, tn.ID, u.ID, c); err != nil {
		return err
	}
	if slices.Contains(scopes, "groups") {
		gs, err := p.store.Groups().UserGroups(ctx, tn.ID, u.ID, true)
		if err != nil {
			return err
		}
		names := make([]string, len(gs))
		for i, g := range gs {
			names[i] = g.Name
		}
		info.AppendClaims("groups", names)
	}
	if slices.Contains(scopes, "consents") {
		// The purposes the user has granted now, by name (the consent
		// records API has their versions): withdrawal shows at the next
		// token or userinfo call.
		names, err := consent.Granted(ctx, p.store, tn.ID, u.ID, false)
		if err != nil {
			return err
		}
		info.AppendClaims("consents", names)
	}
	return nil
}

func joinName(given, family string) string {
	switch {
	case given == "":
		return family
	case family == "":
		return given
	}
	return given + " " + family
}

func scriptHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return base64.StdEncoding.EncodeToString(h[:])
}

// mapClaims adds the client's claims taken from user attributes
// (claim_mappings: claim name -> top-level attribute name). Protocol claims
// cannot be mapped (oauthclient refuses them). c may be nil.
// allowed, when set, says whether an attribute may be mapped.
func mapClaims(info *oidc.UserInfo, u *store.User, c *store.Client, allowed func(attr string) bool) {
	if c == nil || len(c.ClaimMappings) == 0 {
		return
	}
	var attrs map[string]any
	if err := json.Unmarshal(u.Attributes, &attrs); err != nil {
		return
	}
	for claim, attr := range c.ClaimMappings {
		if v, ok := attrs[attr]; ok && (allowed == nil || allowed(attr)) {
			info.AppendClaims(claim, v)
		}
	}
}
