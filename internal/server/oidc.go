package server

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/oidc"
	"github.com/gatehouse-id/gatehouse/internal/saml"
	"github.com/gatehouse-id/gatehouse/internal/selfservice"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/web"
)

// mountLogin wires the OpenID provider, the login flow and the hosted
// pages onto mux.
func (a *App) mountLogin(mux *http.ServeMux) error {
	now := time.Now
	sessions := a.Sessions
	fl := a.Flow
	a.MFA.PublicURL = a.Config.PublicURL // passkeys: Serve may have learnt the bound port
	pages := &web.Pages{
		Tenants: a.Tenants, Sessions: sessions, Store: a.DB, Log: a.Log, PublicURL: a.Config.PublicURL, Flow: fl,
		SelfService: a.SelfService,
		SAMLApps:    a.SAMLSPs, Authz: a.Authz, // the account page's app launcher and roles
		Announcer: a.Announcer,
	}
	pages.MFA = a.MFA
	prov, err := oidc.New(oidc.Config{
		Store: a.DB, Tenants: a.Tenants, Sessions: sessions, Flow: fl, Keys: a.Keys, Log: a.Log,
		PublicURL: a.Config.PublicURL, MasterKey: a.masterKey, Now: now, SessionCookie: pages.SessionCookie,
		Authz: a.Authz,
	})
	if err != nil {
		return fmt.Errorf("oidc: %w", err)
	}
	idp := saml.New(saml.Config{
		Store: a.DB, Tenants: a.Tenants, Sessions: sessions, Flow: fl, Keys: a.Keys, Log: a.Log,
		PublicURL: a.Config.PublicURL, MasterKey: a.masterKey, Now: now, SessionCookie: pages.SessionCookie,
		Roles: func(ctx context.Context, tenant store.TenantID, userID string) ([]string, error) {
			// No amr here: privileged roles that require MFA stay out.
			roles, _, _, err := a.Authz.Attributes(ctx, tenant, userID, "", nil)
			return roles, err
		},
	})
	// The origin handlers: each hands its own finished logins back.
	pages.Origins = web.Origins{flow.OriginOIDC: prov, flow.OriginSAML: idp, flow.OriginDevice: web.DeviceOrigin{}}
	pages.Device = prov
	pages.Social = a.socialPages(fl) // social.go
	pages.Account = &account.Service{Store: a.DB, Directory: a.Directory, Sessions: sessions, Flow: fl, Audit: a.Audit,
		Mailer: a.accountMailer(), PublicURL: a.Config.PublicURL, Now: now}
	sessions.OnEnd = prov.BackchannelLogout
	// Every login of a break-glass account raises its alert (authz).
	sessions.OnCreate = func(ctx context.Context, s *store.Session) {
		_ = a.Authz.NoteUse(ctx, s.Tenant, s.UserID, "login", "")
	}
	pages.Mount(mux)
	prov.Mount(mux)
	idp.Mount(mux)
	return nil
}

// accountMailer sends the account page's mails through self-service's mail
// path: rendered per tenant and language, queued sealed in the database
// and delivered by the mail worker (SMTP, or .eml files without it).
// (wireSelfService runs before mountLogin, so a.SelfService is set.)
func (a *App) accountMailer() account.Mailer {
	return a.SelfService
}

var _ account.Mailer = (*selfservice.Service)(nil)
