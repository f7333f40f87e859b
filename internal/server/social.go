package server

import (
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/broker"
	"github.com/gatehouse-id/gatehouse/internal/connection"
	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/web"
)

// wireSocial builds identity brokering (issue 9): the connections service
// and the broker. Upstream URLs must be https; http:// is accepted only for
// loopback hosts, and only while the deployment's own public URL is http://
// (development and tests).
func (a *App) wireSocial() {
	a.Connections = &connection.Service{Store: a.DB, Audit: a.Audit, Sealer: a.sealer, Now: a.Sessions.Now,
		Policy: connection.URLPolicy{AllowLoopbackHTTP: strings.HasPrefix(a.Config.PublicURL, "http://")}}
	a.Broker = &broker.Broker{Connections: a.Connections, Store: a.DB, Audit: a.Audit, Log: a.Log,
		PublicURL: a.Config.PublicURL, Now: a.Sessions.Now}
}

// socialPages wires social login into the hosted pages.
func (a *App) socialPages(fl *flow.Service) *web.Social {
	a.Broker.PublicURL = a.Config.PublicURL // Serve may have learnt the bound port
	return &web.Social{Broker: a.Broker, Connections: a.Connections,
		Flow: &flow.Social{Flow: fl, Connections: a.Connections, Audit: a.Audit}}
}
