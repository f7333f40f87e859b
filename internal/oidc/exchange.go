package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Token exchange (RFC 8693). A client whose grant_types include
// urn:ietf:params:oauth:grant-type:token-exchange trades a subject token
// (one of the tenant's access, ID or refresh tokens, issued to any client
// of the tenant, or a JWT of an upstream connection's issuer) for a JWT
// access token for itself, with at most the subject token's scopes.
// Other audiences need the client's token_exchange.audiences. With an
// actor token the result is delegation: the act claim names the actor and
// nests the subject token's own act, so a chain of services stays
// visible; without one it is impersonation (the subject's chain, if any,
// is kept). An actor token must have been issued to the caller or to a
// client in its token_exchange.actors. Every exchange is audited.

// UpstreamVerifier verifies a JWT of an upstream connection's issuer and
// answers the local user linked to its subject (internal/broker).
type UpstreamVerifier interface {
	VerifyUpstreamJWT(ctx context.Context, tenant store.TenantID, raw string) (userID string, err error)
}

// exchangeGrant is the RFC 8693 grant type.
const exchangeGrant = string(oidc.GrantTypeTokenExchange)

// maxExchangeAudiences bounds audience and resource parameters together.
const maxExchangeAudiences = 10

// tokenParty is what a verified subject or actor token establishes.
type tokenParty struct {
	userID    string // "" for a client's own token
	clientID  string // the client it was issued to; "" for an upstream JWT
	scopes    []string
	familyID  string
	sessionID string
	authTime  time.Time
	amr       []string
	act       map[string]any // its own act claim
	jkt       string         // cnf.jkt of a DPoP-bound token
}

// sub is the party's subject as a token names it.
func (t *tokenParty) sub() string {
	if t.userID != "" {
		return t.userID
	}
	return t.clientID
}

func exchangeErr(desc string) error { return oidc.ErrInvalidGrant().WithDescription("%s", desc) }

func invalidTarget(desc string) error {
	return &oidc.Error{ErrorType: "invalid_target", Description: desc}
}

func (s *server) TokenExchange(ctx context.Context, r *op.ClientRequest[oidc.TokenExchangeRequest]) (*op.Response, error) {
	p := s.p
	c := r.Client.(*client)
	req := r.Data
	tn := tenantFrom(ctx).ID
	switch req.RequestedTokenType {
	case "", oidc.AccessTokenType, oidc.JWTTokenType:
	default:
		return nil, oidc.ErrInvalidRequest().WithDescription("only access tokens are issued by token exchange")
	}
	if req.ActorToken != "" && req.ActorTokenType == "" {
		return nil, oidc.ErrInvalidRequest().WithDescription("actor_token_type is required with actor_token")
	}
	if req.ActorToken == "" && req.ActorTokenType != "" {
		return nil, oidc.ErrInvalidRequest().WithDescription("actor_token_type without actor_token")
	}
	audience, err := exchangeAudience(c, req)
	if err != nil {
		return nil, err
	}
	jkt, err := p.tokenBinding(ctx, c) // dpop.go
	if err != nil {
		return nil, err
	}
	subj, err := p.tokenParty(ctx, req.SubjectToken, req.SubjectTokenType, true)
	if err != nil {
		return nil, err
	}
	if subj.userID == "" {
		return nil, exchangeErr("the subject token represents no user")
	}
	if subj.jkt != "" && subj.jkt != jkt {
		// A DPoP-bound subject token is exchanged only with a proof by its key.
		return nil, exchangeErr("the subject token is DPoP-bound: send a DPoP proof by its key")
	}
	if !p.storage.userActive(ctx, subj.userID) {
		return nil, exchangeErr("the subject token's user is not active")
	}
	scopes, err := exchangeScopes(c, subj.scopes, req.Scopes)
	if err != nil {
		return nil, err
	}
	act := subj.act
	var actor *tokenParty
	if req.ActorToken != "" {
		if actor, err = p.tokenParty(ctx, req.ActorToken, req.ActorTokenType, false); err != nil {
			return nil, err
		}
		if actor.clientID != c.c.ID && !slices.Contains(c.c.TokenExchange.Actors, actor.clientID) {
			return nil, exchangeErr("the actor token was not issued to this client or an actor it accepts")
		}
		if actor.jkt != "" && actor.jkt != jkt {
			return nil, exchangeErr("the actor token is DPoP-bound: send a DPoP proof by its key")
		}
		act = map[string]any{"sub": actor.sub(), "client_id": actor.clientID}
		if subj.act != nil {
			act["act"] = subj.act // RFC 8693 4.1: the prior actors, nested
		}
	}
	g := grant{grantType: exchangeGrant, tenant: tn, issuer: p.issuer(ctx), client: c, userID: subj.userID,
		scopes: scopes, sessionID: subj.sessionID, familyID: subj.familyID, authTime: subj.authTime, amr: subj.amr,
		jkt: jkt, audience: audience, act: act}
	at, exp, err := p.mintAccessToken(ctx, g)
	if err != nil {
		return nil, s.p.storage.hide(ctx, err)
	}
	p.auditExchange(ctx, c, subj, actor, audience, scopes)
	return op.NewResponse(&oidc.TokenExchangeResponse{AccessToken: at, IssuedTokenType: oidc.AccessTokenType,
		TokenType: tokenType(jkt), ExpiresIn: uint64(exp.Sub(p.now()).Seconds()), Scopes: scopes}), nil
}

