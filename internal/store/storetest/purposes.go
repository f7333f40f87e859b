package storetest

import (
	"maps"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

var purposeTests = []test{
	{"Purposes/Versions", testPurposeVersions},
	{"Purposes/Records", testConsentRecords},
	{"Purposes/Preferences", testPreferences},
	{"Purposes/Erase", testEraseConsents},
}

func testPurposeVersions(t *testing.T, s store.Store) {
	tn, other := mkTenant(t, s), mkTenant(t, s)
	r := s.Purposes()
	at := time.Now().Add(-time.Hour).Truncate(time.Microsecond).UTC()
	v1 := &store.ConsentPurpose{Tenant: tn, Name: "newsletter", Version: "2026-11", Title: map[string]string{"en": "News"},
		Description: map[string]string{"en": "Monthly", "de": "Monatlich"}, CreatedAt: at}
	noErr(t, "CreatePurpose v1", r.CreatePurpose(ctx(t), v1))
	wantErr(t, "CreatePurpose v1 again", r.CreatePurpose(ctx(t), &store.ConsentPurpose{Tenant: tn, Name: "newsletter",
		Version: "2026-11", CreatedAt: at}), store.ErrConflict)
	noErr(t, "CreatePurpose v2", r.CreatePurpose(ctx(t), &store.ConsentPurpose{Tenant: tn, Name: "newsletter",
		Version: "2026-12", Required: true, CreatedAt: at.Add(time.Minute)}))
	noErr(t, "CreatePurpose analytics", r.CreatePurpose(ctx(t), &store.ConsentPurpose{Tenant: tn, Name: "analytics",
		Version: "1", CreatedAt: at}))
	noErr(t, "same name in another tenant", r.CreatePurpose(ctx(t), &store.ConsentPurpose{Tenant: other,
		Name: "newsletter", Version: "2026-11", CreatedAt: at}))

	latest, err := r.ListPurposes(ctx(t), tn, true)
	noErr(t, "ListPurposes latest", err)
	if len(latest) != 2 || latest[0].Name != "analytics" || latest[1].Version != "2026-12" || !latest[1].Required {
		t.Fatalf("ListPurposes latest = %+v", latest)
	}
	all, err := r.ListPurposes(ctx(t), tn, false)
	noErr(t, "ListPurposes all", err)
	if len(all) != 3 {
		t.Fatalf("ListPurposes all = %d, want 3", len(all))
	}
	vs, err := r.GetPurpose(ctx(t), tn, "newsletter")
	noErr(t, "GetPurpose", err)
	if len(vs) != 2 || vs[0].Version != "2026-12" || vs[1].Version != "2026-11" {
		t.Fatalf("GetPurpose = %+v", vs)
	}
	got := vs[1]
	if !got.CreatedAt.Equal(at) || got.Title["en"] != "News" || !maps.Equal(got.Description, v1.Description) || got.Required {
		t.Errorf("GetPurpose v1 = %+v", got)
	}
	wantErr(t, "GetPurpose unknown", func() error { _, err := r.GetPurpose(ctx(t), tn, "nope"); return err }(), store.ErrNotFound)
	if vs, _ := r.GetPurpose(ctx(t), other, "analytics"); len(vs) != 0 {
		t.Error("another tenant sees analytics")
	}
}

func testConsentRecords(t *testing.T, s store.Store) {
	tn, other := mkTenant(t, s), mkTenant(t, s)
	alice, bob := mkUser(t, s, tn, "alice"), mkUser(t, s, tn, "bob")
	r := s.Purposes()
	at := time.Now().Truncate(time.Microsecond).UTC()
	first := &store.ConsentRecord{Tenant: tn, ID: newID(), UserID: alice.ID, Purpose: "newsletter", Version: "1",
		State: store.ConsentGranted, How: "signup", IP: "192.0.2.1", UserAgent: "UA/1", At: at}
	noErr(t, "Append", r.AppendConsentRecord(ctx(t), first))
	noErr(t, "Append withdrawn", r.AppendConsentRecord(ctx(t), &store.ConsentRecord{Tenant: tn, ID: newID(),
		UserID: alice.ID, Purpose: "newsletter", Version: "1", State: store.ConsentWithdrawn, How: "account", At: at}))
	noErr(t, "Append bob", r.AppendConsentRecord(ctx(t), &store.ConsentRecord{Tenant: tn, ID: newID(),
		UserID: bob.ID, Purpose: "newsletter", Version: "1", State: store.ConsentGranted, How: "api", At: at}))
	wantErr(t, "Append for a user of another tenant", r.AppendConsentRecord(ctx(t), &store.ConsentRecord{Tenant: other,
		ID: newID(), UserID: alice.ID, Purpose: "newsletter", Version: "1", State: store.ConsentGranted, How: "api", At: at}),
		store.ErrNotFound)
	recs, err := r.ListConsentRecords(ctx(t), tn, alice.ID)
	noErr(t, "List", err)
	if len(recs) != 2 || recs[0] != *first || recs[1].State != store.ConsentWithdrawn {
		t.Fatalf("List = %+v, want the two records of alice in order", recs)
	}
	if recs, _ := r.ListConsentRecords(ctx(t), other, alice.ID); len(recs) != 0 {
		t.Error("another tenant lists alice's records")
	}

	noErr(t, "MarkAsked", r.MarkAsked(ctx(t), tn, alice.ID, "analytics", "1", at))
	noErr(t, "MarkAsked twice", r.MarkAsked(ctx(t), tn, alice.ID, "analytics", "1", at))
	asked, err := r.AskedVersions(ctx(t), tn, alice.ID)
	noErr(t, "AskedVersions", err)
	if len(asked) != 1 || len(asked["analytics"]) != 1 || asked["analytics"][0] != "1" {
		t.Errorf("AskedVersions = %v", asked)
	}
	if asked, _ := r.AskedVersions(ctx(t), tn, bob.ID); len(asked) != 0 {
		t.Errorf("AskedVersions(bob) = %v", asked)
	}
}

func testPreferences(t *testing.T, s store.Store) {
	tn, other := mkTenant(t, s), mkTenant(t, s)
	alice := mkUser(t, s, tn, "alice")
	r := s.Purposes()
	p, err := r.GetPreferences(ctx(t), tn, alice.ID)
	noErr(t, "GetPreferences before", err)
	if len(p.Channels) != 0 || len(p.Topics) != 0 || !p.UpdatedAt.IsZero() {
		t.Fatalf("GetPreferences before = %+v", p)
	}
	at := time.Now().Truncate(time.Microsecond).UTC()
	noErr(t, "PutPreferences", r.PutPreferences(ctx(t), &store.Preferences{Tenant: tn, UserID: alice.ID,
		Channels: map[string]bool{"email": true, "sms": false}, Topics: map[string]bool{"offers": true}, UpdatedAt: at}))
	noErr(t, "PutPreferences again", r.PutPreferences(ctx(t), &store.Preferences{Tenant: tn, UserID: alice.ID,
		Channels: map[string]bool{"email": false}, UpdatedAt: at.Add(time.Second)}))
	p, err = r.GetPreferences(ctx(t), tn, alice.ID)
	noErr(t, "GetPreferences", err)
	if !maps.Equal(p.Channels, map[string]bool{"email": false}) || len(p.Topics) != 0 || !p.UpdatedAt.Equal(at.Add(time.Second)) {
		t.Errorf("GetPreferences = %+v", p)
	}
	wantErr(t, "PutPreferences in another tenant", r.PutPreferences(ctx(t), &store.Preferences{Tenant: other,
		UserID: alice.ID, Channels: map[string]bool{"email": true}}), store.ErrNotFound)
	if p, _ := r.GetPreferences(ctx(t), other, alice.ID); len(p.Channels) != 0 {
		t.Error("another tenant sees alice's preferences")
	}
}

func testEraseConsents(t *testing.T, s store.Store) {
	tn, other := mkTenant(t, s), mkTenant(t, s)
	alice, bob, carol := mkUser(t, s, tn, "alice"), mkUser(t, s, tn, "bob"), mkUser(t, s, other, "carol")
	r := s.Purposes()
	add := func(tenant store.TenantID, user, purpose, state string) {
		t.Helper()
		noErr(t, "Append", r.AppendConsentRecord(ctx(t), &store.ConsentRecord{Tenant: tenant, ID: newID(), UserID: user,
			Purpose: purpose, Version: "1", State: state, How: "login", IP: "192.0.2.7", UserAgent: "UA"}))
	}
	erase := func(tenant store.TenantID, user string, want int) {
		t.Helper()
		n, err := r.EraseConsents(ctx(t), tenant, user)
		noErr(t, "EraseConsents", err)
		if n != want {
			t.Errorf("EraseConsents = %d, want %d", n, want)
		}
	}
	add(tn, alice.ID, "newsletter", store.ConsentGranted)
	add(tn, alice.ID, "newsletter", store.ConsentWithdrawn)
	add(tn, alice.ID, "newsletter", store.ConsentGranted)
	add(tn, bob.ID, "newsletter", store.ConsentGranted)
	add(other, carol.ID, "newsletter", store.ConsentGranted)
	noErr(t, "MarkAsked", r.MarkAsked(ctx(t), tn, alice.ID, "analytics", "1", time.Now()))
	noErr(t, "PutPreferences", r.PutPreferences(ctx(t), &store.Preferences{Tenant: tn, UserID: alice.ID,
		Channels: map[string]bool{"email": true}}))

	erase(tn, alice.ID, 3)
	if recs, _ := r.ListConsentRecords(ctx(t), tn, alice.ID); len(recs) != 0 {
		t.Errorf("records left after erasure: %d", len(recs))
	}
	if asked, _ := r.AskedVersions(ctx(t), tn, alice.ID); len(asked) != 0 {
		t.Errorf("asks left after erasure: %v", asked)
	}
	if p, _ := r.GetPreferences(ctx(t), tn, alice.ID); len(p.Channels) != 0 {
		t.Errorf("preferences left after erasure: %v", p.Channels)
	}
	if recs, _ := r.ListConsentRecords(ctx(t), tn, bob.ID); len(recs) != 1 {
		t.Errorf("bob's records = %d after alice's erasure, want 1", len(recs))
	}
	erase(tn, bob.ID, 1)
	erase(tn, bob.ID, 0)
	counts, err := r.ConsentCounts(ctx(t), tn)
	noErr(t, "ConsentCounts", err)
	want := []store.ConsentCount{{Purpose: "newsletter", Version: "1", State: store.ConsentGranted, Count: 3},
		{Purpose: "newsletter", Version: "1", State: store.ConsentWithdrawn, Count: 1}}
	if len(counts) != 2 || counts[0] != want[0] || counts[1] != want[1] {
		t.Errorf("ConsentCounts = %+v, want %+v", counts, want)
	}
	if counts, _ := r.ConsentCounts(ctx(t), other); len(counts) != 0 {
		t.Errorf("ConsentCounts(other) = %+v before any erasure there", counts)
	}
	if recs, _ := r.ListConsentRecords(ctx(t), other, carol.ID); len(recs) != 1 {
		t.Error("carol's records went with another tenant's erasure")
	}
}
