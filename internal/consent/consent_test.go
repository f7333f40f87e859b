package consent_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/consent"
	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

var actor = events.Actor{Type: "test", ID: "t"}

func setup(t *testing.T, s store.Store) (*consent.Service, store.TenantID, string) {
	t.Helper()
	ctx := context.Background()
	tn := &store.Tenant{ID: store.TenantID(uuid.Must(uuid.NewV7()).String()), Slug: "acme", Name: "Acme"}
	if err := s.Tenants().CreateTenant(ctx, tn); err != nil {
		t.Fatal(err)
	}
	u := &store.User{ID: uuid.Must(uuid.NewV7()).String(), Tenant: tn.ID, Email: "ada@example.com", EmailNorm: "ada@example.com",
		Status: store.UserActive}
	if err := s.Users().CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	return &consent.Service{Store: s, Audit: &events.Recorder{Now: time.Now}, Now: time.Now}, tn.ID, u.ID
}

func fields(err error) []string {
	var ve *valid.Error
	if !errors.As(err, &ve) {
		return nil
	}
	var out []string
	for _, f := range ve.Fields {
		out = append(out, f.Field)
	}
	return out
}

func names(ps []store.ConsentPurpose) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Name+"@"+p.Version)
	}
	return out
}

func TestPurposeValidation(t *testing.T) {
	sqltest.ForEachStore(t, func(t *testing.T, s store.Store) {
		svc, tn, _ := setup(t, s)
		ctx := context.Background()
		for _, c := range []struct {
			in   consent.NewPurpose
			want []string
		}{
			{consent.NewPurpose{Version: "1", Title: map[string]string{"en": "x"}}, []string{"name"}},
			{consent.NewPurpose{Name: "gdpr.object_profiling", Version: "1", Title: map[string]string{"en": "x"}}, []string{"name"}},
			{consent.NewPurpose{Name: "news", Version: "bad version", Title: map[string]string{"en": "x"}}, []string{"version"}},
			{consent.NewPurpose{Name: "news", Version: "1", Title: map[string]string{"de": "x"}}, []string{"title.en"}},
			{consent.NewPurpose{Name: "news", Version: "1", Title: map[string]string{"en": "x", "fr": "y"}}, []string{"title.fr"}},
			{consent.NewPurpose{Name: "news", Version: "1", Title: map[string]string{"en": "x"}, Description: map[string]string{"de": ""}},
				[]string{"description.de"}},
		} {
			_, err := svc.CreatePurpose(ctx, actor, tn, c.in)
			if got := fields(err); !slices.Equal(got, c.want) {
				t.Errorf("CreatePurpose(%+v): fields %v, want %v (%v)", c.in, got, c.want, err)
			}
		}
		if ps, _ := svc.ListPurposes(ctx, tn, true); len(ps) != 0 {
			t.Errorf("refused purposes were stored: %v", ps)
		}
	})
}

