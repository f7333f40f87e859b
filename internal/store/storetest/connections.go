package storetest

import (
	"bytes"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

var connectionTests = []test{
	{"ConnectionsCRUDAndIsolation", testConnectionsCRUD},
	{"IdentitiesLinkOnceAndCascade", testIdentities},
	{"BrokerStateTakenOnce", testBrokerStates},
}

func mkConnection(t *testing.T, s store.Repos, tenant store.TenantID, name string) *store.Connection {
	t.Helper()
	c := &store.Connection{ID: newID(), Tenant: tenant, Name: name, Type: "oidc", DisplayName: "Corp " + name,
		Enabled: true, Config: json.RawMessage(`{"issuer":"https://idp.example.com"}`), SealedSecret: []byte("sealed")}
	noErr(t, "CreateConnection", s.Connections().Connections().CreateConnection(ctx(t), c))
	return c
}

// A connection is its tenant's only: another tenant neither sees, changes
// nor deletes it, and may use the same name.
func testConnectionsCRUD(t *testing.T, s store.Store) {
	a, b := mkTenant(t, s), mkTenant(t, s)
	cs := s.Connections().Connections()
	c := mkConnection(t, s, a, "corp")
	dup := &store.Connection{ID: newID(), Tenant: a, Name: "corp", Type: "oidc"}
	wantErr(t, "CreateConnection(same name)", cs.CreateConnection(ctx(t), dup), store.ErrConflict)
	mkConnection(t, s, b, "corp") // the name is per tenant
	missing := &store.Connection{ID: newID(), Tenant: store.TenantID(newID()), Name: "x", Type: "oidc"}
	wantErr(t, "CreateConnection(no tenant)", cs.CreateConnection(ctx(t), missing), store.ErrNotFound)

	got, err := cs.GetConnectionByName(ctx(t), a, "corp")
	noErr(t, "GetConnectionByName", err)
	if got.ID != c.ID || got.Version != 1 || !got.Enabled || !bytes.Equal(got.SealedSecret, []byte("sealed")) ||
		!jsonSame(got.Config, c.Config) || got.DisplayName != "Corp corp" {
		t.Fatalf("GetConnectionByName = %+v", got)
	}
	_, err = cs.GetConnection(ctx(t), b, c.ID)
	wantErr(t, "GetConnection(other tenant)", err, store.ErrNotFound)
	_, err = cs.UpdateConnection(ctx(t), b, c.ID, func(*store.Connection) error { return nil })
	wantErr(t, "UpdateConnection(other tenant)", err, store.ErrNotFound)
	wantErr(t, "DeleteConnection(other tenant)", cs.DeleteConnection(ctx(t), b, c.ID), store.ErrNotFound)

	up, err := cs.UpdateConnection(ctx(t), a, c.ID, func(n *store.Connection) error {
		n.Enabled, n.SealedSecret, n.Config = false, nil, json.RawMessage(`{"scopes":["openid"]}`)
		return nil
	})
	noErr(t, "UpdateConnection", err)
	got, _ = cs.GetConnection(ctx(t), a, c.ID)
	if up.Version != 2 || got.Version != 2 || got.Enabled || got.SealedSecret != nil || !jsonSame(got.Config, up.Config) {
		t.Fatalf("after update %+v, stored %+v", up, got)
	}
	// Of concurrent updates none is lost.
	var wg sync.WaitGroup
	for range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := cs.UpdateConnection(ctx(t), a, c.ID, func(n *store.Connection) error { n.DisplayName += "+"; return nil })
			if err != nil {
				t.Errorf("concurrent UpdateConnection: %v", err)
			}
		}()
	}
	wg.Wait()
	got, _ = cs.GetConnection(ctx(t), a, c.ID)
	if got.Version != 7 || got.DisplayName != "Corp corp+++++" {
		t.Fatalf("after concurrent updates: version %d, name %q", got.Version, got.DisplayName)
	}
	list, err := cs.ListConnections(ctx(t), a, store.Page{})
	noErr(t, "ListConnections", err)
	if len(list) != 1 || list[0].ID != c.ID {
		t.Fatalf("ListConnections = %+v", list)
	}
	noErr(t, "DeleteConnection", cs.DeleteConnection(ctx(t), a, c.ID))
	wantErr(t, "DeleteConnection(again)", cs.DeleteConnection(ctx(t), a, c.ID), store.ErrNotFound)
	if list, _ := cs.ListConnections(ctx(t), b, store.Page{}); len(list) != 1 {
		t.Fatalf("tenant b lost its connection: %+v", list)
	}
}

