package server

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// TestUpkeepRemovesExpiredLoginRequests: the clock given to OpenWith is the
// one the hourly upkeep reads, and the upkeep removes login requests once
// that clock has passed their expiry, keeping them before.
func TestUpkeepRemovesExpiredLoginRequests(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		start := time.Now()
		var skew atomic.Int64
		clock := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
		ta := openApp(t, testConfig(t, be.db(t)), Options{Now: clock})
		tn := ta.tenant("sweep")
		ctx := context.Background()
		l := &store.LoginRequest{ID: "lr-sweep", Tenant: tn.ID, Origin: flow.OriginOIDC, Return: "r",
			ExpiresAt: start.Add(10 * time.Minute)}
		if err := ta.DB.Logins().CreateLoginRequest(ctx, l); err != nil {
			t.Fatal(err)
		}
		ta.upkeep(ctx)
		if _, err := ta.DB.Logins().GetLoginRequest(ctx, tn.ID, l.ID); err != nil {
			t.Fatalf("live login request after upkeep: %v", err)
		}
		skew.Store(int64(time.Hour))
		ta.upkeep(ctx)
		// Deleted, not only invisible: DeleteLoginRequest finds no row.
		if err := ta.DB.Logins().DeleteLoginRequest(ctx, tn.ID, l.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("expired login request after upkeep: DeleteLoginRequest = %v, want ErrNotFound", err)
		}
	})
}
