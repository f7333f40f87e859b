package oauthclient

import (
	"crypto/x509"
	"encoding/json"
	"net"
	"net/url"
	"slices"
	"strings"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// Mutual-TLS client authentication methods (RFC 8705 2).
const (
	AuthTLSClient           = "tls_client_auth"
	AuthSelfSignedTLSClient = "self_signed_tls_client_auth"
)

// SecurityFields are the mutual-TLS registration (RFC 8705) and the
// security profile of a new client. fapi2: true is the same as
// profile: "fapi2".
type SecurityFields struct {
	Profile                               string `json:"profile"`
	FAPI2                                 bool   `json:"fapi2"`
	TLSClientAuthSubjectDN                string `json:"tls_client_auth_subject_dn"`
	TLSClientAuthSANDNS                   string `json:"tls_client_auth_san_dns"`
	TLSClientAuthSANURI                   string `json:"tls_client_auth_san_uri"`
	TLSClientAuthSANIP                    string `json:"tls_client_auth_san_ip"`
	TLSClientAuthSANEmail                 string `json:"tls_client_auth_san_email"`
	TLSClientCertificateBoundAccessTokens bool   `json:"tls_client_certificate_bound_access_tokens"`
}

// SecurityPatch changes the SecurityFields that are set.
type SecurityPatch struct {
	Profile                               *string `json:"profile,omitempty"`
	FAPI2                                 *bool   `json:"fapi2,omitempty"`
	TLSClientAuthSubjectDN                *string `json:"tls_client_auth_subject_dn,omitempty"`
	TLSClientAuthSANDNS                   *string `json:"tls_client_auth_san_dns,omitempty"`
	TLSClientAuthSANURI                   *string `json:"tls_client_auth_san_uri,omitempty"`
	TLSClientAuthSANIP                    *string `json:"tls_client_auth_san_ip,omitempty"`
	TLSClientAuthSANEmail                 *string `json:"tls_client_auth_san_email,omitempty"`
	TLSClientCertificateBoundAccessTokens *bool   `json:"tls_client_certificate_bound_access_tokens,omitempty"`
}

// SecurityOut is how the API shows a client's SecurityFields.
type SecurityOut struct {
	Profile                               string `json:"profile"`
	FAPI2                                 bool   `json:"fapi2"`
	TLSClientAuthSubjectDN                string `json:"tls_client_auth_subject_dn,omitempty"`
	TLSClientAuthSANDNS                   string `json:"tls_client_auth_san_dns,omitempty"`
	TLSClientAuthSANURI                   string `json:"tls_client_auth_san_uri,omitempty"`
	TLSClientAuthSANIP                    string `json:"tls_client_auth_san_ip,omitempty"`
	TLSClientAuthSANEmail                 string `json:"tls_client_auth_san_email,omitempty"`
	TLSClientCertificateBoundAccessTokens bool   `json:"tls_client_certificate_bound_access_tokens"`
}

// Security answers the API view of a client's security fields.
func Security(c *store.Client) SecurityOut {
	s := c.Security
	return SecurityOut{Profile: s.Profile, FAPI2: s.FAPI2(), TLSClientAuthSubjectDN: s.TLSSubjectDN,
		TLSClientAuthSANDNS: s.TLSSANDNS, TLSClientAuthSANURI: s.TLSSANURI, TLSClientAuthSANIP: s.TLSSANIP,
		TLSClientAuthSANEmail: s.TLSSANEmail, TLSClientCertificateBoundAccessTokens: s.TLSBound}
}

// FAPI2 client rules (FAPI 2.0 Security Profile 5.3.2).
var (
	fapiAuthMethods = []string{AuthPrivateKeyJWT, AuthTLSClient, AuthSelfSignedTLSClient}
	fapiAlgs        = []string{AlgES256, AlgEdDSA}
)

// applySecurity sets a new client's security fields; a FAPI 2.0 client
// that names no ID token algorithm gets ES256 (RS256 is not allowed).
func applySecurity(cl *store.Client, in SecurityFields) {
	cl.Security = store.ClientSecurity{Profile: in.Profile, TLSSubjectDN: in.TLSClientAuthSubjectDN,
		TLSSANDNS: in.TLSClientAuthSANDNS, TLSSANURI: in.TLSClientAuthSANURI, TLSSANIP: in.TLSClientAuthSANIP,
		TLSSANEmail: in.TLSClientAuthSANEmail, TLSBound: in.TLSClientCertificateBoundAccessTokens}
	if in.FAPI2 {
		cl.Security.Profile = store.ProfileFAPI2
	}
	if cl.Security.FAPI2() && cl.IDTokenAlg == "" {
		cl.IDTokenAlg = AlgES256
	}
}

// patchSecurity applies the security fields of a patch.
func patchSecurity(cl *store.Client, p SecurityPatch) {
	s := &cl.Security
	for _, f := range []struct {
		dst *string
		v   *string
	}{{&s.Profile, p.Profile}, {&s.TLSSubjectDN, p.TLSClientAuthSubjectDN}, {&s.TLSSANDNS, p.TLSClientAuthSANDNS},
		{&s.TLSSANURI, p.TLSClientAuthSANURI}, {&s.TLSSANIP, p.TLSClientAuthSANIP}, {&s.TLSSANEmail, p.TLSClientAuthSANEmail}} {
		if f.v != nil {
			*f.dst = *f.v
		}
	}
	if p.FAPI2 != nil {
		s.Profile = ""
		if *p.FAPI2 {
			s.Profile = store.ProfileFAPI2
		}
	}
	if p.TLSClientCertificateBoundAccessTokens != nil {
		s.TLSBound = *p.TLSClientCertificateBoundAccessTokens
	}
}

// checkSecurity validates the security fields against the whole client:
// a tls_client_auth client names exactly one certificate field; a
// self_signed_tls_client_auth client registers its certificates (x5c) in
// jwks; a FAPI 2.0 client keeps the profile's rules.
func checkSecurity(c *valid.Collector, cl *store.Client) {
	s := cl.Security
	names := 0
	for _, v := range []string{s.TLSSubjectDN, s.TLSSANDNS, s.TLSSANURI, s.TLSSANIP, s.TLSSANEmail} {
		if v != "" {
			names++
		}
		if len(v) > MaxURILength || strings.ContainsAny(v, "\r\n\x00") {
			c.Add("tls_client_auth", "invalid", "A certificate field is one line of at most 2000 characters.")
			return
		}
	}
	switch {
	case s.Profile != "" && s.Profile != store.ProfileFAPI2:
		c.Add("profile", "invalid", `The profile is "fapi2" or empty.`)
	case cl.AuthMethod == AuthTLSClient && names != 1:
		c.Add("tls_client_auth_subject_dn", "required", "tls_client_auth needs exactly one of tls_client_auth_subject_dn, _san_dns, _san_uri, _san_ip, _san_email.")
	case cl.AuthMethod != AuthTLSClient && names != 0:
		c.Add("tls_client_auth_subject_dn", "not_allowed", "The certificate fields are for tls_client_auth clients only.")
	case s.TLSSANIP != "" && net.ParseIP(s.TLSSANIP) == nil:
		c.Add("tls_client_auth_san_ip", "invalid", "tls_client_auth_san_ip is an IP address.")
	case s.TLSSANURI != "" && !absoluteURI(s.TLSSANURI):
		c.Add("tls_client_auth_san_uri", "invalid", "tls_client_auth_san_uri is an absolute URI.")
	case cl.AuthMethod == AuthSelfSignedTLSClient && !jwksHasCertificates(cl.JWKS):
		c.Add("jwks", "required", "self_signed_tls_client_auth needs the client's certificates: keys with x5c in jwks.")
	}
	if s.FAPI2() {
		checkFAPI2(c, cl)
	}
}

// checkFAPI2 holds a client to the FAPI 2.0 Security Profile: a
// confidential client authenticated by private_key_jwt or mTLS, the code
// flow only, ES256 or EdDSA ID tokens, https redirect URIs.
func checkFAPI2(c *valid.Collector, cl *store.Client) {
	switch {
	case !slices.Contains(fapiAuthMethods, cl.AuthMethod):
		c.Add("token_endpoint_auth_method", "fapi2", "A FAPI 2.0 client authenticates with private_key_jwt, tls_client_auth or self_signed_tls_client_auth.")
	case !slices.Contains(fapiAlgs, cl.IDTokenAlg):
		c.Add("id_token_signed_response_alg", "fapi2", "A FAPI 2.0 client's ID tokens are signed with ES256 or EdDSA.")
	case slices.Contains(cl.GrantTypes, GrantDeviceCode):
		c.Add("grant_types", "fapi2", "A FAPI 2.0 client uses the authorization code grant (and refresh_token, client_credentials).")
	}
	for _, u := range cl.RedirectURIs {
		if !strings.HasPrefix(u, "https://") {
			c.Add("redirect_uris", "fapi2", "A FAPI 2.0 client's redirect URIs are https.")
			return
		}
	}
}

func absoluteURI(s string) bool {
	u, err := url.Parse(s)
	return err == nil && u.Scheme != ""
}

// jwksHasCertificates: the set parses and a key carries an x5c chain.
func jwksHasCertificates(raw json.RawMessage) bool {
	var set jose.JSONWebKeySet
	if len(raw) == 0 || json.Unmarshal(raw, &set) != nil {
		return false
	}
	return slices.ContainsFunc(set.Keys, func(k jose.JSONWebKey) bool {
		return len(k.Certificates) > 0 && k.Certificates[0] != (*x509.Certificate)(nil)
	})
}
