package legacy

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/connection"
	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
)

// TestLDAPFederate: a federating connection binds through at every login
// and keeps no password here (a password changed in the directory is the
// one that works next time, and one set here does not count); a full
// sync creates the directory's accounts, updates changed profiles,
// disables accounts whose entry is gone and mirrors group memberships;
// an incremental sync reads only what changed since.
func TestLDAPFederate(t *testing.T) {
	needSlapd(t)
	sqltest.ForEachStore(t, func(t *testing.T, s store.Store) {
		dir := startSlapd(t)
		aliceDN := dir.addUser("alice", "alice@legacy.test", "Alice", "Archer", "alice-legacy-pw-1")
		bobDN := dir.addUser("bob", "bob@legacy.test", "Bob", "Baker", "bob-legacy-pw-22")
		dir.add("cn=staff,"+groupsDN, map[string][]string{"objectClass": {"groupOfNames"}, "cn": {"staff"},
			"member": {aliceDN, bobDN}})
		f := newFixture(t, s)
		conn := f.ldapConnection(dir, connection.ModeFederate, "")
		ctx := t.Context()

		u, err := f.login("alice", "alice-legacy-pw-1")
		if err != nil {
			t.Fatalf("bind-through login: %v", err)
		}
		if u.PasswordHash != "" || u.Email != "alice@legacy.test" {
			t.Fatalf("federated account = %+v", u)
		}
		dir.modify(aliceDN, func(r *ldap.ModifyRequest) { r.Replace("userPassword", []string{ssha(t, "alice-new-pw-333")}) })
		_, err = f.login("alice", "alice-legacy-pw-1")
		wantInvalid(t, "old directory password", err)
		if _, err := f.login("alice@legacy.test", "alice-new-pw-333"); err != nil {
			t.Fatalf("new directory password: %v", err)
		}
		// A password set here (say by a reset) is not what signs alice in.
		local, err := f.dir.Hasher.Hash("a-local-password-4")
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Users().RecordLogin(ctx, f.tn, u.ID, f.now, "", local); err != nil {
			t.Fatal(err)
		}
		_, err = f.login("alice", "a-local-password-4")
		wantInvalid(t, "local password of a federated account", err)

		// Full sync: bob is created, carol too; alice's surname changes.
		carolDN := dir.addUser("carol", "carol@legacy.test", "Carol", "Cooper", "carol-legacy-pw-4444")
		dir.modify(aliceDN, func(r *ldap.ModifyRequest) { r.Replace("sn", []string{"Arden"}) })
		res, err := f.leg.Sync(ctx, f.tn, conn.ID, time.Time{})
		if err != nil {
			t.Fatalf("sync: %v", err)
		}
		if res.Seen != 3 || res.Created != 2 || res.Updated != 1 || res.Disabled != 0 || res.Joined != 2 {
			t.Fatalf("first sync = %+v", res)
		}
		alice := f.userByEmail("alice@legacy.test")
		if alice.FamilyName != "Arden" {
			t.Fatalf("alice after sync = %+v", alice)
		}
		if got := f.groupMembers("staff"); !slices.Equal(got, []string{"alice@legacy.test", "bob@legacy.test"}) {
			t.Fatalf("staff = %v", got)
		}

		// Bob leaves the directory, carol joins staff, alice leaves it.
		dir.remove(bobDN)
		dir.modify("cn=staff,"+groupsDN, func(r *ldap.ModifyRequest) { r.Replace("member", []string{carolDN}) })
		res, err = f.leg.Sync(ctx, f.tn, conn.ID, time.Time{})
		if err != nil {
			t.Fatalf("second sync: %v", err)
		}
		if res.Seen != 2 || res.Created != 0 || res.Updated != 0 || res.Disabled != 1 || res.Joined != 1 || res.Left != 2 {
			t.Fatalf("second sync = %+v", res)
		}
		if b := f.userByEmail("bob@legacy.test"); b.Status != store.UserDisabled {
			t.Fatalf("bob after leaving = %+v", b)
		}
		if got := f.groupMembers("staff"); !slices.Equal(got, []string{"carol@legacy.test"}) {
			t.Fatalf("staff = %v", got)
		}
		_, err = f.login("bob", "bob-legacy-pw-22")
		wantInvalid(t, "removed from the directory", err)
		if _, err := f.login("carol", "carol-legacy-pw-4444"); err != nil {
			t.Fatalf("synced account's login: %v", err)
		}

		// Incremental: only entries modified since are read.
		since := time.Now().UTC().Add(time.Hour)
		if res, err = f.leg.Sync(ctx, f.tn, conn.ID, since); err != nil || res.Seen != 0 {
			t.Fatalf("incremental sync from the future = %+v, %v", res, err)
		}
		if res, err = f.leg.Sync(ctx, f.tn, conn.ID, time.Now().UTC().Add(-time.Hour)); err != nil || res.Seen != 2 {
			t.Fatalf("incremental sync of the last hour = %+v, %v", res, err)
		}
		if n := len(f.audited("connection.synced")); n != 4 {
			t.Fatalf("%d syncs audited, want 4", n)
		}
	})
}

