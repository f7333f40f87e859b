package sqlstore_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
)

// Each backend gets a sub-benchmark; postgres skips without its DSN.
var benchBackends = []struct {
	name string
	open func(testing.TB) *sqlstore.DB
}{
	{"sqlite", sqltest.OpenSQLite},
	{"postgres", sqltest.OpenPostgres},
}

// dummyHash stands in for a password hash: benchmarks measure the store,
// not argon2.
const dummyHash = "$argon2id$v=19$m=65536,t=3,p=4$ZHVtbXlzYWx0$ZHVtbXloYXNoZHVtbXloYXNoZHVtbXloYXNo"

func benchTenant(b *testing.B, s store.Store) store.TenantID {
	b.Helper()
	id := store.TenantID(uuid.Must(uuid.NewV7()).String())
	if err := s.Tenants().CreateTenant(context.Background(), &store.Tenant{ID: id, Slug: "bench", Name: "Bench"}); err != nil {
		b.Fatal(err)
	}
	return id
}

func benchUser(tn store.TenantID, i int) store.User {
	email := fmt.Sprintf("user%07d@example.com", i)
	return store.User{
		ID: uuid.Must(uuid.NewV7()).String(), Tenant: tn, Email: email, EmailNorm: email,
		GivenName: "Given", FamilyName: fmt.Sprintf("Family%d", i), Status: store.UserActive,
		Attributes: []byte(`{"dept":"eng"}`), PasswordHash: dummyHash,
	}
}

// timed is sqltest.Timed (p50-ns and p99-ns next to the mean ns/op).
func timed(b *testing.B, op func(i int) error) { sqltest.Timed(b, op) }

func BenchmarkCreateUser(b *testing.B) {
	for _, be := range benchBackends {
		b.Run(be.name, func(b *testing.B) {
			s := be.open(b)
			tn := benchTenant(b, s)
			ctx := context.Background()
			timed(b, func(i int) error {
				u := benchUser(tn, i)
				return s.Users().CreateUser(ctx, &u)
			})
		})
	}
}

// seedUsers is the tenant size the lookup benchmark runs against.
const seedUsers = 100_000

func BenchmarkGetUserByEmail(b *testing.B) {
	for _, be := range benchBackends {
		b.Run(be.name, func(b *testing.B) {
			s := be.open(b)
			tn := benchTenant(b, s)
			ctx := context.Background()
			seed(b, s, tn, func(i int) store.User { return benchUser(tn, i) })
			rng := rand.New(rand.NewPCG(1, 2))
			timed(b, func(int) error {
				email := fmt.Sprintf("user%07d@example.com", rng.IntN(seedUsers))
				u, err := s.Users().GetUserByEmail(ctx, tn, email)
				if err == nil && u.EmailNorm != email {
					err = fmt.Errorf("looked up %s, got %s", email, u.EmailNorm)
				}
				return err
			})
		})
	}
}

// seed bulk-inserts seedUsers users made by mk, in ten transactions.
func seed(b *testing.B, s store.Store, tn store.TenantID, mk func(i int) store.User) {
	b.Helper()
	start := time.Now()
	const batch = 10_000
	for from := 0; from < seedUsers; from += batch {
		us := make([]store.User, 0, batch)
		for i := from; i < from+batch; i++ {
			us = append(us, mk(i))
		}
		if err := s.Users().InsertUsers(context.Background(), tn, us); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("%s: seeded %d users in %v", s.Dialect(), seedUsers, time.Since(start).Round(time.Millisecond))
}

// BenchmarkBaselineSelect1 is the floor every figure above is divided by in
// docs/BENCHMARKS.md: one round trip through database/sql and the driver,
// measured in the same run on the same machine.
func BenchmarkBaselineSelect1(b *testing.B) {
	for _, be := range benchBackends {
		b.Run(be.name, func(b *testing.B) {
			s := be.open(b)
			ctx := context.Background()
			timed(b, func(int) error {
				var one int
				return s.SQL().QueryRowContext(ctx, "SELECT 1").Scan(&one)
			})
		})
	}
}
