package tenancy_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/keys"
	"github.com/gatehouse-id/gatehouse/internal/seal"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// twoRegions answers services of regions eu and us on databases of their
// own, sharing a catalogue database and one master key (SQLite stands in
// for PostgreSQL: the code paths are the same).
func twoRegions(t *testing.T) (eu, us *tenancy.Service, cat *sqlstore.DB) {
	t.Helper()
	key, err := seal.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := seal.New(key, nil)
	if err != nil {
		t.Fatal(err)
	}
	cat = sqltest.OpenSQLite(t)
	mk := func(region string) *tenancy.Service {
		db := sqltest.OpenSQLite(t)
		return &tenancy.Service{Store: db, Keys: &keys.Manager{Sealer: sealer, Now: time.Now},
			Audit: &events.Recorder{Now: time.Now}, Now: time.Now,
			Placement: &tenancy.Placement{Catalogue: cat.Catalogue(), Region: region, Regions: []string{"eu", "us"}, PlatformKeys: cat.APIKeys()}}
	}
	return mk("eu"), mk("us"), cat
}

// TestPlacement: a tenant is catalogued in its node's region, its slug is
// unique across regions, and another region is named, never created here.
func TestPlacement(t *testing.T) {
	ctx := t.Context()
	eu, us, cat := twoRegions(t)
	acme := mkTenant(t, eu, "acme")
	e, err := cat.Catalogue().GetCatalogueBySlug(ctx, "acme")
	if err != nil || e.ID != acme.ID || e.Region != "eu" {
		t.Fatalf("catalogue entry %+v, %v", e, err)
	}
	_, err = us.CreateTenant(ctx, admin, tenancy.NewTenant{Slug: "acme", Name: "Again"})
	var conflict *valid.Conflict
	if !errors.As(err, &conflict) || conflict.Field != "slug" {
		t.Errorf("same slug in us: %v", err)
	}
	if _, err := us.Store.Tenants().GetTenantBySlug(ctx, "acme"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the refused tenant has rows in us: %v", err)
	}
	for region, want := range map[string]string{"us": "region", "ap": "region"} {
		_, err := eu.CreateTenant(ctx, admin, tenancy.NewTenant{Slug: "x-" + region, Name: "X", Region: region})
		if fs := fieldsOf(t, err); !slices.Equal(fs, []string{want}) {
			t.Errorf("region %s: fields %v", region, fs)
		}
	}
	if _, err := cat.Catalogue().GetCatalogueBySlug(ctx, "x-us"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a refused creation left a claim: %v", err)
	}
	if r, _ := us.Elsewhere(ctx, "acme"); r != "eu" {
		t.Errorf("us locates acme in %q", r)
	}
	if r, _ := eu.Elsewhere(ctx, string(acme.ID)); r != "" {
		t.Errorf("eu locates its own acme in %q", r)
	}
	// A platform key of the catalogue works in every region; a tenant
	// key there does not.
	catSvc := &tenancy.Service{Store: cat, Keys: eu.Keys, Audit: &events.Recorder{Now: time.Now}, Now: time.Now}
	_, platformToken, err := catSvc.CreateAPIKey(ctx, admin, store.PlatformTenant, tenancy.NewAPIKey{Name: "ops", Scopes: []string{"admin"}})
	if err != nil {
		t.Fatal(err)
	}
	local := mkTenant(t, catSvc, "local")
	_, tenantToken, err := catSvc.CreateAPIKey(ctx, admin, local.ID, tenancy.NewAPIKey{Name: "t", Scopes: []string{"admin"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, svc := range []*tenancy.Service{eu, us} {
		if k, err := svc.AuthenticateAPIKey(ctx, platformToken); err != nil || k.Tenant != store.PlatformTenant {
			t.Errorf("%s: platform key of the catalogue: %v", svc.Placement.Region, err)
		}
		if _, err := svc.AuthenticateAPIKey(ctx, tenantToken); !errors.Is(err, tenancy.ErrBadToken) {
			t.Errorf("%s: another database's tenant key: %v, want ErrBadToken", svc.Placement.Region, err)
		}
	}
}

// TestMoveTenant: a failed copy leaves the tenant where it was, active;
// a move carries every row and the audit chain, switches the catalogue and
// leaves nothing in the source.
func TestMoveTenant(t *testing.T) {
	ctx := t.Context()
	eu, us, cat := twoRegions(t)
	acme := mkTenant(t, eu, "acme")
	if _, err := eu.UpdateTenant(ctx, admin, acme.ID, 0, tenancy.TenantPatch{Name: ptr("Acme Inc")}); err != nil {
		t.Fatal(err)
	}
	// Two entries on the tenant's own chain.
	for _, name := range []string{"one", "two"} {
		if _, _, err := eu.CreateAPIKey(ctx, admin, acme.ID, tenancy.NewAPIKey{Name: name, Scopes: []string{"read"}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tenancy.MoveTenant(ctx, admin, eu, eu, "acme", 0); !errors.Is(err, tenancy.ErrSameRegion) {
		t.Errorf("move to its own region: %v", err)
	}
	// A row with the tenant's id in us makes the import fail.
	blocker := &store.Tenant{ID: acme.ID, Slug: "blocker", Name: "B", Settings: []byte(`{}`), Version: 1, CreatedAt: time.Now(), UpdatedAt: time.Now()}
	if err := us.Store.Tenants().CreateTenant(ctx, blocker); err != nil {
		t.Fatal(err)
	}
	if _, err := tenancy.MoveTenant(ctx, admin, eu, us, "acme", 0); err == nil {
		t.Fatal("the move succeeded over a conflicting row")
	}
	if tn, err := eu.Store.Tenants().GetTenant(ctx, acme.ID); err != nil || tn.Status != store.TenantActive {
		t.Fatalf("after a failed move the tenant is %+v, %v; want active in eu", tn, err)
	}
	if e, _ := cat.Catalogue().GetCatalogue(ctx, acme.ID); e.Region != "eu" {
		t.Errorf("a failed move switched the catalogue to %s", e.Region)
	}
	if err := us.Store.Tenants().DeleteTenant(ctx, acme.ID); err != nil {
		t.Fatal(err)
	}
	headBefore, err := eu.Store.Audit().AuditHead(ctx, acme.ID)
	if err != nil || headBefore.Seq == 0 {
		t.Fatalf("audit head %+v, %v", headBefore, err)
	}
	res, err := tenancy.MoveTenant(ctx, admin, eu, us, "acme", 0)
	if err != nil {
		t.Fatal(err)
	}
	if res.From != "eu" || res.To != "us" || res.AuditEntries != headBefore.Seq || res.Rows["tenants"] != 1 || res.Rows["api_keys"] != 2 {
		t.Errorf("result %+v", res)
	}
	if _, err := eu.Store.Tenants().GetTenant(ctx, acme.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the source keeps the tenant: %v", err)
	}
	tn, err := us.Store.Tenants().GetTenant(ctx, acme.ID)
	if err != nil || tn.Status != store.TenantActive || tn.Name != "Acme Inc" {
		t.Fatalf("in us: %+v, %v", tn, err)
	}
	if v, err := events.Verify(ctx, us.Store.Audit(), acme.ID); err != nil || !v.Intact || v.Entries != headBefore.Seq {
		t.Errorf("audit chain in us: %+v, %v", v, err)
	}
	if e, _ := cat.Catalogue().GetCatalogue(ctx, acme.ID); e.Region != "us" {
		t.Errorf("catalogue says %s", e.Region)
	}
	if r, _ := eu.Elsewhere(ctx, "acme"); r != "us" {
		t.Errorf("eu locates the moved tenant in %q", r)
	}
}

func ptr[T any](v T) *T { return &v }
