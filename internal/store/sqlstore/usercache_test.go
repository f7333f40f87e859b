package sqlstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
)

// TestUserCacheAcrossNodes: two nodes on one PostgreSQL database. A user
// cached by node B is dropped from B's memory the moment node A disables
// or deletes it (LISTEN/NOTIFY), not when the entry's second runs out:
// the test lengthens that second to a minute. A write that does not go
// through the store (raw SQL) is not heard of, which shows B answers from
// memory.
func TestUserCacheAcrossNodes(t *testing.T) {
	dsn := sqltest.PostgresDSN(t)
	ctx := context.Background()
	a, b := openNode(t, sqlstore.DriverPostgres, dsn), openNode(t, sqlstore.DriverPostgres, dsn)
	sqlstore.SetCacheTTL(b, time.Minute)
	tn := &store.Tenant{ID: "t-cache", Slug: "t-cache", Name: "cache"}
	if err := a.Tenants().CreateTenant(ctx, tn); err != nil {
		t.Fatal(err)
	}
	u := &store.User{ID: "0193a000-0000-7000-8000-000000000001", Tenant: tn.ID, Email: "c@example.com",
		EmailNorm: "c@example.com", GivenName: "Ada", Status: store.UserActive}
	if err := a.Users().CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if got, err := b.Users().GetUserCached(ctx, tn.ID, u.ID); err != nil || got.Status != store.UserActive {
		t.Fatalf("node B before: %v %v", got, err)
	}
	if _, err := a.SQL().ExecContext(ctx, `UPDATE users SET given_name = 'raw' WHERE id = $1`, u.ID); err != nil {
		t.Fatal(err)
	}
	if got, err := b.Users().GetUserCached(ctx, tn.ID, u.ID); err != nil || got.GivenName != "Ada" {
		t.Fatalf("node B after a raw write: %v %v (want the cached entry)", got, err)
	}
	// within polls node B until ok says the change arrived, failing past
	// a second.
	within := func(what string, ok func(*store.User, error) bool) {
		t.Helper()
		start := time.Now()
		for {
			got, err := b.Users().GetUserCached(ctx, tn.ID, u.ID)
			if ok(got, err) {
				t.Logf("%s: seen on node B after %v", what, time.Since(start).Round(time.Millisecond))
				return
			}
			if time.Since(start) > time.Second {
				t.Fatalf("%s: node B still answers %+v %v after a second", what, got, err)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	if _, err := a.Users().UpdateUser(ctx, tn.ID, u.ID, func(u *store.User) error { u.Status = store.UserDisabled; return nil }); err != nil {
		t.Fatal(err)
	}
	within("disabled", func(got *store.User, err error) bool { return err == nil && got.Status == store.UserDisabled })
	if err := a.Users().DeleteUser(ctx, tn.ID, u.ID); err != nil {
		t.Fatal(err)
	}
	within("deleted", func(_ *store.User, err error) bool { return errors.Is(err, store.ErrNotFound) })
}

// openNode opens a store on dsn as one node (or process) of several on
// one database, closed at cleanup.
func openNode(t *testing.T, driver, dsn string) *sqlstore.DB {
	t.Helper()
	db, err := sqlstore.Open(context.Background(), driver, dsn, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
