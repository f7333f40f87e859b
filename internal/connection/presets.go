package connection

// Types a connection can have. The generic ones take every endpoint from
// the operator; the presets know their provider's endpoints, scopes and
// profile shape, and each of those can still be overridden (a test points
// them at a server on 127.0.0.1).
const (
	TypeOIDC      = "oidc"
	TypeOAuth2    = "oauth2"
	TypeSAML      = "saml"
	TypeGoogle    = "google"
	TypeMicrosoft = "microsoft"
	TypeApple     = "apple"
	TypeFacebook  = "facebook"
	TypeGitHub    = "github"
	// TypeLegacyLDAP and TypeLegacyHTTP are legacy user stores a login
	// checks passwords against (internal/legacy): an LDAP directory, or an
	// HTTP endpoint that answers a signed POST of username and password.
	TypeLegacyLDAP = "legacy_ldap"
	TypeLegacyHTTP = "legacy_http"
)

// Protocol is how a type talks to its upstream.
type Protocol string

// Protocols.
const (
	ProtoOIDC   Protocol = "oidc"
	ProtoOAuth2 Protocol = "oauth2"
	ProtoSAML   Protocol = "saml"
	// ProtoLegacy is no login button: a password login asks it.
	ProtoLegacy Protocol = "legacy"
)

// preset is what a type fills in when the operator leaves it out.
type preset struct {
	proto    Protocol
	settings Settings
}

// presets by type. Endpoints are the providers' documented ones:
// Google and Microsoft and Apple publish OpenID discovery documents;
// Facebook (Graph API) and GitHub are OAuth 2.0 with a profile endpoint.
var presets = map[string]preset{
	TypeOIDC:   {proto: ProtoOIDC, settings: Settings{Scopes: []string{"openid", "email", "profile"}}},
	TypeOAuth2: {proto: ProtoOAuth2},
	TypeSAML:   {proto: ProtoSAML},
	TypeLegacyLDAP: {proto: ProtoLegacy, settings: Settings{
		Legacy: Legacy{UserFilter: "(|(uid={username})(mail={username}))"},
		Mapping: map[string]string{"username": "uid", "email": "mail",
			"given_name": "givenName", "family_name": "sn"}}},
	TypeLegacyHTTP: {proto: ProtoLegacy, settings: Settings{
		Mapping: map[string]string{"subject": "id", "username": "username", "email": "email",
			"email_verified": "email_verified", "given_name": "given_name", "family_name": "family_name"}}},
	TypeGoogle: {proto: ProtoOIDC, settings: Settings{
		Issuer: "https://accounts.google.com", Scopes: []string{"openid", "email", "profile"}}},
	// Microsoft's multi-tenant endpoint: the ID token's iss names the
	// user's directory ({tenantid} in the discovery document), checked
	// against the tid claim (internal/broker).
	TypeMicrosoft: {proto: ProtoOIDC, settings: Settings{
		Issuer: "https://login.microsoftonline.com/common/v2.0", Scopes: []string{"openid", "email", "profile"}}},
	// Apple answers with response_mode=form_post when names or emails are
	// asked for; the client secret is an ES256 JWT signed with the team's
	// key (client_secret holds that PEM key), and the name comes only on
	// the first login, in the posted "user" field.
	TypeApple: {proto: ProtoOIDC, settings: Settings{
		Issuer: "https://appleid.apple.com", Scopes: []string{"openid", "email", "name"}, ResponseMode: "form_post"}},
	TypeFacebook: {proto: ProtoOAuth2, settings: Settings{
		AuthorizationEndpoint: "https://www.facebook.com/v19.0/dialog/oauth",
		TokenEndpoint:         "https://graph.facebook.com/v19.0/oauth/access_token",
		UserinfoEndpoint:      "https://graph.facebook.com/v19.0/me?fields=id,name,email,first_name,last_name",
		Scopes:                []string{"public_profile", "email"},
		// Facebook does not say whether the address is verified: it is
		// treated as unverified (never links an existing account).
		Mapping: map[string]string{"subject": "id", "email": "email", "name": "name",
			"given_name": "first_name", "family_name": "last_name"}}},
	TypeGitHub: {proto: ProtoOAuth2, settings: Settings{
		AuthorizationEndpoint: "https://github.com/login/oauth/authorize",
		TokenEndpoint:         "https://github.com/login/oauth/access_token",
		UserinfoEndpoint:      "https://api.github.com/user",
		EmailsEndpoint:        "https://api.github.com/user/emails",
		Scopes:                []string{"read:user", "user:email"},
		Mapping:               map[string]string{"subject": "id", "name": "name"}}},
}

// ProtocolOf answers the protocol of a connection type ("" when unknown).
func ProtocolOf(typ string) Protocol { return presets[typ].proto }

// IsLegacy reports whether typ is a legacy user store rather than an
// upstream identity provider: it never shows as a login button.
func IsLegacy(typ string) bool { return ProtocolOf(typ) == ProtoLegacy }
