package broker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/gatehouse-id/gatehouse/internal/connection"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"golang.org/x/oauth2"
)

// oauthConfig builds the OAuth 2.0 client of conn: endpoints from the
// settings, for OpenID Connect from discovery unless overridden.
func (b *Broker) oauthConfig(ctx context.Context, t *store.Tenant, conn *store.Connection, st connection.Settings) (*oauth2.Config, error) {
	secret, err := b.Connections.Secret(conn)
	if err != nil {
		return nil, &Error{Reason: ReasonConfig, Err: err}
	}
	cfg := &oauth2.Config{ClientID: st.ClientID, ClientSecret: secret, Scopes: st.Scopes,
		RedirectURL: b.CallbackURL(t, conn.Name),
		Endpoint:    oauth2.Endpoint{AuthURL: st.AuthorizationEndpoint, TokenURL: st.TokenEndpoint}}
	if connection.ProtocolOf(conn.Type) == connection.ProtoOIDC {
		p, err := b.provider(ctx, st.Issuer, upstreamIssuerTemplate(conn.Type, st.Issuer))
		if err != nil {
			return nil, err
		}
		ep := p.Endpoint()
		if cfg.Endpoint.AuthURL == "" {
			cfg.Endpoint.AuthURL = ep.AuthURL
		}
		if cfg.Endpoint.TokenURL == "" {
			cfg.Endpoint.TokenURL = ep.TokenURL
		}
	}
	switch conn.Type {
	case connection.TypeApple:
		// Apple takes the client credentials in the body, the secret being
		// a short-lived ES256 JWT (apple.go).
		cfg.Endpoint.AuthStyle = oauth2.AuthStyleInParams
		if cfg.ClientSecret, err = appleSecret(secret, st, b.now()); err != nil {
			return nil, &Error{Reason: ReasonConfig, Err: err}
		}
	case connection.TypeGitHub, connection.TypeFacebook:
		cfg.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	}
	return cfg, nil
}

func authCodeURL(cfg *oauth2.Config, st connection.Settings, conn *store.Connection, state string, p Pending) string {
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(p.Verifier)}
	if connection.ProtocolOf(conn.Type) == connection.ProtoOIDC {
		opts = append(opts, oauth2.SetAuthURLParam("nonce", p.Nonce))
	}
	if st.ResponseMode != "" {
		opts = append(opts, oauth2.SetAuthURLParam("response_mode", st.ResponseMode))
	}
	return cfg.AuthCodeURL(state, opts...)
}

// exchange redeems the code and answers the mapped profile.
func (b *Broker) exchange(ctx context.Context, t *store.Tenant, conn *store.Connection, st connection.Settings, p Pending, code string, form map[string][]string) (*Result, error) {
	cfg, err := b.oauthConfig(ctx, t, conn, st)
	if err != nil {
		return nil, err
	}
	cctx := b.clientCtx(ctx)
	tok, err := cfg.Exchange(cctx, code, oauth2.VerifierOption(p.Verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			return nil, &Error{Reason: ReasonUpstream, Err: fmt.Errorf("token endpoint: %d %s", re.Response.StatusCode, re.ErrorCode)}
		}
		return nil, &Error{Reason: ReasonUnreachable, Err: err}
	}
	res := &Result{}
	switch connection.ProtocolOf(conn.Type) {
	case connection.ProtoOIDC:
		if res.Profile, err = b.verifyIDToken(ctx, conn, st, p, tok); err != nil {
			return nil, err
		}
		if conn.Type == connection.TypeApple {
			appleFirstName(&res.Profile, form)
		}
	case connection.ProtoOAuth2:
		if res.Profile, err = b.oauthProfile(cctx, st, tok); err != nil {
			return nil, err
		}
	default:
		return nil, &Error{Reason: ReasonConfig, Err: errors.New("not an OAuth connection")}
	}
	if st.StoreTokens {
		out := map[string]any{"access_token": tok.AccessToken, "token_type": tok.TokenType,
			"refresh_token": tok.RefreshToken, "expiry": tok.Expiry}
		if idt, ok := tok.Extra("id_token").(string); ok {
			out["id_token"] = idt
		}
		if res.Tokens, err = json.Marshal(out); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// verifyIDToken checks the ID token fully: signature through the
// upstream's JWKS, issuer, audience (our client id), expiry, and the nonce
// of this login (a token minted for another login is refused).
func (b *Broker) verifyIDToken(ctx context.Context, conn *store.Connection, st connection.Settings, p Pending, tok *oauth2.Token) (Profile, error) {
	raw, ok := tok.Extra("id_token").(string)
	if !ok || raw == "" {
		return Profile{}, &Error{Reason: ReasonToken, Err: errors.New("token response without id_token")}
	}
	tmpl := upstreamIssuerTemplate(conn.Type, st.Issuer)
	prov, err := b.provider(ctx, st.Issuer, tmpl)
	if err != nil {
		return Profile{}, err
	}
	v := prov.Verifier(&oidc.Config{ClientID: st.ClientID, SkipIssuerCheck: tmpl != "", Now: b.now})
	idt, err := v.Verify(b.clientCtx(ctx), raw)
	if err != nil {
		return Profile{}, &Error{Reason: ReasonToken, Err: err}
	}
	if !equal(idt.Nonce, p.Nonce) {
		return Profile{}, &Error{Reason: ReasonNonce, Err: errors.New("ID token nonce is not this login's")}
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return Profile{}, &Error{Reason: ReasonToken, Err: err}
	}
	if tmpl != "" {
		tid, _ := claims["tid"].(string)
		if tid == "" || idt.Issuer != strings.Replace(tmpl, "{tenantid}", tid, 1) {
			return Profile{}, &Error{Reason: ReasonToken, Err: fmt.Errorf("issuer %q does not match the tid", idt.Issuer)}
		}
	}
	if idt.Expiry.Before(b.now().Add(-time.Minute)) {
		return Profile{}, &Error{Reason: ReasonToken, Err: errors.New("expired")}
	}
	if needsUserinfo(claims, st.Mapping) {
		if err := b.mergeUserinfo(ctx, prov, st, tok, idt.Subject, claims); err != nil {
			return Profile{}, err
		}
	}
	prof := mapProfile(claims, st.Mapping, oidcClaims)
	if prof.Subject == "" || prof.Subject != idt.Subject && st.Mapping["subject"] == "" {
		return Profile{}, &Error{Reason: ReasonProfile, Err: errors.New("no subject")}
	}
	return prof, nil
}
