package storetest

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

var mfaTests = []test{
	{"MFA/Factor/CRUDAndIsolation", testFactorCRUD},
	{"MFA/Factor/UseStepOnce", testFactorUseStep},
	{"MFA/Factor/UseStepConcurrent", testFactorUseStepConcurrent},
	{"MFA/RecoveryCodes/SingleUse", testRecoveryCodes},
	{"MFA/Ceremonies/TakenOnce", testCeremonies},
}

func mkFactor(t *testing.T, s store.Repos, tenant store.TenantID, userID, kind string, cred []byte) *store.Factor {
	t.Helper()
	f := &store.Factor{ID: newID(), Tenant: tenant, UserID: userID, Kind: kind, Name: "n-" + kind,
		Secret: []byte("sealed"), CredentialID: cred}
	noErr(t, "CreateFactor", s.MFA().Factors().CreateFactor(ctx(t), f))
	return f
}

// testFactorCRUD: create, read back, list per user, update, delete; a
// factor of tenant A is invisible and undeletable under tenant B; a
// credential id is unique in a tenant but not across tenants.
func testFactorCRUD(t *testing.T, s store.Store) {
	a, b := mkTenant(t, s), mkTenant(t, s)
	ua, ua2 := mkUser(t, s, a, "alice"), mkUser(t, s, a, "amy")
	ub := mkUser(t, s, b, "bob")
	fs := s.MFA().Factors()
	f1 := mkFactor(t, s, a, ua.ID, store.FactorTOTP, nil)
	f2 := mkFactor(t, s, a, ua.ID, store.FactorWebAuthn, []byte("cred-1"))
	mkFactor(t, s, a, ua2.ID, store.FactorTOTP, nil)
	mkFactor(t, s, b, ub.ID, store.FactorWebAuthn, []byte("cred-1")) // same credential id, other tenant

	dup := &store.Factor{ID: newID(), Tenant: a, UserID: ua2.ID, Kind: store.FactorWebAuthn, CredentialID: []byte("cred-1")}
	wantErr(t, "CreateFactor duplicate credential", fs.CreateFactor(ctx(t), dup), store.ErrConflict)
	ghost := &store.Factor{ID: newID(), Tenant: a, UserID: ub.ID, Kind: store.FactorTOTP}
	wantErr(t, "CreateFactor user of another tenant", fs.CreateFactor(ctx(t), ghost), store.ErrNotFound)
	bad := &store.Factor{ID: newID(), Tenant: a, UserID: ua.ID, Kind: "sms"}
	if err := fs.CreateFactor(ctx(t), bad); err == nil {
		t.Fatal("CreateFactor accepted an unknown kind")
	}

	byCred, err := fs.GetFactorByCredential(ctx(t), a, []byte("cred-1"))
	noErr(t, "GetFactorByCredential", err)
	if byCred.ID != f2.ID {
		t.Fatalf("GetFactorByCredential = %s, want %s", byCred.ID, f2.ID)
	}
	_, err = fs.GetFactorByCredential(ctx(t), a, []byte("cred-2"))
	wantErr(t, "GetFactorByCredential unknown", err, store.ErrNotFound)
	_, err = fs.GetFactorByCredential(ctx(t), a, nil)
	wantErr(t, "GetFactorByCredential empty", err, store.ErrNotFound)

	got, err := fs.GetFactor(ctx(t), a, f1.ID)
	noErr(t, "GetFactor", err)
	if got.UserID != ua.ID || got.Kind != store.FactorTOTP || !bytes.Equal(got.Secret, []byte("sealed")) || got.Confirmed || got.CredentialID != nil {
		t.Fatalf("GetFactor = %+v", got)
	}
	_, err = fs.GetFactor(ctx(t), b, f1.ID)
	wantErr(t, "GetFactor other tenant", err, store.ErrNotFound)

	list, err := fs.ListFactors(ctx(t), a, ua.ID)
	noErr(t, "ListFactors", err)
	if len(list) != 2 || list[0].ID != f1.ID || list[1].ID != f2.ID {
		t.Fatalf("ListFactors = %d factors", len(list))
	}
	if l, _ := fs.ListFactors(ctx(t), b, ua.ID); len(l) != 0 {
		t.Fatalf("ListFactors under another tenant = %d", len(l))
	}

	used := time.Now()
	up, err := fs.UpdateFactor(ctx(t), a, f1.ID, func(f *store.Factor) error {
		f.Confirmed, f.Name, f.SignCount, f.LastUsedAt = true, "phone", 7, &used
		return nil
	})
	noErr(t, "UpdateFactor", err)
	got, _ = fs.GetFactor(ctx(t), a, f1.ID)
	if !got.Confirmed || got.Name != "phone" || got.SignCount != 7 || got.LastUsedAt == nil || !got.LastUsedAt.Equal(*up.LastUsedAt) {
		t.Fatalf("after UpdateFactor = %+v", got)
	}
	_, err = fs.UpdateFactor(ctx(t), a, f1.ID, func(f *store.Factor) error { f.UserID = ua2.ID; return nil })
	if err == nil {
		t.Fatal("UpdateFactor let the closure move the factor to another user")
	}
	_, err = fs.UpdateFactor(ctx(t), b, f1.ID, func(*store.Factor) error { return nil })
	wantErr(t, "UpdateFactor other tenant", err, store.ErrNotFound)

	wantErr(t, "DeleteFactor other tenant", fs.DeleteFactor(ctx(t), b, ua.ID, f1.ID), store.ErrNotFound)
	wantErr(t, "DeleteFactor other user", fs.DeleteFactor(ctx(t), a, ua2.ID, f1.ID), store.ErrNotFound)
	noErr(t, "DeleteFactor", fs.DeleteFactor(ctx(t), a, ua.ID, f1.ID))
	_, err = fs.GetFactor(ctx(t), a, f1.ID)
	wantErr(t, "GetFactor deleted", err, store.ErrNotFound)

	noErr(t, "ReplaceRecoveryCodes", s.MFA().RecoveryCodes().ReplaceRecoveryCodes(ctx(t), a, ua.ID, [][]byte{h("r1")}, time.Now()))
	n, err := fs.DeleteUserFactors(ctx(t), a, ua.ID)
	noErr(t, "DeleteUserFactors", err)
	if n != 1 {
		t.Fatalf("DeleteUserFactors = %d, want 1", n)
	}
	if c, _ := s.MFA().RecoveryCodes().CountRecoveryCodes(ctx(t), a, ua.ID); c != 0 {
		t.Fatalf("recovery codes left after DeleteUserFactors: %d", c)
	}
	if l, _ := fs.ListFactors(ctx(t), a, ua2.ID); len(l) != 1 {
		t.Fatalf("another user's factors went too: %d left", len(l))
	}
	if l, _ := fs.ListFactors(ctx(t), b, ub.ID); len(l) != 1 {
		t.Fatalf("another tenant's factors went too: %d left", len(l))
	}
	// Deleting the user takes its factors along.
	noErr(t, "DeleteUser", s.Users().DeleteUser(ctx(t), a, ua2.ID))
	if l, _ := fs.ListFactors(ctx(t), a, ua2.ID); len(l) != 0 {
		t.Fatalf("factors outlived their user: %d", len(l))
	}
}

