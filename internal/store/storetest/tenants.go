package storetest

import (
	"errors"
	"fmt"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

var tenantTests = []test{
	{"Tenant/CRUD", testTenantCRUD},
	{"Tenant/Conflicts", testTenantConflicts},
	{"Tenant/UpdateClosure", testTenantUpdateClosure},
	{"Tenant/DeleteKeepsAudit", testTenantDelete},
}

func testTenantCRUD(t *testing.T, s store.Store) {
	ts := s.Tenants()
	tn := &store.Tenant{ID: store.TenantID(newID()), Slug: "acme", Name: "Acme", Settings: []byte(`{"password":{"min_length":12}}`)}
	noErr(t, "CreateTenant", ts.CreateTenant(ctx(t), tn))
	if tn.Version != 1 || tn.CreatedAt.IsZero() || !tn.UpdatedAt.Equal(tn.CreatedAt) {
		t.Errorf("CreateTenant filled Version %d CreatedAt %v UpdatedAt %v; want 1, now, CreatedAt", tn.Version, tn.CreatedAt, tn.UpdatedAt)
	}
	for name, get := range map[string]func() (*store.Tenant, error){
		"GetTenant":       func() (*store.Tenant, error) { return ts.GetTenant(ctx(t), tn.ID) },
		"GetTenantBySlug": func() (*store.Tenant, error) { return ts.GetTenantBySlug(ctx(t), "acme") },
	} {
		got, err := get()
		noErr(t, name, err)
		if got.ID != tn.ID || got.Slug != "acme" || got.Name != "Acme" || got.Version != 1 {
			t.Errorf("%s = %+v, want %+v", name, got, tn)
		}
		jsonEqual(t, name+": settings", got.Settings, tn.Settings)
		sameTime(t, name+": CreatedAt", got.CreatedAt, tn.CreatedAt)
	}
	_, err := ts.GetTenant(ctx(t), store.TenantID(newID()))
	wantErr(t, "GetTenant(missing)", err, store.ErrNotFound)
	_, err = ts.GetTenantBySlug(ctx(t), "nope")
	wantErr(t, "GetTenantBySlug(missing)", err, store.ErrNotFound)

	// Default settings are an empty object.
	plain := &store.Tenant{ID: store.TenantID(newID()), Slug: "plain", Name: "Plain"}
	noErr(t, "CreateTenant(plain)", ts.CreateTenant(ctx(t), plain))
	got, err := ts.GetTenant(ctx(t), plain.ID)
	noErr(t, "GetTenant(plain)", err)
	jsonEqual(t, "default settings", got.Settings, []byte(`{}`))

	// List pages by id.
	var want []string
	for i := range 3 {
		id := store.TenantID(newID())
		noErr(t, "CreateTenant", ts.CreateTenant(ctx(t), &store.Tenant{ID: id, Slug: fmt.Sprintf("s%d", i), Name: "n"}))
	}
	all, err := ts.ListTenants(ctx(t), store.Page{})
	noErr(t, "ListTenants", err)
	for _, x := range all {
		want = append(want, string(x.ID))
	}
	if len(want) != 5 {
		t.Fatalf("ListTenants: %d tenants, want 5", len(want))
	}
	var paged []string
	after := ""
	for {
		page, err := ts.ListTenants(ctx(t), store.Page{After: after, Limit: 2})
		noErr(t, "ListTenants(page)", err)
		if len(page) == 0 {
			break
		}
		if len(page) > 2 {
			t.Fatalf("ListTenants(Limit 2) answered %d", len(page))
		}
		for _, x := range page {
			paged = append(paged, string(x.ID))
		}
		after = string(page[len(page)-1].ID)
	}
	sameIDs(t, "paged tenants", paged, want)
	for i := 1; i < len(want); i++ {
		if want[i-1] >= want[i] {
			t.Errorf("ListTenants not ordered by id: %v", want)
		}
	}

	up, err := ts.UpdateTenant(ctx(t), tn.ID, func(x *store.Tenant) error {
		x.Name = "Acme Corp"
		x.Settings = []byte(`{"mfa":true}`)
		return nil
	})
	noErr(t, "UpdateTenant", err)
	if up.Name != "Acme Corp" || up.Version != 2 || !up.CreatedAt.Equal(tn.CreatedAt) || up.UpdatedAt.Before(tn.UpdatedAt) {
		t.Errorf("UpdateTenant = %+v", up)
	}
	got, err = ts.GetTenant(ctx(t), tn.ID)
	noErr(t, "GetTenant", err)
	if got.Name != "Acme Corp" || got.Version != 2 {
		t.Errorf("after update GetTenant = %+v", got)
	}
	jsonEqual(t, "updated settings", got.Settings, []byte(`{"mfa":true}`))
	_, err = ts.UpdateTenant(ctx(t), store.TenantID(newID()), func(*store.Tenant) error {
		t.Error("closure called for a missing tenant")
		return nil
	})
	wantErr(t, "UpdateTenant(missing)", err, store.ErrNotFound)

	noErr(t, "DeleteTenant", ts.DeleteTenant(ctx(t), tn.ID))
	_, err = ts.GetTenant(ctx(t), tn.ID)
	wantErr(t, "GetTenant(deleted)", err, store.ErrNotFound)
	wantErr(t, "DeleteTenant(again)", ts.DeleteTenant(ctx(t), tn.ID), store.ErrNotFound)
	wantErr(t, "DeleteTenant(platform)", ts.DeleteTenant(ctx(t), store.PlatformTenant), store.ErrNotFound)
}

func testTenantConflicts(t *testing.T, s store.Store) {
	ts := s.Tenants()
	a := &store.Tenant{ID: store.TenantID(newID()), Slug: "same", Name: "A"}
	noErr(t, "CreateTenant", ts.CreateTenant(ctx(t), a))
	err := ts.CreateTenant(ctx(t), &store.Tenant{ID: store.TenantID(newID()), Slug: "same", Name: "B"})
	wantErr(t, "CreateTenant(same slug)", err, store.ErrConflict)
	err = ts.CreateTenant(ctx(t), &store.Tenant{ID: a.ID, Slug: "other", Name: "B"})
	wantErr(t, "CreateTenant(same id)", err, store.ErrConflict)

	b := &store.Tenant{ID: store.TenantID(newID()), Slug: "b", Name: "B"}
	noErr(t, "CreateTenant", ts.CreateTenant(ctx(t), b))
	_, err = ts.UpdateTenant(ctx(t), b.ID, func(x *store.Tenant) error { x.Slug = "same"; return nil })
	wantErr(t, "UpdateTenant(taken slug)", err, store.ErrConflict)
	got, err := ts.GetTenant(ctx(t), b.ID)
	noErr(t, "GetTenant", err)
	if got.Slug != "b" || got.Version != 1 {
		t.Errorf("a failed update wrote: %+v", got)
	}
}

func testTenantUpdateClosure(t *testing.T, s store.Store) {
	ts := s.Tenants()
	id := mkTenant(t, s)
	_, err := ts.UpdateTenant(ctx(t), id, func(x *store.Tenant) error {
		x.Name = "changed"
		return errClosure
	})
	if err != errClosure {
		t.Errorf("UpdateTenant: closure error came back as %v, want it unchanged", err)
	}
	// The optimistic-concurrency pattern callers use: compare the version
	// they read earlier and refuse.
	_, err = ts.UpdateTenant(ctx(t), id, func(x *store.Tenant) error {
		if x.Version != 7 {
			return fmt.Errorf("version %d: %w", x.Version, store.ErrPrecondition)
		}
		return nil
	})
	wantErr(t, "UpdateTenant(stale)", err, store.ErrPrecondition)
	_, err = ts.UpdateTenant(ctx(t), id, func(x *store.Tenant) error { x.ID = store.TenantID(newID()); return nil })
	if err == nil {
		t.Error("UpdateTenant let the closure change the id")
	}
	got, err := ts.GetTenant(ctx(t), id)
	noErr(t, "GetTenant", err)
	if got.Name == "changed" || got.Version != 1 {
		t.Errorf("failed updates wrote: %+v", got)
	}
	if errors.Is(errClosure, store.ErrNotFound) {
		t.Fatal("errClosure must be distinct")
	}
}

// testTenantDelete: deleting a tenant removes everything it owns, except its
// audit chain, and nothing of another tenant.
func testTenantDelete(t *testing.T, s store.Store) {
	a, b := mkTenant(t, s), mkTenant(t, s)
	var keep struct {
		user  *store.User
		group *store.Group
		hash  []byte
	}
	for _, tn := range []store.TenantID{a, b} {
		u := mkUser(t, s, tn, "ann")
		g := mkGroup(t, s, tn, "staff")
		sub := mkGroup(t, s, tn, "sub")
		addMember(t, s, tn, g.ID, store.MemberUser, u.ID)
		addMember(t, s, tn, g.ID, store.MemberGroup, sub.ID)
		hash := []byte("hash-" + string(tn))
		noErr(t, "CreateAPIKey", s.APIKeys().CreateAPIKey(ctx(t), &store.APIKey{ID: newID(), Tenant: tn, Name: "k", Hash: hash}))
		noErr(t, "CreateSigningKey", s.SigningKeys().CreateSigningKey(ctx(t), &store.SigningKey{
			ID: newID(), Tenant: tn, Alg: "ES256", Status: store.KeyActive, PublicKey: []byte{1}, Sealed: []byte{2}}))
		for range 2 {
			noErr(t, "AppendAudit", s.Audit().AppendAudit(ctx(t), &store.AuditEntry{Tenant: tn, Action: "user.create", TargetID: u.ID}))
		}
		if tn == b {
			keep.user, keep.group, keep.hash = u, g, hash
		}
	}

	noErr(t, "DeleteTenant", s.Tenants().DeleteTenant(ctx(t), a))

	n, err := s.Users().CountUsers(ctx(t), a)
	noErr(t, "CountUsers", err)
	gs, err := s.Groups().ListGroups(ctx(t), a, store.Page{})
	noErr(t, "ListGroups", err)
	ks, err := s.APIKeys().ListAPIKeys(ctx(t), a)
	noErr(t, "ListAPIKeys", err)
	_, err = s.APIKeys().GetAPIKeyByHash(ctx(t), []byte("hash-"+string(a)))
	wantErr(t, "GetAPIKeyByHash(deleted tenant)", err, store.ErrNotFound)
	sks, err := s.SigningKeys().ListSigningKeys(ctx(t), a)
	noErr(t, "ListSigningKeys", err)
	if n != 0 || len(gs) != 0 || len(ks) != 0 || len(sks) != 0 {
		t.Errorf("deleted tenant left %d users, %d groups, %d api keys, %d signing keys", n, len(gs), len(ks), len(sks))
	}
	var seqs []int64
	noErr(t, "ScanAudit", s.Audit().ScanAudit(ctx(t), a, func(e store.AuditEntry) error {
		seqs = append(seqs, e.Seq)
		return nil
	}))
	if len(seqs) != 2 {
		t.Errorf("deleted tenant's audit chain has %v, want 2 entries kept", seqs)
	}
	// An append after deletion continues the kept chain.
	e := &store.AuditEntry{Tenant: a, Action: "tenant.delete"}
	noErr(t, "AppendAudit(deleted tenant)", s.Audit().AppendAudit(ctx(t), e))
	if e.Seq != 3 {
		t.Errorf("append after delete got seq %d, want 3", e.Seq)
	}

	// b is untouched.
	_, err = s.Users().GetUser(ctx(t), b, keep.user.ID)
	noErr(t, "GetUser(other tenant)", err)
	ms, err := s.Groups().ListMembers(ctx(t), b, keep.group.ID, store.Page{})
	noErr(t, "ListMembers(other tenant)", err)
	if len(ms) != 2 {
		t.Errorf("other tenant's group has %d members, want 2", len(ms))
	}
	_, err = s.APIKeys().GetAPIKeyByHash(ctx(t), keep.hash)
	noErr(t, "GetAPIKeyByHash(other tenant)", err)
	sks, err = s.SigningKeys().ListSigningKeys(ctx(t), b)
	noErr(t, "ListSigningKeys(other tenant)", err)
	if len(sks) != 1 {
		t.Errorf("other tenant has %d signing keys, want 1", len(sks))
	}
}