// exchangeAudience is the audience of the new token: the caller itself
// unless audience or resource name others, each of which must be in its
// token_exchange.audiences (RFC 8693 2.2.2: invalid_target).
func exchangeAudience(c *client, req *oidc.TokenExchangeRequest) ([]string, error) {
	var out []string
	for _, a := range append(slices.Clone([]string(req.Audience)), req.Resource...) {
		if len(a) > 2000 {
			return nil, invalidTarget("an audience or resource is too long")
		}
		if a != c.c.ID && !slices.Contains(c.c.TokenExchange.Audiences, a) {
			return nil, invalidTarget("this client may not ask for that audience or resource")
		}
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	if len(out) > maxExchangeAudiences {
		return nil, invalidTarget("too many audiences and resources")
	}
	if len(out) == 0 {
		return nil, nil // mintAccessToken's default: the client itself
	}
	return out, nil
}

// exchangeScopes narrows: the request's scopes must all be the subject
// token's and the caller's; without a request, the subject token's that the
// caller may have. offline_access never passes (no refresh token is issued).
func exchangeScopes(c *client, have, asked []string) ([]string, error) {
	if len(asked) > maxScopes {
		return nil, oidc.ErrInvalidScope().WithDescription("too many scopes")
	}
	if len(asked) > 0 {
		for _, sc := range asked {
			if !slices.Contains(have, sc) || sc == oidc.ScopeOfflineAccess || !c.IsScopeAllowed(sc) {
				return nil, oidc.ErrInvalidScope().WithDescription("scope %q is not in the subject token or not allowed for this client", sc)
			}
		}
		return slices.Compact(slices.Clone(asked)), nil
	}
	var out []string
	for _, sc := range have {
		if sc != oidc.ScopeOfflineAccess && c.IsScopeAllowed(sc) {
			out = append(out, sc)
		}
	}
	return out, nil
}

// tokenParty verifies a subject or actor token of type typ. Our JWTs are
// checked by signature, issuer, expiry and token type (at+jwt for access
// tokens, JWT for ID tokens); access and refresh tokens must also be live
// in the store (neither revoked nor, for refresh tokens, rotated). A JWT of
// another issuer goes to the upstream connections (subjects only).
func (p *Provider) tokenParty(ctx context.Context, raw string, typ oidc.TokenType, subject bool) (*tokenParty, error) {
	what := "actor"
	if subject {
		what = "subject"
	}
	bad := exchangeErr("the " + what + " token is invalid, expired or revoked")
	if len(raw) > 16<<10 {
		return nil, bad
	}
	switch typ {
	case oidc.RefreshTokenType:
		rt, err := p.store.OAuth().Tokens().GetRefreshToken(ctx, tenantFrom(ctx).ID, sha(raw))
		if err != nil || rt.RevokedAt != nil || rt.RotatedAt != nil {
			return nil, bad
		}
		return &tokenParty{userID: rt.UserID, clientID: rt.ClientID, scopes: rt.Scopes, familyID: rt.FamilyID,
			sessionID: rt.SessionID, authTime: rt.AuthTime, amr: rt.AMR, jkt: rt.JKT}, nil
	case oidc.AccessTokenType, oidc.IDTokenType, oidc.JWTTokenType:
	default:
		return nil, oidc.ErrInvalidRequest().WithDescription("unsupported token type")
	}
	jwtTyp, claims, err := p.verifyOwnJWT(ctx, raw)
	if errors.Is(err, errForeignIssuer) && typ == oidc.JWTTokenType && subject && p.upstream != nil {
		userID, err := p.upstream.VerifyUpstreamJWT(ctx, tenantFrom(ctx).ID, raw)
		if err != nil {
			p.log.InfoContext(ctx, "oidc: token exchange: upstream JWT refused", "err", err)
			return nil, bad
		}
		return &tokenParty{userID: userID, scopes: []string{oidc.ScopeOpenID}, authTime: p.now(), amr: []string{"fed"}}, nil
	}
	if err != nil {
		return nil, bad
	}
	switch {
	case jwtTyp == "at+jwt" && (typ == oidc.AccessTokenType || typ == oidc.JWTTokenType):
		return p.accessTokenParty(ctx, raw, claims, bad)
	case jwtTyp == "JWT" && (typ == oidc.IDTokenType || typ == oidc.JWTTokenType):
		return p.idTokenParty(ctx, claims, bad)
	}
	return nil, bad
}

// accessTokenParty: an access token must also be live (no revocation
// covers it and its client still exists, jwtaccess.go).
func (p *Provider) accessTokenParty(ctx context.Context, raw string, claims map[string]any, bad error) (*tokenParty, error) {
	ac, at, err := p.liveAccessToken(ctx, raw)
	if err != nil {
		return nil, bad
	}
	t := &tokenParty{userID: at.UserID, clientID: at.ClientID, scopes: ac.Scopes, familyID: at.FamilyID,
		sessionID: at.SessionID, jkt: cnfJKT(claims)}
	t.act, _ = claims["act"].(map[string]any)
	if v, ok := claims["auth_time"].(float64); ok {
		t.authTime = time.Unix(int64(v), 0)
	}
	t.amr = stringList(claims["amr"])
	return t, nil
}

// idTokenParty: an ID token names its client in aud (one of the tenant's)
// and carries no scope; it stands for the openid scope only.
func (p *Provider) idTokenParty(ctx context.Context, claims map[string]any, bad error) (*tokenParty, error) {
	sub, _ := claims["sub"].(string)
	aud := stringList(claims["aud"])
	if s, ok := claims["aud"].(string); ok {
		aud = []string{s}
	}
	if sub == "" || len(aud) != 1 || p.storage.clientRecord(ctx, aud[0]) == nil {
		return nil, bad
	}
	t := &tokenParty{userID: sub, clientID: aud[0], scopes: []string{oidc.ScopeOpenID}, amr: stringList(claims["amr"])}
	t.sessionID, _ = claims["sid"].(string)
	// ID tokens are not recorded: one of a session that has ended (logout)
	// is refused, as the access tokens of that session are.
	if t.sessionID != "" {
		ss, err := p.store.OAuth().Sessions().GetSession(ctx, tenantFrom(ctx).ID, t.sessionID)
		if err != nil || ss.RevokedAt != nil || !p.now().Before(ss.ExpiresAt) || ss.UserID != sub {
			return nil, bad
		}
	}
	if v, ok := claims["auth_time"].(float64); ok {
		t.authTime = time.Unix(int64(v), 0)
	}
	return t, nil
}

func stringList(v any) []string {
	l, _ := v.([]any)
	var out []string
	for _, x := range l {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// errForeignIssuer: the JWT names another issuer than the tenant.
var errForeignIssuer = errors.New("oidc: JWT of another issuer")

// verifyOwnJWT verifies a JWT signed with one of the tenant's published
// keys, whose iss is the tenant's issuer and which has not expired; it
// answers the typ header and the claims.
func (p *Provider) verifyOwnJWT(ctx context.Context, raw string) (string, map[string]any, error) {
	jws, err := jose.ParseSigned(raw, supportedAlgs)
	if err != nil || len(jws.Signatures) != 1 {
		return "", nil, errors.New("oidc: not a JWS")
	}
	var unverified struct {
		Iss string `json:"iss"`
	}
	if json.Unmarshal(jws.UnsafePayloadWithoutVerification(), &unverified) != nil {
		return "", nil, errors.New("oidc: claims are not JSON")
	}
	if unverified.Iss != p.issuer(ctx) {
		return "", nil, errForeignIssuer
	}
	h := jws.Signatures[0].Header
	tk, err := p.keys.get(ctx, tenantFrom(ctx).ID)
	if err != nil {
		return "", nil, err
	}
	for _, k := range tk.public {
		if k.ID() != h.KeyID || k.Algorithm() != jose.SignatureAlgorithm(h.Algorithm) {
			continue
		}
		payload, err := jws.Verify(k.Key())
		if err != nil {
			return "", nil, err
		}
		claims := map[string]any{}
		if err := json.Unmarshal(payload, &claims); err != nil {
			return "", nil, err
		}
		exp, ok := claims["exp"].(float64)
		if !ok || !p.now().Before(time.Unix(int64(exp), 0)) {
			return "", nil, errors.New("oidc: JWT expired")
		}
		typ, _ := h.ExtraHeaders[jose.HeaderType].(string)
		return typ, claims, nil
	}
	return "", nil, errors.New("oidc: unknown signing key")
}

// auditExchange records the exchange in the tenant's audit log: who asked,
// for whom, through which actor, for what audience and scopes.
func (p *Provider) auditExchange(ctx context.Context, c *client, subj, actor *tokenParty, audience, scopes []string) {
	if p.audit == nil {
		return
	}
	ch := events.Changes{"subject_client": {After: subj.clientID}, "scopes": {After: scopes}}
	if audience != nil {
		ch["audience"] = events.Change{After: audience}
	}
	if actor != nil {
		ch["actor"] = events.Change{After: actor.sub()}
		ch["actor_client"] = events.Change{After: actor.clientID}
	}
	err := p.audit.Record(ctx, p.store, events.Actor{Type: "client", ID: c.c.ID, ClientIP: sourceFrom(ctx)},
		events.Entry{Tenant: tenantFrom(ctx).ID, Action: "token.exchange", TargetType: "user", TargetID: subj.userID, Changes: ch})
	if err != nil {
		p.log.ErrorContext(ctx, "oidc: audit of a token exchange", "err", err)
	}
}
