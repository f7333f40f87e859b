package clientsnippet

import (
	"encoding/json"
	"go/format"
	"strconv"
	"strings"
)

// gofmt formats a Go snippet the way gofmt would (alignment changes with
// the fields present); source that does not format is left as it is, and
// the tests require that none such is written.
func gofmt(src string) string {
	b, err := format.Source([]byte(src))
	if err != nil {
		return src
	}
	return string(b)
}

// goq quotes s as a Go string literal.
func goq(s string) string { return strconv.Quote(s) }

// jsq quotes s as a JavaScript (and JSON, and YAML double-quoted) string:
// encoding/json escapes quotes, control characters, <, >, & and the line
// separators JavaScript would otherwise end a line at.
func jsq(s string) string {
	b, _ := json.Marshal(s) // a string always encodes
	return string(b)
}

// shq quotes s for a POSIX shell: single quotes, with each ' closed,
// escaped and reopened.
func shq(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func goScopes(scopes []string) string {
	q := make([]string, len(scopes))
	for i, s := range scopes {
		q[i] = goq(s)
	}
	return "[]string{" + strings.Join(q, ", ") + "}"
}

// callbackPath is the path of a redirect URI, for the handler the Go
// snippet registers ("/callback" when it cannot be parsed).
func callbackPath(redirect string) string {
	rest := redirect
	if i := strings.Index(rest, "://"); i >= 0 {
		rest = rest[i+3:]
	}
	if i := strings.IndexAny(rest, "?#"); i >= 0 {
		rest = rest[:i]
	}
	if i := strings.Index(rest, "/"); i >= 0 && len(rest) > i+1 {
		return rest[i:]
	}
	return "/callback"
}

// goWeb is a complete program: /login starts the code flow with PKCE and
// state in cookies, the callback checks state, exchanges the code and
// verifies the ID token. native leaves the secret out.
func goWeb(p Params, native bool) Snippet {
	secret := "\n\t\tClientSecret: os.Getenv(" + goq(SecretEnv) + "),"
	osImport := "\t\"os\"\n"
	if native {
		secret, osImport = "", ""
	}
	code := `package main

import (
	"context"
	"log"
	"net/http"
` + osImport + `
	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

func main() {
	ctx := context.Background()
	provider, err := oidc.NewProvider(ctx, ` + goq(p.Issuer) + `)
	if err != nil {
		log.Fatal(err)
	}
	conf := &oauth2.Config{
		ClientID:     ` + goq(p.ClientID) + `,` + secret + `
		RedirectURL:  ` + goq(p.RedirectURI) + `,
		Endpoint:     provider.Endpoint(),
		Scopes:       ` + goScopes(p.Scopes) + `,
	}
	verifier := provider.Verifier(&oidc.Config{ClientID: conf.ClientID})

	http.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		state, pkce := oauth2.GenerateVerifier(), oauth2.GenerateVerifier()
		http.SetCookie(w, &http.Cookie{Name: "state", Value: state, HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteLaxMode})
		http.SetCookie(w, &http.Cookie{Name: "pkce", Value: pkce, HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteLaxMode})
		http.Redirect(w, r, conf.AuthCodeURL(state, oauth2.S256ChallengeOption(pkce)), http.StatusFound)
	})
	http.HandleFunc(` + goq(callbackPath(p.RedirectURI)) + `, func(w http.ResponseWriter, r *http.Request) {
		state, err1 := r.Cookie("state")
		pkce, err2 := r.Cookie("pkce")
		if err1 != nil || err2 != nil || r.URL.Query().Get("state") != state.Value {
			http.Error(w, "bad state", http.StatusBadRequest)
			return
		}
		tok, err := conf.Exchange(r.Context(), r.URL.Query().Get("code"), oauth2.VerifierOption(pkce.Value))
		if err != nil {
			http.Error(w, "sign-in failed", http.StatusBadGateway)
			return
		}
		raw, _ := tok.Extra("id_token").(string)
		idToken, err := verifier.Verify(r.Context(), raw)
		if err != nil {
			http.Error(w, "bad ID token", http.StatusBadGateway)
			return
		}
		var claims struct {
			Email string ` + "`json:\"email\"`" + `
		}
		_ = idToken.Claims(&claims)
		w.Write([]byte("Signed in as " + claims.Email))
	})
	log.Fatal(http.ListenAndServe("127.0.0.1:8000", nil))
}
`
	label := "Go: golang.org/x/oauth2 + coreos/go-oidc"
	if native {
		label += " (PKCE, no secret)"
	}
	return Snippet{ID: "go", Label: label, Language: "go", Code: gofmt(code)}
}

func goM2M(p Params) Snippet {
	return Snippet{ID: "go", Label: "Go: golang.org/x/oauth2/clientcredentials", Language: "go", Code: `package main

import (
	"context"
	"log"
	"os"

	"golang.org/x/oauth2/clientcredentials"
)

func main() {
	conf := &clientcredentials.Config{
		ClientID:     ` + goq(p.ClientID) + `,
		ClientSecret: os.Getenv(` + goq(SecretEnv) + `),
		TokenURL:     ` + goq(p.TokenEndpoint) + `,
		Scopes:       ` + goScopes(p.Scopes) + `,
	}
	// The client adds a bearer token to each request, fetching a new
	// one when it expires.
	client := conf.Client(context.Background())
	res, err := client.Get("https://api.example.com/")
	if err != nil {
		log.Fatal(err)
	}
	defer res.Body.Close()
	log.Println(res.Status)
}
`}
}

func goDevice(p Params) Snippet {
	return Snippet{ID: "go", Label: "Go: golang.org/x/oauth2 (device authorization)", Language: "go", Code: `package main

import (
	"context"
	"fmt"
	"log"

	"golang.org/x/oauth2"
)

func main() {
	ctx := context.Background()
	conf := &oauth2.Config{
		ClientID: ` + goq(p.ClientID) + `,
		Endpoint: oauth2.Endpoint{
			DeviceAuthURL: ` + goq(p.DeviceAuthEndpoint) + `,
			TokenURL:      ` + goq(p.TokenEndpoint) + `,
			AuthStyle:     oauth2.AuthStyleInParams,
		},
		Scopes: ` + goScopes(p.Scopes) + `,
	}
	da, err := conf.DeviceAuth(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("Open %s and enter %s\n", da.VerificationURI, da.UserCode)
	tok, err := conf.DeviceAccessToken(ctx, da)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("signed in; token expires", tok.Expiry)
}
`}
}

func nodeWeb(p Params, _ bool) Snippet {
	return Snippet{ID: "node", Label: "Node.js: openid-client 6", Language: "javascript", Code: `import * as client from "openid-client";

const config = await client.discovery(
  new URL(` + jsq(p.Issuer) + `),
  ` + jsq(p.ClientID) + `,
  process.env.` + SecretEnv + `,
);
const redirectUri = ` + jsq(p.RedirectURI) + `;

// Sign-in: keep codeVerifier and state in the user's session.
const codeVerifier = client.randomPKCECodeVerifier();
const state = client.randomState();
const authUrl = client.buildAuthorizationUrl(config, {
  redirect_uri: redirectUri,
  scope: ` + jsq(scopeList(p.Scopes)) + `,
  code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
  code_challenge_method: "S256",
  state,
});
// Redirect the browser to authUrl.href.

// Callback: currentUrl is the URL the browser came back to.
const tokens = await client.authorizationCodeGrant(config, currentUrl, {
  pkceCodeVerifier: codeVerifier,
  expectedState: state,
});
console.log(tokens.claims());
`}
}

func nodeM2M(p Params) Snippet {
	return Snippet{ID: "node", Label: "Node.js: openid-client 6", Language: "javascript", Code: `import * as client from "openid-client";

const config = await client.discovery(
  new URL(` + jsq(p.Issuer) + `),
  ` + jsq(p.ClientID) + `,
  process.env.` + SecretEnv + `,
);
const tokens = await client.clientCredentialsGrant(config, {
  scope: ` + jsq(scopeList(p.Scopes)) + `,
});
console.log(tokens.access_token);
`}
}

func springWeb(p Params) Snippet {
	return Snippet{ID: "spring", Label: "Spring Boot: application.yml (spring-boot-starter-oauth2-client)", Language: "yaml", Code: `spring:
  security:
    oauth2:
      client:
        registration:
          gatehouse:
            client-id: ` + jsq(p.ClientID) + `
            client-secret: "${` + SecretEnv + `}"
            authorization-grant-type: authorization_code
            redirect-uri: ` + jsq(p.RedirectURI) + `
            scope: ` + jsq(strings.Join(p.Scopes, ",")) + `
        provider:
          gatehouse:
            issuer-uri: ` + jsq(p.Issuer) + `
`}
}

func springM2M(p Params) Snippet {
	return Snippet{ID: "spring", Label: "Spring Boot: application.yml (spring-boot-starter-oauth2-client)", Language: "yaml", Code: `spring:
  security:
    oauth2:
      client:
        registration:
          gatehouse:
            client-id: ` + jsq(p.ClientID) + `
            client-secret: "${` + SecretEnv + `}"
            authorization-grant-type: client_credentials
            scope: ` + jsq(strings.Join(p.Scopes, ",")) + `
        provider:
          gatehouse:
            issuer-uri: ` + jsq(p.Issuer) + `
`}
}

func oidcClientTS(p Params) Snippet {
	return Snippet{ID: "oidc-client-ts", Label: "Browser: oidc-client-ts (code flow with PKCE)", Language: "javascript", Code: `import { UserManager } from "oidc-client-ts";

const userManager = new UserManager({
  authority: ` + jsq(p.Issuer) + `,
  client_id: ` + jsq(p.ClientID) + `,
  redirect_uri: ` + jsq(p.RedirectURI) + `,
  response_type: "code",
  scope: ` + jsq(scopeList(p.Scopes)) + `,
});

// Sign in:
await userManager.signinRedirect();
// On the page at redirect_uri:
const user = await userManager.signinRedirectCallback();
console.log(user.profile);
`}
}

func appAuth(p Params) Snippet {
	cfg := map[string]any{
		"issuer":                p.Issuer,
		"client_id":             p.ClientID,
		"redirect_uri":          p.RedirectURI,
		"scope":                 scopeList(p.Scopes),
		"code_challenge_method": "S256",
	}
	b, _ := json.MarshalIndent(cfg, "", "  ") // strings only: always encodes
	return Snippet{ID: "appauth", Label: "AppAuth (iOS, Android) settings", Language: "json", Code: string(b) + "\n"}
}

func curlM2M(p Params) Snippet {
	return Snippet{ID: "curl", Label: "curl", Language: "shell", Code: `curl -s ` + shq(p.TokenEndpoint) + ` \
  -u ` + shq(p.ClientID+":") + `"$` + SecretEnv + `" \
  -d grant_type=client_credentials \
  --data-urlencode scope=` + shq(scopeList(p.Scopes)) + `
`}
}

func curlDevice(p Params) Snippet {
	return Snippet{ID: "curl", Label: "curl", Language: "shell", Code: `# 1. Ask for a device code; show the user verification_uri and user_code.
curl -s ` + shq(p.DeviceAuthEndpoint) + ` \
  --data-urlencode client_id=` + shq(p.ClientID) + ` \
  --data-urlencode scope=` + shq(scopeList(p.Scopes)) + `
# 2. Poll every "interval" seconds until the user has approved.
curl -s ` + shq(p.TokenEndpoint) + ` \
  -d grant_type=urn:ietf:params:oauth:grant-type:device_code \
  --data-urlencode client_id=` + shq(p.ClientID) + ` \
  --data-urlencode device_code="$DEVICE_CODE"
`}
}
