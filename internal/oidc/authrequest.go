package oidc

import (
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// authRequest adapts a stored authorization request to op.AuthRequest.
type authRequest struct {
	r *store.AuthRequest
}

var _ op.AuthRequest = authRequest{}

func (a authRequest) GetID() string { return a.r.ID }

// GetACR: "1" is one factor, "mfa" two (see acrFor).
func (a authRequest) GetACR() string        { return acrFor(a.r.AMR) }
func (a authRequest) GetAMR() []string      { return a.r.AMR }
func (a authRequest) GetAudience() []string { return []string{a.r.ClientID} }
func (a authRequest) GetAuthTime() time.Time {
	return a.r.AuthTime
}
func (a authRequest) GetClientID() string { return a.r.ClientID }
func (a authRequest) GetCodeChallenge() *oidc.CodeChallenge {
	if a.r.CodeChallenge == "" {
		return nil
	}
	return &oidc.CodeChallenge{Challenge: a.r.CodeChallenge, Method: oidc.CodeChallengeMethod(a.r.CodeChallengeMethod)}
}
func (a authRequest) GetNonce() string                   { return a.r.Nonce }
func (a authRequest) GetRedirectURI() string             { return a.r.RedirectURI }
func (a authRequest) GetResponseType() oidc.ResponseType { return oidc.ResponseType(a.r.ResponseType) }
func (a authRequest) GetResponseMode() oidc.ResponseMode { return oidc.ResponseMode(a.r.ResponseMode) }
func (a authRequest) GetScopes() []string                { return a.r.Scopes }
func (a authRequest) GetState() string                   { return a.r.State }
func (a authRequest) GetSubject() string                 { return a.r.UserID }
func (a authRequest) Done() bool                         { return a.r.Done }

// acrFor maps the methods used to an ACR value: "mfa" when the login
// passed a second factor (amr holds "mfa"; two first factors such as
// pwd+fed, or a passkey without user verification, do not), "1" otherwise.
func acrFor(amr []string) string {
	if mfa.Satisfied(amr) {
		return "mfa"
	}
	return "1"
}
