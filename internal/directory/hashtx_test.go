package directory_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"net/url"
	"path/filepath"
	"sync"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/credential"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
)

// txProbe answers whether the store under test has a write transaction
// open right now, asking the database from a connection of its own.
type txProbe func() (bool, error)

// probingRand is a Hasher's salt source that asks probe, on every hash,
// whether a transaction is open, and remembers each time one was: a hash
// inside a transaction holds the database's locks (SQLite's one write
// lock) for the whole hash.
type probingRand struct {
	probe txProbe
	mu    sync.Mutex
	hits  int
	errs  []error
}

func (p *probingRand) Read(b []byte) (int, error) {
	open, err := p.probe()
	p.mu.Lock()
	if err != nil {
		p.errs = append(p.errs, err)
	}
	if open {
		p.hits++
	}
	p.mu.Unlock()
	return rand.Read(b)
}

func (p *probingRand) result() (int, []error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.hits, p.errs
}

// sqliteWithProbe opens a store on a fresh SQLite file and a probe that
// tries BEGIN IMMEDIATE with no busy timeout on a second pool: SQLite
// refuses it exactly while another connection holds the write lock, which
// every store transaction takes when it begins.
func sqliteWithProbe(t *testing.T) (store.Store, txProbe) {
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	db, err := sqlstore.Open(t.Context(), sqlstore.DriverSQLite, path, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(0)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	return db, func() (bool, error) {
		ctx := context.Background()
		c, err := raw.Conn(ctx)
		if err != nil {
			return false, err
		}
		defer c.Close()
		if _, err := c.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
			return true, nil // SQLITE_BUSY: the write lock is held
		}
		_, err = c.ExecContext(ctx, "ROLLBACK")
		return false, err
	}
}

// postgresWithProbe opens a store whose connections carry an
// application_name of their own, and a probe that counts those sessions
// idle in a transaction (the state of a connection whose transaction is
// open while the program does something else, such as hashing).
func postgresWithProbe(t *testing.T) (store.Store, txProbe) {
	dsn := sqltest.PostgresDSN(t)
	var b [6]byte
	_, _ = rand.Read(b[:])
	app := fmt.Sprintf("gh_hashtx_%x", b)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Skip("the probe needs a postgres:// URL DSN")
	}
	q := u.Query()
	q.Set("application_name", app)
	u.RawQuery = q.Encode()
	db, err := sqlstore.Open(t.Context(), sqlstore.DriverPostgres, u.String(), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	raw, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	return db, func() (bool, error) {
		var n int
		err := raw.QueryRowContext(context.Background(), `SELECT count(*) FROM pg_stat_activity
			WHERE application_name = $1 AND state LIKE 'idle in transaction%'`, app).Scan(&n)
		return n > 0, err
	}
}

// TestNoPasswordHashInsideATransaction: creating a user with a password
// (API user creation, sign-up, invitations, SCIM, legacy migration all go
// through CreateUser) and setting one (password change, reset, accepted
// invitation, API and SCIM updates go through UpdateUser) hash before the
// transaction opens. The probe is checked first on a hash made inside a
// transaction, so the test can see what it forbids.
func TestNoPasswordHashInsideATransaction(t *testing.T) {
	for _, b := range []struct {
		name string
		open func(*testing.T) (store.Store, txProbe)
	}{{"sqlite", sqliteWithProbe}, {"postgres", postgresWithProbe}} {
		t.Run(b.name, func(t *testing.T) {
			s, probe := b.open(t)
			e := newEnv(t, s)
			acme := e.tenant(t, "acme")
			pr := &probingRand{probe: probe}
			h, err := credential.NewHasher(testParams, pr)
			if err != nil {
				t.Fatal(err)
			}
			e.dir.Hasher = h
			ctx := t.Context()

			// The control: a hash inside a transaction is seen.
			if err := s.InTx(ctx, func(tx store.Repos) error {
				if _, err := tx.Tenants().GetTenant(ctx, acme); err != nil {
					return err
				}
				_, err := h.Hash("Correct-Horse-Battery-9")
				return err
			}); err != nil {
				t.Fatal(err)
			}
			if hits, errs := pr.result(); hits != 1 || len(errs) > 0 {
				t.Fatalf("control: the probe saw %d hashes in a transaction (want 1), errors %v", hits, errs)
			}
			pr.hits = 0

			u, err := e.dir.CreateUser(ctx, admin, acme, directory.NewUser{
				Email: "alice@example.com", Password: ptr("Correct-Horse-Battery-1")})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.dir.UpdateUser(ctx, admin, acme, u.ID, 0, directory.UserPatch{
				Password: ptr("Correct-Horse-Battery-2"), GivenName: ptr("Alice")}); err != nil {
				t.Fatal(err)
			}
			if hits, errs := pr.result(); hits != 0 || len(errs) > 0 {
				t.Errorf("%d password hashes ran while a transaction was open (errors %v)", hits, errs)
			}
			got, err := e.dir.Authenticate(ctx, acme, "alice@example.com", "Correct-Horse-Battery-2")
			if err != nil || got.GivenName != "Alice" {
				t.Errorf("the changed password must work: %+v, %v", got, err)
			}
		})
	}
}
