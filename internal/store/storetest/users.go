package storetest

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

var userTests = []test{
	{"User/CRUD", testUserCRUD},
	{"User/EmailUniquePerTenant", testUserEmailUnique},
	{"User/UsernameOptional", testUserUsername},
	{"User/Isolation", testUserIsolation},
	{"User/UpdateClosure", testUserUpdateClosure},
	{"User/ConcurrentUpdates", testUserConcurrentUpdates},
	{"User/Times", testUserTimes},
	{"User/InsertUsers", testInsertUsers},
	{"User/RecordLogin", testRecordLogin},
	{"User/Skeleton", testUserSkeleton},
	{"User/Cached", testUserCached},
}

func testUserCRUD(t *testing.T, s store.Store) {
	tn := mkTenant(t, s)
	us := s.Users()
	login := time.Date(2024, 5, 6, 7, 8, 9, 123456000, time.UTC)
	u := &store.User{
		ID: newID(), Tenant: tn, Email: "Ada@Example.com", EmailNorm: "ada@example.com",
		Username: "Ada", UsernameNorm: "ada", GivenName: "Ada", FamilyName: "Lovelace",
		Phone: "+441234", Locale: "en-GB", Status: store.UserActive, EmailVerified: true, EmailVerifiedUpstream: true,
		Attributes:   json.RawMessage(`{"dept": "eng", "level": 3, "tags": ["a","b"]}`),
		PasswordHash: "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA", LastLoginAt: &login,
	}
	noErr(t, "CreateUser", us.CreateUser(ctx(t), u))
	if u.Version != 1 || u.CreatedAt.IsZero() || !u.UpdatedAt.Equal(u.CreatedAt) {
		t.Errorf("CreateUser filled Version %d CreatedAt %v UpdatedAt %v", u.Version, u.CreatedAt, u.UpdatedAt)
	}
	for name, get := range map[string]func() (*store.User, error){
		"GetUser":           func() (*store.User, error) { return us.GetUser(ctx(t), tn, u.ID) },
		"GetUserByEmail":    func() (*store.User, error) { return us.GetUserByEmail(ctx(t), tn, "ada@example.com") },
		"GetUserByUsername": func() (*store.User, error) { return us.GetUserByUsername(ctx(t), tn, "ada") },
	} {
		got, err := get()
		noErr(t, name, err)
		sameUser(t, name, got, u)
	}
	_, err := us.GetUser(ctx(t), tn, newID())
	wantErr(t, "GetUser(missing)", err, store.ErrNotFound)
	_, err = us.GetUserByEmail(ctx(t), tn, "Ada@Example.com") // the typed form is not the key
	wantErr(t, "GetUserByEmail(not normalised)", err, store.ErrNotFound)
	_, err = us.GetUserByUsername(ctx(t), tn, "nobody")
	wantErr(t, "GetUserByUsername(missing)", err, store.ErrNotFound)

	// Defaults: status active, attributes {}.
	bare := &store.User{ID: newID(), Tenant: tn, Email: "b@x.io", EmailNorm: "b@x.io"}
	noErr(t, "CreateUser(bare)", us.CreateUser(ctx(t), bare))
	got, err := us.GetUser(ctx(t), tn, bare.ID)
	noErr(t, "GetUser(bare)", err)
	if got.Status != store.UserActive || got.LastLoginAt != nil || got.Username != "" || got.UsernameNorm != "" {
		t.Errorf("bare user read back as %+v", got)
	}
	jsonEqual(t, "default attributes", got.Attributes, []byte(`{}`))

	up, err := us.UpdateUser(ctx(t), tn, u.ID, func(x *store.User) error {
		x.GivenName, x.Status, x.PhoneVerified, x.EmailVerifiedUpstream = "Augusta", store.UserLocked, true, false
		x.Attributes = json.RawMessage(`{"dept":"ops"}`)
		x.LastLoginAt = nil
		x.Username, x.UsernameNorm = "", ""
		return nil
	})
	noErr(t, "UpdateUser", err)
	if up.Version != 2 || up.GivenName != "Augusta" || !up.CreatedAt.Equal(u.CreatedAt) || up.UpdatedAt.Before(u.UpdatedAt) {
		t.Errorf("UpdateUser = %+v", up)
	}
	got, err = us.GetUser(ctx(t), tn, u.ID)
	noErr(t, "GetUser", err)
	sameUser(t, "after update", got, up)
	_, err = us.GetUserByUsername(ctx(t), tn, "ada")
	wantErr(t, "GetUserByUsername(cleared)", err, store.ErrNotFound)

	_, err = us.UpdateUser(ctx(t), tn, newID(), func(*store.User) error {
		t.Error("closure called for a missing user")
		return nil
	})
	wantErr(t, "UpdateUser(missing)", err, store.ErrNotFound)

	n, err := us.CountUsers(ctx(t), tn)
	noErr(t, "CountUsers", err)
	if n != 2 {
		t.Errorf("CountUsers = %d, want 2", n)
	}
	noErr(t, "DeleteUser", us.DeleteUser(ctx(t), tn, u.ID))
	_, err = us.GetUser(ctx(t), tn, u.ID)
	wantErr(t, "GetUser(deleted)", err, store.ErrNotFound)
	wantErr(t, "DeleteUser(again)", us.DeleteUser(ctx(t), tn, u.ID), store.ErrNotFound)
	n, err = us.CountUsers(ctx(t), tn)
	noErr(t, "CountUsers", err)
	if n != 1 {
		t.Errorf("CountUsers after delete = %d, want 1", n)
	}

	err = us.CreateUser(ctx(t), &store.User{ID: newID(), Tenant: store.TenantID(newID()), Email: "x@x.io", EmailNorm: "x@x.io"})
	wantErr(t, "CreateUser(missing tenant)", err, store.ErrNotFound)
}

