package server

import (
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/connection"
	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/provision"
	"github.com/gatehouse-id/gatehouse/internal/provision/scimclient"
	"github.com/gatehouse-id/gatehouse/internal/seal"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// newProvisioning answers the outbound SCIM service: targets must be
// https (http to a loopback host, and loopback addresses when pushing,
// only on a development deployment, whose public URL is http://).
func newProvisioning(db store.Store, sealer *seal.Sealer, rec *events.Recorder, now func() time.Time, pub string) *provision.Service {
	dev := strings.HasPrefix(pub, "http://")
	return &provision.Service{Store: db, Sealer: sealer, Audit: rec, Now: now,
		Connector: scimclient.New(dev, "Gatehouse-Provisioning/1"),
		Policy:    connection.URLPolicy{AllowLoopbackHTTP: dev}}
}
