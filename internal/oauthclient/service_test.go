package oauthclient_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/oauthclient"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
	"github.com/gatehouse-id/gatehouse/internal/valid"
	"github.com/google/uuid"
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

func newService(s store.Store, now func() time.Time) *oauthclient.Service {
	return &oauthclient.Service{Store: s, Audit: &events.Recorder{Now: now}, Now: now}
}

var admin = events.Actor{Type: "cli", ID: "tester", RequestID: "req-1"}

// mkTenant stores a bare tenant row (the tenancy service is not under test).
func mkTenant(t *testing.T, s store.Store, slug string) store.TenantID {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Microsecond)
	tn := &store.Tenant{ID: store.TenantID(uuid.Must(uuid.NewV7()).String()), Slug: slug, Name: slug,
		Settings: json.RawMessage(`{}`), Version: 1, CreatedAt: now, UpdatedAt: now}
	if err := s.Tenants().CreateTenant(t.Context(), tn); err != nil {
		t.Fatalf("CreateTenant(%s): %v", slug, err)
	}
	return tn.ID
}

func mustCreate(t *testing.T, svc *oauthclient.Service, tn store.TenantID, in oauthclient.NewClient) (*store.Client, string) {
	t.Helper()
	c, secret, err := svc.CreateClient(t.Context(), admin, tn, in)
	if err != nil {
		t.Fatalf("CreateClient: %v", err)
	}
	return c, secret
}

func isField(err error, field, code string) bool {
	var verr *valid.Error
	return errors.As(err, &verr) && slices.ContainsFunc(verr.Fields, func(f valid.FieldError) bool {
		return f.Field == field && f.Code == code
	})
}

// secretForms are the ways a secret or its hash could leak into storage.
func secretForms(secret string) []string {
	h := oauthclient.HashSecret(secret)
	body := strings.TrimPrefix(secret, oauthclient.SecretPrefix)
	return []string{secret, body, hex.EncodeToString(h), base64.StdEncoding.EncodeToString(h),
		base64.RawURLEncoding.EncodeToString(h), base64.RawStdEncoding.EncodeToString(h)}
}

// rowText reads every column of a clients row as text.
func rowText(t *testing.T, db *sqlstore.DB, tn store.TenantID, id string) (string, []byte) {
	t.Helper()
	cols, vals := sqltest.RawRow(t, db, `SELECT * FROM clients WHERE tenant_id = $1 AND id = $2`, string(tn), id)
	var text strings.Builder
	var hash []byte
	for i, v := range vals {
		if cols[i] == "secret_hash" {
			hash, _ = v.([]byte)
		}
		fmt.Fprintf(&text, "%s=%s\n", cols[i], v)
	}
	return text.String(), hash
}

