package console

import (
	"net/http"

	"github.com/gatehouse-id/gatehouse/internal/dashboard"
	"github.com/gatehouse-id/gatehouse/internal/oauthclient"
	"github.com/gatehouse-id/gatehouse/internal/samlreg"
)

// More are the services of the dashboard and applications pages
// (dashboard.go, apps.go, saml.go).
type More struct {
	// Dashboard reads the per-minute rollups (internal/dashboard).
	Dashboard *dashboard.Counter
	// Clients and SAMLSPs register applications with the API's rules.
	Clients *oauthclient.Service
	SAMLSPs *samlreg.Service
	// MetadataClient fetches SAML metadata URLs: a safehttp client (no
	// private or loopback destinations outside development).
	MetadataClient *http.Client
	// AllowHTTPMetadata admits http:// metadata URLs (development, where
	// the public URL is http too); otherwise only https.
	AllowHTTPMetadata bool
}
