package oidc

// Rich authorization requests (RFC 9396). An authorization request (plain,
// a request object, or pushed) may carry authorization_details: a JSON
// array of objects of the tenant's registered types, each meeting its
// type's JSON Schema (internal/oauthclient). They are kept under the
// authorization request's id, which is also the id of the token family its
// code starts; the consent page shows them and is asked whenever a request
// carries them; once approved, the family's access tokens carry them as a
// claim, and the token response and introspection answer them.

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/gatehouse-id/gatehouse/internal/oauthclient"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

type detailsKey struct{}

func withDetails(ctx context.Context, d json.RawMessage) context.Context {
	return context.WithValue(ctx, detailsKey{}, d)
}

// detailsFrom answers the checked authorization_details of the request
// being created (nil for none).
func detailsFrom(ctx context.Context) json.RawMessage {
	d, _ := ctx.Value(detailsKey{}).(json.RawMessage)
	return d
}

// errDetails is the refusal of authorization_details (RFC 9396 section 5);
// not redirected, as the request has not been validated yet.
func errDetails(desc string) *oidc.Error {
	e := oidc.ErrInvalidRequestRedirectURI().WithDescription("%s", desc)
	e.ErrorType = "invalid_authorization_details"
	return e
}

// checkDetails validates raw for the request's tenant.
func (p *Provider) checkDetails(ctx context.Context, raw string) (json.RawMessage, error) {
	d, err := oauthclient.CheckDetails(ctx, p.store, tenantFrom(ctx).ID, raw)
	if e, ok := errors.AsType[*oauthclient.ErrInvalidDetails](err); ok {
		return nil, errDetails(e.Reason)
	}
	return d, err
}

// withAuthorizationDetails answers r carrying its checked details (raw ""
// carries none); on a refusal it has answered and reports false.
func (p *Provider) withAuthorizationDetails(w http.ResponseWriter, r *http.Request, raw string) (*http.Request, bool) {
	if raw == "" {
		return r, true
	}
	d, err := p.checkDetails(r.Context(), raw)
	if err != nil {
		op.WriteError(w, r, p.storage.hide(r.Context(), err), nil)
		return nil, false
	}
	return r.WithContext(withDetails(r.Context(), d)), true
}

// authorizeDetails serves a plain authorization request that carries
// authorization_details; it reports false for one that carries none.
func (p *Provider) authorizeDetails(w http.ResponseWriter, r *http.Request) bool {
	raw := r.Form.Get("authorization_details")
	if raw == "" {
		return false
	}
	if r2, ok := p.withAuthorizationDetails(w, r, raw); ok {
		p.handler.ServeHTTP(w, r2)
	}
	return true
}

// keepDetails stores the details of the request owner in tx, until the
// longest a token family of c may live.
func (p *Provider) keepDetails(ctx context.Context, tx store.Repos, c *client, owner string, d json.RawMessage) error {
	if len(d) == 0 {
		return nil
	}
	life := max(c.c.RefreshTokenTTL, c.accessTokenLifetime(), time.Hour)
	return tx.OAuth().AuthorizationDetails().PutDetails(ctx, &store.RequestDetails{Tenant: tenantFrom(ctx).ID,
		Owner: owner, Details: d, ExpiresAt: p.now().Add(life)})
}

// approvedDetails answers the approved details of a token family (nil for
// none, or not approved).
func (p *Provider) approvedDetails(ctx context.Context, tenant store.TenantID, family string) json.RawMessage {
	d, err := p.store.OAuth().AuthorizationDetails().GetDetails(ctx, tenant, family)
	if err != nil || !d.Approved {
		return nil
	}
	return d.Details
}

// detailsResponse is a token response with authorization_details (RFC
// 9396 section 7).
type detailsResponse struct {
	*oidc.AccessTokenResponse
	AuthorizationDetails json.RawMessage `json:"authorization_details,omitempty"`
}

// withDetailsResponse answers resp, with details when there are some.
func withDetailsResponse(resp *oidc.AccessTokenResponse, details json.RawMessage) any {
	if len(details) == 0 {
		return resp
	}
	return detailsResponse{AccessTokenResponse: resp, AuthorizationDetails: details}
}

// approvedOrPending answers the details kept under owner (a pushed
// request), approved or not; nil for none.
func (p *Provider) approvedOrPending(ctx context.Context, tenant store.TenantID, owner string) json.RawMessage {
	d, err := p.store.OAuth().AuthorizationDetails().GetDetails(ctx, tenant, owner)
	if err != nil {
		return nil
	}
	return d.Details
}

// rarDiscovery is what discovery says of RFC 9396 (section 10): the
// tenant's registered types.
type rarDiscovery struct {
	AuthorizationDetailsTypes []string `json:"authorization_details_types_supported,omitempty"`
}

func (p *Provider) rarDiscovery(ctx context.Context) rarDiscovery {
	ts, err := p.store.OAuth().AuthorizationDetails().ListDetailTypes(ctx, tenantFrom(ctx).ID)
	if err != nil {
		p.log.WarnContext(ctx, "oidc: discovery: authorization details types", "err", err)
		return rarDiscovery{}
	}
	var d rarDiscovery
	for _, t := range ts {
		d.AuthorizationDetailsTypes = append(d.AuthorizationDetailsTypes, t.Type)
	}
	return d
}
