package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

var recognitionTests = []test{
	{"Recognition/Devices", testKnownDevices},
	{"Recognition/Networks", testKnownNetworks},
	{"OAuth/AuthRequest/PendingPerSource", testPendingAuthRequests},
}

func testKnownDevices(t *testing.T, s store.Store) {
	tn, other := mkTenant(t, s), mkTenant(t, s)
	alice, bob := mkUser(t, s, tn, "alice"), mkUser(t, s, tn, "bob")
	rec := s.OAuth().Recognition()
	now := time.Now().Truncate(time.Second)
	d := &store.KnownDevice{Tenant: tn, ID: "dev-1", UserID: alice.ID, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}
	noErr(t, "PutDevice", rec.PutDevice(ctx(t), d))
	got, err := rec.GetDevice(ctx(t), tn, "dev-1", now)
	noErr(t, "GetDevice", err)
	if got.UserID != alice.ID || !got.CreatedAt.Equal(now) || !got.ExpiresAt.Equal(now.Add(time.Hour)) {
		t.Fatalf("GetDevice = %+v", got)
	}
	// A later sign-in moves it forward; another user cannot take the id.
	later := now.Add(time.Minute)
	noErr(t, "PutDevice again", rec.PutDevice(ctx(t), &store.KnownDevice{Tenant: tn, ID: "dev-1", UserID: alice.ID,
		LastSeenAt: later, ExpiresAt: later.Add(time.Hour)}))
	if got, _ := rec.GetDevice(ctx(t), tn, "dev-1", now); !got.LastSeenAt.Equal(later) || !got.CreatedAt.Equal(now) {
		t.Fatalf("after touch = %+v", got)
	}
	err = rec.PutDevice(ctx(t), &store.KnownDevice{Tenant: tn, ID: "dev-1", UserID: bob.ID, LastSeenAt: later, ExpiresAt: later.Add(time.Hour)})
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("PutDevice(other user's id) = %v, want ErrConflict", err)
	}
	if _, err := rec.GetDevice(ctx(t), other, "dev-1", now); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetDevice(other tenant) = %v, want ErrNotFound", err)
	}
	if _, err := rec.GetDevice(ctx(t), tn, "dev-1", later.Add(time.Hour)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetDevice(expired) = %v, want ErrNotFound", err)
	}
	// The newest 20 survive; the oldest go.
	for i := range 25 {
		at := later.Add(time.Duration(i+1) * time.Second)
		noErr(t, "PutDevice", rec.PutDevice(ctx(t), &store.KnownDevice{Tenant: tn, ID: fmt.Sprintf("b-%02d", i), UserID: bob.ID,
			LastSeenAt: at, ExpiresAt: at.Add(time.Hour)}))
	}
	list, err := rec.ListDevices(ctx(t), tn, bob.ID, now)
	noErr(t, "ListDevices", err)
	if len(list) != 20 || list[0].ID != "b-24" || list[19].ID != "b-05" {
		t.Fatalf("ListDevices = %d devices, first %q", len(list), list[0].ID)
	}
	noErr(t, "Forget", rec.Forget(ctx(t), tn, bob.ID))
	if list, _ := rec.ListDevices(ctx(t), tn, bob.ID, now); len(list) != 0 {
		t.Fatalf("after Forget: %d devices", len(list))
	}
	if _, err := rec.GetDevice(ctx(t), tn, "dev-1", now); err != nil {
		t.Fatalf("Forget(bob) touched alice's device: %v", err)
	}
	// One device goes; another user cannot forget it.
	if err := rec.ForgetDevice(ctx(t), tn, bob.ID, "dev-1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("ForgetDevice(another user's) = %v, want ErrNotFound", err)
	}
	noErr(t, "PutDevice dev-2", rec.PutDevice(ctx(t), &store.KnownDevice{Tenant: tn, ID: "dev-2", UserID: alice.ID, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}))
	noErr(t, "ForgetDevice", rec.ForgetDevice(ctx(t), tn, alice.ID, "dev-2"))
	if _, err := rec.GetDevice(ctx(t), tn, "dev-2", now); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("forgotten device still there: %v", err)
	}
	if _, err := rec.GetDevice(ctx(t), tn, "dev-1", now); err != nil {
		t.Fatalf("ForgetDevice took another device: %v", err)
	}
	if err := rec.ForgetDevice(ctx(t), other, alice.ID, "dev-1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("ForgetDevice(other tenant) = %v, want ErrNotFound", err)
	}
	noErr(t, "DeleteUser", s.Users().DeleteUser(ctx(t), tn, alice.ID))
	if _, err := rec.GetDevice(ctx(t), tn, "dev-1", now); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("device outlived its user: %v", err)
	}
}

