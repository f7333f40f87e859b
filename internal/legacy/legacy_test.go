package legacy

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/connection"
	"github.com/gatehouse-id/gatehouse/internal/credential"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/seal"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
)

// fixture is a tenant, the services a login needs, and the flow with the
// legacy check in it.
type fixture struct {
	t     *testing.T
	s     store.Store
	tn    store.TenantID
	conns *connection.Service
	dir   *directory.Service
	leg   *Service
	flow  *flow.Service
	now   time.Time
}

func newFixture(t *testing.T, s store.Store) *fixture {
	t.Helper()
	f := &fixture{t: t, s: s, now: time.Now().UTC().Truncate(time.Second)}
	clock := func() time.Time { return f.now }
	hasher, err := credential.NewHasher(credential.Params{MemoryKiB: 1024, Iterations: 1, Parallelism: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := seal.New(bytes.Repeat([]byte{7}, seal.KeySize), nil)
	if err != nil {
		t.Fatal(err)
	}
	rec := &events.Recorder{Now: clock}
	log := slog.New(slog.NewTextHandler(testWriter{t}, nil))
	f.dir = &directory.Service{Store: s, Hasher: hasher, Audit: rec, Now: clock}
	f.conns = &connection.Service{Store: s, Audit: rec, Sealer: sealer, Now: clock,
		Policy: connection.URLPolicy{AllowLoopbackHTTP: true}}
	f.leg = &Service{Store: s, Connections: f.conns, Directory: f.dir, Audit: rec, Log: log, Now: clock,
		Timeout: 5 * time.Second}
	f.flow = &flow.Service{Store: s, Directory: f.dir, Sessions: &session.Service{Store: s, Audit: rec, Now: clock},
		Log: log, Now: clock, Steps: []flow.Step{}, After: []flow.Step{}, Legacy: f.leg}
	id := uuid.Must(uuid.NewV7()).String()
	f.tn = store.TenantID(id)
	if err := s.Tenants().CreateTenant(t.Context(), &store.Tenant{ID: f.tn, Slug: "t-" + id[len(id)-12:], Name: "T"}); err != nil {
		t.Fatal(err)
	}
	return f
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// ldapConnection adds a legacy_ldap connection to dir, searching as the
// reader account.
func (f *fixture) ldapConnection(dir *slapd, mode, until string) *store.Connection {
	f.t.Helper()
	in := connection.NewConnection{Type: connection.TypeLegacyLDAP, Name: "old-ldap", ClientSecret: readerPW}
	in.URL, in.BindDN, in.BaseDN, in.Mode, in.MigrateUntil = dir.url, readerDN, peopleDN, mode, until
	if mode == connection.ModeFederate {
		in.GroupBaseDN = groupsDN
	}
	c, err := f.conns.Create(f.t.Context(), events.Actor{Type: "cli"}, f.tn, in)
	if err != nil {
		f.t.Fatalf("create connection: %v", err)
	}
	return c
}

// login signs in through the flow from one address, as the hosted pages do.
func (f *fixture) login(identifier, password string) (*store.User, error) {
	sess, _, err := f.flow.SignIn(f.t.Context(), f.tn, identifier, password, "192.0.2.10", "test")
	if err != nil {
		return nil, err
	}
	return f.s.Users().GetUser(f.t.Context(), f.tn, sess.UserID)
}

func (f *fixture) count() int64 {
	f.t.Helper()
	n, err := f.s.Users().CountUsers(f.t.Context(), f.tn)
	if err != nil {
		f.t.Fatal(err)
	}
	return n
}

// audited answers the reasons of the tenant's entries with action.
func (f *fixture) audited(action string) []string {
	f.t.Helper()
	es, err := f.s.Audit().ListAudit(f.t.Context(), f.tn, store.AuditQuery{Limit: 100})
	if err != nil {
		f.t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		if e.Action == action {
			out = append(out, string(e.Changes))
		}
	}
	return out
}

func wantInvalid(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, flow.ErrInvalidCredentials) {
		t.Fatalf("%s: err = %v, want ErrInvalidCredentials", what, err)
	}
}

// TestLDAPLazyMigration: against a real slapd, a wrong password is refused
// and creates nothing; the first right one creates the account with an
// argon2id hash, the directory's profile and a link to the connection;
// with slapd stopped the second login still succeeds (the directory is
// not asked again) and a wrong one is still refused; an account the
// directory was never asked about fails closed, audited. An account here
// without a password and linked to the connection (not yet migrated) is
// completed by its first login.
func TestLDAPLazyMigration(t *testing.T) {
	needSlapd(t)
	sqltest.ForEachStore(t, func(t *testing.T, s store.Store) {
		dir := startSlapd(t)
		aliceDN := dir.addUser("alice", "alice@legacy.test", "Alice", "Archer", "alice-legacy-pw-1")
		bobDN := dir.addUser("bob", "bob@legacy.test", "Bob", "Baker", "bob-legacy-pw-22")
		f := newFixture(t, s)
		conn := f.ldapConnection(dir, "", "")
		ctx := t.Context()

		_, err := f.login("alice", "not-her-password")
		wantInvalid(t, "wrong password", err)
		if n := f.count(); n != 0 {
			t.Fatalf("a wrong password created %d accounts", n)
		}
		u, err := f.login("alice@legacy.test", "alice-legacy-pw-1")
		if err != nil {
			t.Fatalf("first login: %v", err)
		}
		if !strings.HasPrefix(u.PasswordHash, "$argon2id$") || u.Username != "alice" || u.GivenName != "Alice" ||
			u.FamilyName != "Archer" || !u.EmailVerified || u.Status != store.UserActive {
			t.Fatalf("migrated account = %+v", u)
		}
		link, err := s.Connections().Identities().GetIdentityBySubject(ctx, f.tn, conn.ID, aliceDN)
		if err != nil || link.UserID != u.ID {
			t.Fatalf("link = %+v, %v", link, err)
		}
		if got := f.audited("user.migrated"); len(got) != 1 || !strings.Contains(got[0], "old-ldap") {
			t.Fatalf("user.migrated audit = %v", got)
		}

		// Bob is here already, imported without a password and linked.
		bob, err := f.dir.CreateUser(ctx, events.Actor{Type: "cli"}, f.tn, directory.NewUser{Email: "bob@legacy.test", Username: "bob"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.leg.link(ctx, conn, bob.ID, &Profile{Subject: bobDN}); err != nil {
			t.Fatal(err)
		}
		if got, err := f.login("bob", "bob-legacy-pw-22"); err != nil || got.ID != bob.ID || !strings.HasPrefix(got.PasswordHash, "$argon2id$") {
			t.Fatalf("not-yet-migrated login = %+v, %v", got, err)
		}

		dir.Stop()
		if got, err := f.login("alice", "alice-legacy-pw-1"); err != nil || got.ID != u.ID {
			t.Fatalf("second login with the directory stopped = %+v, %v", got, err)
		}
		if _, err := f.login("bob@legacy.test", "bob-legacy-pw-22"); err != nil {
			t.Fatalf("bob's second login with the directory stopped: %v", err)
		}
		_, err = f.login("alice", "alice-legacy-pw-2")
		wantInvalid(t, "wrong password after migration", err)
		if n := len(f.audited("connection.legacy_failed")); n != 0 {
			t.Fatalf("migrated accounts asked the directory: %d failures audited", n)
		}
		_, err = f.login("carol@legacy.test", "whatever-it-is-1")
		wantInvalid(t, "directory down", err)
		if got := f.audited("connection.legacy_failed"); len(got) != 1 || !strings.Contains(got[0], "unavailable") {
			t.Fatalf("failure audit = %v", got)
		}
		if n := f.count(); n != 2 {
			t.Fatalf("%d accounts, want 2", n)
		}
	})
}

// TestLDAPMigrateUntilClosed: past migrate_until the directory is not
// asked: its right password signs nobody in and creates nothing.
func TestLDAPMigrateUntilClosed(t *testing.T) {
	needSlapd(t)
	sqltest.ForEachStore(t, func(t *testing.T, s store.Store) {
		dir := startSlapd(t)
		dir.addUser("alice", "alice@legacy.test", "Alice", "Archer", "alice-legacy-pw-1")
		f := newFixture(t, s)
		conn := f.ldapConnection(dir, "", f.now.Add(-24*time.Hour).Format(time.DateOnly))
		_, err := f.login("alice", "alice-legacy-pw-1")
		wantInvalid(t, "closed migration", err)
		if n := f.count(); n != 0 {
			t.Fatalf("a closed migration created %d accounts", n)
		}
		// With the date moved on the same login migrates.
		until := f.now.Add(time.Hour).Format(time.RFC3339)
		if _, err := f.conns.Update(t.Context(), events.Actor{Type: "cli"}, f.tn, conn.ID, 0, connection.Patch{MigrateUntil: &until}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.login("alice", "alice-legacy-pw-1"); err != nil {
			t.Fatalf("open migration: %v", err)
		}
	})
}

// TestLDAPRefusals: an empty password (an unauthenticated bind, which a
// directory accepts for any DN) and filter metacharacters in the
// identifier sign nobody in; wrong passwords through the legacy path
// count in the throttle like any other.
func TestLDAPRefusals(t *testing.T) {
	needSlapd(t)
	sqltest.ForEachStore(t, func(t *testing.T, s store.Store) {
		dir := startSlapd(t)
		dir.addUser("alice", "alice@legacy.test", "Alice", "Archer", "alice-legacy-pw-1")
		f := newFixture(t, s)
		conn := f.ldapConnection(dir, "", "")
		st, _ := connection.SettingsOf(conn)
		b, err := f.leg.backend(conn, st)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.Check(t.Context(), "alice", ""); !errors.Is(err, errWrongPassword) {
			t.Fatalf("empty password: %v", err)
		}
		_, err = f.login("alice", "")
		wantInvalid(t, "empty password", err)
		_, err = f.login("*", "alice-legacy-pw-1")
		wantInvalid(t, "wildcard identifier", err)
		_, err = f.login("al*", "alice-legacy-pw-1")
		wantInvalid(t, "wildcard identifier", err)
		if n := f.count(); n != 0 {
			t.Fatalf("%d accounts created", n)
		}
		var throttled *flow.ThrottledError
		for i := range 10 {
			_, err = f.login("alice", "wrong-password-"+string(rune('a'+i)))
			if errors.As(err, &throttled) {
				break
			}
			wantInvalid(t, "wrong password", err)
		}
		if throttled == nil {
			t.Fatal("ten wrong passwords through the legacy path were never throttled")
		}
		if _, err := f.login("alice", "alice-legacy-pw-1"); !errors.As(err, &throttled) {
			t.Fatalf("the right password while throttled: %v", err)
		}
		if n := f.count(); n != 0 {
			t.Fatalf("%d accounts created while throttled", n)
		}
	})
}
