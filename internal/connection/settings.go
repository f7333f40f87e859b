package connection

import (
	"encoding/json"
	"maps"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// Settings are a connection's non-secret settings (the store keeps them
// as JSON). Empty fields take the type's preset.
type Settings struct {
	// Issuer is the OpenID Provider (discovery at its
	// /.well-known/openid-configuration).
	Issuer string `json:"issuer,omitempty"`
	// Endpoints for OAuth 2.0; for OIDC they override discovery.
	AuthorizationEndpoint string `json:"authorization_endpoint,omitempty"`
	TokenEndpoint         string `json:"token_endpoint,omitempty"`
	UserinfoEndpoint      string `json:"userinfo_endpoint,omitempty"`
	// EmailsEndpoint lists the account's addresses (GitHub's /user/emails):
	// the primary verified one is used.
	EmailsEndpoint string   `json:"emails_endpoint,omitempty"`
	ClientID       string   `json:"client_id,omitempty"`
	Scopes         []string `json:"scopes,omitempty"`
	// Mapping maps profile fields (subject, email, email_verified, name,
	// given_name, family_name) to claim names or dotted JSON paths of the
	// upstream profile.
	Mapping map[string]string `json:"mapping,omitempty"`
	// ResponseMode is "form_post" for Apple; empty is the query.
	ResponseMode string `json:"response_mode,omitempty"`
	// TeamID and KeyID sign Apple's client secret JWT.
	TeamID string `json:"team_id,omitempty"`
	KeyID  string `json:"key_id,omitempty"`
	// MetadataURL or MetadataXML describe a SAML IdP.
	MetadataURL string `json:"metadata_url,omitempty"`
	MetadataXML string `json:"metadata_xml,omitempty"`
	// Domains send a login whose email has one of them straight to this
	// connection (home-realm discovery).
	Domains []string `json:"domains,omitempty"`
	// Clients limits the button to these OAuth clients; empty: all.
	// (Client ids: not part of configuration files, which name no ids.)
	Clients []string `json:"clients,omitempty" config:"-"`
	// StoreTokens keeps the upstream tokens, sealed, with the identity.
	StoreTokens bool `json:"store_tokens,omitempty"`
	// TrustEmail lets an address the upstream did not verify create an
	// account just in time (as Keycloak's "trust email"). Off by default:
	// only verified addresses, or addresses in Domains, do. Addresses from
	// a generic OAuth 2.0 profile without an email_verified mapping, from
	// Facebook and from SAML count as unverified.
	TrustEmail bool `json:"trust_email,omitempty"`
	// ClientSecretRef is the reference (${env:NAME} or ${file:/path}) the
	// client secret was last set from by configuration as code; "" when
	// it was set directly. It is a pointer, never the secret.
	ClientSecretRef string `json:"client_secret_ref,omitempty" config:"-"`
	Legacy
}

// Legacy are the settings of a legacy user store (legacy_ldap,
// legacy_http); internal/legacy reads them. The secret (client_secret) is
// the bind password of an LDAP directory, the HMAC-SHA256 key of an HTTP
// endpoint.
type Legacy struct {
	// Mode is "migrate" (the default: a login checks the password at the
	// legacy store once, then the account lives here) or "federate" (the
	// directory stays the source of truth: every login binds through, a
	// periodic sync mirrors its accounts and groups).
	Mode string `json:"mode,omitempty"`
	// MigrateUntil (RFC 3339 or YYYY-MM-DD, UTC) closes the migration
	// path: from then on the legacy store is not asked.
	MigrateUntil string `json:"migrate_until,omitempty"`
	// URL is ldap://host[:port] or ldaps://host[:port]; StartTLS upgrades
	// an ldap:// connection before anything is sent.
	URL      string `json:"url,omitempty"`
	StartTLS bool   `json:"start_tls,omitempty"`
	// BindDN searches the directory (with client_secret as its password);
	// empty searches anonymously.
	BindDN string `json:"bind_dn,omitempty"`
	// BaseDN is where users are searched, UserFilter how: {username} is
	// replaced by the escaped login identifier, or by * for a sync.
	BaseDN     string `json:"base_dn,omitempty"`
	UserFilter string `json:"user_filter,omitempty"`
	// GroupBaseDN, when set, lets a federating sync mirror the groups
	// (groupOfNames or groupOfUniqueNames, named by cn) found under it.
	GroupBaseDN string `json:"group_base_dn,omitempty"`
	// SyncInterval is how often a federating connection syncs (a Go
	// duration, at least 1m; default 15m).
	SyncInterval string `json:"sync_interval,omitempty"`
	// Endpoint is where legacy_http POSTs the username and password.
	Endpoint string `json:"endpoint,omitempty"`
}

// Legacy modes.
const (
	ModeMigrate  = "migrate"
	ModeFederate = "federate"
)

// Vouches reports whether the tenant trusts this connection for the
// address emailNorm (normalised) without proof by mail: it trusts the
// upstream's addresses (TrustEmail), or the address is in one of its
// Domains (a company IdP that owns the domain asserts its addresses).
func (s Settings) Vouches(emailNorm string) bool {
	if s.TrustEmail {
		return true
	}
	at := strings.LastIndexByte(emailNorm, '@')
	if at < 0 {
		return false
	}
	domain := emailNorm[at+1:]
	for _, d := range s.Domains {
		if strings.EqualFold(strings.TrimSpace(d), domain) {
			return true
		}
	}
	return false
}

// Effective answers s with the type's preset filled in where s is empty.
func Effective(typ string, s Settings) Settings {
	pr := presets[typ]
	p := pr.settings
	or := func(v, def string) string {
		if v != "" {
			return v
		}
		return def
	}
	out := s
	out.Issuer = or(s.Issuer, p.Issuer)
	out.AuthorizationEndpoint = or(s.AuthorizationEndpoint, p.AuthorizationEndpoint)
	out.TokenEndpoint = or(s.TokenEndpoint, p.TokenEndpoint)
	out.UserinfoEndpoint = or(s.UserinfoEndpoint, p.UserinfoEndpoint)
	out.EmailsEndpoint = or(s.EmailsEndpoint, p.EmailsEndpoint)
	out.ResponseMode = or(s.ResponseMode, p.ResponseMode)
	out.UserFilter = or(s.UserFilter, p.UserFilter)
	out.Mode = or(s.Mode, ModeMigrate)
	if pr.proto != ProtoLegacy {
		out.Mode = s.Mode
	}
	if len(out.Scopes) == 0 {
		out.Scopes = slices.Clone(p.Scopes)
	}
	m := maps.Clone(p.Mapping)
	if m == nil {
		m = map[string]string{}
	}
	maps.Copy(m, s.Mapping)
	out.Mapping = m
	return out
}

// Parse decodes stored settings.
func Parse(raw []byte) (Settings, error) {
	var s Settings
	if len(raw) == 0 {
		return s, nil
	}
	err := json.Unmarshal(raw, &s)
	return s, err
}

var (
	nameRE    = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)
	scopeRE   = regexp.MustCompile(`^[\x21\x23-\x5B\x5D-\x7E]{1,128}$`)
	mapKeys   = []string{"subject", "email", "email_verified", "name", "given_name", "family_name"}
	legacyMap = []string{"subject", "username", "email", "email_verified", "given_name", "family_name"}
	pathRE    = regexp.MustCompile(`^[A-Za-z0-9_:-]{1,64}(\.[A-Za-z0-9_:-]{1,64}){0,4}$`)
	domainRE  = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$`)
	respModes = []string{"", "query", "form_post"}
)

// URLPolicy says which upstream URLs are acceptable: https always; http
// only to a loopback host, and only when AllowLoopbackHTTP (a development
// deployment whose own public URL is http://, and tests).
type URLPolicy struct{ AllowLoopbackHTTP bool }

// Check reports why u is not acceptable ("" when it is).
func (p URLPolicy) Check(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil || u.Fragment != "" || len(raw) > 2048 {
		return "Use an absolute https:// URL without user info or fragment."
	}
	switch u.Scheme {
	case "https":
		return ""
	case "http":
		if p.AllowLoopbackHTTP && IsLoopback(u.Hostname()) {
			return ""
		}
		return "Use https://; http:// is accepted only for loopback hosts on a development deployment (public URL on http://)."
	}
	return "Use an absolute https:// URL."
}

// IsLoopback reports whether host is localhost or a loopback address.
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// check validates a connection's type, name and effective settings.
func (p URLPolicy) check(c *valid.Collector, typ, name, display string, s Settings, hasSecret bool) {
	proto := ProtocolOf(typ)
	if proto == "" {
		c.Add("type", "invalid", "Use one of oidc, oauth2, saml, google, microsoft, apple, facebook, github, legacy_ldap, legacy_http.")
		return
	}
	if r := s.ClientSecretRef; r != "" && (len(r) > 1100 || !strings.HasSuffix(r, "}") ||
		!(strings.HasPrefix(r, "${env:") || strings.HasPrefix(r, "${file:/"))) {
		c.Add("client_secret_ref", "invalid", "A secret reference is ${env:NAME} or ${file:/path}.")
	}
	if !nameRE.MatchString(name) {
		c.Add("name", "invalid", "Use 1 to 63 lower-case letters, digits, '-' or '_', starting with a letter or digit.")
	}
	if len(display) > 100 || strings.ContainsFunc(display, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		c.Add("display_name", "invalid", "Use at most 100 characters and no control characters.")
	}
	url := func(field, v string, required bool) {
		if v == "" {
			if required {
				c.Add(field, "required", "This connection type needs "+field+".")
			}
			return
		}
		if msg := p.Check(v); msg != "" {
			c.Add(field, "invalid", msg)
		}
	}
	switch proto {
	case ProtoOIDC:
		url("issuer", s.Issuer, true)
		url("authorization_endpoint", s.AuthorizationEndpoint, false)
		url("token_endpoint", s.TokenEndpoint, false)
		url("userinfo_endpoint", s.UserinfoEndpoint, false)
	case ProtoOAuth2:
		url("authorization_endpoint", s.AuthorizationEndpoint, true)
		url("token_endpoint", s.TokenEndpoint, true)
		url("userinfo_endpoint", s.UserinfoEndpoint, true)
		url("emails_endpoint", s.EmailsEndpoint, false)
		if s.Mapping["subject"] == "" {
			c.Add("mapping", "required", "An OAuth 2.0 connection needs mapping.subject: the profile field that names the account.")
		}
	case ProtoSAML:
		url("metadata_url", s.MetadataURL, false)
		if (s.MetadataURL == "") == (s.MetadataXML == "") {
			c.Add("metadata_url", "required", "Give the IdP's metadata_url or metadata_xml (one of them).")
		}
		if len(s.MetadataXML) > 256<<10 {
			c.Add("metadata_xml", "too_long", "Metadata is limited to 256 KiB.")
		}
	case ProtoLegacy:
		p.checkLegacy(c, typ, s, hasSecret)
		return
	}
	if proto != ProtoSAML {
		if s.ClientID == "" || len(s.ClientID) > 512 {
			c.Add("client_id", "required", "Give the client_id registered at the provider (at most 512 characters).")
		}
		if !hasSecret {
			c.Add("client_secret", "required", "Give the client_secret registered at the provider.")
		}
	}
	if typ == TypeApple && (s.TeamID == "" || s.KeyID == "") {
		c.Add("team_id", "required", "Apple needs team_id and key_id (client_secret is the .p8 key).")
	}
	if !slices.Contains(respModes, s.ResponseMode) {
		c.Add("response_mode", "invalid", "Use query or form_post.")
	}
	if len(s.Scopes) > 30 {
		c.Add("scopes", "too_many", "At most 30 scopes.")
	}
	for _, sc := range s.Scopes {
		if !scopeRE.MatchString(sc) {
			c.Add("scopes", "invalid", "A scope is 1 to 128 printable characters without spaces or quotes.")
			break
		}
	}
	if proto == ProtoOIDC && !slices.Contains(s.Scopes, "openid") {
		c.Add("scopes", "openid_required", "An OpenID Connect connection asks for the openid scope.")
	}
	checkMapping(c, s.Mapping, mapKeys, "A mapping value is a claim name or a dotted path of up to 5 names.")
	if len(s.Domains) > 50 {
		c.Add("domains", "too_many", "At most 50 domains.")
	}
	for _, d := range s.Domains {
		if !domainRE.MatchString(d) {
			c.Add("domains", "invalid", "Domains are lower-case host names such as example.com.")
			break
		}
	}
	if len(s.Clients) > 100 {
		c.Add("clients", "too_many", "At most 100 clients.")
	}
}

// checkMapping checks a mapping's keys against keys and its values
// against pathRE (valueHint says what a value is).
func checkMapping(c *valid.Collector, m map[string]string, keys []string, valueHint string) {
	for k, v := range m {
		if !slices.Contains(keys, k) {
			c.Add("mapping", "invalid", "Map only "+strings.Join(keys, ", ")+".")
			return
		}
		if !pathRE.MatchString(v) {
			c.Add("mapping", "invalid", valueHint)
			return
		}
	}
}