func testKnownNetworks(t *testing.T, s store.Store) {
	tn, other := mkTenant(t, s), mkTenant(t, s)
	alice := mkUser(t, s, tn, "alice")
	rec := s.OAuth().Recognition()
	now := time.Now().Truncate(time.Second)
	known := func(tenant store.TenantID, network string, since time.Time) bool {
		t.Helper()
		ok, err := rec.KnownNetwork(ctx(t), tenant, alice.ID, network, since)
		noErr(t, "KnownNetwork", err)
		return ok
	}
	noErr(t, "TouchNetwork", rec.TouchNetwork(ctx(t), tn, alice.ID, "192.0.2.7", now))
	noErr(t, "TouchNetwork (older)", rec.TouchNetwork(ctx(t), tn, alice.ID, "192.0.2.7", now.Add(-time.Hour)))
	switch {
	case !known(tn, "192.0.2.7", now):
		t.Fatal("network not known after a sign-in (or moved backwards)")
	case known(tn, "192.0.2.7", now.Add(time.Second)):
		t.Fatal("network known since after its last sign-in")
	case known(tn, "192.0.2.8", now.Add(-time.Hour)), known(other, "192.0.2.7", now.Add(-time.Hour)):
		t.Fatal("another network or tenant is known")
	}
	noErr(t, "Forget", rec.Forget(ctx(t), tn, alice.ID))
	if known(tn, "192.0.2.7", now.Add(-time.Hour)) {
		t.Fatal("network known after Forget")
	}
}

// testPendingAuthRequests: requests are counted per tenant and source
// while neither done nor expired; an update keeps the source.
func testPendingAuthRequests(t *testing.T, s store.Store) {
	f := mkFixture(t, s)
	ar := s.OAuth().AuthRequests()
	now := time.Now()
	count := func(source string, at time.Time) int {
		t.Helper()
		n, err := ar.CountPendingAuthRequests(ctx(t), f.tn, source, at)
		noErr(t, "CountPendingAuthRequests", err)
		return n
	}
	var ids []string
	for i, src := range []string{"192.0.2.7", "192.0.2.7", "192.0.2.7", "2001:db8:1:2::/64", ""} {
		exp := now.Add(10 * time.Minute)
		if i == 2 {
			exp = now.Add(time.Minute)
		}
		a := &store.AuthRequest{ID: newID(), Tenant: f.tn, ClientID: f.client.ID, ExpiresAt: exp, Source: src}
		noErr(t, "CreateAuthRequest", ar.CreateAuthRequest(ctx(t), a))
		ids = append(ids, a.ID)
	}
	if got, _ := ar.GetAuthRequest(ctx(t), f.tn, ids[0]); got.Source != "192.0.2.7" {
		t.Fatalf("source read back = %q", got.Source)
	}
	if n := count("192.0.2.7", now); n != 3 {
		t.Fatalf("pending from 192.0.2.7 = %d, want 3", n)
	}
	if n := count("192.0.2.7", now.Add(2*time.Minute)); n != 2 {
		t.Fatalf("pending after one expired = %d, want 2", n)
	}
	if n := count("", now); n != 0 {
		t.Fatalf("requests without a source are never counted, got %d", n)
	}
	_, err := ar.UpdateAuthRequest(ctx(t), f.tn, ids[0], func(x *store.AuthRequest) error {
		x.Done, x.Source = true, "elsewhere"
		return nil
	})
	noErr(t, "UpdateAuthRequest", err)
	if got, _ := ar.GetAuthRequest(ctx(t), f.tn, ids[0]); got.Source != "192.0.2.7" {
		t.Fatalf("an update changed the source to %q", got.Source)
	}
	if n := count("192.0.2.7", now); n != 2 {
		t.Fatalf("pending after one done = %d, want 2", n)
	}
	if n, err := ar.CountPendingAuthRequests(ctx(t), mkTenant(t, s), "192.0.2.7", now); err != nil || n != 0 {
		t.Fatalf("another tenant counts %d, %v", n, err)
	}
}
