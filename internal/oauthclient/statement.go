package oauthclient

import (
	"encoding/json"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// statementAlgs are the signature algorithms a software statement may use.
var statementAlgs = []jose.SignatureAlgorithm{jose.RS256, jose.PS256, jose.ES256, jose.EdDSA}

// maxStatement bounds a software statement's size.
const maxStatement = 16 << 10

// VerifySoftwareStatement checks a software statement (RFC 7591 2.3): a JWS
// signed by one of issuers' keys, whose iss is that issuer, not expired
// (exp, when present; iat not in the future). It answers the claims without
// the JWT's own (iss, exp, iat, nbf, jti, aud). Errors are
// *RegistrationError: unapproved_software_statement when no trusted issuer
// signed it, invalid_software_statement when it is malformed or expired.
func VerifySoftwareStatement(raw string, issuers []TrustedIssuer, now time.Time) (map[string]any, error) {
	if len(raw) > maxStatement {
		return nil, regErr("invalid_software_statement", "the software statement is too long")
	}
	tok, err := jwt.ParseSigned(raw, statementAlgs)
	if err != nil {
		return nil, regErr("invalid_software_statement", "the software statement is not a signed JWT")
	}
	var unverified jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&unverified); err != nil {
		return nil, regErr("invalid_software_statement", "the software statement's claims are not JSON")
	}
	for _, is := range issuers {
		if is.Issuer != unverified.Issuer {
			continue
		}
		var set jose.JSONWebKeySet
		if json.Unmarshal(is.JWKS, &set) != nil {
			continue
		}
		for _, k := range set.Keys {
			var std jwt.Claims
			claims := map[string]any{}
			if tok.Claims(k.Key, &std, &claims) != nil {
				continue
			}
			if err := std.ValidateWithLeeway(jwt.Expected{Issuer: is.Issuer, Time: now}, time.Minute); err != nil {
				return nil, regErr("invalid_software_statement", "the software statement has expired or is not yet valid")
			}
			for _, c := range []string{"iss", "exp", "iat", "nbf", "jti", "aud", "sub"} {
				delete(claims, c)
			}
			return claims, nil
		}
	}
	return nil, regErr("unapproved_software_statement", "the software statement is not signed by a trusted issuer")
}
