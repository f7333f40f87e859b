package oidc

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// A JWT access token has no row: its signature says it was issued, its
// claims say to whom and under what, and the store's revocations
// (store.Tokens.AccessTokenRevoked) say whether it still counts.

// familyClaim carries the refresh family (or the authorization request a
// code came from) of a user's access token, so revoking the family
// revokes it. The id is random and says nothing about the user.
const familyClaim = "gh_fam"

// sidClaim is the browser session a user's token was issued under.
const sidClaim = "sid"

// errTokenInactive is any reason a presented access token does not count.
var errTokenInactive = errors.New("oidc: access token invalid, expired or revoked")

// newJTI answers a UUIDv7 whose timestamp is now on the provider's clock
// (RFC 9562 5.7): a user's revocation covers the tokens issued at or
// before it, and the jti tells when that was, to the millisecond.
func newJTI(now time.Time) (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[6:]); err != nil {
		return "", err
	}
	var ms [8]byte
	binary.BigEndian.PutUint64(ms[:], uint64(now.UnixMilli()))
	copy(b[:6], ms[2:])
	b[6] = 0x70 | b[6]&0x0f // version 7
	b[8] = 0x80 | b[8]&0x3f // variant 10
	return uuid.UUID(b).String(), nil
}

// jtiTime is the issue time a jti of newJTI carries.
func jtiTime(jti string) (time.Time, bool) {
	u, err := uuid.Parse(jti)
	if err != nil || u.Version() != 7 {
		return time.Time{}, false
	}
	var ms [8]byte
	copy(ms[2:], u[:6])
	return time.UnixMilli(int64(binary.BigEndian.Uint64(ms[:]))).UTC(), true
}

// accessRef reads what the store needs to know of a verified token;
// false for a token this server did not issue as an access token (an ID
// token has neither jti nor client_id).
func accessRef(c *oidc.AccessTokenClaims) (store.AccessTokenRef, bool) {
	issued, ok := jtiTime(c.JWTID)
	if !ok || c.ClientID == "" || c.Subject == "" {
		return store.AccessTokenRef{}, false
	}
	ref := store.AccessTokenRef{ID: c.JWTID, ClientID: c.ClientID, IssuedAt: issued, ExpiresAt: c.Expiration.AsTime()}
	// A client_credentials token is the client's own: sub is the client
	// and it has no auth_time.
	if c.Subject != c.ClientID || c.AuthTime != 0 {
		ref.UserID = c.Subject
		ref.FamilyID, _ = c.Claims[familyClaim].(string)
		ref.SessionID, _ = c.Claims[sidClaim].(string)
	}
	return ref, true
}

// verifiedKey carries one request's verification of its access token
// (withVerifyMemo), so the checks a request passes through (the mTLS and
// DPoP bindings at userinfo, then the answer) check the signature once.
type verifiedKey struct{}

type verified struct {
	raw    string
	claims *oidc.AccessTokenClaims
	ref    store.AccessTokenRef
	err    error
}

// withVerifyMemo makes verifyAccessToken remember its last answer for the
// rest of the request.
func withVerifyMemo(ctx context.Context) context.Context {
	return context.WithValue(ctx, verifiedKey{}, &verified{})
}

// verifyAccessToken checks raw's signature, issuer and expiry and answers
// its claims, revoked or not.
func (p *Provider) verifyAccessToken(ctx context.Context, raw string) (*oidc.AccessTokenClaims, store.AccessTokenRef, error) {
	m, _ := ctx.Value(verifiedKey{}).(*verified)
	if m != nil && m.raw == raw && raw != "" {
		return m.claims, m.ref, m.err
	}
	claims, ref, err := p.verifyAccessTokenOnce(ctx, raw)
	if m != nil {
		*m = verified{raw: raw, claims: claims, ref: ref, err: err}
	}
	return claims, ref, err
}

// verifyAccessTokenOnce verifies raw, or finds it verified before
// (verifymemo.go).
func (p *Provider) verifyAccessTokenOnce(ctx context.Context, raw string) (*oidc.AccessTokenClaims, store.AccessTokenRef, error) {
	tn := tenantFrom(ctx)
	iss := p.issuer(ctx)
	var key [32]byte // tokenKey's, a SHA-256
	if tn != nil {
		// The tenant's ID is in the key, not only its issuer: a tenant
		// made later under a purged one's slug has the same issuer.
		key = tokenKey(tn.ID, iss, raw)
		if claims, ref, ok := p.verified.get(key, p.now()); ok {
			return claims, ref, nil
		}
	}
	vctx := op.ContextWithIssuer(ctx, iss)
	claims, err := op.VerifyAccessToken[*oidc.AccessTokenClaims](vctx, raw, p.srv.Provider().AccessTokenVerifier(vctx))
	if err != nil {
		return nil, store.AccessTokenRef{}, errTokenInactive
	}
	ref, ok := accessRef(claims)
	if !ok || !p.now().Before(ref.ExpiresAt) {
		return nil, store.AccessTokenRef{}, errTokenInactive
	}
	if tn != nil {
		p.verified.put(key, tn.ID, claims, ref)
	}
	return claims, ref, nil
}

// liveAccessToken is verifyAccessToken for a token no revocation covers,
// issued to a client that still exists. A store failure is returned as
// it is (the caller hides it); every other reason is errTokenInactive.
func (p *Provider) liveAccessToken(ctx context.Context, raw string) (*oidc.AccessTokenClaims, store.AccessTokenRef, error) {
	claims, ref, err := p.verifyAccessToken(ctx, raw)
	if err != nil {
		return nil, ref, err
	}
	tn := tenantFrom(ctx)
	if tn == nil {
		return nil, ref, errTokenInactive
	}
	revoked, err := p.store.OAuth().Tokens().AccessTokenRevoked(ctx, tn.ID, ref)
	if err != nil {
		return nil, ref, err
	}
	if revoked || p.storage.clientRecord(ctx, ref.ClientID) == nil {
		return nil, ref, errTokenInactive // deleting a client ends its tokens
	}
	return claims, ref, nil
}

// Revocation (RFC 7009): a JWT access token of the calling client is
// revoked by its jti until it expires; another client's is refused; any
// other token goes to storage.RevokeToken (refresh tokens). An unknown or
// expired token is no error.
func (s *server) Revocation(ctx context.Context, r *op.ClientRequest[oidc.RevocationRequest]) (*op.Response, error) {
	clientID := r.Client.GetID()
	if strings.Count(r.Data.Token, ".") == 2 {
		_, ref, err := s.p.verifyAccessToken(ctx, r.Data.Token)
		if err != nil {
			return op.NewResponse(nil), nil
		}
		if ref.ClientID != clientID {
			return nil, op.RevocationError(oidc.ErrInvalidClient().WithDescription("token was issued to another client"))
		}
		if err := s.p.store.OAuth().Tokens().RevokeJWT(ctx, tenantFrom(ctx).ID, ref.ID, ref.ExpiresAt); err != nil {
			return nil, op.RevocationError(s.p.storage.hide(ctx, err))
		}
		return op.NewResponse(nil), nil
	}
	if err := s.p.storage.RevokeToken(ctx, r.Data.Token, "", clientID); err != nil {
		return nil, op.RevocationError(err)
	}
	return op.NewResponse(nil), nil
}
