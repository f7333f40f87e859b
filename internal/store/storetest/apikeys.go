package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

var apiKeyTests = []test{
	{"APIKey/CRUD", testAPIKeyCRUD},
	{"APIKey/Touch", testAPIKeyTouch},
	{"APIKey/Isolation", testAPIKeyIsolation},
}

func testAPIKeyCRUD(t *testing.T, s store.Store) {
	tn := mkTenant(t, s)
	ks := s.APIKeys()
	exp := time.Date(2030, 1, 2, 3, 4, 5, 678901234, time.UTC)
	k := &store.APIKey{ID: newID(), Tenant: tn, Name: "ci", Scopes: []string{"users:read", "users:write"},
		Hash: []byte{0, 1, 2, 0xff}, Hint: "gh_ak_abc", ExpiresAt: &exp}
	noErr(t, "CreateAPIKey", ks.CreateAPIKey(ctx(t), k))
	if k.CreatedAt.IsZero() {
		t.Error("CreateAPIKey left CreatedAt zero")
	}
	got, err := ks.GetAPIKeyByHash(ctx(t), []byte{0, 1, 2, 0xff})
	noErr(t, "GetAPIKeyByHash", err)
	if got.ID != k.ID || got.Tenant != tn || got.Name != "ci" || got.Hint != "gh_ak_abc" ||
		!slices.Equal(got.Scopes, k.Scopes) || got.RevokedAt != nil || got.LastUsedAt != nil {
		t.Errorf("GetAPIKeyByHash = %+v, want %+v", got, k)
	}
	sameBytes(t, "hash", got.Hash, k.Hash)
	sameTime(t, "CreatedAt", got.CreatedAt, k.CreatedAt)
	sameTimePtr(t, "ExpiresAt", got.ExpiresAt, new(exp.Truncate(time.Microsecond)))
	if !got.Active(exp.Add(-time.Hour)) || got.Active(exp.Add(time.Hour)) {
		t.Error("expiry read back wrong")
	}
	_, err = ks.GetAPIKeyByHash(ctx(t), []byte{0, 1, 2})
	wantErr(t, "GetAPIKeyByHash(unknown)", err, store.ErrNotFound)

	wantErr(t, "CreateAPIKey(same hash)", ks.CreateAPIKey(ctx(t), &store.APIKey{ID: newID(), Tenant: tn, Name: "x", Hash: k.Hash}), store.ErrConflict)
	wantErr(t, "CreateAPIKey(same id)", ks.CreateAPIKey(ctx(t), &store.APIKey{ID: k.ID, Tenant: tn, Name: "x", Hash: []byte("other")}), store.ErrConflict)
	wantErr(t, "CreateAPIKey(missing tenant)", ks.CreateAPIKey(ctx(t), &store.APIKey{ID: newID(), Tenant: store.TenantID(newID()), Name: "x", Hash: []byte("h2")}), store.ErrNotFound)

	// Platform keys belong to no tenant row.
	pk := &store.APIKey{ID: newID(), Tenant: store.PlatformTenant, Name: "root", Scopes: []string{"tenants:admin"}, Hash: []byte("platform")}
	noErr(t, "CreateAPIKey(platform)", ks.CreateAPIKey(ctx(t), pk))
	got, err = ks.GetAPIKeyByHash(ctx(t), []byte("platform"))
	noErr(t, "GetAPIKeyByHash(platform)", err)
	if got.Tenant != store.PlatformTenant {
		t.Errorf("platform key read back with tenant %q", got.Tenant)
	}
	noScopes := &store.APIKey{ID: newID(), Tenant: tn, Name: "none", Hash: []byte("none")}
	noErr(t, "CreateAPIKey(no scopes)", ks.CreateAPIKey(ctx(t), noScopes))

	list, err := ks.ListAPIKeys(ctx(t), tn)
	noErr(t, "ListAPIKeys", err)
	var ids []string
	for _, x := range list {
		ids = append(ids, x.ID)
		if x.ID == noScopes.ID && len(x.Scopes) != 0 {
			t.Errorf("empty scopes read back as %q", x.Scopes)
		}
	}
	sameIDs(t, "ListAPIKeys", ids, sortedIDs(k.ID, noScopes.ID))
	plist, err := ks.ListAPIKeys(ctx(t), store.PlatformTenant)
	noErr(t, "ListAPIKeys(platform)", err)
	if len(plist) != 1 || plist[0].ID != pk.ID {
		t.Errorf("ListAPIKeys(platform) = %+v", plist)
	}

	// Revocation and expiry through the update closure.
	revoked := time.Date(2026, 2, 3, 4, 5, 6, 7000, time.UTC)
	up, err := ks.UpdateAPIKey(ctx(t), tn, k.ID, func(x *store.APIKey) error {
		x.RevokedAt, x.ExpiresAt, x.Name = &revoked, nil, "ci (revoked)"
		return nil
	})
	noErr(t, "UpdateAPIKey", err)
	if up.Active(revoked) {
		t.Error("revoked key is active")
	}
	got, err = ks.GetAPIKeyByHash(ctx(t), k.Hash)
	noErr(t, "GetAPIKeyByHash", err)
	sameTimePtr(t, "RevokedAt", got.RevokedAt, &revoked)
	if got.ExpiresAt != nil || got.Name != "ci (revoked)" || got.Active(time.Now()) {
		t.Errorf("after revoke: %+v", got)
	}
	_, err = ks.UpdateAPIKey(ctx(t), tn, k.ID, func(x *store.APIKey) error { x.Name = "zz"; return errClosure })
	if err != errClosure {
		t.Errorf("UpdateAPIKey: closure error came back as %v", err)
	}
	_, err = ks.UpdateAPIKey(ctx(t), tn, newID(), func(*store.APIKey) error { t.Error("closure called"); return nil })
	wantErr(t, "UpdateAPIKey(missing)", err, store.ErrNotFound)
	got, err = ks.GetAPIKeyByHash(ctx(t), k.Hash)
	noErr(t, "GetAPIKeyByHash", err)
	if got.Name != "ci (revoked)" {
		t.Errorf("a refused update wrote: %+v", got)
	}
}

