package oauthclient

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// Grant types a client may register.
const (
	GrantAuthorizationCode = "authorization_code"
	GrantRefreshToken      = "refresh_token"
	GrantClientCredentials = "client_credentials"
	GrantDeviceCode        = "urn:ietf:params:oauth:grant-type:device_code"
	// GrantTokenExchange is RFC 8693 token exchange (exchange.go).
	GrantTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"
)

// Token endpoint authentication methods.
const (
	AuthSecretBasic   = "client_secret_basic"
	AuthSecretPost    = "client_secret_post"
	AuthPrivateKeyJWT = "private_key_jwt"
	AuthNone          = "none"
)

// Signing algorithms of ID and access tokens.
const (
	AlgRS256 = "RS256"
	AlgES256 = "ES256"
	AlgEdDSA = "EdDSA"
)

// DefaultGrantTypes are a new client's grants when it names none.
var DefaultGrantTypes = []string{GrantAuthorizationCode, GrantRefreshToken}

var (
	grantTypes = []string{GrantAuthorizationCode, GrantRefreshToken, GrantClientCredentials, GrantDeviceCode,
		GrantTokenExchange, GrantCIBA}
	authMethods = []string{AuthSecretBasic, AuthSecretPost, AuthPrivateKeyJWT, AuthNone, AuthTLSClient, AuthSelfSignedTLSClient}
	algs        = []string{AlgRS256, AlgES256, AlgEdDSA}
)

// Input bounds.
const (
	MaxRedirectURIs  = 20
	MaxURILength     = 2000
	maxName          = 100
	maxScopes        = 100
	maxScopeLen      = 128
	maxClaimMappings = 64
	maxJWKSBytes     = 32 << 10
	maxJWKSKeys      = 20
)

// ttlRule bounds one token lifetime.
type ttlRule struct {
	min, max, def time.Duration
	text          string
}

var (
	accessTTL  = ttlRule{time.Minute, 24 * time.Hour, 15 * time.Minute, "60 to 86400 seconds (1 minute to 24 hours)"}
	idTTL      = ttlRule{time.Minute, 24 * time.Hour, 15 * time.Minute, "60 to 86400 seconds (1 minute to 24 hours)"}
	refreshTTL = ttlRule{time.Hour, 90 * 24 * time.Hour, 30 * 24 * time.Hour, "3600 to 7776000 seconds (1 hour to 90 days)"}
)

