package oidc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// assertionWindow bounds how long a client assertion's jti is remembered:
// the library refuses assertions older than this (iat) or expired.
const assertionWindow = time.Hour

// VerifyClient authenticates the client of a token, introspection,
// revocation or device request. private_key_jwt assertions (RFC 7523) are
// verified against the client's registered keys for every grant —
// client_credentials included, which the library only offers with secrets —
// and each assertion's jti is accepted once (decided in the database).
func (s *server) VerifyClient(ctx context.Context, r *op.Request[op.ClientCredentials]) (op.Client, error) {
	c, err := s.verifyClient(ctx, r)
	var oe *oidc.Error
	if errors.As(err, &oe) && oe.ErrorType == oidc.InvalidClient {
		// RFC 6749 5.2: a failed client authentication is a 401.
		return nil, op.NewStatusError(err, http.StatusUnauthorized)
	}
	return c, err
}

func (s *server) verifyClient(ctx context.Context, r *op.Request[op.ClientCredentials]) (op.Client, error) {
	if r.Data.ClientAssertionType != oidc.ClientAssertionTypeJWTAssertion {
		return s.LegacyServer.VerifyClient(ctx, r)
	}
	ex, ok := s.Provider().(op.JWTAuthorizationGrantExchanger)
	if !ok {
		return nil, oidc.ErrInvalidClient()
	}
	c, err := op.AuthorizePrivateJWTKey(ctx, r.Data.ClientAssertion, ex)
	if err != nil {
		return nil, oidc.ErrInvalidClient().WithDescription("client assertion invalid")
	}
	var claims oidc.JWTTokenRequest
	if _, err := oidc.ParseToken(r.Data.ClientAssertion, &claims); err != nil || claims.JWTID == "" {
		return nil, oidc.ErrInvalidClient().WithDescription("client assertion needs a jti")
	}
	n, err := s.p.store.OAuth().Throttle().Fail(ctx, tenantFrom(ctx).ID,
		fmt.Sprintf("jti:%s:%s", c.GetID(), claims.JWTID), s.p.now(), assertionWindow)
	if err != nil {
		return nil, s.p.storage.hide(ctx, err)
	}
	if n > 1 {
		return nil, oidc.ErrInvalidClient().WithDescription("client assertion already used")
	}
	return c, nil
}
