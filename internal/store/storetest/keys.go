package storetest

import (
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

var signingKeyTests = []test{
	{"SigningKey/CRUD", testSigningKeyCRUD},
	{"SigningKey/Isolation", testSigningKeyIsolation},
}

func testSigningKeyCRUD(t *testing.T, s store.Store) {
	tn := mkTenant(t, s)
	sk := s.SigningKeys()
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	k1 := &store.SigningKey{ID: "kid-b", Tenant: tn, Alg: "RS256", Status: store.KeyActive,
		PublicKey: []byte{0x30, 0x82, 0, 1}, Sealed: []byte{9, 8, 7, 0}, CreatedAt: t0}
	k2 := &store.SigningKey{ID: "kid-a", Tenant: tn, Alg: "ES256", Status: store.KeyNext,
		PublicKey: []byte{1}, Sealed: []byte{2}, CreatedAt: t0.Add(time.Hour)}
	noErr(t, "CreateSigningKey", sk.CreateSigningKey(ctx(t), k1))
	noErr(t, "CreateSigningKey", sk.CreateSigningKey(ctx(t), k2))
	if k1.Version != 1 {
		t.Errorf("CreateSigningKey Version = %d", k1.Version)
	}
	wantErr(t, "CreateSigningKey(same id)", sk.CreateSigningKey(ctx(t), &store.SigningKey{ID: "kid-b", Tenant: tn, Alg: "RS256", Status: store.KeyNext, PublicKey: []byte{1}, Sealed: []byte{1}}), store.ErrConflict)
	wantErr(t, "CreateSigningKey(missing tenant)", sk.CreateSigningKey(ctx(t), &store.SigningKey{ID: "k", Tenant: store.TenantID(newID()), Alg: "RS256", Status: store.KeyNext, PublicKey: []byte{1}, Sealed: []byte{1}}), store.ErrNotFound)

	list, err := sk.ListSigningKeys(ctx(t), tn)
	noErr(t, "ListSigningKeys", err)
	if len(list) != 2 || list[0].ID != "kid-b" || list[1].ID != "kid-a" {
		t.Fatalf("ListSigningKeys = %+v, want kid-b then kid-a (creation order)", list)
	}
	got := list[0]
	if got.Alg != "RS256" || got.Status != store.KeyActive || got.Tenant != tn || got.RetireAt != nil || got.Version != 1 {
		t.Errorf("signing key read back as %+v", got)
	}
	sameBytes(t, "PublicKey", got.PublicKey, k1.PublicKey)
	sameBytes(t, "Sealed", got.Sealed, k1.Sealed)
	sameTime(t, "CreatedAt", got.CreatedAt, t0)

	retire := t0.Add(48*time.Hour + 123456789)
	up, err := sk.UpdateSigningKey(ctx(t), tn, "kid-b", func(k *store.SigningKey) error {
		k.Status, k.RetireAt = store.KeyRetired, &retire
		return nil
	})
	noErr(t, "UpdateSigningKey", err)
	if up.Version != 2 || up.Status != store.KeyRetired {
		t.Errorf("UpdateSigningKey = %+v", up)
	}
	list, err = sk.ListSigningKeys(ctx(t), tn)
	noErr(t, "ListSigningKeys", err)
	if list[0].Status != store.KeyRetired || list[0].Version != 2 {
		t.Errorf("after update: %+v", list[0])
	}
	sameTimePtr(t, "RetireAt", list[0].RetireAt, new(retire.Truncate(time.Microsecond)))
	sameBytes(t, "Sealed after update", list[0].Sealed, k1.Sealed)

	_, err = sk.UpdateSigningKey(ctx(t), tn, "kid-a", func(k *store.SigningKey) error { k.Status = store.KeyActive; return errClosure })
	if err != errClosure {
		t.Errorf("UpdateSigningKey: closure error came back as %v", err)
	}
	_, err = sk.UpdateSigningKey(ctx(t), tn, "nope", func(*store.SigningKey) error { t.Error("closure called"); return nil })
	wantErr(t, "UpdateSigningKey(missing)", err, store.ErrNotFound)
	list, err = sk.ListSigningKeys(ctx(t), tn)
	noErr(t, "ListSigningKeys", err)
	if list[1].Status != store.KeyNext || list[1].Version != 1 {
		t.Errorf("a refused update wrote: %+v", list[1])
	}
}

func testSigningKeyIsolation(t *testing.T, s store.Store) {
	a, b := mkTenant(t, s), mkTenant(t, s)
	sk := s.SigningKeys()
	k := &store.SigningKey{ID: "kid", Tenant: a, Alg: "EdDSA", Status: store.KeyActive, PublicKey: []byte{1}, Sealed: []byte{2}}
	noErr(t, "CreateSigningKey", sk.CreateSigningKey(ctx(t), k))
	list, err := sk.ListSigningKeys(ctx(t), b)
	noErr(t, "ListSigningKeys under B", err)
	if len(list) != 0 {
		t.Errorf("ListSigningKeys under B = %+v", list)
	}
	_, err = sk.UpdateSigningKey(ctx(t), b, "kid", func(*store.SigningKey) error { t.Error("closure called"); return nil })
	wantErr(t, "UpdateSigningKey under B", err, store.ErrNotFound)
	// The same kid may exist in another tenant.
	noErr(t, "CreateSigningKey(same kid under B)", sk.CreateSigningKey(ctx(t), &store.SigningKey{ID: "kid", Tenant: b, Alg: "EdDSA", Status: store.KeyNext, PublicKey: []byte{3}, Sealed: []byte{4}}))
	list, err = sk.ListSigningKeys(ctx(t), a)
	noErr(t, "ListSigningKeys under A", err)
	if len(list) != 1 || list[0].Status != store.KeyActive {
		t.Errorf("A's keys = %+v", list)
	}
}
