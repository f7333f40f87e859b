package tenancy_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/keys"
	"github.com/gatehouse-id/gatehouse/internal/seal"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// clock is an injected clock tests move forward by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now().UTC().Truncate(time.Microsecond)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// newService builds the service as internal/server/app.go does, with a
// fresh master key and the given clock.
func newService(t *testing.T, s store.Store, now func() time.Time) *tenancy.Service {
	t.Helper()
	key, err := seal.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := seal.New(key, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &tenancy.Service{Store: s, Keys: &keys.Manager{Sealer: sealer, Now: now},
		Audit: &events.Recorder{Now: now}, Now: now}
}

var admin = events.Actor{Type: "cli", ID: "tester", RequestID: "req-1"}

func mkTenant(t *testing.T, svc *tenancy.Service, slug string) *store.Tenant {
	t.Helper()
	tn, err := svc.CreateTenant(t.Context(), admin, tenancy.NewTenant{Slug: slug, Name: "Tenant " + slug})
	if err != nil {
		t.Fatalf("CreateTenant(%s): %v", slug, err)
	}
	return tn
}

// fieldsOf answers the fields named by a *valid.Error, failing otherwise.
func fieldsOf(t *testing.T, err error) []string {
	t.Helper()
	var ve *valid.Error
	if !errors.As(err, &ve) {
		t.Fatalf("error %v (%T), want *valid.Error", err, err)
	}
	var fs []string
	for _, f := range ve.Fields {
		fs = append(fs, f.Field)
	}
	return fs
}

func auditEntries(t *testing.T, s store.Store, tenant store.TenantID) []store.AuditEntry {
	t.Helper()
	var es []store.AuditEntry
	if err := s.Audit().ScanAudit(t.Context(), tenant, func(e store.AuditEntry) error {
		es = append(es, e)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return es
}

func actions(es []store.AuditEntry) []string {
	var as []string
	for _, e := range es {
		as = append(as, e.Action)
	}
	return as
}

func TestCheckSlug(t *testing.T) {
	tests := []struct {
		slug string
		code string // "" when valid
	}{
		{"acme", ""},
		{"abc", ""},
		{"a1-b2", ""},
		{"my-company-42", ""},
		{"a" + strings.Repeat("b", 39), ""}, // 40
		{"", "required"},
		{"ab", "invalid"}, // too short
		{"a" + strings.Repeat("b", 40), "invalid"}, // 41
		{"Acme", "invalid"},
		{"acME", "invalid"},
		{"1acme", "invalid"},
		{"-acme", "invalid"},
		{"acme-", "invalid"},
		{"ac_me", "invalid"},
		{"ac me", "invalid"},
		{"ac.me", "invalid"},
		{"acmé", "invalid"},
		{"api", "reserved"},
		{"admin", "reserved"},
		{"t", "invalid"}, // reserved too, but already too short
		{"well-known", "reserved"},
	}
	for _, tc := range tests {
		t.Run(tc.slug, func(t *testing.T) {
			var c valid.Collector
			tenancy.CheckSlug(&c, tc.slug)
			err := c.Err()
			if tc.code == "" {
				if err != nil {
					t.Fatalf("CheckSlug(%q) = %v, want valid", tc.slug, err)
				}
				return
			}
			var ve *valid.Error
			if !errors.As(err, &ve) || len(ve.Fields) != 1 || ve.Fields[0].Field != "slug" || ve.Fields[0].Code != tc.code {
				t.Fatalf("CheckSlug(%q) = %v, want slug %s", tc.slug, err, tc.code)
			}
		})
	}
}

// TestCreateTenantRefusesReservedSlugs: every reserved slug, "t" included,
// is refused by CreateTenant whichever check catches it.
func TestCreateTenantRefusesReservedSlugs(t *testing.T) {
	svc := newService(t, sqltest.OpenSQLite(t), time.Now)
	for _, slug := range []string{"api", "admin", "t", "oauth2", "scim"} {
		_, err := svc.CreateTenant(t.Context(), admin, tenancy.NewTenant{Slug: slug, Name: "X"})
		if fs := fieldsOf(t, err); !slices.Equal(fs, []string{"slug"}) {
			t.Errorf("slug %q: fields %v, want [slug]", slug, fs)
		}
	}
}

func TestCreateTenant(t *testing.T) {
	sqltest.ForEachStore(t, func(t *testing.T, s store.Store) {
		svc := newService(t, s, time.Now)
		acme := mkTenant(t, svc, "acme")
		other := mkTenant(t, svc, "other")
		if acme.Version != 1 || acme.Slug != "acme" || acme.ID == "" {
			t.Errorf("tenant %+v", acme)
		}
		set, err := tenancy.ParseSettings(acme.Settings)
		if err != nil || !reflect.DeepEqual(set, tenancy.DefaultSettings()) {
			t.Errorf("settings %s (%v), want the defaults", acme.Settings, err)
		}

		ks, err := s.SigningKeys().ListSigningKeys(t.Context(), acme.ID)
		if err != nil {
			t.Fatal(err)
		}
		var algs []string
		for _, k := range ks {
			algs = append(algs, k.Alg+"/"+string(k.Status))
			if k.Tenant != acme.ID {
				t.Errorf("key %s: status %s tenant %s", k.ID, k.Status, k.Tenant)
			}
			if _, err := svc.Keys.Open(&k); err != nil {
				t.Errorf("%s key does not open: %v", k.Alg, err)
			}
			moved := k
			moved.Tenant = other.ID
			if _, err := svc.Keys.Open(&moved); err == nil {
				t.Errorf("%s key of %s opens as %s's", k.Alg, acme.Slug, other.Slug)
			}
			// Another deployment's master key opens nothing.
			if _, err := newService(t, s, time.Now).Keys.Open(&k); err == nil {
				t.Errorf("%s key opens under another master key", k.Alg)
			}
		}
		slices.Sort(algs)
		want := []string{"ES256/active", "ES256/next", "EdDSA/active", "EdDSA/next", "RS256/active", "RS256/next"}
		if !slices.Equal(algs, want) {
			t.Errorf("keys %v, want %v", algs, want)
		}

		es := auditEntries(t, s, store.PlatformTenant)
		if !slices.Equal(actions(es), []string{"tenant.create", "tenant.create"}) || es[0].TargetID != string(acme.ID) ||
			es[0].ActorID != "tester" {
			t.Errorf("platform audit %+v", es)
		}
	})
}

func TestCreateTenantInvalidAndConflict(t *testing.T) {
	sqltest.ForEachStore(t, func(t *testing.T, s store.Store) {
		svc := newService(t, s, time.Now)
		mkTenant(t, svc, "acme")

		_, err := svc.CreateTenant(t.Context(), admin, tenancy.NewTenant{Slug: "acme", Name: "Again"})
		var ce *valid.Conflict
		if !errors.As(err, &ce) || ce.Field != "slug" || !errors.Is(err, store.ErrConflict) {
			t.Errorf("duplicate slug: %v (%T), want *valid.Conflict on slug wrapping store.ErrConflict", err, err)
		}

		_, err = svc.CreateTenant(t.Context(), admin, tenancy.NewTenant{Slug: "Bad_Slug", Name: ""})
		if fs := fieldsOf(t, err); !slices.Equal(fs, []string{"slug", "name"}) {
			t.Errorf("fields %v, want slug and name together", fs)
		}
		_, err = svc.CreateTenant(t.Context(), admin, tenancy.NewTenant{Slug: "long-name", Name: strings.Repeat("é", 101)})
		if fs := fieldsOf(t, err); !slices.Equal(fs, []string{"name"}) {
			t.Errorf("fields %v, want name", fs)
		}
		if _, err := svc.CreateTenant(t.Context(), admin, tenancy.NewTenant{Slug: "long-ok", Name: strings.Repeat("é", 100)}); err != nil {
			t.Errorf("100-character name: %v", err)
		}

		ts, err := svc.ListTenants(t.Context(), store.Page{})
		if err != nil || len(ts) != 2 {
			t.Errorf("%d tenants (%v), want 2", len(ts), err)
		}
		if n := len(auditEntries(t, s, store.PlatformTenant)); n != 2 {
			t.Errorf("%d platform audit entries, want 2: failures record nothing", n)
		}
	})
}

func TestEnsureDefault(t *testing.T) {
	sqltest.ForEachStore(t, func(t *testing.T, s store.Store) {
		svc := newService(t, s, time.Now)
		t1, created, err := svc.EnsureDefault(t.Context())
		if err != nil || !created || t1.Slug != tenancy.DefaultSlug {
			t.Fatalf("first EnsureDefault = %+v, %v, %v", t1, created, err)
		}
		t2, created, err := svc.EnsureDefault(t.Context())
		if err != nil || created || t2.ID != t1.ID {
			t.Fatalf("second EnsureDefault = %+v, %v, %v; want the same tenant, not created", t2, created, err)
		}
		if ts, err := svc.ListTenants(t.Context(), store.Page{}); err != nil || len(ts) != 1 {
			t.Errorf("%d tenants (%v), want 1", len(ts), err)
		}
	})
}

func TestEnsureDefaultConcurrent(t *testing.T) {
	sqltest.ForEachStore(t, func(t *testing.T, s store.Store) {
		// Separate services (as separate nodes would have) on one store.
		const n = 4
		type result struct {
			t       *store.Tenant
			created bool
			err     error
		}
		results := make([]result, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			svc := newService(t, s, time.Now)
			wg.Go(func() {
				<-start
				tn, created, err := svc.EnsureDefault(t.Context())
				results[i] = result{tn, created, err}
			})
		}
		close(start)
		wg.Wait()
		createdCount := 0
		for i, r := range results {
			if r.err != nil {
				t.Fatalf("goroutine %d: %v", i, r.err)
			}
			if r.t == nil || r.t.ID != results[0].t.ID {
				t.Errorf("goroutine %d got tenant %+v, want %s", i, r.t, results[0].t.ID)
			}
			if r.created {
				createdCount++
			}
		}
		if createdCount != 1 {
			t.Errorf("%d callers created the tenant, want exactly 1", createdCount)
		}
		ts, err := s.Tenants().ListTenants(t.Context(), store.Page{})
		if err != nil || len(ts) != 1 {
			t.Fatalf("%d tenants (%v), want 1", len(ts), err)
		}
		if ks, err := s.SigningKeys().ListSigningKeys(t.Context(), ts[0].ID); err != nil || len(ks) != 2*len(keys.DefaultAlgs) {
			t.Errorf("%d signing keys (%v), want %d", len(ks), err, 2*len(keys.DefaultAlgs))
		}
		if n := len(auditEntries(t, s, store.PlatformTenant)); n != 1 {
			t.Errorf("%d platform audit entries, want 1", n)
		}
	})
}

func TestUpdateTenant(t *testing.T) {
	sqltest.ForEachStore(t, func(t *testing.T, s store.Store) {
		svc := newService(t, s, time.Now)
		tn := mkTenant(t, svc, "acme")

		up, err := svc.UpdateTenant(t.Context(), admin, tn.ID, tn.Version,
			tenancy.TenantPatch{Settings: json.RawMessage(`{"password_policy":{"min_length":12}}`)})
		if err != nil {
			t.Fatalf("valid policy: %v", err)
		}
		if up.Version != tn.Version+1 {
			t.Errorf("version %d, want %d", up.Version, tn.Version+1)
		}
		stored, err := svc.Resolve(t.Context(), "acme")
		if err != nil {
			t.Fatal(err)
		}
		set, err := tenancy.ParseSettings(stored.Settings)
		if err != nil {
			t.Fatal(err)
		}
		want := tenancy.DefaultSettings().PasswordPolicy
		want.MinLength = 12 // the patch overlays; the other fields keep their values
		if set.PasswordPolicy != want {
			t.Errorf("stored policy %+v, want %+v", set.PasswordPolicy, want)
		}
		if stored.Version != up.Version {
			t.Errorf("stored version %d, want %d", stored.Version, up.Version)
		}

		invalid := []struct {
			name  string
			patch tenancy.TenantPatch
			field string
		}{
			{"min_length 4", tenancy.TenantPatch{Settings: json.RawMessage(`{"password_policy":{"min_length":4}}`)}, "settings.password_policy"},
			{"max_length 2000", tenancy.TenantPatch{Settings: json.RawMessage(`{"password_policy":{"max_length":2000}}`)}, "settings.password_policy"},
			{"unknown key", tenancy.TenantPatch{Settings: json.RawMessage(`{"session_ttl":5}`)}, "settings"},
			{"unknown nested key", tenancy.TenantPatch{Settings: json.RawMessage(`{"password_policy":{"min_len":12}}`)}, "settings"},
			{"wrong type", tenancy.TenantPatch{Settings: json.RawMessage(`{"password_policy":{"min_length":"12"}}`)}, "settings"},
			{"trailing data", tenancy.TenantPatch{Settings: json.RawMessage(`{} {}`)}, "settings"},
			{"empty name", tenancy.TenantPatch{Name: new(string)}, "name"},
		}
		for _, tc := range invalid {
			_, err := svc.UpdateTenant(t.Context(), admin, tn.ID, 0, tc.patch)
			if fs := fieldsOf(t, err); !slices.Contains(fs, tc.field) {
				t.Errorf("%s: fields %v, want %s", tc.name, fs, tc.field)
			}
		}
		// A valid name with invalid settings changes neither.
		name := "Renamed"
		if _, err := svc.UpdateTenant(t.Context(), admin, tn.ID, 0, tenancy.TenantPatch{Name: &name,
			Settings: json.RawMessage(`{"password_policy":{"min_length":4}}`)}); err == nil {
			t.Error("invalid settings accepted with a valid name")
		}
		_, err = svc.UpdateTenant(t.Context(), admin, tn.ID, tn.Version, tenancy.TenantPatch{Name: &name})
		if !errors.Is(err, store.ErrPrecondition) {
			t.Errorf("stale version: %v, want store.ErrPrecondition", err)
		}
		after, err := s.Tenants().GetTenant(t.Context(), tn.ID)
		if err != nil {
			t.Fatal(err)
		}
		if after.Version != stored.Version || after.Name != stored.Name || string(after.Settings) != string(stored.Settings) {
			t.Errorf("failed updates changed the tenant: %+v, was %+v", after, stored)
		}
		if got := actions(auditEntries(t, s, store.PlatformTenant)); !slices.Equal(got, []string{"tenant.create", "tenant.update"}) {
			t.Errorf("platform audit %v: failed updates must record nothing", got)
		}
		if _, err := svc.UpdateTenant(t.Context(), admin, "01900000-0000-7000-8000-000000000000", 0, tenancy.TenantPatch{Name: &name}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("unknown tenant: %v, want store.ErrNotFound", err)
		}
	})
}

func TestDeleteTenant(t *testing.T) {
	sqltest.ForEachStore(t, func(t *testing.T, s store.Store) {
		clk := newClock()
		svc := newService(t, s, clk.Now)
		tn := mkTenant(t, svc, "acme")
		keep := mkTenant(t, svc, "keep")
		_, token, err := svc.CreateAPIKey(t.Context(), admin, tn.ID, tenancy.NewAPIKey{Name: "ci", Scopes: []string{"admin"}})
		if err != nil {
			t.Fatal(err)
		}
		if err := svc.DeleteTenant(t.Context(), admin, tn.ID); err != nil {
			t.Fatal(err)
		}
		got, err := svc.Resolve(t.Context(), "acme")
		if err != nil || got.Status != store.TenantDeleted || got.PurgeAt == nil || !got.PurgeAt.Equal(clk.Now().Add(tenancy.DefaultPurgeGrace)) {
			t.Fatalf("Resolve after delete: %+v, %v, want deleted with a purge date 30 days on", got, err)
		}
		if _, err := svc.ResolveSlug(t.Context(), "acme"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("ResolveSlug of a deleted tenant: %v, want store.ErrNotFound", err)
		}
		if ts, err := svc.ListTenants(t.Context(), store.Page{}); err != nil || len(ts) != 1 || ts[0].ID != keep.ID {
			t.Errorf("ListTenants after delete: %v, %v", ts, err)
		}
		if err := svc.DeleteTenant(t.Context(), admin, tn.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("second delete: %v, want store.ErrNotFound", err)
		}
		if _, err := svc.PurgeTenant(t.Context(), admin, keep.ID); !errors.Is(err, tenancy.ErrNotDeleted) {
			t.Errorf("purge of an active tenant: %v, want ErrNotDeleted", err)
		}
		// Not yet due: the purge job leaves it.
		clk.Add(tenancy.DefaultPurgeGrace - time.Minute)
		if n, err := svc.PurgeDue(t.Context(), 10); err != nil || n != 0 {
			t.Errorf("PurgeDue before the grace ended: %d, %v", n, err)
		}
		clk.Add(2 * time.Minute)
		if n, err := svc.PurgeDue(t.Context(), 10); err != nil || n != 1 {
			t.Fatalf("PurgeDue after the grace: %d, %v, want 1", n, err)
		}
		if _, err := svc.Resolve(t.Context(), "acme"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Resolve after the purge: %v, want store.ErrNotFound", err)
		}
		if _, err := svc.AuthenticateAPIKey(t.Context(), token); !errors.Is(err, tenancy.ErrBadToken) {
			t.Errorf("API key of a purged tenant: %v, want ErrBadToken", err)
		}
		if ks, err := s.SigningKeys().ListSigningKeys(t.Context(), tn.ID); err != nil || len(ks) != 0 {
			t.Errorf("%d signing keys left (%v)", len(ks), err)
		}
		if ks, err := s.SigningKeys().ListSigningKeys(t.Context(), keep.ID); err != nil || len(ks) != 2*len(keys.DefaultAlgs) {
			t.Errorf("other tenant has %d signing keys (%v), want %d", len(ks), err, 2*len(keys.DefaultAlgs))
		}
		var mine []string
		for _, e := range auditEntries(t, s, store.PlatformTenant) {
			if e.TargetID == string(tn.ID) {
				mine = append(mine, e.Action)
			}
		}
		if !slices.Equal(mine, []string{"tenant.create", "tenant.delete", "tenant.purge"}) {
			t.Errorf("platform audit of the purged tenant %v, want create, delete, purge", mine)
		}
		if got := auditEntries(t, s, tn.ID); len(got) != 0 {
			t.Errorf("the purged tenant's own chain keeps %d entries", len(got))
		}
		if res, err := events.Verify(t.Context(), s.Audit(), store.PlatformTenant); err != nil || !res.Intact {
			t.Errorf("platform chain: %+v, %v", res, err)
		}
	})
}

// TestRestoreAndSuspendTenant: a deleted tenant comes back whole before its
// purge; PATCH suspends and resumes but cannot undelete.
func TestRestoreAndSuspendTenant(t *testing.T) {
	sqltest.ForEachStore(t, func(t *testing.T, s store.Store) {
		svc := newService(t, s, time.Now)
		tn := mkTenant(t, svc, "acme")
		if _, err := svc.RestoreTenant(t.Context(), admin, tn.ID); !errors.Is(err, tenancy.ErrNotDeleted) {
			t.Errorf("restore of an active tenant: %v, want ErrNotDeleted", err)
		}
		suspended, active, bogus := store.TenantSuspended, store.TenantActive, store.TenantStatus("deleted")
		got, err := svc.UpdateTenant(t.Context(), admin, tn.ID, 0, tenancy.TenantPatch{Status: &suspended})
		if err != nil || got.Status != store.TenantSuspended || got.Serves() {
			t.Fatalf("suspend: %+v, %v", got, err)
		}
		if _, err := svc.UpdateTenant(t.Context(), admin, tn.ID, 0, tenancy.TenantPatch{Status: &bogus}); !slices.Equal(fieldsOf(t, err), []string{"status"}) {
			t.Errorf("PATCH status deleted: %v, want a status error", err)
		}
		if got, err = svc.UpdateTenant(t.Context(), admin, tn.ID, 0, tenancy.TenantPatch{Status: &active}); err != nil || !got.Serves() {
			t.Fatalf("resume: %+v, %v", got, err)
		}
		if err := svc.DeleteTenant(t.Context(), admin, tn.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.UpdateTenant(t.Context(), admin, tn.ID, 0, tenancy.TenantPatch{Status: &active}); !slices.Equal(fieldsOf(t, err), []string{"status"}) {
			t.Errorf("PATCH active on a deleted tenant: %v, want a status error pointing at restore", err)
		}
		got, err = svc.RestoreTenant(t.Context(), admin, tn.ID)
		if err != nil || got.Status != store.TenantActive || got.PurgeAt != nil {
			t.Fatalf("restore: %+v, %v", got, err)
		}
		if _, err := svc.ResolveSlug(t.Context(), "acme"); err != nil {
			t.Errorf("ResolveSlug after restore: %v", err)
		}
		want := []string{"tenant.create", "tenant.suspend", "tenant.resume", "tenant.delete", "tenant.restore"}
		if got := actions(auditEntries(t, s, store.PlatformTenant)); !slices.Equal(got, want) {
			t.Errorf("platform audit %v, want %v", got, want)
		}
	})
}