func jsonSame(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}

// A subject links once per connection; identities go with their user and
// with their connection, and are invisible to other tenants.
func testIdentities(t *testing.T, s store.Store) {
	a, b := mkTenant(t, s), mkTenant(t, s)
	ids := s.Connections().Identities()
	c := mkConnection(t, s, a, "google")
	c2 := mkConnection(t, s, a, "github")
	ada, bob := mkUser(t, s, a, "ada"), mkUser(t, s, a, "bob")
	i := &store.Identity{ID: newID(), Tenant: a, UserID: ada.ID, ConnectionID: c.ID, Subject: "sub-1", Email: "ada@gmail.com"}
	noErr(t, "CreateIdentity", ids.CreateIdentity(ctx(t), i))
	again := &store.Identity{ID: newID(), Tenant: a, UserID: bob.ID, ConnectionID: c.ID, Subject: "sub-1"}
	wantErr(t, "CreateIdentity(subject taken)", ids.CreateIdentity(ctx(t), again), store.ErrConflict)
	other := &store.Identity{ID: newID(), Tenant: a, UserID: ada.ID, ConnectionID: c2.ID, Subject: "sub-1"}
	noErr(t, "CreateIdentity(other connection)", ids.CreateIdentity(ctx(t), other))
	ghost := &store.Identity{ID: newID(), Tenant: b, UserID: ada.ID, ConnectionID: c.ID, Subject: "sub-2"}
	wantErr(t, "CreateIdentity(user of another tenant)", ids.CreateIdentity(ctx(t), ghost), store.ErrNotFound)

	got, err := ids.GetIdentityBySubject(ctx(t), a, c.ID, "sub-1")
	noErr(t, "GetIdentityBySubject", err)
	if got.ID != i.ID || got.UserID != ada.ID || got.Email != "ada@gmail.com" || got.SealedTokens != nil {
		t.Fatalf("GetIdentityBySubject = %+v", got)
	}
	_, err = ids.GetIdentityBySubject(ctx(t), b, c.ID, "sub-1")
	wantErr(t, "GetIdentityBySubject(other tenant)", err, store.ErrNotFound)

	at := time.Now().Add(time.Minute).UTC().Truncate(time.Microsecond)
	noErr(t, "TouchIdentity", ids.TouchIdentity(ctx(t), a, i.ID, at, "ada@new.example", []byte("tok")))
	got, _ = ids.GetIdentityBySubject(ctx(t), a, c.ID, "sub-1")
	if !got.LastLoginAt.Equal(at) || got.Email != "ada@new.example" || string(got.SealedTokens) != "tok" {
		t.Fatalf("after TouchIdentity: %+v", got)
	}
	noErr(t, "TouchIdentity(keep tokens)", ids.TouchIdentity(ctx(t), a, i.ID, at, "ada@new.example", nil))
	if got, _ = ids.GetIdentityBySubject(ctx(t), a, c.ID, "sub-1"); string(got.SealedTokens) != "tok" {
		t.Fatalf("nil tokens changed them: %+v", got)
	}
	wantErr(t, "TouchIdentity(other tenant)", ids.TouchIdentity(ctx(t), b, i.ID, at, "", nil), store.ErrNotFound)

	list, err := ids.ListUserIdentities(ctx(t), a, ada.ID)
	noErr(t, "ListUserIdentities", err)
	if len(list) != 2 {
		t.Fatalf("ListUserIdentities = %+v", list)
	}
	if list, _ := ids.ListUserIdentities(ctx(t), b, ada.ID); list == nil || len(list) != 0 {
		t.Fatalf("ListUserIdentities(other tenant) = %#v, want empty", list)
	}
	noErr(t, "CreateIdentity(bob on c)", ids.CreateIdentity(ctx(t), &store.Identity{ID: newID(), Tenant: a, UserID: bob.ID,
		ConnectionID: c.ID, Subject: "sub-0"}))
	byConn, err := ids.ListConnectionIdentities(ctx(t), a, c.ID, store.Page{Limit: 1})
	noErr(t, "ListConnectionIdentities", err)
	if len(byConn) != 1 || byConn[0].Subject != "sub-0" || byConn[0].UserID != bob.ID {
		t.Fatalf("ListConnectionIdentities page 1 = %+v", byConn)
	}
	byConn, err = ids.ListConnectionIdentities(ctx(t), a, c.ID, store.Page{After: "sub-0", Limit: 10})
	noErr(t, "ListConnectionIdentities(after)", err)
	if len(byConn) != 1 || byConn[0].ID != i.ID {
		t.Fatalf("ListConnectionIdentities page 2 = %+v", byConn)
	}
	if list, _ := ids.ListConnectionIdentities(ctx(t), b, c.ID, store.Page{}); list == nil || len(list) != 0 {
		t.Fatalf("ListConnectionIdentities(other tenant) = %#v, want empty", list)
	}
	noErr(t, "DeleteIdentity(bob on c)", ids.DeleteIdentity(ctx(t), a, bob.ID, mustSubject(t, ids, a, c.ID, "sub-0")))
	wantErr(t, "DeleteIdentity(other user)", ids.DeleteIdentity(ctx(t), a, bob.ID, i.ID), store.ErrNotFound)
	noErr(t, "DeleteIdentity", ids.DeleteIdentity(ctx(t), a, ada.ID, i.ID))
	// Deleting the connection takes its identities; deleting the user takes theirs.
	noErr(t, "CreateIdentity(bob)", ids.CreateIdentity(ctx(t), &store.Identity{ID: newID(), Tenant: a, UserID: bob.ID,
		ConnectionID: c2.ID, Subject: "sub-bob"}))
	noErr(t, "DeleteConnection", s.Connections().Connections().DeleteConnection(ctx(t), a, c2.ID))
	if list, _ := ids.ListUserIdentities(ctx(t), a, ada.ID); len(list) != 0 {
		t.Fatalf("identities outlived their connection: %+v", list)
	}
	noErr(t, "CreateIdentity(again)", ids.CreateIdentity(ctx(t), &store.Identity{ID: newID(), Tenant: a, UserID: bob.ID,
		ConnectionID: c.ID, Subject: "sub-bob"}))
	noErr(t, "DeleteUser", s.Users().DeleteUser(ctx(t), a, bob.ID))
	_, err = ids.GetIdentityBySubject(ctx(t), a, c.ID, "sub-bob")
	wantErr(t, "GetIdentityBySubject(deleted user)", err, store.ErrNotFound)
}

