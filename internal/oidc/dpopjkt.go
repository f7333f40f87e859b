package oidc

import (
	"context"
	"encoding/base64"
	"net/http"

	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// dpop_jkt (RFC 9449 10): an authorization request may name the
// thumbprint of the DPoP key the client will use; the code is then bound
// to it, and the token request must carry a proof by that key. The
// parameter reaches the authorization request (storage.CreateAuthRequest)
// through the context, set from the query of every /authorize request the
// op router serves, pushed ones included (par.go replays them as a query).

type dpopJKTKey struct{}

// withDPoPJKT wraps the op router: an /authorize request's dpop_jkt
// values travel in its context.
func withDPoPJKT(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/authorize" {
			if v := r.URL.Query()["dpop_jkt"]; len(v) > 0 {
				r = r.WithContext(context.WithValue(r.Context(), dpopJKTKey{}, v))
			}
		}
		next.ServeHTTP(w, r)
	})
}

// requestDPoPJKT is the request's dpop_jkt ("" without one); a repeated or
// malformed one (not a base64url SHA-256 thumbprint) is invalid_request.
func requestDPoPJKT(ctx context.Context) (string, error) {
	v, _ := ctx.Value(dpopJKTKey{}).([]string)
	switch {
	case len(v) == 0:
		return "", nil
	case len(v) > 1:
		return "", oidc.ErrInvalidRequest().WithDescription("dpop_jkt repeated")
	}
	if b, err := base64.RawURLEncoding.DecodeString(v[0]); err != nil || len(b) != 32 {
		return "", oidc.ErrInvalidRequest().WithDescription("dpop_jkt must be a base64url SHA-256 JWK thumbprint")
	}
	return v[0], nil
}

// checkCodeBinding: a code bound by dpop_jkt is exchanged only with a
// proof by that key (jkt is the token request's proof thumbprint).
func checkCodeBinding(ar *store.AuthRequest, jkt string) error {
	if ar.DPoPJKT != "" && ar.DPoPJKT != jkt {
		return dpopError("the authorization code is bound (dpop_jkt) to another DPoP key")
	}
	return nil
}
