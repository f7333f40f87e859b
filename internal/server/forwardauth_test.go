package server

import (
	"context"

	"github.com/gatehouse-id/gatehouse/internal/proxyapp"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// proxyApp registers an application behind a reverse proxy on domain,
// open to members of the named groups (everyone when none).
func (ta *testApp) proxyApp(tenant store.TenantID, domain string, groups ...string) *store.ProxyApp {
	ta.t.Helper()
	a, err := ta.ProxyApps.Create(context.Background(), testActor, tenant, proxyapp.NewApp{
		Name: "App " + domain, Domains: []string{domain}, AllowedGroups: groups})
	if err != nil {
		ta.t.Fatalf("Create proxy app(%s): %v", domain, err)
	}
	return a
}