// TestSecretNeverStoredInClear scans the clients row and the audit chain
// after create and rotate: only SHA-256 of the secret is there, and the
// audit log has neither the secret nor its hash.
func TestSecretNeverStoredInClear(t *testing.T) {
	sqltest.ForEachDB(t, func(t *testing.T, db *sqlstore.DB) {
		svc := newService(db, newClock().Now)
		tn := mkTenant(t, db, "acme")
		c, first := mustCreate(t, svc, tn, base())
		afterCreate, hash := rowText(t, db, tn, c.ID)
		if !bytes.Equal(hash, oauthclient.HashSecret(first)) {
			t.Errorf("after create, secret_hash is not SHA-256 of the secret")
		}
		_, second, err := svc.RotateSecret(t.Context(), admin, tn, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		text, hash := rowText(t, db, tn, c.ID)
		if !bytes.Equal(hash, oauthclient.HashSecret(second)) {
			t.Errorf("after rotate, secret_hash is not SHA-256 of the new secret")
		}
		text = afterCreate + text
		var audit strings.Builder
		entries, err := db.Audit().ListAudit(t.Context(), tn, store.AuditQuery{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 2 {
			t.Fatalf("%d audit entries, want create and rotate", len(entries))
		}
		for _, e := range entries {
			fmt.Fprintf(&audit, "%+v\n", e)
		}
		for _, secret := range []string{first, second} {
			for i, form := range secretForms(secret) {
				if strings.Contains(text, form) {
					t.Errorf("the clients row holds form %d of a secret", i)
				}
				if strings.Contains(audit.String(), form) {
					t.Errorf("the audit log holds form %d of a secret", i)
				}
			}
		}
		// The scan itself can find what it looks for.
		if !strings.Contains(text, c.ID) || !strings.Contains(text, "https://app.example.com/cb") {
			t.Fatalf("the row scan read nothing useful: %s", text)
		}
	})
}

func TestUpdate(t *testing.T) {
	sqltest.ForEachDB(t, func(t *testing.T, db *sqlstore.DB) {
		svc := newService(db, newClock().Now)
		tn := mkTenant(t, db, "acme")
		c, secret := mustCreate(t, svc, tn, base())
		name := "Renamed"
		u, err := svc.UpdateClient(t.Context(), admin, tn, c.ID, 1, oauthclient.ClientPatch{Name: &name})
		if err != nil {
			t.Fatal(err)
		}
		if u.Name != name || u.Version != 2 || !oauthclient.VerifySecret(u, secret) {
			t.Errorf("after rename: %+v", u)
		}
		// A stale version is refused and changes nothing.
		other := "Lost update"
		if _, err := svc.UpdateClient(t.Context(), admin, tn, c.ID, 1, oauthclient.ClientPatch{Name: &other}); !errors.Is(err, store.ErrPrecondition) {
			t.Errorf("stale version: %v, want ErrPrecondition", err)
		}
		// An invalid patch is refused as a whole.
		uris := []string{"http://example.com/cb"}
		if _, err := svc.UpdateClient(t.Context(), admin, tn, c.ID, 0, oauthclient.ClientPatch{Name: &other, RedirectURIs: &uris}); !isField(err, "redirect_uris", "insecure") {
			t.Errorf("bad redirect URI: %v", err)
		}
		// The whole client is checked: dropping every redirect URI while
		// authorization_code stays is refused; with the grant gone it is not.
		empty := []string{}
		if _, err := svc.UpdateClient(t.Context(), admin, tn, c.ID, 0, oauthclient.ClientPatch{RedirectURIs: &empty}); !isField(err, "redirect_uris", "required") {
			t.Errorf("no redirect URIs with authorization_code: %v", err)
		}
		cc := []string{"client_credentials"}
		if _, err := svc.UpdateClient(t.Context(), admin, tn, c.ID, 0, oauthclient.ClientPatch{RedirectURIs: &empty, GrantTypes: &cc}); err != nil {
			t.Errorf("client_credentials without redirect URIs: %v", err)
		}
		if _, err := svc.UpdateClient(t.Context(), admin, tn, c.ID, 0, oauthclient.ClientPatch{GrantTypes: &empty}); !isField(err, "grant_types", "required") {
			t.Errorf("no grants: %v", err)
		}
		ttl := int64(30)
		if _, err := svc.UpdateClient(t.Context(), admin, tn, c.ID, 0, oauthclient.ClientPatch{AccessTokenTTL: &ttl}); !isField(err, "access_token_ttl", "out_of_range") {
			t.Errorf("TTL 30: %v", err)
		}
		got, err := svc.GetClient(t.Context(), tn, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != name || got.Version != 3 || len(got.RedirectURIs) != 0 || !slices.Equal(got.GrantTypes, cc) {
			t.Errorf("after the refused patches: %+v", got)
		}

		// private_key_jwt drops the secret; back to a secret method the
		// client has none until rotated.
		pkj, raw := "private_key_jwt", json.RawMessage(publicJWKS)
		got, err = svc.UpdateClient(t.Context(), admin, tn, c.ID, 0, oauthclient.ClientPatch{TokenEndpointAuthMethod: &pkj, JWKS: raw})
		if err != nil {
			t.Fatal(err)
		}
		if got.SecretHash != nil || oauthclient.VerifySecret(got, secret) || len(got.JWKS) == 0 {
			t.Errorf("private_key_jwt kept the secret or lost the keys: %+v", got)
		}
		if _, err := svc.UpdateClient(t.Context(), admin, tn, c.ID, 0, oauthclient.ClientPatch{JWKS: json.RawMessage("null")}); !isField(err, "jwks", "required") {
			t.Errorf("removing the keys of a private_key_jwt client: %v", err)
		}
		if _, _, err := svc.RotateSecret(t.Context(), admin, tn, c.ID); !isField(err, "token_endpoint_auth_method", "no_secret") {
			t.Errorf("rotating a private_key_jwt client's secret: %v", err)
		}
		basic := ""
		if got, err = svc.UpdateClient(t.Context(), admin, tn, c.ID, 0, oauthclient.ClientPatch{TokenEndpointAuthMethod: &basic}); err != nil {
			t.Fatal(err)
		}
		if got.AuthMethod != "client_secret_basic" || got.SecretHash != nil || oauthclient.VerifySecret(got, secret) {
			t.Errorf("back to client_secret_basic: %+v", got)
		}
		got, fresh, err := svc.RotateSecret(t.Context(), admin, tn, c.ID)
		if err != nil || !oauthclient.VerifySecret(got, fresh) {
			t.Errorf("rotate after switching back: %v", err)
		}

		// Every write is audited with what changed, never the secret.
		entries, err := db.Audit().ListAudit(t.Context(), tn, store.AuditQuery{TargetID: c.ID, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, e := range entries {
			actions = append(actions, e.Action)
			for _, s := range []string{secret, fresh} {
				for _, form := range secretForms(s) {
					if bytes.Contains(e.Changes, []byte(form)) {
						t.Errorf("%s audit entry holds a secret", e.Action)
					}
				}
			}
		}
		slices.Reverse(actions)
		want := []string{"client.create", "client.update", "client.update", "client.update", "client.update", "client.rotate_secret"}
		if !slices.Equal(actions, want) {
			t.Errorf("audit actions %v, want %v", actions, want)
		}
		var rename events.Changes
		if err := json.Unmarshal(entries[len(entries)-2].Changes, &rename); err != nil || rename["name"].After != name {
			t.Errorf("rename audit changes %s", entries[len(entries)-2].Changes)
		}
	})
}

func TestRotateSecret(t *testing.T) {
	sqltest.ForEachDB(t, func(t *testing.T, db *sqlstore.DB) {
		svc := newService(db, newClock().Now)
		tn := mkTenant(t, db, "acme")
		c, old := mustCreate(t, svc, tn, base())
		r, secret, err := svc.RotateSecret(t.Context(), admin, tn, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if secret == old || !oauthclient.VerifySecret(r, secret) || oauthclient.VerifySecret(r, old) || r.Version != 2 {
			t.Errorf("rotate: new verifies %v, old verifies %v, version %d",
				oauthclient.VerifySecret(r, secret), oauthclient.VerifySecret(r, old), r.Version)
		}
		stored, _ := svc.GetClient(t.Context(), tn, c.ID)
		if !oauthclient.VerifySecret(stored, secret) || oauthclient.VerifySecret(stored, old) {
			t.Error("the stored client does not have the new secret alone")
		}
		if oauthclient.VerifySecret(stored, "") || oauthclient.VerifySecret(stored, secret+"x") {
			t.Error("VerifySecret accepts what is not the secret")
		}
		in := base()
		in.Public = true
		p, _ := mustCreate(t, svc, tn, in)
		if _, s, err := svc.RotateSecret(t.Context(), admin, tn, p.ID); !isField(err, "token_endpoint_auth_method", "no_secret") || s != "" {
			t.Errorf("rotating a public client: %v", err)
		}
		if got, _ := svc.GetClient(t.Context(), tn, p.ID); got.SecretHash != nil || got.Version != 1 {
			t.Errorf("public client after refused rotation: %+v", got)
		}
	})
}

func TestDeleteAndTenantIsolation(t *testing.T) {
	sqltest.ForEachDB(t, func(t *testing.T, db *sqlstore.DB) {
		svc := newService(db, newClock().Now)
		a, b := mkTenant(t, db, "tenant-a"), mkTenant(t, db, "tenant-b")
		ca, secret := mustCreate(t, svc, a, base())
		cb, _ := mustCreate(t, svc, b, base())
		name := "X"
		// A's client does not exist in B.
		if _, err := svc.GetClient(t.Context(), b, ca.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("get across tenants: %v", err)
		}
		if _, err := svc.UpdateClient(t.Context(), admin, b, ca.ID, 0, oauthclient.ClientPatch{Name: &name}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("update across tenants: %v", err)
		}
		if _, _, err := svc.RotateSecret(t.Context(), admin, b, ca.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("rotate across tenants: %v", err)
		}
		if err := svc.DeleteClient(t.Context(), admin, b, ca.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("delete across tenants: %v", err)
		}
		got, err := svc.GetClient(t.Context(), a, ca.ID)
		if err != nil || got.Name != ca.Name || got.Version != 1 || !oauthclient.VerifySecret(got, secret) {
			t.Errorf("A's client after B's attempts: %+v, %v", got, err)
		}
		lb, err := svc.ListClients(t.Context(), b, store.Page{})
		if err != nil || len(lb) != 1 || lb[0].ID != cb.ID {
			t.Errorf("B's list: %v, %v", lb, err)
		}
		// Malformed ids name no client.
		for _, id := range []string{"", "x", strings.ToUpper(ca.ID), "{" + ca.ID + "}", "urn:uuid:" + ca.ID} {
			if _, err := svc.GetClient(t.Context(), a, id); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("get %q: %v", id, err)
			}
		}
		// An unknown tenant has no clients to create.
		if _, _, err := svc.CreateClient(t.Context(), admin, store.TenantID(uuid.Must(uuid.NewV7()).String()), base()); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("create in an unknown tenant: %v", err)
		}

		if err := svc.DeleteClient(t.Context(), admin, a, ca.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.GetClient(t.Context(), a, ca.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("get after delete: %v", err)
		}
		if err := svc.DeleteClient(t.Context(), admin, a, ca.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("delete twice: %v", err)
		}
		if _, err := svc.GetClient(t.Context(), b, cb.ID); err != nil {
			t.Errorf("B's client after A's delete: %v", err)
		}
		entries, err := db.Audit().ListAudit(t.Context(), a, store.AuditQuery{Action: "client.delete"})
		if err != nil || len(entries) != 1 || entries[0].TargetID != ca.ID {
			t.Errorf("delete audit: %v, %v", entries, err)
		}
	})
}
