package server

import "github.com/gatehouse-id/gatehouse/internal/configcode"

// ConfigCode answers the services configuration as code reads and
// applies through: the same ones the API uses.
func (a *App) ConfigCode() *configcode.Services {
	return &configcode.Services{Store: a.DB, Tenants: a.Tenants, Clients: a.Clients, SAMLSPs: a.SAMLSPs,
		Connections: a.Connections, Authz: a.Authz, Directory: a.Directory}
}
