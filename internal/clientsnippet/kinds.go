// Package clientsnippet writes copyable configuration for an OIDC client
// of each application kind (web app, single-page app, native, machine to
// machine, device) in common client libraries: Go (golang.org/x/oauth2
// with coreos/go-oidc), Node (openid-client 6), Spring Boot properties,
// oidc-client-ts for browsers, AppAuth-style native settings and curl.
// Pure functions: every value is quoted for its language, and a client
// secret is never written into a snippet (it is read from the environment
// variable the snippet names).
package clientsnippet

import (
	"fmt"
	"strings"
)

// Kind is an application kind of the console's client wizard.
type Kind string

// The kinds the wizard offers.
const (
	Web    Kind = "web"    // server-side web app: code flow, confidential
	SPA    Kind = "spa"    // single-page app: code flow + PKCE, public
	Native Kind = "native" // mobile or desktop app: code flow + PKCE, public, loopback or custom-scheme redirect
	M2M    Kind = "m2m"    // machine to machine: client credentials
	Device Kind = "device" // input-constrained device: device authorization grant
)

// Kinds lists every kind in the wizard's order.
var Kinds = []Kind{Web, SPA, Native, M2M, Device}

// ParseKind answers the kind named s, or an error naming the choices.
func ParseKind(s string) (Kind, error) {
	for _, k := range Kinds {
		if string(k) == s {
			return k, nil
		}
	}
	return "", fmt.Errorf("clientsnippet: unknown application kind %q (want one of web, spa, native, m2m, device)", s)
}

// Settings are the registration settings a kind implies: the wizard fills
// the client form with them.
type Settings struct {
	Public     bool
	GrantTypes []string
	AuthMethod string
	// NeedsRedirect is true when the kind signs users in through a
	// browser redirect (so the form asks for redirect URIs).
	NeedsRedirect bool
	Scopes        []string
}

// SettingsFor answers the registration settings of k.
func SettingsFor(k Kind) Settings {
	switch k {
	case Web:
		return Settings{GrantTypes: []string{"authorization_code", "refresh_token"}, AuthMethod: "client_secret_basic",
			NeedsRedirect: true, Scopes: []string{"openid", "profile", "email", "offline_access"}}
	case SPA:
		return Settings{Public: true, GrantTypes: []string{"authorization_code", "refresh_token"}, AuthMethod: "none",
			NeedsRedirect: true, Scopes: []string{"openid", "profile", "email"}}
	case Native:
		return Settings{Public: true, GrantTypes: []string{"authorization_code", "refresh_token"}, AuthMethod: "none",
			NeedsRedirect: true, Scopes: []string{"openid", "profile", "email", "offline_access"}}
	case M2M:
		return Settings{GrantTypes: []string{"client_credentials"}, AuthMethod: "client_secret_basic"}
	case Device:
		return Settings{Public: true, GrantTypes: []string{"urn:ietf:params:oauth:grant-type:device_code", "refresh_token"},
			AuthMethod: "none", Scopes: []string{"openid", "profile", "offline_access"}}
	}
	return Settings{}
}

// Params are what a snippet is written from.
type Params struct {
	Kind     Kind
	Issuer   string // the tenant's issuer, {public_url}/t/{tenant}
	ClientID string
	// RedirectURI is the first registered redirect URI ("" for m2m and
	// device).
	RedirectURI string
	Scopes      []string // nil: the kind's defaults
	// Endpoints the device and m2m snippets call directly.
	TokenEndpoint      string
	DeviceAuthEndpoint string
}

// SecretEnv is the environment variable every snippet reads a client
// secret from.
const SecretEnv = "GATEHOUSE_CLIENT_SECRET"

// Snippet is one library's configuration.
type Snippet struct {
	ID       string // stable, for tabs and tests: "go", "node", "spring", "oidc-client-ts", "appauth", "curl"
	Label    string // the library's name as its users know it
	Language string // "go", "javascript", "yaml", "json", "shell"
	Code     string
}

// For answers p's snippets, for the libraries that fit p.Kind, in the
// order the wizard shows them; an unknown kind answers none.
func For(p Params) []Snippet {
	if p.Scopes == nil {
		p.Scopes = SettingsFor(p.Kind).Scopes
	}
	switch p.Kind {
	case Web:
		return []Snippet{goWeb(p, false), nodeWeb(p, false), springWeb(p)}
	case SPA:
		return []Snippet{oidcClientTS(p)}
	case Native:
		return []Snippet{goWeb(p, true), appAuth(p)}
	case M2M:
		return []Snippet{goM2M(p), nodeM2M(p), springM2M(p), curlM2M(p)}
	case Device:
		return []Snippet{goDevice(p), curlDevice(p)}
	}
	return nil
}

func scopeList(scopes []string) string { return strings.Join(scopes, " ") }