var (
	// privateSchemeRE is a private-use URI scheme in reverse domain name
	// form (RFC 8252 section 7.1), such as com.example.app.
	privateSchemeRE = regexp.MustCompile(`^[a-z][a-z0-9+-]*(\.[a-z0-9+-]+)+$`)
	// scopeRE is an RFC 6749 scope-token.
	scopeRE = regexp.MustCompile(`^[\x21\x23-\x5B\x5D-\x7E]+$`)
	claimRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.:/-]{0,127}$`)
	attrRE  = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)
)

// reservedClaims are set by the provider; a mapping must not forge them.
var reservedClaims = []string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "auth_time", "nonce",
	"acr", "amr", "azp", "at_hash", "c_hash", "s_hash", "sid", "client_id", "scope", "cnf", "typ",
	"act", "may_act", "events", "sid_hash", "risk", "gh_fam"}

// setTTL sets *dst from seconds (0: the default), or records why not.
func setTTL(c *valid.Collector, field string, dst *time.Duration, seconds int64, r ttlRule) {
	if seconds == 0 {
		*dst = r.def
		return
	}
	if seconds < int64(r.min/time.Second) || seconds > int64(r.max/time.Second) {
		c.Add(field, "out_of_range", "A lifetime is "+r.text+"; 0 or absent is the default.")
		return
	}
	*dst = time.Duration(seconds) * time.Second
}

// applyDefaults fills what was left empty.
func applyDefaults(cl *store.Client) {
	if cl.AuthMethod == "" {
		cl.AuthMethod = AuthSecretBasic
		if cl.Public {
			cl.AuthMethod = AuthNone
		}
	}
	if cl.IDTokenAlg == "" {
		cl.IDTokenAlg = AlgRS256
	}
	if cl.AccessTokenAlg == "" {
		cl.AccessTokenAlg = AlgES256
	}
	if cl.Introspection == "" {
		cl.Introspection = IntrospectOwn
	}
	if cl.AccessTokenTTL == 0 {
		cl.AccessTokenTTL = accessTTL.def
	}
	if cl.IDTokenTTL == 0 {
		cl.IDTokenTTL = idTTL.def
	}
	if cl.RefreshTokenTTL == 0 {
		cl.RefreshTokenTTL = refreshTTL.def
	}
}

// check validates a whole client, as it is about to be stored.
func check(c *valid.Collector, cl *store.Client) {
	switch {
	case cl.Name == "":
		c.Add("name", "required", "A client needs a name.")
	case utf8.RuneCountInString(cl.Name) > maxName:
		c.Add("name", "too_long", "A name has at most 100 characters.")
	case !utf8.ValidString(cl.Name) || strings.IndexFunc(cl.Name, unicode.IsControl) >= 0:
		c.Add("name", "invalid", "A name has no control characters.")
	}
	checkGrants(c, cl)
	checkAuthMethod(c, cl)
	if slices.Contains(cl.GrantTypes, GrantAuthorizationCode) && len(cl.RedirectURIs) == 0 {
		c.Add("redirect_uris", "required", "A client with the authorization_code grant needs at least one redirect URI.")
	}
	checkURIs(c, "redirect_uris", cl.RedirectURIs)
	checkURIs(c, "post_logout_redirect_uris", cl.PostLogoutRedirectURIs)
	if cl.BackchannelLogoutURI != "" {
		checkURI(c, "backchannel_logout_uri", "The backchannel logout URI", cl.BackchannelLogoutURI, false)
	}
	checkScopes(c, cl.Scopes)
	if !slices.Contains(algs, cl.IDTokenAlg) {
		c.Add("id_token_signed_response_alg", "invalid", "The ID token algorithm is RS256, ES256 or EdDSA.")
	}
	if !slices.Contains(algs, cl.AccessTokenAlg) {
		c.Add("access_token_signed_response_alg", "invalid", "The access token algorithm is RS256, ES256 or EdDSA.")
	}
	if len(cl.JWKS) > 0 {
		checkJWKS(c, cl.JWKS)
	}
	checkSecurity(c, cl) // security.go
	checkClaimMappings(c, cl.ClaimMappings)
	checkAuthzClaims(c, cl)
	checkOrigins(c, cl.AllowedOrigins)
	checkExchange(c, cl) // exchange.go
	switch {
	case cl.Introspection != IntrospectOwn && cl.Introspection != IntrospectAudience:
		c.Add("introspection", "invalid", "introspection is own or audience.")
	case cl.Introspection == IntrospectAudience && cl.Public:
		c.Add("introspection", "not_allowed", "A public client cannot introspect tokens: it has no credentials.")
	}
}

// Introspection settings: what a client learns at the introspection endpoint.
const (
	// IntrospectOwn: the tokens issued to the client itself.
	IntrospectOwn = "own"
	// IntrospectAudience: a resource server, told about every access token
	// of its tenant (the tenant's tokens carry no resource indicator, so
	// every one of them is meant for the tenant's resource servers).
	IntrospectAudience = "audience"
)

// checkOrigins: each allowed origin is a web origin as a browser sends it
// (RFC 6454): https://host[:port], or http on a loopback host, lowercase,
// with no path, query, fragment, credentials or wildcard.
func checkOrigins(c *valid.Collector, origins []string) {
	const f = "allowed_origins"
	if len(origins) > MaxRedirectURIs {
		c.Add(f, "too_many", fmt.Sprintf("A client has at most %d allowed origins.", MaxRedirectURIs))
		return
	}
	for i, o := range origins {
		label := fmt.Sprintf("Origin %d", i+1)
		if slices.Contains(origins[:i], o) {
			c.Add(f, "duplicate", label+" is listed twice.")
			return
		}
		u, err := url.Parse(o)
		switch {
		case len(o) > 300 || err != nil || u.Host == "" || u.Opaque != "" || u.User != nil:
			c.Add(f, "invalid", label+" is not an origin such as https://app.example.com.")
		case WebOrigin(o) != o:
			c.Add(f, "invalid", label+" has a path, query, fragment, default port or capital letters; an origin is scheme://host[:port].")
		case strings.Contains(u.Host, "*"):
			c.Add(f, "invalid", label+" contains a wildcard; origins are compared exactly.")
		case u.Scheme == "http" && !loopback(u.Hostname()):
			c.Add(f, "insecure", label+" uses http on a host other than 127.0.0.1, [::1] or localhost; use https.")
		case u.Scheme != "https" && u.Scheme != "http":
			c.Add(f, "scheme", label+" must use https, or http on a loopback host.")
		default:
			continue
		}
		return
	}
}

// WebOrigin is the serialised origin of an http or https URI (RFC 6454
// 6.2): lowercase scheme and host, the port only when it is not the
// scheme's default; "" for other URIs (private-use schemes have none).
func WebOrigin(uri string) string {
	u, err := url.Parse(uri)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Opaque != "" {
		return ""
	}
	scheme, host, port := strings.ToLower(u.Scheme), strings.ToLower(u.Hostname()), u.Port()
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port == "" || scheme == "https" && port == "443" || scheme == "http" && port == "80" {
		return scheme + "://" + host
	}
	return scheme + "://" + host + ":" + port
}

func checkGrants(c *valid.Collector, cl *store.Client) {
	if len(cl.GrantTypes) == 0 {
		c.Add("grant_types", "required", "A client needs at least one grant type.")
		return
	}
	for i, g := range cl.GrantTypes {
		switch {
		case !slices.Contains(grantTypes, g):
			c.Add("grant_types", "invalid", "Grant types are authorization_code, refresh_token, client_credentials, urn:ietf:params:oauth:grant-type:device_code, urn:ietf:params:oauth:grant-type:token-exchange and "+GrantCIBA+".")
			return
		case slices.Contains(cl.GrantTypes[:i], g):
			c.Add("grant_types", "duplicate", "Name each grant type once.")
			return
		}
	}
	if cl.Public && slices.Contains(cl.GrantTypes, GrantClientCredentials) {
		c.Add("grant_types", "not_allowed", "A public client cannot use client_credentials: it has no credentials.")
	}
	if slices.Contains(cl.GrantTypes, GrantRefreshToken) &&
		!slices.Contains(cl.GrantTypes, GrantAuthorizationCode) && !slices.Contains(cl.GrantTypes, GrantDeviceCode) &&
		!slices.Contains(cl.GrantTypes, GrantCIBA) {
		c.Add("grant_types", "invalid", "refresh_token needs authorization_code, the device code grant or CIBA, which issue refresh tokens.")
	}
}

func checkAuthMethod(c *valid.Collector, cl *store.Client) {
	const f = "token_endpoint_auth_method"
	switch {
	case !slices.Contains(authMethods, cl.AuthMethod):
		c.Add(f, "invalid", "The method is client_secret_basic, client_secret_post, private_key_jwt, tls_client_auth, self_signed_tls_client_auth or none.")
	case cl.Public && cl.AuthMethod != AuthNone:
		c.Add(f, "invalid", "A public client has no credentials: its method is none.")
	case !cl.Public && cl.AuthMethod == AuthNone:
		c.Add(f, "invalid", "none is only for public clients; a confidential client authenticates.")
	case cl.AuthMethod == AuthPrivateKeyJWT && len(cl.JWKS) == 0:
		c.Add("jwks", "required", "private_key_jwt needs the client's public keys (jwks).")
	}
}

// checkURIs checks a list of redirect URIs (native-app schemes allowed).
func checkURIs(c *valid.Collector, field string, uris []string) {
	if len(uris) > MaxRedirectURIs {
		c.Add(field, "too_many", fmt.Sprintf("A client has at most %d such URIs.", MaxRedirectURIs))
		return
	}
	for i, u := range uris {
		if slices.Contains(uris[:i], u) {
			c.Add(field, "duplicate", fmt.Sprintf("URI %d is listed twice.", i+1))
			continue
		}
		checkURI(c, field, fmt.Sprintf("URI %d", i+1), u, true)
	}
}

// checkURI: absolute, no fragment, no credentials or wildcards; https, or
// http only on a loopback host (RFC 8252 section 7.3), or with native a
// private-use scheme such as com.example.app:/cb (section 7.1). Messages
// never echo the URI.
func checkURI(c *valid.Collector, field, label, s string, native bool) {
	if s == "" {
		c.Add(field, "invalid", label+" is empty.")
		return
	}
	if len(s) > MaxURILength {
		c.Add(field, "too_long", fmt.Sprintf("%s is longer than %d characters.", label, MaxURILength))
		return
	}
	if strings.IndexFunc(s, func(r rune) bool { return r <= ' ' || r >= 0x7f }) >= 0 {
		c.Add(field, "invalid", label+" contains spaces, control or non-ASCII characters (percent-encode them).")
		return
	}
	if strings.Contains(s, "#") {
		c.Add(field, "fragment", label+" has a fragment (#), which a redirect URI cannot have.")
		return
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" {
		c.Add(field, "invalid", label+" is not an absolute URI.")
		return
	}
	switch {
	case u.Scheme == "https":
		if u.Opaque != "" || u.Hostname() == "" {
			c.Add(field, "invalid", label+" has no host.")
			return
		}
	case u.Scheme == "http":
		if u.Opaque != "" || !loopback(u.Hostname()) {
			c.Add(field, "insecure", label+" uses http on a host other than 127.0.0.1, [::1] or localhost; use https.")
			return
		}
	case native && privateSchemeRE.MatchString(u.Scheme):
		if u.Opaque != "" {
			c.Add(field, "invalid", label+" needs a path after the scheme, such as com.example.app:/callback.")
			return
		}
	default:
		msg := label + " must use https, or http on a loopback host"
		if native {
			msg += ", or a private-use scheme in reverse domain form such as com.example.app"
		}
		c.Add(field, "scheme", msg+".")
		return
	}
	if u.User != nil {
		c.Add(field, "invalid", label+" contains credentials.")
	} else if strings.Contains(u.Host, "*") {
		c.Add(field, "invalid", label+" contains a wildcard; redirect URIs are compared exactly.")
	}
}

// loopback hosts may use http (RFC 8252 section 7.3, any port).
func loopback(host string) bool {
	return host == "127.0.0.1" || host == "::1" || strings.EqualFold(host, "localhost")
}

func checkScopes(c *valid.Collector, scopes []string) {
	if len(scopes) > maxScopes {
		c.Add("scopes", "too_many", fmt.Sprintf("A client has at most %d scopes.", maxScopes))
		return
	}
	for i, s := range scopes {
		switch {
		case len(s) > maxScopeLen || !scopeRE.MatchString(s):
			c.Add("scopes", "invalid", fmt.Sprintf("A scope is 1 to %d printable ASCII characters without spaces, quotes or backslashes.", maxScopeLen))
			return
		case slices.Contains(scopes[:i], s):
			c.Add("scopes", "duplicate", "Name each scope once.")
			return
		}
	}
}

// normaliseJWKS compacts raw; JSON null clears it.
func normaliseJWKS(c *valid.Collector, raw json.RawMessage) json.RawMessage {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	if len(raw) > maxJWKSBytes {
		c.Add("jwks", "too_long", fmt.Sprintf("A key set has at most %d bytes.", maxJWKSBytes))
		return nil
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		c.Add("jwks", "invalid", "jwks is not valid JSON.")
		return nil
	}
	return b.Bytes()
}

// checkJWKS: a JWK Set (RFC 7517) of public signing keys.
func checkJWKS(c *valid.Collector, raw json.RawMessage) {
	var set struct {
		Keys []map[string]json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(raw, &set); err != nil || set.Keys == nil {
		c.Add("jwks", "invalid", `jwks is a JWK Set: an object {"keys": [...]}.`)
		return
	}
	if len(set.Keys) == 0 || len(set.Keys) > maxJWKSKeys {
		c.Add("jwks", "invalid", fmt.Sprintf("A key set has 1 to %d keys.", maxJWKSKeys))
		return
	}
	for i, k := range set.Keys {
		var kty, use string
		_ = json.Unmarshal(k["kty"], &kty)
		_ = json.Unmarshal(k["use"], &use)
		switch {
		case kty != "RSA" && kty != "EC" && kty != "OKP":
			c.Add("jwks", "invalid", fmt.Sprintf("Key %d: kty is RSA, EC or OKP.", i+1))
		case hasAny(k, "d", "p", "q", "dp", "dq", "qi", "oth", "k"):
			c.Add("jwks", "private_key", fmt.Sprintf("Key %d holds private key material; register public keys only.", i+1))
		case use != "" && use != "sig":
			c.Add("jwks", "invalid", fmt.Sprintf("Key %d: use must be sig.", i+1))
		default:
			continue
		}
		return
	}
}

func hasAny(m map[string]json.RawMessage, keys ...string) bool {
	for _, k := range keys {
		if _, ok := m[k]; ok {
			return true
		}
	}
	return false
}

// checkClaimMappings: claim name -> user attribute name; protocol claims
// cannot be mapped.
func checkClaimMappings(c *valid.Collector, m map[string]string) {
	if len(m) > maxClaimMappings {
		c.Add("claim_mappings", "too_many", fmt.Sprintf("A client has at most %d claim mappings.", maxClaimMappings))
		return
	}
	claims := make([]string, 0, len(m))
	for k := range m {
		claims = append(claims, k)
	}
	slices.Sort(claims) // report the same first problem every time
	for _, claim := range claims {
		switch {
		case !claimRE.MatchString(claim):
			c.Add("claim_mappings", "invalid", "A claim name has 1 to 128 letters, digits, _ . : / or -, starting with a letter or _.")
		case slices.Contains(reservedClaims, claim):
			c.Add("claim_mappings", "reserved", "Protocol claims (sub, iss, aud, exp, ...) cannot be mapped.")
		case !attrRE.MatchString(m[claim]):
			c.Add("claim_mappings", "invalid", "An attribute name has 1 to 64 letters, digits, _ . or -.")
		default:
			continue
		}
		return
	}
}
