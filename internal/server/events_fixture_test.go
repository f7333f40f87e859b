package server

import (
	"context"
	"fmt"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/webhook"
)

// webhookFixture registers a webhook endpoint of tn for user events and
// gives it one delivery (of a user created after it): the targets of the
// webhook routes in the authorization matrix.
func (ta *testApp) webhookFixture(tn *store.Tenant, n int) (endpoint, delivery string) {
	ta.t.Helper()
	ctx := context.Background()
	url, types := fmt.Sprintf("https://hooks-%d.example.com/in", n), []string{"user.*"}
	v, _, err := ta.Webhooks.Create(ctx, testActor, tn.ID, webhook.Input{URL: &url, Events: &types})
	if err != nil {
		ta.t.Fatal(err)
	}
	ta.user(tn.ID, fmt.Sprintf("hooked%d@example.com", n))
	if _, err := ta.Dispatcher().FanOut(ctx, 1000); err != nil {
		ta.t.Fatal(err)
	}
	ds, _, err := ta.Webhooks.Deliveries(ctx, tn.ID, v.ID, "", 1)
	if err != nil || len(ds) != 1 {
		ta.t.Fatalf("fixture deliveries = %v, %v", ds, err)
	}
	return v.ID, ds[0].ID
}
