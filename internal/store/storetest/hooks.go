package storetest

import (
	"bytes"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

var hookTests = []test{
	{"Hooks/CRUDAndIsolation", testHooks},
	{"Hooks/ConcurrentUpdates", testHookConcurrentUpdates},
	{"Hooks/HookForSeesChanges", testHookForSeesChanges},
}

func mkHook(t *testing.T, s store.Repos, tenant store.TenantID, trigger string) *store.Hook {
	t.Helper()
	h := &store.Hook{ID: newID(), Tenant: tenant, Trigger: trigger, URL: "https://hooks.example/" + trigger,
		TimeoutMS: 500, OnFailure: store.HookFailAllow, AllowedClaims: []string{"plan", "crm_id"},
		SealedSecret: []byte{1, 2, 3, 4}}
	noErr(t, "CreateHook", s.Hooks().CreateHook(ctx(t), h))
	return h
}

// testHooks: create, read back by id and by trigger, one hook per trigger
// and tenant, update through the closure (the trigger stays), delete;
// nothing of one tenant is visible under another.
func testHooks(t *testing.T, s store.Store) {
	a, b := mkTenant(t, s), mkTenant(t, s)
	hs := s.Hooks()
	h := mkHook(t, s, a, store.HookPreToken)
	if h.Version != 1 || h.CreatedAt.IsZero() {
		t.Errorf("created hook = %+v", h)
	}
	got, err := hs.GetHook(ctx(t), a, h.ID)
	noErr(t, "GetHook", err)
	if got.URL != h.URL || got.TimeoutMS != 500 || got.OnFailure != store.HookFailAllow ||
		!slices.Equal(got.AllowedClaims, []string{"plan", "crm_id"}) || !bytes.Equal(got.SealedSecret, []byte{1, 2, 3, 4}) ||
		!got.CreatedAt.Equal(h.CreatedAt) {
		t.Errorf("GetHook = %+v, created %+v", got, h)
	}
	byTrigger, err := hs.HookFor(ctx(t), a, store.HookPreToken)
	noErr(t, "HookFor", err)
	if byTrigger.ID != h.ID {
		t.Errorf("HookFor = %s, want %s", byTrigger.ID, h.ID)
	}
	_, err = hs.HookFor(ctx(t), a, store.HookPostLogin)
	wantErr(t, "HookFor(no hook of trigger)", err, store.ErrNotFound)

	dup := &store.Hook{ID: newID(), Tenant: a, Trigger: store.HookPreToken, URL: "https://x.example/",
		TimeoutMS: 100, OnFailure: store.HookFailDeny, SealedSecret: []byte{9}}
	wantErr(t, "CreateHook(second of trigger)", hs.CreateHook(ctx(t), dup), store.ErrConflict)
	missing := &store.Hook{ID: newID(), Tenant: store.TenantID(newID()), Trigger: store.HookPreToken,
		URL: "https://x.example/", TimeoutMS: 100, OnFailure: store.HookFailDeny, SealedSecret: []byte{9}}
	wantErr(t, "CreateHook(no tenant)", hs.CreateHook(ctx(t), missing), store.ErrNotFound)

	// The same trigger in another tenant is its own hook.
	hb := mkHook(t, s, b, store.HookPreToken)
	_, err = hs.GetHook(ctx(t), b, h.ID)
	wantErr(t, "GetHook(other tenant)", err, store.ErrNotFound)
	list, err := hs.ListHooks(ctx(t), b, store.Page{})
	noErr(t, "ListHooks", err)
	if len(list) != 1 || list[0].ID != hb.ID {
		t.Errorf("ListHooks(b) = %+v, want only %s", list, hb.ID)
	}
	mkHook(t, s, a, store.HookPostLogin)
	list, err = hs.ListHooks(ctx(t), a, store.Page{})
	noErr(t, "ListHooks(a)", err)
	if len(list) != 2 || list[0].ID != h.ID {
		t.Errorf("ListHooks(a) = %d hooks, first %v", len(list), list)
	}

	up, err := hs.UpdateHook(ctx(t), a, h.ID, func(x *store.Hook) error {
		x.URL, x.TimeoutMS, x.OnFailure, x.AllowedClaims = "https://new.example/", 2000, store.HookFailDeny, nil
		return nil
	})
	noErr(t, "UpdateHook", err)
	if up.Version != 2 || up.URL != "https://new.example/" || up.AllowedClaims != nil {
		t.Errorf("UpdateHook = %+v", up)
	}
	_, err = hs.UpdateHook(ctx(t), a, h.ID, func(x *store.Hook) error { x.Trigger = store.HookPostLogin; return nil })
	if err == nil {
		t.Error("UpdateHook changed the trigger")
	}
	sentinel := errors.New("stop")
	_, err = hs.UpdateHook(ctx(t), a, h.ID, func(*store.Hook) error { return sentinel })
	wantErr(t, "UpdateHook(closure error)", err, sentinel)
	_, err = hs.UpdateHook(ctx(t), b, h.ID, func(*store.Hook) error { return nil })
	wantErr(t, "UpdateHook(other tenant)", err, store.ErrNotFound)

	wantErr(t, "DeleteHook(other tenant)", hs.DeleteHook(ctx(t), b, h.ID), store.ErrNotFound)
	noErr(t, "DeleteHook", hs.DeleteHook(ctx(t), a, h.ID))
	_, err = hs.GetHook(ctx(t), a, h.ID)
	wantErr(t, "GetHook(deleted)", err, store.ErrNotFound)
	wantErr(t, "DeleteHook(again)", hs.DeleteHook(ctx(t), a, h.ID), store.ErrNotFound)
	// The trigger is free again once its hook is gone.
	mkHook(t, s, a, store.HookPreToken)
}

// testHookConcurrentUpdates: every closure's change survives (the row is
// locked between read and write).
func testHookConcurrentUpdates(t *testing.T, s store.Store) {
	tn := mkTenant(t, s)
	h := mkHook(t, s, tn, store.HookPostLogin)
	const n = 8
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.Hooks().UpdateHook(ctx(t), tn, h.ID, func(x *store.Hook) error { x.TimeoutMS++; return nil })
			if err != nil {
				t.Errorf("UpdateHook: %v", err)
			}
		}()
	}
	wg.Wait()
	got, err := s.Hooks().GetHook(ctx(t), tn, h.ID)
	noErr(t, "GetHook", err)
	if got.TimeoutMS != 500+n || got.Version != 1+n {
		t.Errorf("after %d updates: timeout %d version %d", n, got.TimeoutMS, got.Version)
	}
}

