package connection_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/connection"
	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/seal"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
	"github.com/gatehouse-id/gatehouse/internal/valid"
	"github.com/google/uuid"
)

func newService(t *testing.T, loopback bool) (*connection.Service, store.TenantID) {
	t.Helper()
	db := sqltest.OpenSQLite(t)
	key, _ := seal.NewKey()
	s, err := seal.New(key, nil)
	if err != nil {
		t.Fatal(err)
	}
	tn := &store.Tenant{ID: store.TenantID(uuid.Must(uuid.NewV7()).String()), Slug: "acme", Name: "Acme"}
	if err := db.Tenants().CreateTenant(context.Background(), tn); err != nil {
		t.Fatal(err)
	}
	return &connection.Service{Store: db, Audit: &events.Recorder{Now: time.Now}, Sealer: s, Now: time.Now,
		Policy: connection.URLPolicy{AllowLoopbackHTTP: loopback}}, tn.ID
}

var actor = events.Actor{Type: "test", ID: "t"}

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

func TestURLPolicy(t *testing.T) {
	dev, prod := connection.URLPolicy{AllowLoopbackHTTP: true}, connection.URLPolicy{}
	for _, c := range []struct {
		url       string
		dev, prod bool
	}{
		{"https://idp.example.com", true, true},
		{"http://idp.example.com", false, false},
		{"http://127.0.0.1:8080/t/corp", true, false},
		{"http://[::1]:9000", true, false},
		{"http://localhost:1", true, false},
		{"https://user:pw@idp.example.com", false, false},
		{"https://idp.example.com/#frag", false, false},
		{"ftp://idp.example.com", false, false},
		{"/relative", false, false},
	} {
		if got := dev.Check(c.url) == ""; got != c.dev {
			t.Errorf("dev Check(%q) ok = %v, want %v", c.url, got, c.dev)
		}
		if got := prod.Check(c.url) == ""; got != c.prod {
			t.Errorf("prod Check(%q) ok = %v, want %v", c.url, got, c.prod)
		}
	}
}

// Presets fill in endpoints; bad input names each field and stores
// nothing; the secret is sealed, bound to the row.
func TestCreateValidatesAndSeals(t *testing.T) {
	s, tn := newService(t, false)
	ctx := context.Background()
	_, err := s.Create(ctx, actor, tn, connection.NewConnection{Type: "oidc", Name: "Bad Name",
		Settings: connection.Settings{Issuer: "http://idp.example.com", Scopes: []string{"email"}}})
	got := strings.Join(fields(err), ",")
	for _, f := range []string{"name", "issuer", "client_id", "client_secret", "scopes"} {
		if !strings.Contains(got, f) {
			t.Errorf("fields %q lack %s", got, f)
		}
	}
	if _, err := s.Create(ctx, actor, tn, connection.NewConnection{Type: "apple", Name: "apple", ClientSecret: "not a key",
		Settings: connection.Settings{ClientID: "x", TeamID: "T", KeyID: "K"}}); !strings.Contains(strings.Join(fields(err), ","), "client_secret") {
		t.Errorf("apple with a non-key secret: %v", err)
	}
	if list, _ := s.List(ctx, tn, store.Page{}); len(list) != 0 {
		t.Fatalf("refused input stored: %+v", list)
	}
	c, err := s.Create(ctx, actor, tn, connection.NewConnection{Type: "github", Name: "github", ClientSecret: "gh-secret",
		Settings: connection.Settings{ClientID: "id"}})
	if err != nil {
		t.Fatal(err)
	}
	st, _ := connection.SettingsOf(c)
	if st.TokenEndpoint != "https://github.com/login/oauth/access_token" || st.Mapping["subject"] != "id" {
		t.Errorf("github preset not filled in: %+v", st)
	}
	if bytes.Contains(c.SealedSecret, []byte("gh-secret")) {
		t.Fatal("secret stored in the clear")
	}
	if sec, err := s.Secret(c); err != nil || sec != "gh-secret" {
		t.Fatalf("Secret = %q, %v", sec, err)
	}
	moved := *c
	moved.ID = uuid.Must(uuid.NewV7()).String()
	if _, err := s.Secret(&moved); err == nil {
		t.Fatal("a sealed secret opened on another row")
	}
	var conflict *valid.Conflict
	if _, err := s.Create(ctx, actor, tn, connection.NewConnection{Type: "github", Name: "github", ClientSecret: "x",
		Settings: connection.Settings{ClientID: "id"}}); !errors.As(err, &conflict) || conflict.Field != "name" {
		t.Fatalf("same name: %v", err)
	}
	// SAML connections get their own key and certificate.
	sc, err := s.Create(ctx, actor, tn, connection.NewConnection{Type: "saml", Name: "corp",
		Settings: connection.Settings{MetadataURL: "https://idp.example.com/metadata"}})
	if err != nil {
		t.Fatal(err)
	}
	pemText, _ := s.Secret(sc)
	if _, _, err := connection.SAMLKey(pemText); err != nil {
		t.Fatalf("SAML key: %v", err)
	}
	// Update: the patched whole is validated; version checked.
	bad := "http://idp.example.com/authorize"
	if _, err := s.Update(ctx, actor, tn, c.ID, 0, connection.Patch{AuthorizationEndpoint: &bad}); err == nil {
		t.Fatal("http endpoint accepted by update")
	}
	on := false
	if _, err := s.Update(ctx, actor, tn, c.ID, 99, connection.Patch{Enabled: &on}); !errors.Is(err, store.ErrPrecondition) {
		t.Fatalf("stale version: %v", err)
	}
	up, err := s.Update(ctx, actor, tn, c.ID, c.Version, connection.Patch{Enabled: &on})
	if err != nil || up.Enabled {
		t.Fatalf("disable: %+v %v", up, err)
	}
	if en, _ := s.Enabled(ctx, tn); len(en) != 1 || en[0].ID != sc.ID {
		t.Fatalf("Enabled = %+v", en)
	}
}
