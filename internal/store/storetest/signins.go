package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

var signInTests = []test{
	{"SignIns/AddListTrimDelete", testSignIns},
}

func testSignIns(t *testing.T, s store.Store) {
	tn, other := mkTenant(t, s), mkTenant(t, s)
	alice, bob := mkUser(t, s, tn, "alice"), mkUser(t, s, tn, "bob")
	rep := s.SignIns()
	now := time.Now().Truncate(time.Second)
	first := &store.SignInRecord{Tenant: tn, ID: newID(), UserID: alice.ID, At: now, Network: "203.0.113.0/24",
		Country: "DE", City: "Berlin", Lat: 52.520008, Lon: 13.404954, HasGeo: true, ASN: 64500, DeviceID: "dev-1",
		UserAgent: "Mozilla/5.0"}
	noErr(t, "AddSignIn", rep.AddSignIn(ctx(t), first))
	noErr(t, "AddSignIn bob", rep.AddSignIn(ctx(t), &store.SignInRecord{Tenant: tn, ID: newID(), UserID: bob.ID, At: now,
		Network: "198.51.100.0/24"}))
	got, err := rep.ListSignIns(ctx(t), tn, alice.ID, 10)
	noErr(t, "ListSignIns", err)
	if len(got) != 1 {
		t.Fatalf("ListSignIns = %d records, want 1", len(got))
	}
	g := got[0]
	if g.ID != first.ID || !g.At.Equal(now) || g.Network != first.Network || g.Country != "DE" || g.City != "Berlin" ||
		!g.HasGeo || g.ASN != 64500 || g.DeviceID != "dev-1" || g.UserAgent != "Mozilla/5.0" ||
		fmt.Sprintf("%.6f,%.6f", g.Lat, g.Lon) != "52.520008,13.404954" {
		t.Fatalf("ListSignIns = %+v", g)
	}
	if l, _ := rep.ListSignIns(ctx(t), other, alice.ID, 10); len(l) != 0 {
		t.Fatalf("other tenant sees %d sign-ins", len(l))
	}
	// Only the newest MaxSignInsPerUser survive, newest first.
	for i := range store.MaxSignInsPerUser + 5 {
		noErr(t, "AddSignIn", rep.AddSignIn(ctx(t), &store.SignInRecord{Tenant: tn, ID: newID(), UserID: alice.ID,
			At: now.Add(time.Duration(i+1) * time.Minute), Network: fmt.Sprintf("net-%02d", i)}))
	}
	all, err := rep.ListSignIns(ctx(t), tn, alice.ID, 0)
	noErr(t, "ListSignIns", err)
	if len(all) != store.MaxSignInsPerUser || all[0].Network != fmt.Sprintf("net-%02d", store.MaxSignInsPerUser+4) {
		t.Fatalf("after trim: %d records, newest %q", len(all), all[0].Network)
	}
	if few, _ := rep.ListSignIns(ctx(t), tn, alice.ID, 3); len(few) != 3 || !few[0].At.After(few[1].At) {
		t.Fatalf("ListSignIns(3) = %d records", len(few))
	}
	noErr(t, "DeleteSignIns", rep.DeleteSignIns(ctx(t), tn, alice.ID))
	if l, _ := rep.ListSignIns(ctx(t), tn, alice.ID, 10); len(l) != 0 {
		t.Fatalf("after DeleteSignIns: %d records", len(l))
	}
	if l, _ := rep.ListSignIns(ctx(t), tn, bob.ID, 10); len(l) != 1 {
		t.Fatalf("DeleteSignIns touched another user: %d records", len(l))
	}
}
