package sqlstore_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
)

// memoryReady waits until d's revocation memory may answer.
func memoryReady(t *testing.T, d *sqlstore.DB) {
	t.Helper()
	for start := time.Now(); time.Since(start) < 10*time.Second; time.Sleep(10 * time.Millisecond) {
		if _, ok := sqlstore.RevocationsInMemory(d, "none", store.AccessTokenRef{ID: "none"}); ok {
			return
		}
	}
	t.Fatal("the revocation memory is not ready after 10 s")
}

func revTenant(t *testing.T, d *sqlstore.DB) store.TenantID {
	t.Helper()
	id := uuid.Must(uuid.NewV7()).String()
	if err := d.Tenants().CreateTenant(context.Background(), &store.Tenant{ID: store.TenantID(id), Slug: "r-" + id, Name: "r"}); err != nil {
		t.Fatal(err)
	}
	return store.TenantID(id)
}

func newRef(client, user, session string, issued time.Time) store.AccessTokenRef {
	id := func() string { return uuid.Must(uuid.NewV7()).String() }
	return store.AccessTokenRef{ID: id(), FamilyID: id(), ClientID: client, UserID: user, SessionID: session,
		IssuedAt: issued, ExpiresAt: issued.Add(10 * time.Minute)}
}

// TestRevocationMemoryMatchesTable: once loaded, a node's memory of the
// revocations answers what the table answers for every kind of
// revocation, and answers without reading the table: a row deleted
// behind the store's back is still remembered.
func TestRevocationMemoryMatchesTable(t *testing.T) {
	for name, open := range map[string]func(testing.TB) *sqlstore.DB{"sqlite": sqltest.OpenSQLite, "postgres": sqltest.OpenPostgres} {
		t.Run(name, func(t *testing.T) {
			d := open(t)
			ctx := context.Background()
			tn := revTenant(t, d)
			memoryReady(t, d)
			tk := d.OAuth().Tokens()
			now := time.Now()
			past := now.Add(-time.Minute)
			jti := newRef("c1", "u1", "s1", past)
			fam := newRef("c1", "u2", "", past)
			sessC1, sessC2 := newRef("c1", "u3", "s3", past), newRef("c2", "u3", "s3", past)
			user, userLater := newRef("c1", "u4", "s4", past), newRef("c1", "u4", "s4", now.Add(time.Hour))
			short, long := newRef("c1", "u5", "s5", past), newRef("c1", "u5", "s5", past)
			long.ExpiresAt = now.Add(3 * time.Hour)
			clean := newRef("c1", "u6", "s6", past)
			must := func(what string, err error) {
				t.Helper()
				if err != nil {
					t.Fatalf("%s: %v", what, err)
				}
			}
			must("RevokeJWT", tk.RevokeJWT(ctx, tn, jti.ID, jti.ExpiresAt))
			must("RevokeFamily", tk.RevokeFamily(ctx, tn, fam.FamilyID))
			must("RevokeSessionTokens", tk.RevokeSessionTokens(ctx, tn, "s3", "c1"))
			must("RevokeUserTokens", tk.RevokeUserTokens(ctx, tn, "u4"))
			must("RevokeUserAccessTokens", tk.RevokeUserAccessTokens(ctx, tn, "u5", now.Add(time.Hour)))
			cases := []struct {
				what string
				ref  store.AccessTokenRef
				want bool
			}{
				{"its jti", jti, true}, {"its family", fam, true}, {"its session and client", sessC1, true},
				{"its session, another client", sessC2, false}, {"its user", user, true},
				{"its user, issued after", userLater, false}, {"its user, expiring by notAfter", short, true},
				{"its user, expiring after notAfter", long, false}, {"untouched", clean, false},
			}
			check := func(when string) {
				t.Helper()
				for _, c := range cases {
					mem, ok := sqlstore.RevocationsInMemory(d, tn, c.ref)
					if !ok {
						t.Fatalf("%s: the memory may not answer", when)
					}
					if mem != c.want {
						t.Errorf("%s: memory says %s revoked %v, want %v", when, c.what, mem, c.want)
					}
					if got, err := tk.AccessTokenRevoked(ctx, tn, c.ref); err != nil || got != c.want {
						t.Errorf("%s: AccessTokenRevoked(%s) = %v %v, want %v", when, c.what, got, err, c.want)
					}
				}
			}
			check("after the revocations")
			for _, c := range cases {
				if sql, err := sqlstore.RevokedSQL(ctx, d, tn, c.ref); err != nil || sql != c.want {
					t.Errorf("table: %s revoked %v %v, want %v", c.what, sql, err, c.want)
				}
			}
			if _, err := d.SQL().ExecContext(ctx, `DELETE FROM token_revocations`); err != nil {
				t.Fatal(err)
			}
			time.Sleep(400 * time.Millisecond) // two sync points
			check("after a delete behind the store's back")
		})
	}
}

