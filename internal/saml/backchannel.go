package saml

import (
	"context"
	"net/http"
	"time"

	crewjam "github.com/crewjam/saml"

	"github.com/gatehouse-id/gatehouse/internal/safehttp"
	"github.com/gatehouse-id/gatehouse/internal/samlreg"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Back-channel single logout: a session ended without a browser at hand
// (by an administrator, by the user on the account page, by a credential
// change, or by OpenID Connect logout) is told to the service providers
// that took part in it and registered a SOAP SingleLogoutService: a
// signed LogoutRequest each, server to server, by crewjam. Providers with
// only browser bindings are reached when a browser is there: SAML's own
// logout, and OIDC RP-initiated logout (chain.go).

// soapTimeout bounds one back-channel LogoutRequest.
const soapTimeout = 3 * time.Second

// soapClients follow no redirects and dial through the outbound policy:
// [0] refuses loopback, [1] allows it (an http public URL: development
// and tests).
var soapClients = [2]*http.Client{newSOAPClient(false), newSOAPClient(true)}

func newSOAPClient(loopback bool) *http.Client {
	c := safehttp.Policy{AllowLoopback: loopback}.Client(soapTimeout)
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return c
}

func (p *IdP) soapClient() *http.Client {
	if httpsURL(p.cfg.PublicURL) {
		return soapClients[0]
	}
	return soapClients[1]
}

type (
	samlLogoutKey struct{}
	onlySPKey     struct{}
)

// withinSAMLLogout marks a session ended by SAML's own logout, which
// tells the providers itself.
func withinSAMLLogout(ctx context.Context) context.Context {
	return context.WithValue(ctx, samlLogoutKey{}, true)
}

// keepParticipant says whether a provider of the session being logged out
// is one to tell now: in a back-channel run only the one it is for; in an
// OIDC logout chain those without SOAP (told at the session's end).
func keepParticipant(ctx context.Context, sp *store.SAMLServiceProvider) bool {
	if only, ok := ctx.Value(onlySPKey{}).(string); ok {
		return sp.ID == only
	}
	if chainSession(ctx) != "" {
		return sp.SLOBinding != samlreg.BindingSOAP
	}
	return true
}

// BackchannelLogout sends the ended session's SOAP providers a
// LogoutRequest each (the session's OnEnd hook). Failures are logged by
// crewjam: the session has ended whatever the providers answer.
func (p *IdP) BackchannelLogout(ctx context.Context, sess *store.Session) {
	if ctx.Value(samlLogoutKey{}) != nil {
		return
	}
	ctx = context.WithoutCancel(ctx)
	rows, err := p.cfg.Store.SAML().Participants().ListParticipants(ctx, sess.Tenant, sess.ID)
	if err != nil || len(rows) == 0 {
		return
	}
	t, err := p.cfg.Store.Tenants().GetTenant(ctx, sess.Tenant)
	if err != nil {
		return
	}
	done := map[string]bool{}
	for _, row := range rows {
		sp, err := p.cfg.Store.SAML().ServiceProviders().GetSP(ctx, t.ID, row.SPID)
		if err != nil || sp.SLOBinding != samlreg.BindingSOAP || done[sp.ID] {
			continue
		}
		done[sp.ID] = true
		one := context.WithValue(context.WithValue(ctx, chainKey{}, sess.ID), onlySPKey{}, sp.ID)
		idp, err := p.provider(one, t)
		if err != nil {
			p.cfg.Log.ErrorContext(ctx, "saml: back-channel logout", "err", err)
			return
		}
		r, err := http.NewRequestWithContext(one, http.MethodGet, p.base(one, t)+"/slo", nil)
		if err != nil {
			return
		}
		// No browser: what crewjam would send one (the end of the logout)
		// goes nowhere.
		idp.StartLogout(discard{h: http.Header{}}, r, &crewjam.Session{ID: sess.ID}, p.base(one, t))
	}
}

// discard is a ResponseWriter that keeps nothing.
type discard struct{ h http.Header }

func (d discard) Header() http.Header         { return d.h }
func (d discard) Write(b []byte) (int, error) { return len(b), nil }
func (d discard) WriteHeader(int)             {}
