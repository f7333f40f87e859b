package sqlstore_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/scimfilter"
)

// BenchmarkSCIMFilter runs SCIM list requests against a tenant of 100,000
// users provisioned as SCIM would (username, emails array in the JSON
// attributes), seeded through the bulk insert path. The baseline is a
// primary-key lookup on the same database in the same run; docs/BENCHMARKS.md
// gives the others as ratios to it.
func BenchmarkSCIMFilter(b *testing.B) {
	for _, be := range benchBackends {
		b.Run(be.name, func(b *testing.B) {
			s := be.open(b)
			tn := benchTenant(b, s)
			ctx := context.Background()
			ids := make([]string, 0, seedUsers)
			seed(b, s, tn, func(i int) store.User {
				u := benchUser(tn, i)
				u.Username = fmt.Sprintf("user%07d", i)
				u.UsernameNorm = u.Username
				u.Attributes = fmt.Appendf(nil, `{"scim":{"externalId":"ext-%d","emails":[{"value":%q,"type":"work","primary":true}]}}`, i, u.Email)
				ids = append(ids, u.ID)
				return u
			})
			if s.Dialect() == "postgres" {
				// Statistics as autovacuum would gather them; without, the
				// planner guesses at a table just bulk-loaded.
				if _, err := s.SQL().ExecContext(ctx, "ANALYZE"); err != nil {
					b.Fatal(err)
				}
			}
			rng := rand.New(rand.NewPCG(1, 2))
			// filter runs f with a random number below n in it.
			filter := func(f string, n int, want func(n int64) bool) func(int) error {
				return func(int) error {
					e, err := scimfilter.Parse(fmt.Sprintf(f, rng.IntN(n)))
					if err != nil {
						return err
					}
					us, n, err := s.Users().FilterUsers(ctx, tn, store.SCIMQuery{Filter: e, Limit: 100})
					if err == nil && (!want(n) || int64(len(us)) != min(n, 100)) {
						err = fmt.Errorf("%s: %d users of %d", f, len(us), n)
					}
					return err
				}
			}
			b.Run("baseline-GetUser", func(b *testing.B) {
				timed(b, func(int) error {
					_, err := s.Users().GetUser(ctx, tn, ids[rng.IntN(len(ids))])
					return err
				})
			})
			b.Run("userName-eq", func(b *testing.B) {
				timed(b, filter(`userName eq "user%07d"`, seedUsers, func(n int64) bool { return n == 1 }))
			})
			// One user matches: "0012345@" is in one address only.
			b.Run("emails-co", func(b *testing.B) {
				timed(b, filter(`emails co "%07d@"`, seedUsers, func(n int64) bool { return n == 1 }))
			})
			// Ten users match ("user001234" and one more digit).
			b.Run("emails-co-10", func(b *testing.B) {
				timed(b, filter(`emails co "user%06d"`, seedUsers/10, func(n int64) bool { return n == 10 }))
			})
			b.Run("emails-value-eq", func(b *testing.B) {
				timed(b, filter(`emails.value eq "user%07d@example.com"`, seedUsers, func(n int64) bool { return n == 1 }))
			})
		})
	}
}