// TestSyncRefusesMigratingConnection: only a federating directory syncs.
func TestSyncRefusesMigratingConnection(t *testing.T) {
	needSlapd(t)
	s := sqltest.OpenSQLite(t)
	dir := startSlapd(t)
	f := newFixture(t, s)
	conn := f.ldapConnection(dir, "", "")
	if _, err := f.leg.Sync(t.Context(), f.tn, conn.ID, time.Time{}); err != ErrNotFederating {
		t.Fatalf("Sync = %v, want ErrNotFederating", err)
	}
}

func (f *fixture) userByEmail(email string) *store.User {
	f.t.Helper()
	u, err := f.s.Users().GetUserByEmail(f.t.Context(), f.tn, email)
	if err != nil {
		f.t.Fatalf("%s: %v", email, err)
	}
	return u
}

// groupMembers answers the emails of the users in the group called name.
func (f *fixture) groupMembers(name string) []string {
	f.t.Helper()
	groups, err := f.dir.ListGroups(f.t.Context(), f.tn, store.Page{Limit: 100})
	if err != nil {
		f.t.Fatal(err)
	}
	for _, g := range groups {
		if g.Name != name {
			continue
		}
		ms, err := f.dir.ListMembers(f.t.Context(), f.tn, g.ID, store.Page{Limit: 100})
		if err != nil {
			f.t.Fatal(err)
		}
		var out []string
		for _, m := range ms {
			u, err := f.s.Users().GetUser(f.t.Context(), f.tn, m.ID)
			if err != nil {
				f.t.Fatal(err)
			}
			out = append(out, u.Email)
		}
		slices.Sort(out)
		return out
	}
	f.t.Fatalf("no group %q", name)
	return nil
}

// TestFederatedAccountOwnedByDirectory: the account page refuses to
// change the password, the address or the names of a federated account
// (after a right directory password; the tenant's own profile attributes
// stay editable); once the connection only migrates, the account is the
// user's own.
func TestFederatedAccountOwnedByDirectory(t *testing.T) {
	needSlapd(t)
	sqltest.ForEachStore(t, func(t *testing.T, s store.Store) {
		dir := startSlapd(t)
		dir.addUser("alice", "alice@legacy.test", "Alice", "Archer", "alice-legacy-pw-1")
		f := newFixture(t, s)
		conn := f.ldapConnection(dir, connection.ModeFederate, "")
		ctx := t.Context()
		u, err := f.login("alice", "alice-legacy-pw-1")
		if err != nil {
			t.Fatal(err)
		}
		acct := &account.Service{Store: s, Directory: f.dir, Sessions: f.flow.Sessions, Flow: f.flow, Audit: f.leg.Audit, Now: f.leg.Now}
		actor := account.Actor(u.ID, "192.0.2.10", "")
		if _, err := acct.ChangePassword(ctx, actor, f.tn, u.ID, "alice-legacy-pw-1", "a-new-local-password-9", "test"); !errors.Is(err, account.ErrDirectoryOwned) {
			t.Fatalf("ChangePassword = %v, want ErrDirectoryOwned", err)
		}
		tn, err := s.Tenants().GetTenant(ctx, f.tn)
		if err != nil {
			t.Fatal(err)
		}
		if err := acct.StartEmailChange(ctx, actor, tn, u.ID, "alice@elsewhere.test", "alice-legacy-pw-1", "en"); !errors.Is(err, account.ErrDirectoryOwned) {
			t.Fatalf("StartEmailChange = %v, want ErrDirectoryOwned", err)
		}
		if _, err := acct.UpdateProfile(ctx, actor, tn, u.ID, account.ProfileInput{GivenName: "Ally", FamilyName: "Archer"}); !errors.Is(err, account.ErrDirectoryOwned) {
			t.Fatalf("UpdateProfile(new name) = %v, want ErrDirectoryOwned", err)
		}
		if _, err := acct.UpdateProfile(ctx, actor, tn, u.ID, account.ProfileInput{GivenName: "Alice", FamilyName: "Archer"}); err != nil {
			t.Fatalf("UpdateProfile(same names) = %v", err)
		}
		if got, _ := f.s.Users().GetUser(ctx, f.tn, u.ID); got.PasswordHash != "" {
			t.Fatal("a password was set here for a federated account")
		}
		// Switched to migrate mode, the account is the user's own.
		mode := connection.ModeMigrate
		if _, err := f.conns.Update(ctx, events.Actor{Type: "cli"}, f.tn, conn.ID, 0, connection.Patch{Mode: &mode}); err != nil {
			t.Fatal(err)
		}
		if owned, err := connection.DirectoryOwned(ctx, s, f.tn, u.ID); err != nil || owned {
			t.Fatalf("DirectoryOwned after migrate mode = %v, %v", owned, err)
		}
	})
}