func testUserEmailUnique(t *testing.T, s store.Store) {
	a, b := mkTenant(t, s), mkTenant(t, s)
	us := s.Users()
	mkUser(t, s, a, "bob")
	err := us.CreateUser(ctx(t), &store.User{ID: newID(), Tenant: a, Email: "BOB@example.com", EmailNorm: "bob@example.com"})
	wantErr(t, "CreateUser(same normalised email)", err, store.ErrConflict)
	// The normalised form is the key: the typed form may repeat.
	mkUser(t, s, a, "bob2", func(u *store.User) { u.Email = "bob@Example.com" })
	// Another tenant may have the same email.
	mkUser(t, s, b, "bob")

	carol := mkUser(t, s, a, "carol")
	_, err = us.UpdateUser(ctx(t), a, carol.ID, func(x *store.User) error {
		x.Email, x.EmailNorm, x.GivenName = "bob@example.com", "bob@example.com", "changed"
		return nil
	})
	wantErr(t, "UpdateUser(to a taken email)", err, store.ErrConflict)
	got, err := us.GetUser(ctx(t), a, carol.ID)
	noErr(t, "GetUser", err)
	sameUser(t, "after failed update", got, carol)
}

func testUserUsername(t *testing.T, s store.Store) {
	a, b := mkTenant(t, s), mkTenant(t, s)
	us := s.Users()
	// Any number of users may go without a username.
	mkUser(t, s, a, "u1")
	mkUser(t, s, a, "u2")
	_, err := us.GetUserByUsername(ctx(t), a, "")
	wantErr(t, "GetUserByUsername(\"\")", err, store.ErrNotFound)

	withName := func(name string) func(*store.User) {
		return func(u *store.User) { u.Username, u.UsernameNorm = name, name }
	}
	mkUser(t, s, a, "u3", withName("zed"))
	err = us.CreateUser(ctx(t), &store.User{ID: newID(), Tenant: a, Email: "u4@x.io", EmailNorm: "u4@x.io", Username: "Zed", UsernameNorm: "zed"})
	wantErr(t, "CreateUser(taken username)", err, store.ErrConflict)
	mkUser(t, s, b, "u3", withName("zed")) // per tenant
}

