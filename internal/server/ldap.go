package server

import (
	"context"

	"github.com/gatehouse-id/gatehouse/internal/ldap"
)

// startLDAP starts the LDAP interface when GATEHOUSE_LDAP_ENABLED is true
// and answers how to stop it (a no-op when it is off).
func (a *App) startLDAP() (stop func(ctx context.Context) error, err error) {
	if !a.Config.LDAP.Enabled {
		return func(context.Context) error { return nil }, nil
	}
	srv, err := ldap.New(a.Config.LDAP, ldap.Deps{
		Store: a.DB, Directory: a.Directory, Tenants: a.Tenants, Audit: a.Audit, Log: a.Log, Now: a.now,
		Flow: a.Flow,
	})
	if err != nil {
		return nil, err
	}
	if err := srv.Start(); err != nil {
		return nil, err
	}
	return srv.Stop, nil
}
