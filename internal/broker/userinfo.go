package broker

import (
	"context"
	"errors"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/gatehouse-id/gatehouse/internal/connection"
	"golang.org/x/oauth2"
)

// oidcClaims are the claims an OpenID Connect profile is read from unless
// the connection maps a field elsewhere.
var oidcClaims = map[string]string{"subject": "sub", "email": "email",
	"email_verified": "email_verified", "name": "name", "given_name": "given_name", "family_name": "family_name"}

// needsUserinfo reports whether the ID token lacks a claim the profile
// needs: the email (what a first login creates the account with), or any
// field the connection's mapping names. Providers may put claims asked
// for by scope only in userinfo (OpenID Connect Core 5.4), as node
// oidc-provider does by default and Okta's thin ID tokens do.
func needsUserinfo(claims map[string]any, mapping map[string]string) bool {
	for k, def := range oidcClaims {
		if k == "subject" {
			continue
		}
		path := mapping[k]
		if path == "" && k != "email" {
			continue
		}
		if path == "" {
			path = def
		}
		if lookup(claims, path) == nil {
			return true
		}
	}
	return false
}

// mergeUserinfo adds to claims what the upstream's userinfo endpoint (the
// connection's userinfo_endpoint, else the discovered one) answers and
// the ID token lacks; the signed ID token's own claims win. The answer's
// sub must be the ID token's (OpenID Connect Core 5.3.2), else the login
// fails: a profile of another account must never name this one. An
// upstream without a userinfo endpoint, or one that does not answer,
// leaves the claims as they are (a returning user needs none of them).
func (b *Broker) mergeUserinfo(ctx context.Context, prov *oidc.Provider, st connection.Settings, tok *oauth2.Token, subject string, claims map[string]any) error {
	endpoint := st.UserinfoEndpoint
	if endpoint == "" {
		endpoint = prov.UserInfoEndpoint()
	}
	if endpoint == "" {
		return nil
	}
	if msg := b.Connections.Policy.Check(endpoint); msg != "" {
		return &Error{Reason: ReasonConfig, Err: errors.New("userinfo endpoint refused: " + msg)}
	}
	var doc map[string]any
	if err := getJSON(ctx, b.httpClient(), endpoint, tok, &doc); err != nil {
		b.Log.WarnContext(ctx, "broker: userinfo unavailable, using the ID token's claims", "err", err)
		return nil
	}
	sub, _ := doc["sub"].(string)
	if sub == "" || !equal(sub, subject) {
		return &Error{Reason: ReasonUserinfoSubject, Err: errors.New("userinfo sub is not the ID token's")}
	}
	for k, v := range doc {
		if _, ok := claims[k]; !ok {
			claims[k] = v
		}
	}
	return nil
}