// testHookForSeesChanges: HookFor, which a store may answer from memory
// (the token path asks it for every token), sees each write at once:
// none, created, updated, deleted; and what it answers is a copy.
func testHookForSeesChanges(t *testing.T, s store.Store) {
	tn := mkTenant(t, s)
	hs := s.Hooks()
	for range 2 { // the second answer may come from memory
		_, err := hs.HookFor(ctx(t), tn, store.HookPreToken)
		wantErr(t, "HookFor(none yet)", err, store.ErrNotFound)
	}
	h := mkHook(t, s, tn, store.HookPreToken)
	for range 2 {
		got, err := hs.HookFor(ctx(t), tn, store.HookPreToken)
		noErr(t, "HookFor(created)", err)
		if got.ID != h.ID || got.URL != h.URL {
			t.Fatalf("HookFor after create = %+v", got)
		}
		got.AllowedClaims[0], got.SealedSecret[0] = "changed", 99 // must not reach a later answer
	}
	_, err := hs.UpdateHook(ctx(t), tn, h.ID, func(x *store.Hook) error { x.URL = "https://moved.example/"; return nil })
	noErr(t, "UpdateHook", err)
	got, err := hs.HookFor(ctx(t), tn, store.HookPreToken)
	noErr(t, "HookFor(updated)", err)
	if got.URL != "https://moved.example/" || got.AllowedClaims[0] != "plan" || got.SealedSecret[0] != 1 {
		t.Errorf("HookFor after update = %+v", got)
	}
	noErr(t, "DeleteHook", hs.DeleteHook(ctx(t), tn, h.ID))
	_, err = hs.HookFor(ctx(t), tn, store.HookPreToken)
	wantErr(t, "HookFor(deleted)", err, store.ErrNotFound)
	// Inside a transaction the row is read as it is there.
	err = s.InTx(ctx(t), func(tx store.Repos) error {
		x := mkHook(t, tx, tn, store.HookPreToken)
		got, err := tx.Hooks().HookFor(ctx(t), tn, store.HookPreToken)
		if err != nil || got.ID != x.ID {
			t.Errorf("HookFor in the creating transaction = %+v, %v", got, err)
		}
		return nil
	})
	noErr(t, "InTx", err)
	if _, err := hs.HookFor(ctx(t), tn, store.HookPreToken); err != nil {
		t.Errorf("HookFor after the transaction committed: %v", err)
	}
}