// testFactorUseStep: a step is accepted once; an older or equal one is
// refused (replay); an unknown factor is ErrNotFound.
func testFactorUseStep(t *testing.T, s store.Store) {
	tn := mkTenant(t, s)
	u := mkUser(t, s, tn, "alice")
	f := mkFactor(t, s, tn, u.ID, store.FactorTOTP, nil)
	fs := s.MFA().Factors()
	now := time.Now()
	noErr(t, "UseStep 100", fs.UseStep(ctx(t), tn, f.ID, 100, now))
	wantErr(t, "UseStep 100 again", fs.UseStep(ctx(t), tn, f.ID, 100, now), store.ErrConflict)
	wantErr(t, "UseStep 99", fs.UseStep(ctx(t), tn, f.ID, 99, now), store.ErrConflict)
	noErr(t, "UseStep 101", fs.UseStep(ctx(t), tn, f.ID, 101, now))
	wantErr(t, "UseStep unknown", fs.UseStep(ctx(t), tn, newID(), 500, now), store.ErrNotFound)
	wantErr(t, "UseStep other tenant", fs.UseStep(ctx(t), mkTenant(t, s), f.ID, 500, now), store.ErrNotFound)
	got, _ := fs.GetFactor(ctx(t), tn, f.ID)
	if got.LastStep != 101 || got.LastUsedAt == nil {
		t.Fatalf("LastStep = %d, LastUsedAt = %v", got.LastStep, got.LastUsedAt)
	}
}