// testUserIsolation: a user of tenant A is invisible under tenant B.
func testUserIsolation(t *testing.T, s store.Store) {
	a, b := mkTenant(t, s), mkTenant(t, s)
	us := s.Users()
	u := mkUser(t, s, a, "iso", func(u *store.User) {
		u.Username, u.UsernameNorm, u.Attributes = "iso", "iso", json.RawMessage(`{"k":"v"}`)
	})
	_, err := us.GetUser(ctx(t), b, u.ID)
	wantErr(t, "GetUser under B", err, store.ErrNotFound)
	_, err = us.GetUserByEmail(ctx(t), b, u.EmailNorm)
	wantErr(t, "GetUserByEmail under B", err, store.ErrNotFound)
	_, err = us.GetUserByUsername(ctx(t), b, "iso")
	wantErr(t, "GetUserByUsername under B", err, store.ErrNotFound)
	for _, q := range []store.UserQuery{{}, {EmailNorm: u.EmailNorm}, {Prefix: "iso"}, {AttrKey: "k", AttrValue: "v"}, {Status: store.UserActive}} {
		found, err := us.SearchUsers(ctx(t), b, q)
		noErr(t, "SearchUsers under B", err)
		if len(found) != 0 {
			t.Errorf("SearchUsers(%+v) under B found %v", q, userIDs(found))
		}
	}
	n, err := us.CountUsers(ctx(t), b)
	noErr(t, "CountUsers", err)
	if n != 0 {
		t.Errorf("CountUsers under B = %d", n)
	}
	_, err = us.UpdateUser(ctx(t), b, u.ID, func(x *store.User) error {
		t.Error("closure called under the wrong tenant")
		return nil
	})
	wantErr(t, "UpdateUser under B", err, store.ErrNotFound)
	wantErr(t, "DeleteUser under B", us.DeleteUser(ctx(t), b, u.ID), store.ErrNotFound)
	got, err := us.GetUser(ctx(t), a, u.ID)
	noErr(t, "GetUser under A", err)
	sameUser(t, "untouched under A", got, u)
}

func testUserUpdateClosure(t *testing.T, s store.Store) {
	tn := mkTenant(t, s)
	us := s.Users()
	u := mkUser(t, s, tn, "clo")
	_, err := us.UpdateUser(ctx(t), tn, u.ID, func(x *store.User) error {
		x.GivenName = "changed"
		return errClosure
	})
	if err != errClosure {
		t.Errorf("UpdateUser: closure error came back as %v, want it unchanged", err)
	}
	_, err = us.UpdateUser(ctx(t), tn, u.ID, func(x *store.User) error {
		if x.Version != u.Version+5 {
			return fmt.Errorf("stale: %w", store.ErrPrecondition)
		}
		return nil
	})
	wantErr(t, "UpdateUser(stale)", err, store.ErrPrecondition)
	for name, fn := range map[string]func(*store.User){
		"id":     func(x *store.User) { x.ID = newID() },
		"tenant": func(x *store.User) { x.Tenant = store.TenantID(newID()) },
	} {
		_, err = us.UpdateUser(ctx(t), tn, u.ID, func(x *store.User) error { fn(x); x.GivenName = "changed"; return nil })
		if err == nil {
			t.Errorf("UpdateUser let the closure change the %s", name)
		}
	}
	got, err := us.GetUser(ctx(t), tn, u.ID)
	noErr(t, "GetUser", err)
	sameUser(t, "after refused updates", got, u)

	// The closure gets a copy: keeping it and editing later changes nothing.
	var kept *store.User
	_, err = us.UpdateUser(ctx(t), tn, u.ID, func(x *store.User) error { kept = x; return nil })
	noErr(t, "UpdateUser", err)
	kept.GivenName = "late"
	got, err = us.GetUser(ctx(t), tn, u.ID)
	noErr(t, "GetUser", err)
	if got.GivenName == "late" || got.Version != 2 {
		t.Errorf("after no-op update: %+v", got)
	}
}

