package broker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-id/gatehouse/internal/connection"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// ErrUntrustedJWT answers a JWT that no enabled OpenID Connect connection
// of the tenant issued, that does not verify, or whose subject nobody
// linked.
var ErrUntrustedJWT = errors.New("broker: JWT not from a trusted upstream issuer")

// VerifyUpstreamJWT checks a JWT presented as a token exchange subject or
// actor token (RFC 8693 subject_token_type jwt) against the tenant's
// upstream connections: its iss must be the issuer of an enabled OpenID
// Connect connection, its signature must verify with that issuer's JWKS
// (fetched through discovery, cached, over the safe dialer), its aud must
// name the connection's client id, and it must not have expired. It
// answers the user who linked the token's sub through that connection.
func (b *Broker) VerifyUpstreamJWT(ctx context.Context, tenant store.TenantID, raw string) (userID string, err error) {
	iss, err := unverifiedIssuer(raw)
	if err != nil {
		return "", ErrUntrustedJWT
	}
	var after string
	for range 20 { // 2,000 connections at most are looked through
		page, err := b.Store.Connections().Connections().ListConnections(ctx, tenant, store.Page{After: after, Limit: 100})
		if err != nil {
			return "", err
		}
		for i := range page {
			conn := &page[i]
			if !conn.Enabled || connection.ProtocolOf(conn.Type) != connection.ProtoOIDC {
				continue
			}
			st, err := connection.Parse(conn.Config)
			if err != nil {
				continue
			}
			st = connection.Effective(conn.Type, st)
			if st.Issuer == "" || st.Issuer != iss || upstreamIssuerTemplate(conn.Type, st.Issuer) != "" {
				continue
			}
			return b.verifyUpstream(ctx, tenant, conn, st, raw)
		}
		if len(page) < 100 {
			break
		}
		after = page[len(page)-1].ID
	}
	return "", ErrUntrustedJWT
}

func (b *Broker) verifyUpstream(ctx context.Context, tenant store.TenantID, conn *store.Connection, st connection.Settings, raw string) (string, error) {
	prov, err := b.provider(ctx, st.Issuer, "")
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrUntrustedJWT, err)
	}
	v := prov.Verifier(&oidc.Config{ClientID: st.ClientID, Now: b.now})
	tok, err := v.Verify(b.clientCtx(ctx), raw)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrUntrustedJWT, err)
	}
	id, err := b.Store.Connections().Identities().GetIdentityBySubject(ctx, tenant, conn.ID, tok.Subject)
	if errors.Is(err, store.ErrNotFound) {
		return "", ErrUntrustedJWT
	}
	if err != nil {
		return "", err
	}
	return id.UserID, nil
}

// unverifiedIssuer reads iss from a compact JWS without verifying it (to
// choose the connection whose keys then verify it).
func unverifiedIssuer(raw string) (string, error) {
	if len(raw) > 16<<10 || strings.Count(raw, ".") != 2 {
		return "", ErrUntrustedJWT
	}
	jws, err := jose.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512, jose.PS256,
		jose.ES256, jose.ES384, jose.EdDSA})
	if err != nil {
		return "", err
	}
	var c struct {
		Iss string `json:"iss"`
	}
	if err := json.Unmarshal(jws.UnsafePayloadWithoutVerification(), &c); err != nil || c.Iss == "" {
		return "", ErrUntrustedJWT
	}
	return c.Iss, nil
}