// testFactorUseStepConcurrent: of many concurrent uses of one step,
// exactly one wins.
func testFactorUseStepConcurrent(t *testing.T, s store.Store) {
	tn := mkTenant(t, s)
	u := mkUser(t, s, tn, "alice")
	f := mkFactor(t, s, tn, u.ID, store.FactorTOTP, nil)
	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() { errs <- s.MFA().Factors().UseStep(ctx(t), tn, f.ID, 42, time.Now()) })
	}
	wg.Wait()
	close(errs)
	won := 0
	for err := range errs {
		switch {
		case err == nil:
			won++
		case !isErr(err, store.ErrConflict):
			t.Fatalf("UseStep: %v", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d concurrent uses of one step won, want 1", won)
	}
}

// testRecoveryCodes: each code spends once; replacing kills the old set;
// codes are the user's and the tenant's only.
func testRecoveryCodes(t *testing.T, s store.Store) {
	tn, other := mkTenant(t, s), mkTenant(t, s)
	u, v := mkUser(t, s, tn, "alice"), mkUser(t, s, tn, "vera")
	rc := s.MFA().RecoveryCodes()
	now := time.Now()
	noErr(t, "Replace", rc.ReplaceRecoveryCodes(ctx(t), tn, u.ID, [][]byte{h("a"), h("b"), h("c")}, now))
	if n, _ := rc.CountRecoveryCodes(ctx(t), tn, u.ID); n != 3 {
		t.Fatalf("Count = %d, want 3", n)
	}
	wantErr(t, "Use by another user", rc.UseRecoveryCode(ctx(t), tn, v.ID, h("a"), now), store.ErrNotFound)
	wantErr(t, "Use in another tenant", rc.UseRecoveryCode(ctx(t), other, u.ID, h("a"), now), store.ErrNotFound)
	noErr(t, "Use a", rc.UseRecoveryCode(ctx(t), tn, u.ID, h("a"), now))
	wantErr(t, "Use a again", rc.UseRecoveryCode(ctx(t), tn, u.ID, h("a"), now), store.ErrNotFound)
	wantErr(t, "Use unknown", rc.UseRecoveryCode(ctx(t), tn, u.ID, h("z"), now), store.ErrNotFound)
	if n, _ := rc.CountRecoveryCodes(ctx(t), tn, u.ID); n != 2 {
		t.Fatalf("Count after one use = %d, want 2", n)
	}
	noErr(t, "Replace again", rc.ReplaceRecoveryCodes(ctx(t), tn, u.ID, [][]byte{h("d")}, now))
	wantErr(t, "Use an old code after replace", rc.UseRecoveryCode(ctx(t), tn, u.ID, h("b"), now), store.ErrNotFound)
	noErr(t, "Use d", rc.UseRecoveryCode(ctx(t), tn, u.ID, h("d"), now))
	wantErr(t, "Replace for a missing user", rc.ReplaceRecoveryCodes(ctx(t), tn, newID(), [][]byte{h("x")}, now), store.ErrNotFound)
}

// testCeremonies: a ceremony is taken once, not after it expires, and
// not from another tenant; the sweep removes expired ones only.
func testCeremonies(t *testing.T, s store.Store) {
	a, b := mkTenant(t, s), mkTenant(t, s)
	cs := s.MFA().Ceremonies()
	now := time.Now()
	noErr(t, "Put", cs.PutCeremony(ctx(t), a, h("c1"), []byte(`{"x":1}`), now.Add(time.Minute)))
	noErr(t, "Put expired", cs.PutCeremony(ctx(t), a, h("c2"), []byte("old"), now.Add(-time.Second)))
	wantErr(t, "Put duplicate", cs.PutCeremony(ctx(t), a, h("c1"), []byte("again"), now.Add(time.Minute)), store.ErrConflict)
	_, err := cs.TakeCeremony(ctx(t), b, h("c1"), now)
	wantErr(t, "Take from another tenant", err, store.ErrNotFound)
	_, err = cs.TakeCeremony(ctx(t), a, h("c2"), now)
	wantErr(t, "Take expired", err, store.ErrNotFound)
	data, err := cs.TakeCeremony(ctx(t), a, h("c1"), now)
	noErr(t, "Take", err)
	if string(data) != `{"x":1}` {
		t.Fatalf("Take = %q", data)
	}
	_, err = cs.TakeCeremony(ctx(t), a, h("c1"), now)
	wantErr(t, "Take twice", err, store.ErrNotFound)
	noErr(t, "Put c3", cs.PutCeremony(ctx(t), a, h("c3"), []byte("live"), now.Add(time.Minute)))
	if _, err := cs.DeleteExpiredCeremonies(ctx(t), now); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.TakeCeremony(ctx(t), a, h("c3"), now); err != nil {
		t.Fatalf("the sweep took a live ceremony: %v", err)
	}
}