// testUserConcurrentUpdates proves the read-modify-write contract: no
// increment is lost when goroutines race through UpdateUser.
func testUserConcurrentUpdates(t *testing.T, s store.Store) {
	tn := mkTenant(t, s)
	u := mkUser(t, s, tn, "counter", func(u *store.User) { u.Attributes = json.RawMessage(`{"n":0}`) })
	const workers, each = 8, 10
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				_, err := s.Users().UpdateUser(ctx(t), tn, u.ID, func(x *store.User) error {
					var a struct{ N int }
					if err := json.Unmarshal(x.Attributes, &a); err != nil {
						return err
					}
					a.N++
					x.Attributes = json.RawMessage(fmt.Sprintf(`{"n":%d}`, a.N))
					return nil
				})
				if err != nil {
					t.Errorf("UpdateUser: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	got, err := s.Users().GetUser(ctx(t), tn, u.ID)
	noErr(t, "GetUser", err)
	jsonEqual(t, "counter", got.Attributes, []byte(fmt.Sprintf(`{"n":%d}`, workers*each)))
	if got.Version != 1+workers*each {
		t.Errorf("Version = %d, want %d", got.Version, 1+workers*each)
	}
}

// testUserTimes: times keep microseconds and come back in UTC; a creation
// time given by the caller (an import) is kept.
func testUserTimes(t *testing.T, s store.Store) {
	tn := mkTenant(t, s)
	zone := time.FixedZone("X", 5*3600+30*60)
	created := time.Date(2021, 3, 4, 5, 6, 7, 123456789, zone)
	login := time.Date(2023, 12, 31, 23, 59, 59, 999999999, zone)
	u := mkUser(t, s, tn, "time", func(u *store.User) { u.CreatedAt, u.LastLoginAt = created, &login })
	got, err := s.Users().GetUser(ctx(t), tn, u.ID)
	noErr(t, "GetUser", err)
	wantCreated := time.Date(2021, 3, 3, 23, 36, 7, 123456000, time.UTC)
	sameTime(t, "CreatedAt", got.CreatedAt, wantCreated)
	sameTime(t, "UpdatedAt", got.UpdatedAt, wantCreated)
	sameTimePtr(t, "LastLoginAt", got.LastLoginAt, new(login.Truncate(time.Microsecond)))
	sameTime(t, "CreateUser's own copy", u.CreatedAt, wantCreated)

	when := time.Date(2025, 1, 2, 3, 4, 5, 6007, time.UTC)
	_, err = s.Users().UpdateUser(ctx(t), tn, u.ID, func(x *store.User) error { x.LastLoginAt = &when; return nil })
	noErr(t, "UpdateUser", err)
	got, err = s.Users().GetUser(ctx(t), tn, u.ID)
	noErr(t, "GetUser", err)
	sameTimePtr(t, "updated LastLoginAt", got.LastLoginAt, new(time.Date(2025, 1, 2, 3, 4, 5, 6000, time.UTC)))
	sameTime(t, "CreatedAt after update", got.CreatedAt, wantCreated)
}

func testInsertUsers(t *testing.T, s store.Store) {
	a, b := mkTenant(t, s), mkTenant(t, s)
	us := s.Users()
	// Enough rows to span several multi-row statements in any backend.
	var batch []store.User
	for i := range 450 {
		batch = append(batch, store.User{ID: newID(), Email: fmt.Sprintf("U%d@x.io", i), EmailNorm: fmt.Sprintf("u%d@x.io", i), GivenName: "G"})
	}
	noErr(t, "InsertUsers", us.InsertUsers(ctx(t), a, batch))
	n, err := us.CountUsers(ctx(t), a)
	noErr(t, "CountUsers", err)
	if n != 450 {
		t.Fatalf("CountUsers = %d, want 450", n)
	}
	got, err := us.GetUserByEmail(ctx(t), a, "u449@x.io")
	noErr(t, "GetUserByEmail", err)
	if got.ID != batch[449].ID || got.Tenant != a || got.Status != store.UserActive || got.Version != 1 || got.CreatedAt.IsZero() {
		t.Errorf("inserted user read back as %+v", got)
	}

	// All or nothing: a clash in the last row leaves none of the rows.
	var bad []store.User
	for i := range 450 {
		bad = append(bad, store.User{ID: newID(), Email: fmt.Sprintf("v%d@x.io", i), EmailNorm: fmt.Sprintf("v%d@x.io", i)})
	}
	bad[449].EmailNorm = "u0@x.io"
	wantErr(t, "InsertUsers(clash)", us.InsertUsers(ctx(t), a, bad), store.ErrConflict)
	n, err = us.CountUsers(ctx(t), a)
	noErr(t, "CountUsers", err)
	if n != 450 {
		t.Errorf("CountUsers after a failed bulk insert = %d, want 450", n)
	}
	// A user naming another tenant is refused.
	err = us.InsertUsers(ctx(t), b, []store.User{{ID: newID(), Tenant: a, Email: "w@x.io", EmailNorm: "w@x.io"}})
	if err == nil {
		t.Error("InsertUsers accepted a user of another tenant")
	}
	err = us.InsertUsers(ctx(t), store.TenantID(newID()), []store.User{{ID: newID(), Email: "w@x.io", EmailNorm: "w@x.io"}})
	wantErr(t, "InsertUsers(missing tenant)", err, store.ErrNotFound)
	noErr(t, "InsertUsers(empty)", us.InsertUsers(ctx(t), a, nil))
}

// testRecordLogin: a login sets the login time and upgrades the hash only
// from the hash it was checked against; it is no edit (version and
// updated_at stay), and it stays in its tenant.
func testRecordLogin(t *testing.T, s store.Store) {
	tn, other := mkTenant(t, s), mkTenant(t, s)
	u := mkUser(t, s, tn, "login", func(u *store.User) { u.PasswordHash = "old-hash" })
	at := time.Now().UTC().Add(time.Minute).Truncate(time.Microsecond)
	noErr(t, "record login", s.Users().RecordLogin(ctx(t), tn, u.ID, at, "old-hash", "new-hash"))
	got, err := s.Users().GetUser(ctx(t), tn, u.ID)
	noErr(t, "get", err)
	sameTimePtr(t, "last login", got.LastLoginAt, &at)
	if got.PasswordHash != "new-hash" || got.Version != u.Version || !got.UpdatedAt.Equal(u.UpdatedAt) {
		t.Errorf("after login: hash %q version %d (was %d) updated %v (was %v)",
			got.PasswordHash, got.Version, u.Version, got.UpdatedAt, u.UpdatedAt)
	}
	// A stale old hash (changed meanwhile) is not overwritten.
	noErr(t, "stale", s.Users().RecordLogin(ctx(t), tn, u.ID, at, "old-hash", "newer-hash"))
	if got, _ := s.Users().GetUser(ctx(t), tn, u.ID); got.PasswordHash != "new-hash" {
		t.Errorf("stale upgrade overwrote the hash: %q", got.PasswordHash)
	}
	wantErr(t, "other tenant", s.Users().RecordLogin(ctx(t), other, u.ID, at, "", ""), store.ErrNotFound)
	wantErr(t, "unknown user", s.Users().RecordLogin(ctx(t), tn, newID(), at, "", ""), store.ErrNotFound)
}