func mustSubject(t *testing.T, ids store.Identities, tn store.TenantID, connID, subject string) string {
	t.Helper()
	i, err := ids.GetIdentityBySubject(ctx(t), tn, connID, subject)
	noErr(t, "GetIdentityBySubject", err)
	return i.ID
}

// Of concurrent takes of one state exactly one gets it; the wrong purpose,
// another tenant and an expired state find nothing.
func testBrokerStates(t *testing.T, s store.Store) {
	a, b := mkTenant(t, s), mkTenant(t, s)
	bs := s.Connections().BrokerStates()
	put := func(tn store.TenantID, secret string, ttl time.Duration) {
		noErr(t, "PutState", bs.PutState(ctx(t), &store.BrokerState{Tenant: tn, Hash: sum(secret), Purpose: "login",
			Sealed: []byte("content-" + secret), ExpiresAt: time.Now().Add(ttl)}))
	}
	put(a, "s1", time.Hour)
	wantErr(t, "PutState(same hash)", bs.PutState(ctx(t), &store.BrokerState{Tenant: a, Hash: sum("s1"), Purpose: "login",
		Sealed: []byte("x"), ExpiresAt: time.Now().Add(time.Hour)}), store.ErrConflict)
	_, err := bs.TakeState(ctx(t), a, "link", sum("s1"))
	wantErr(t, "TakeState(wrong purpose)", err, store.ErrNotFound)
	_, err = bs.TakeState(ctx(t), b, "login", sum("s1"))
	wantErr(t, "TakeState(other tenant)", err, store.ErrNotFound)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		wins int
	)
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, err := bs.TakeState(ctx(t), a, "login", sum("s1"))
			if err == nil {
				if string(st.Sealed) != "content-s1" {
					t.Errorf("TakeState content %q", st.Sealed)
				}
				mu.Lock()
				wins++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d concurrent takes won, want 1", wins)
	}
	put(a, "old", -time.Second)
	_, err = bs.TakeState(ctx(t), a, "login", sum("old"))
	wantErr(t, "TakeState(expired)", err, store.ErrNotFound)
	put(a, "old2", -time.Second)
	put(a, "live", time.Hour)
	noErr(t, "PurgeStates", bs.PurgeStates(ctx(t), time.Now()))
	if _, err := bs.TakeState(ctx(t), a, "login", sum("live")); err != nil {
		t.Fatalf("PurgeStates took a live state: %v", err)
	}
}