// testAPIKeyTouch: a use is written at most once a minute.
func testAPIKeyTouch(t *testing.T, s store.Store) {
	tn := mkTenant(t, s)
	ks := s.APIKeys()
	k := &store.APIKey{ID: newID(), Tenant: tn, Name: "t", Hash: []byte("touch")}
	noErr(t, "CreateAPIKey", ks.CreateAPIKey(ctx(t), k))
	t0 := time.Date(2025, 6, 1, 12, 0, 0, 500, time.UTC)
	last := func() *time.Time {
		got, err := ks.GetAPIKeyByHash(ctx(t), k.Hash)
		noErr(t, "GetAPIKeyByHash", err)
		return got.LastUsedAt
	}
	steps := []struct {
		at, want time.Time
	}{
		{t0, t0},
		{t0.Add(30 * time.Second), t0}, // within the minute: not written
		{t0.Add(60 * time.Second), t0}, // exactly a minute: not yet
		{t0.Add(61 * time.Second), t0.Add(61 * time.Second)},
		{t0.Add(10 * time.Second), t0.Add(61 * time.Second)}, // never backwards
	}
	for i, st := range steps {
		noErr(t, "TouchAPIKey", ks.TouchAPIKey(ctx(t), k.ID, st.at))
		sameTimePtr(t, "LastUsedAt after touch "+string(rune('1'+i)), last(), new(st.want.Truncate(time.Microsecond)))
	}
	noErr(t, "TouchAPIKey(unknown id)", ks.TouchAPIKey(ctx(t), newID(), t0))
}

func testAPIKeyIsolation(t *testing.T, s store.Store) {
	a, b := mkTenant(t, s), mkTenant(t, s)
	ks := s.APIKeys()
	k := &store.APIKey{ID: newID(), Tenant: a, Name: "a", Hash: []byte("iso")}
	noErr(t, "CreateAPIKey", ks.CreateAPIKey(ctx(t), k))
	list, err := ks.ListAPIKeys(ctx(t), b)
	noErr(t, "ListAPIKeys under B", err)
	if len(list) != 0 {
		t.Errorf("ListAPIKeys under B = %+v", list)
	}
	_, err = ks.UpdateAPIKey(ctx(t), b, k.ID, func(*store.APIKey) error { t.Error("closure called"); return nil })
	wantErr(t, "UpdateAPIKey under B", err, store.ErrNotFound)
	_, err = ks.UpdateAPIKey(ctx(t), a, k.ID, func(x *store.APIKey) error { x.Tenant = b; return nil })
	if err == nil {
		t.Error("UpdateAPIKey let the closure move the key to another tenant")
	}
	got, err := ks.GetAPIKeyByHash(ctx(t), k.Hash)
	noErr(t, "GetAPIKeyByHash", err)
	if got.Tenant != a {
		t.Errorf("key moved to %q", got.Tenant)
	}
}
