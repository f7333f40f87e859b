package server

import (
	"fmt"
	"net/http"
	"path/filepath"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/oidc"
	"github.com/gatehouse-id/gatehouse/internal/web"
)

// mountLogin wires the OpenID provider, the login flow and the hosted
// pages onto mux.
func (a *App) mountLogin(mux *http.ServeMux) error {
	now := time.Now
	sessions := a.Sessions
	fl := &flow.Service{Store: a.DB, Directory: a.Directory, Sessions: sessions, Log: a.Log, Now: now}
	fl.MFA = a.MFA                       // the second-factor step (internal/mfa)
	a.MFA.PublicURL = a.Config.PublicURL // passkeys: Serve may have learnt the bound port
	pages := &web.Pages{
		Tenants: a.Tenants, Sessions: sessions, Store: a.DB, Log: a.Log, PublicURL: a.Config.PublicURL, Flow: fl,
		SelfService: a.SelfService,
	}
	pages.MFA = a.MFA
	prov, err := oidc.New(oidc.Config{
		Store: a.DB, Tenants: a.Tenants, Sessions: sessions, Flow: fl, Keys: a.Keys, Log: a.Log,
		PublicURL: a.Config.PublicURL, MasterKey: a.masterKey, Now: now, SessionCookie: pages.SessionCookie,
	})
	if err != nil {
		return fmt.Errorf("oidc: %w", err)
	}
	pages.Protocol = prov
	pages.Account = &account.Service{Store: a.DB, Directory: a.Directory, Sessions: sessions, Flow: fl, Audit: a.Audit,
		Mailer: a.accountMailer(), PublicURL: a.Config.PublicURL, Now: now}
	sessions.OnEnd = prov.BackchannelLogout
	pages.Mount(mux)
	prov.Mount(mux)
	return nil
}

// accountMailer sends the account page's mails: files under
// {data_dir}/mail until internal/mail's queue is wired in its place.
func (a *App) accountMailer() account.Mailer {
	return &account.DirMailer{Dir: filepath.Join(a.Config.DataDir, "mail"), PublicURL: a.Config.PublicURL, Log: a.Log}
}