// TestRevocationMemoryAcrossNodes: two nodes on one PostgreSQL database;
// a revocation made through one is in the other's memory within a second.
func TestRevocationMemoryAcrossNodes(t *testing.T) {
	dsn := sqltest.PostgresDSN(t)
	revokedWithin(t, openNode(t, sqlstore.DriverPostgres, dsn), openNode(t, sqlstore.DriverPostgres, dsn))
}

// TestRevocationMemoryOtherProcess: on SQLite a revocation written into
// the file by another process (the CLI, here a second store on the same
// file, whose writes the first cannot hear of) is in the server's memory
// within a second.
func TestRevocationMemoryOtherProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "g.db")
	server := openNode(t, sqlstore.DriverSQLite, path)
	revokedWithin(t, openNode(t, sqlstore.DriverSQLite, path), server)
}

// revokedWithin revokes a token through writer and polls reader's memory
// until it says revoked, failing past a second.
func revokedWithin(t *testing.T, writer, reader *sqlstore.DB) {
	t.Helper()
	ctx := context.Background()
	tn := revTenant(t, writer)
	memoryReady(t, reader)
	ref := newRef("c1", "u1", "s1", time.Now().Add(-time.Minute))
	if got, ok := sqlstore.RevocationsInMemory(reader, tn, ref); !ok || got {
		t.Fatalf("before: revoked %v, may answer %v", got, ok)
	}
	if err := writer.OAuth().Tokens().RevokeSessionTokens(ctx, tn, "s1", ""); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for {
		got, ok := sqlstore.RevocationsInMemory(reader, tn, ref)
		if ok && got {
			t.Logf("revoked in the other's memory after %v", time.Since(start).Round(time.Millisecond))
			return
		}
		if time.Since(start) > time.Second {
			t.Fatalf("after a second: revoked %v, may answer %v", got, ok)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestRevocationMemoryOverBound: a table over the memory's bound is not
// loaded again at every sync point (once, then after revocationOverWait),
// the store answers from the table meanwhile, and a bound that fits makes
// the memory answer again.
func TestRevocationMemoryOverBound(t *testing.T) {
	for name, open := range map[string]func(testing.TB) *sqlstore.DB{"sqlite": sqltest.OpenSQLite, "postgres": sqltest.OpenPostgres} {
		t.Run(name, func(t *testing.T) {
			d := open(t)
			ctx := context.Background()
			tn := revTenant(t, d)
			memoryReady(t, d)
			tk := d.OAuth().Tokens()
			refs := make([]store.AccessTokenRef, 5)
			for i := range refs {
				refs[i] = newRef("c1", "u1", uuid.NewString(), time.Now().Add(-time.Minute))
				if err := tk.RevokeSessionTokens(ctx, tn, refs[i].SessionID, ""); err != nil {
					t.Fatal(err)
				}
			}
			sqlstore.SetRevocationMemoryMax(d, 3)
			before := sqlstore.RevocationMemoryLoads(d)
			time.Sleep(1500 * time.Millisecond) // seven sync points
			if _, ok := sqlstore.RevocationsInMemory(d, tn, refs[0]); ok {
				t.Fatal("the memory answers with more rows than its bound")
			}
			if n := sqlstore.RevocationMemoryLoads(d) - before; n > 1 {
				t.Errorf("%d loads of a table over the bound in 1.5 s; want at most 1", n)
			}
			if revoked, err := tk.AccessTokenRevoked(ctx, tn, refs[4]); err != nil || !revoked {
				t.Errorf("from the table: revoked %v, %v; want true", revoked, err)
			}
			sqlstore.SetRevocationMemoryMax(d, 100)
			memoryReady(t, d)
			if revoked, ok := sqlstore.RevocationsInMemory(d, tn, refs[4]); !ok || !revoked {
				t.Errorf("loaded again: revoked %v, may answer %v", revoked, ok)
			}
		})
	}
}
