package server

import (
	"fmt"
	"net/http"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/oidc"
	"github.com/gatehouse-id/gatehouse/internal/saml"
	"github.com/gatehouse-id/gatehouse/internal/web"
)

// mountLogin wires the OpenID provider, the login flow and the hosted
// pages onto mux.
func (a *App) mountLogin(mux *http.ServeMux) error {
	now := time.Now
	sessions := a.Sessions
	fl := &flow.Service{Store: a.DB, Directory: a.Directory, Sessions: sessions, Log: a.Log, Now: now}
	pages := &web.Pages{
		Tenants: a.Tenants, Sessions: sessions, Store: a.DB, Log: a.Log, PublicURL: a.Config.PublicURL, Flow: fl,
	}
	prov, err := oidc.New(oidc.Config{
		Store: a.DB, Tenants: a.Tenants, Sessions: sessions, Flow: fl, Keys: a.Keys, Log: a.Log,
		PublicURL: a.Config.PublicURL, MasterKey: a.masterKey, Now: now, SessionCookie: pages.SessionCookie,
	})
	if err != nil {
		return fmt.Errorf("oidc: %w", err)
	}
	idp := saml.New(saml.Config{
		Store: a.DB, Tenants: a.Tenants, Sessions: sessions, Flow: fl, Keys: a.Keys, Log: a.Log,
		PublicURL: a.Config.PublicURL, MasterKey: a.masterKey, Now: now, SessionCookie: pages.SessionCookie,
	})
	pages.Protocol = protocols{Provider: prov, saml: idp}
	sessions.OnEnd = prov.BackchannelLogout
	pages.Mount(mux)
	prov.Mount(mux)
	idp.Mount(mux)
	return nil
}