// TestPending: what a sign-in asks follows versions, grants, skips and
// whether a purpose is required.
func TestPending(t *testing.T) {
	sqltest.ForEachStore(t, func(t *testing.T, s store.Store) {
		svc, tn, user := setup(t, s)
		ctx := context.Background()
		create := func(name, version string, required bool) {
			t.Helper()
			if _, err := svc.CreatePurpose(ctx, actor, tn, consent.NewPurpose{Name: name, Version: version, Required: required,
				Title: map[string]string{"en": name}}); err != nil {
				t.Fatal(err)
			}
		}
		pending := func() []string {
			t.Helper()
			ps, err := consent.Pending(ctx, s, tn, user)
			if err != nil {
				t.Fatal(err)
			}
			return names(ps)
		}
		src := consent.Source{How: consent.HowLogin, IP: "192.0.2.1"}
		if got := pending(); len(got) != 0 {
			t.Fatalf("pending without purposes: %v", got)
		}
		create("terms", "1", true)
		create("news", "1", false)
		if got := pending(); !slices.Equal(got, []string{"news@1", "terms@1"}) {
			t.Fatalf("pending = %v", got)
		}
		// Declining a required purpose leaves it pending; skipping an
		// optional one does not.
		if _, err := svc.Record(ctx, actor, tn, user, []consent.Decision{{Purpose: "terms", State: store.ConsentWithdrawn}}, src); err != nil {
			t.Fatal(err)
		}
		ps, _ := consent.Pending(ctx, s, tn, user)
		if err := svc.Skip(ctx, tn, user, ps); err != nil {
			t.Fatal(err)
		}
		if got := pending(); !slices.Equal(got, []string{"terms@1"}) {
			t.Fatalf("pending after skip = %v", got)
		}
		if _, err := svc.Record(ctx, actor, tn, user, []consent.Decision{{Purpose: "terms", State: store.ConsentGranted}}, src); err != nil {
			t.Fatal(err)
		}
		if got := pending(); len(got) != 0 {
			t.Fatalf("pending after grant = %v", got)
		}
		create("news", "2", false)
		if got := pending(); !slices.Equal(got, []string{"news@2"}) {
			t.Fatalf("pending after a new version = %v", got)
		}
		granted, _ := consent.Granted(ctx, s, tn, user, true)
		if !slices.Equal(granted, []string{"terms@1"}) {
			t.Errorf("granted = %v", granted)
		}
		// A batch with one bad decision stores nothing.
		_, err := svc.Record(ctx, actor, tn, user, []consent.Decision{{Purpose: "news", State: store.ConsentGranted},
			{Purpose: "news", Version: "9", State: store.ConsentGranted}}, src)
		if got := fields(err); !slices.Equal(got, []string{"decisions[1].version"}) {
			t.Fatalf("bad version: %v %v", got, err)
		}
		if got := pending(); !slices.Equal(got, []string{"news@2"}) {
			t.Errorf("a refused batch changed the state: pending %v", got)
		}
		if _, err := svc.Record(ctx, actor, tn, user, []consent.Decision{{Purpose: "news", State: "maybe"}}, src); !slices.Equal(fields(err), []string{"decisions[0].state"}) {
			t.Errorf("bad state: %v", err)
		}
		if _, err := svc.Record(ctx, actor, tn, user, nil, consent.Source{How: "pigeon"}); !slices.Equal(fields(err), []string{"how"}) {
			t.Errorf("bad how: %v", err)
		}
	})
}

// TestExportAndErase: the export holds the records and preferences; the
// erasure leaves only the anonymous counts, and the export of the user
// is then empty.
func TestExportAndErase(t *testing.T) {
	sqltest.ForEachStore(t, func(t *testing.T, s store.Store) {
		svc, tn, user := setup(t, s)
		ctx := context.Background()
		if _, err := svc.CreatePurpose(ctx, actor, tn, consent.NewPurpose{Name: "news", Version: "1", Title: map[string]string{"en": "News"}}); err != nil {
			t.Fatal(err)
		}
		src := consent.Source{How: consent.HowAPI}
		if _, err := svc.Record(ctx, actor, tn, user, []consent.Decision{{Purpose: "news", State: store.ConsentGranted}}, src); err != nil {
			t.Fatal(err)
		}
		yes := true
		if _, err := svc.SetPreferences(ctx, actor, tn, user, consent.PreferencesChange{Channels: map[string]bool{"sms": true},
			DoNotSell: &yes}, src); err != nil {
			t.Fatal(err)
		}
		data, err := svc.ExportUser(ctx, tn, user)
		if err != nil || len(data.Records) != 2 || !data.Preferences.Channels["sms"] || !data.Preferences.DoNotSell {
			t.Fatalf("export = %+v %v", data, err)
		}
		var n int
		if err := s.InTx(ctx, func(tx store.Repos) error {
			var err error
			n, err = svc.EraseUser(ctx, tx, tn, user)
			return err
		}); err != nil || n != 2 {
			t.Fatalf("erase = %d %v", n, err)
		}
		data, err = svc.ExportUser(ctx, tn, user)
		if err != nil || len(data.Records) != 0 || data.Preferences.Channels["sms"] || data.Preferences.DoNotSell {
			t.Errorf("export after erasure = %+v %v", data, err)
		}
		counts, err := svc.ConsentCounts(ctx, tn)
		if err != nil || len(counts) != 2 || counts[0].Purpose != consent.DoNotSell || counts[1].Purpose != "news" || counts[1].Count != 1 {
			t.Errorf("counts = %+v %v", counts, err)
		}
	})
}
