package session_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
)

// BenchmarkSessionCreate measures a login's session write with and
// without metering (one insert-or-ignore of the active user in the
// session's transaction), over 1,000 users of one tenant.
func BenchmarkSessionCreate(b *testing.B) {
	for _, metered := range []bool{false, true} {
		b.Run(fmt.Sprintf("metered=%v", metered), func(b *testing.B) {
			db := sqltest.OpenSQLite(b)
			ctx := b.Context()
			tn := &store.Tenant{ID: store.TenantID(uuid.Must(uuid.NewV7()).String()), Slug: "bench", Name: "Bench"}
			if err := db.Tenants().CreateTenant(ctx, tn); err != nil {
				b.Fatal(err)
			}
			users := make([]string, 1000)
			for i := range users {
				u := &store.User{ID: uuid.Must(uuid.NewV7()).String(), Tenant: tn.ID, Status: store.UserActive,
					Email: fmt.Sprintf("u%d@example.com", i), EmailNorm: fmt.Sprintf("u%d@example.com", i)}
				if err := db.Users().CreateUser(ctx, u); err != nil {
					b.Fatal(err)
				}
				users[i] = u.ID
			}
			s := &session.Service{Store: db, Now: time.Now}
			if metered {
				s.Meter = &tenancy.Meter{Store: db, Now: time.Now}
			}
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				if _, _, err := s.Create(ctx, tn.ID, users[i%len(users)], []string{"pwd"}, "bench", "127.0.0.1"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
