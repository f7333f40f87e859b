package storetest

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

var provisioningTests = []test{
	{"Provisioning/TargetsLinksErrorsAndTenantIsolation", testProvisioning},
}

func testProvisioning(t *testing.T, s store.Store) {
	a, b := mkTenant(t, s), mkTenant(t, s)
	pr := s.Provisioning()
	tg := &store.ProvisioningTarget{ID: newID(), Tenant: a, Name: "App", BaseURL: "https://app.example.com/scim/v2",
		Token: []byte("sealed"), Mapping: map[string]string{"title": "attributes.title"}, Groups: []string{"g1"}, Enabled: true}
	noErr(t, "CreateTarget", pr.CreateTarget(ctx(t), tg))
	if err := pr.CreateTarget(ctx(t), &store.ProvisioningTarget{ID: newID(), Tenant: "no-such-tenant", BaseURL: "https://x",
		Token: []byte("x")}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("CreateTarget in a missing tenant: %v", err)
	}
	got, err := pr.GetTarget(ctx(t), a, tg.ID)
	if err != nil || got.Name != "App" || string(got.Token) != "sealed" || !maps.Equal(got.Mapping, tg.Mapping) ||
		!slices.Equal(got.Groups, []string{"g1"}) || !got.Enabled || got.SyncState != "" || got.SyncedAt != nil || got.CreatedAt.IsZero() {
		t.Fatalf("GetTarget = %+v, %v", got, err)
	}
	if _, err := pr.GetTarget(ctx(t), b, tg.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("target of A read under B: %v", err)
	}
	if l, err := pr.ListTargets(ctx(t), b, store.Page{}); err != nil || len(l) != 0 {
		t.Fatalf("ListTargets(B) = %v, %v", l, err)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	up, err := pr.UpdateTarget(ctx(t), a, tg.ID, func(t *store.ProvisioningTarget) error {
		t.Enabled, t.SyncState, t.SyncedAt, t.SyncCount, t.Groups = false, "done", &now, 7, nil
		return nil
	})
	if err != nil || up.Enabled || up.SyncCount != 7 {
		t.Fatalf("UpdateTarget = %+v, %v", up, err)
	}
	got, _ = pr.GetTarget(ctx(t), a, tg.ID)
	if got.Enabled || got.SyncState != "done" || got.SyncedAt == nil || !got.SyncedAt.Equal(now) || got.SyncCount != 7 || len(got.Groups) != 0 {
		t.Fatalf("after update: %+v", got)
	}
	refuse := errors.New("no")
	if _, err := pr.UpdateTarget(ctx(t), a, tg.ID, func(t *store.ProvisioningTarget) error { t.Name = "X"; return refuse }); err != refuse {
		t.Fatalf("UpdateTarget's closure error = %v", err)
	}
	if _, err := pr.UpdateTarget(ctx(t), b, tg.ID, func(*store.ProvisioningTarget) error { return nil }); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("UpdateTarget under B: %v", err)
	}

	// Links: put replaces, isolation, delete.
	l := &store.ProvisionLink{Tenant: a, TargetID: tg.ID, Kind: store.ProvisionUser, LocalID: "u1", RemoteID: "r1"}
	noErr(t, "PutLink", pr.PutLink(ctx(t), l))
	l.RemoteID = "r2"
	noErr(t, "PutLink again", pr.PutLink(ctx(t), l))
	if got, err := pr.GetLink(ctx(t), a, tg.ID, store.ProvisionUser, "u1"); err != nil || got.RemoteID != "r2" {
		t.Fatalf("GetLink = %+v, %v", got, err)
	}
	if _, err := pr.GetLink(ctx(t), b, tg.ID, store.ProvisionUser, "u1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("link of A read under B: %v", err)
	}
	if _, err := pr.GetLink(ctx(t), a, tg.ID, store.ProvisionGroup, "u1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a user link read as a group's: %v", err)
	}
	if err := pr.PutLink(ctx(t), &store.ProvisionLink{Tenant: b, TargetID: tg.ID, Kind: store.ProvisionUser, LocalID: "u9",
		RemoteID: "r9"}); err == nil {
		if _, err := pr.GetLink(ctx(t), b, tg.ID, store.ProvisionUser, "u9"); err == nil {
			t.Fatal("B linked an object to A's target")
		}
	}
	noErr(t, "DeleteLink", pr.DeleteLink(ctx(t), a, tg.ID, store.ProvisionUser, "u1"))
	noErr(t, "DeleteLink of none", pr.DeleteLink(ctx(t), a, tg.ID, store.ProvisionUser, "u1"))
	if _, err := pr.GetLink(ctx(t), a, tg.ID, store.ProvisionUser, "u1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted link: %v", err)
	}

	// Errors: newest first, bounded, isolated.
	for i := range store.MaxProvisionErrors + 5 {
		noErr(t, "AppendError", pr.AppendError(ctx(t), &store.ProvisionError{ID: newID(), Tenant: a, TargetID: tg.ID, At: now,
			Kind: store.ProvisionUser, LocalID: fmt.Sprint(i), Operation: "create", StatusCode: 401, Message: "HTTP 401"}))
	}
	errs, err := pr.ListErrors(ctx(t), a, tg.ID, 0)
	if err != nil || len(errs) != store.MaxProvisionErrors || errs[0].LocalID != fmt.Sprint(store.MaxProvisionErrors+4) ||
		errs[0].StatusCode != 401 || !errs[0].At.Equal(now) {
		t.Fatalf("ListErrors = %d entries, first %+v, %v", len(errs), errs[0], err)
	}
	if errs, _ := pr.ListErrors(ctx(t), b, tg.ID, 0); len(errs) != 0 {
		t.Fatalf("errors of A read under B: %d", len(errs))
	}
	if err := pr.AppendError(ctx(t), &store.ProvisionError{ID: newID(), Tenant: b, TargetID: tg.ID, At: now}); err == nil {
		t.Fatal("B appended an error to A's target")
	}

	// Delete takes links and errors along.
	noErr(t, "PutLink", pr.PutLink(ctx(t), l))
	if err := pr.DeleteTarget(ctx(t), b, tg.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("DeleteTarget under B: %v", err)
	}
	noErr(t, "DeleteTarget", pr.DeleteTarget(ctx(t), a, tg.ID))
	if _, err := pr.GetTarget(ctx(t), a, tg.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted target: %v", err)
	}
	if _, err := pr.GetLink(ctx(t), a, tg.ID, store.ProvisionUser, "u1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("link of a deleted target: %v", err)
	}
	if errs, _ := pr.ListErrors(ctx(t), a, tg.ID, 0); len(errs) != 0 {
		t.Fatalf("errors of a deleted target: %d", len(errs))
	}
}
