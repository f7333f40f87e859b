package oauthclient

import (
	"net/url"
	"slices"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// GrantCIBA is OpenID CIBA's grant type (CIBA Core 1.0 section 10.1).
const GrantCIBA = "urn:openid:params:grant-type:ciba"

// CIBA token delivery modes (CIBA Core 1.0 section 5); push is not offered.
const (
	CIBAPoll = "poll"
	CIBAPing = "ping"
)

// RequestMetadata are a client's CIBA (CIBA Core 1.0 section 4) and JAR
// (RFC 9101 section 10.5) registration fields, by their registered names.
type RequestMetadata struct {
	BackchannelTokenDeliveryMode          string `json:"backchannel_token_delivery_mode"`
	BackchannelClientNotificationEndpoint string `json:"backchannel_client_notification_endpoint"`
	// BackchannelUserCodeParameter: Gatehouse verifies no user codes, so
	// only false is accepted (discovery says so).
	BackchannelUserCodeParameter bool `json:"backchannel_user_code_parameter"`
	RequireSignedRequestObject   bool `json:"require_signed_request_object"`
}

// RequestMetadataPatch changes the RequestMetadata fields that are set.
type RequestMetadataPatch struct {
	BackchannelTokenDeliveryMode          *string `json:"backchannel_token_delivery_mode,omitempty"`
	BackchannelClientNotificationEndpoint *string `json:"backchannel_client_notification_endpoint,omitempty"`
	BackchannelUserCodeParameter          *bool   `json:"backchannel_user_code_parameter,omitempty"`
	RequireSignedRequestObject            *bool   `json:"require_signed_request_object,omitempty"`
}

// MetadataOf answers the client's RequestMetadata (the API shows them).
func MetadataOf(cl *store.Client) RequestMetadata {
	return RequestMetadata{BackchannelTokenDeliveryMode: cl.BackchannelTokenDelivery,
		BackchannelClientNotificationEndpoint: cl.BackchannelNotificationEndpoint,
		BackchannelUserCodeParameter:          cl.BackchannelUserCodeParameter,
		RequireSignedRequestObject:            cl.RequireSignedRequestObject}
}

func (m RequestMetadata) apply(cl *store.Client) {
	cl.BackchannelTokenDelivery, cl.BackchannelNotificationEndpoint = m.BackchannelTokenDeliveryMode, m.BackchannelClientNotificationEndpoint
	cl.BackchannelUserCodeParameter, cl.RequireSignedRequestObject = m.BackchannelUserCodeParameter, m.RequireSignedRequestObject
}

func (p RequestMetadataPatch) apply(cl *store.Client) {
	if p.BackchannelTokenDeliveryMode != nil {
		cl.BackchannelTokenDelivery = *p.BackchannelTokenDeliveryMode
	}
	if p.BackchannelClientNotificationEndpoint != nil {
		cl.BackchannelNotificationEndpoint = *p.BackchannelClientNotificationEndpoint
	}
	if p.BackchannelUserCodeParameter != nil {
		cl.BackchannelUserCodeParameter = *p.BackchannelUserCodeParameter
	}
	if p.RequireSignedRequestObject != nil {
		cl.RequireSignedRequestObject = *p.RequireSignedRequestObject
	}
}

// requestAuditFields adds the RequestMetadata to a client's audit fields.
func requestAuditFields(m map[string]any, cl *store.Client) {
	m["backchannel_token_delivery_mode"] = cl.BackchannelTokenDelivery
	m["backchannel_client_notification_endpoint"] = cl.BackchannelNotificationEndpoint
	m["backchannel_user_code_parameter"] = cl.BackchannelUserCodeParameter
	m["require_signed_request_object"] = cl.RequireSignedRequestObject
}

// checkCIBA: a client with the CIBA grant authenticates (CIBA has no
// public clients) and names poll or ping; ping needs a notification
// endpoint: https, or http on a loopback host only where the deployment
// itself runs on http (development and tests). Without the grant the
// fields stay empty.
func (s *Service) checkCIBA(c *valid.Collector, cl *store.Client) {
	const mode, ep = "backchannel_token_delivery_mode", "backchannel_client_notification_endpoint"
	if cl.BackchannelUserCodeParameter {
		c.Add("backchannel_user_code_parameter", "unsupported", "Gatehouse verifies no user codes: backchannel_user_code_parameter must be false.")
	}
	if !slices.Contains(cl.GrantTypes, GrantCIBA) {
		if cl.BackchannelTokenDelivery != "" || cl.BackchannelNotificationEndpoint != "" {
			c.Add(mode, "not_allowed", "The CIBA fields need the grant type "+GrantCIBA+".")
		}
		return
	}
	if cl.Public || cl.AuthMethod == AuthNone {
		c.Add("grant_types", "not_allowed", "A public client cannot use CIBA: the backchannel request must be authenticated.")
	}
	switch cl.BackchannelTokenDelivery {
	case CIBAPoll:
		if cl.BackchannelNotificationEndpoint != "" {
			c.Add(ep, "not_allowed", "A notification endpoint is for the ping mode only.")
		}
		return
	case CIBAPing:
	default:
		c.Add(mode, "invalid", "backchannel_token_delivery_mode is poll or ping.")
		return
	}
	u, err := url.Parse(cl.BackchannelNotificationEndpoint)
	switch {
	case cl.BackchannelNotificationEndpoint == "":
		c.Add(ep, "required", "The ping mode needs backchannel_client_notification_endpoint.")
	case len(cl.BackchannelNotificationEndpoint) > MaxURILength || err != nil || u.Host == "" || u.User != nil || u.Fragment != "":
		c.Add(ep, "invalid", "The notification endpoint is an absolute https URL without credentials or fragment.")
	case u.Scheme == "https":
	case u.Scheme == "http" && loopback(u.Hostname()) && s.AllowLoopbackHTTP:
	default:
		c.Add(ep, "insecure", "The notification endpoint must use https.")
	}
}
