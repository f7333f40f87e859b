package oidc

import (
	"context"
	"slices"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
)

// FAPI 2.0 Security Profile, per client (store.ClientSecurity.Profile).
// Registration (internal/oauthclient) keeps the client's own settings to
// the profile: private_key_jwt or mTLS authentication, ES256 or EdDSA ID
// tokens, https redirect URIs. Here, at run time: authorization requests
// only by PAR (RFC 9126) and with PKCE S256, tokens sender-constrained by
// DPoP or mTLS, and client assertions and DPoP proofs signed with ES256,
// PS256 or EdDSA. What holds for every client already holds for these:
// response_type code only, iss in every authorization response (RFC
// 9207), codes valid 60 s and single use, no tokens in URLs.

// fapiAlgs are the signature algorithms the profile allows (FAPI 2.0
// 5.4: PS256, ES256, EdDSA).
var fapiAlgs = []string{"ES256", "PS256", "EdDSA"}

type pushedKey struct{}

// withPushed marks an authorization request continued from a pushed one.
func withPushed(ctx context.Context) context.Context {
	return context.WithValue(ctx, pushedKey{}, true)
}

func pushed(ctx context.Context) bool {
	v, _ := ctx.Value(pushedKey{}).(bool)
	return v
}

func fapiError(desc string) *oidc.Error {
	return oidc.ErrInvalidRequest().WithDescription("FAPI 2.0: %s", desc)
}

// fapiAuthorize: a FAPI 2.0 client's authorization request comes by
// request_uri from PAR.
func fapiAuthorize(ctx context.Context, c *client) error {
	if c.c.Security.FAPI2() && !pushed(ctx) {
		return fapiError("push the authorization request (PAR) and send its request_uri")
	}
	return nil
}

// fapiBinding: a FAPI 2.0 client's tokens are bound to a DPoP key signed
// with an allowed algorithm, or to the client certificate presented.
func fapiBinding(ctx context.Context, c *client, proof *dpopProof) error {
	if !c.c.Security.FAPI2() {
		return nil
	}
	if proof != nil {
		if !slices.Contains(fapiAlgs, proof.alg) {
			return dpopError("FAPI 2.0: DPoP proofs are signed with ES256, PS256 or EdDSA")
		}
		return nil
	}
	if clientCertFrom(ctx) != nil {
		return nil
	}
	return fapiError("tokens are sender-constrained: send a DPoP proof or present the client certificate (mTLS)")
}

// fapiAssertion: a FAPI 2.0 client's assertion is signed with an allowed
// algorithm (the signature itself is already verified).
func fapiAssertion(c *client, assertion string) error {
	if !c.c.Security.FAPI2() {
		return nil
	}
	jws, err := jose.ParseSigned(assertion, []jose.SignatureAlgorithm{jose.ES256, jose.PS256, jose.EdDSA})
	if err != nil || len(jws.Signatures) != 1 {
		return oidc.ErrInvalidClient().WithDescription("FAPI 2.0: the client assertion is signed with ES256, PS256 or EdDSA")
	}
	return nil
}
