package server

import (
	"net/http"

	"github.com/gatehouse-id/gatehouse/internal/oidc"
	"github.com/gatehouse-id/gatehouse/internal/saml"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/web"
)

// protocols hands a finished (or refused) login flow back to the front end
// that started it: SAML's flow requests carry saml.RequestPrefix, every
// other request is the OpenID provider's.
// Embedding the OpenID provider keeps its device-page methods
// (web.DeviceProtocol).
type protocols struct {
	*oidc.Provider
	saml *saml.IdP
}

var _ web.DeviceProtocol = protocols{}

func (p protocols) CallbackURL(t *store.Tenant, requestID string) string {
	if saml.IsRequest(requestID) {
		return p.saml.CallbackURL(t, requestID)
	}
	return p.Provider.CallbackURL(t, requestID)
}

func (p protocols) Deny(w http.ResponseWriter, r *http.Request, t *store.Tenant, ar *store.AuthRequest, code, description string) {
	if saml.IsRequest(ar.ID) {
		p.saml.Deny(w, r, t, ar, code, description)
		return
	}
	p.Provider.Deny(w, r, t, ar, code, description)
}
