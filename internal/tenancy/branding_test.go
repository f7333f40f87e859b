package tenancy_test

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/branding"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
)

// TestBrandingSettings: branding and the default language are set through
// the tenant's settings, validated (a bad value changes nothing) and
// resolved for pages and mails.
func TestBrandingSettings(t *testing.T) {
	sqltest.ForEachStore(t, func(t *testing.T, s store.Store) {
		svc := newService(t, s, time.Now)
		tn := mkTenant(t, svc, "acme")
		p := tenancy.PresentationOf(tn, "/t/acme")
		if p.Brand.Name != "Tenant acme" || p.Brand.Color != branding.DefaultColor || p.DefaultLocale != "en" {
			t.Errorf("defaults: %+v", p)
		}
		up, err := svc.UpdateTenant(t.Context(), admin, tn.ID, 0, tenancy.TenantPatch{Settings: json.RawMessage(
			`{"branding":{"display_name":"Acme Kunden","primary_color":"#FFCC00","support_email":"help@acme.example",
			  "logo_url":"https://cdn.acme.example/logo.png"},"default_locale":"de"}`)})
		if err != nil {
			t.Fatal(err)
		}
		p = tenancy.PresentationOf(up, "https://id.example.com/t/acme")
		if p.Brand.Name != "Acme Kunden" || p.DefaultLocale != "de" || p.Brand.SupportEmail != "help@acme.example" ||
			p.Brand.LogoOrigin != "https://cdn.acme.example" {
			t.Errorf("resolved: %+v", p)
		}
		if !p.Brand.ColorAdjusted || branding.Contrast(p.Brand.Color, "#ffffff") < branding.MinContrast {
			t.Errorf("colour %s not made accessible", p.Brand.Color)
		}
		set, _ := tenancy.ParseSettings(up.Settings)
		if set.Branding.PrimaryColor != "#ffcc00" || set.PasswordPolicy != tenancy.DefaultSettings().PasswordPolicy {
			t.Errorf("stored %+v", set)
		}
		for _, tc := range []struct{ patch, field string }{
			{`{"branding":{"primary_color":"blue"}}`, "settings.branding.primary_color"},
			{`{"branding":{"logo_url":"http://insecure.example/logo.png"}}`, "settings.branding.logo_url"},
			{`{"branding":{"colour":"#000000"}}`, "settings"},
			{`{"default_locale":"fr"}`, "settings.default_locale"},
		} {
			_, err := svc.UpdateTenant(t.Context(), admin, tn.ID, 0, tenancy.TenantPatch{Settings: json.RawMessage(tc.patch)})
			if fs := fieldsOf(t, err); !slices.Contains(fs, tc.field) {
				t.Errorf("%s: fields %v, want %s", tc.patch, fs, tc.field)
			}
		}
		after, err := svc.Resolve(t.Context(), "acme")
		if err != nil {
			t.Fatal(err)
		}
		// Compared parsed: PostgreSQL keeps JSONB in its own key order.
		if got, _ := tenancy.ParseSettings(after.Settings); !reflect.DeepEqual(got, set) || after.Version != up.Version {
			t.Errorf("a refused patch changed the settings: %s", after.Settings)
		}
	})
}
