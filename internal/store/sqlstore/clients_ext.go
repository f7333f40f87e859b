package sqlstore

import (
	"context"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// clientExtCols are the clients' CIBA and JAR columns (migration 0047):
// read with clientCols, inserted with them, and updated by their own
// statement in UpdateClient's transaction (updateClientExt).
const clientExtCols = `backchannel_token_delivery_mode, backchannel_client_notification_endpoint,
backchannel_user_code_parameter, require_signed_request_object`

// clientExtN is how many columns clientExtCols names.
const clientExtN = 4

// updateClientExt writes n's CIBA and JAR columns; the row is held by the
// caller's transaction.
func updateClientExt(ctx context.Context, q querier, n *store.Client) error {
	_, err := q.ExecContext(ctx, `UPDATE clients SET backchannel_token_delivery_mode = $1,
backchannel_client_notification_endpoint = $2, backchannel_user_code_parameter = $3, require_signed_request_object = $4
WHERE tenant_id = $5 AND id = $6`,
		n.BackchannelTokenDelivery, n.BackchannelNotificationEndpoint, n.BackchannelUserCodeParameter,
		n.RequireSignedRequestObject, string(n.Tenant), n.ID)
	return wrapErr("update client", err)
}
