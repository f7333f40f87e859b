package tenancy_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
)

var tokenRE = regexp.MustCompile(`^gh_ak_[A-Za-z0-9_-]{43}$`)

func mkKey(t *testing.T, svc *tenancy.Service, tenant store.TenantID, in tenancy.NewAPIKey) (*store.APIKey, string) {
	t.Helper()
	if in.Scopes == nil {
		in.Scopes = []string{tenancy.ScopeAdmin}
	}
	k, token, err := svc.CreateAPIKey(t.Context(), admin, tenant, in)
	if err != nil {
		t.Fatalf("CreateAPIKey: %v", err)
	}
	return k, token
}

func TestAPIKeyTokenAndStorage(t *testing.T) {
	sqltest.ForEachStore(t, func(t *testing.T, s store.Store) {
		svc := newService(t, s, time.Now)
		tn := mkTenant(t, svc, "acme")
		k, token := mkKey(t, svc, tn.ID, tenancy.NewAPIKey{Name: "ci", Scopes: []string{"read", "scim"}})
		_, token2 := mkKey(t, svc, tn.ID, tenancy.NewAPIKey{Name: "ci2"})

		if !tokenRE.MatchString(token) {
			t.Fatalf("token %q does not match gh_ak_ + 43 base64url characters", token)
		}
		secret, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(token, tenancy.TokenPrefix))
		if err != nil || len(secret) != 32 {
			t.Errorf("token secret is %d bytes (%v), want 256 bits", len(secret), err)
		}
		if token == token2 {
			t.Error("two keys share a token")
		}
		sum := sha256.Sum256([]byte(token))
		if !bytes.Equal(k.Hash, sum[:]) {
			t.Error("returned key's hash is not SHA-256 of the token")
		}
		if k.Hint != token[:len(tenancy.TokenPrefix)+4] {
			t.Errorf("hint %q", k.Hint)
		}

		// Read the raw row: the token (or its secret part) appears nowhere,
		// and the hash column holds SHA-256 of the token.
		cols, vals := sqltest.RawRow(t, s.(*sqlstore.DB), `SELECT * FROM api_keys WHERE id = $1`, k.ID)
		secretPart := strings.TrimPrefix(token, tenancy.TokenPrefix)
		for i, v := range vals {
			text := fmt.Sprint(v)
			if b, ok := v.([]byte); ok {
				text = string(b)
				if cols[i] == "hash" && !bytes.Equal(b, sum[:]) {
					t.Errorf("hash column %x, want SHA-256 of the token", b)
				}
			}
			if strings.Contains(text, token) || strings.Contains(text, secretPart) || strings.Contains(text, secretPart[4:]) {
				t.Errorf("column %s holds the token: %q", cols[i], text)
			}
		}
	})
}

func TestAuthenticateAPIKey(t *testing.T) {
	sqltest.ForEachStore(t, func(t *testing.T, s store.Store) {
		clk := newClock()
		svc := newService(t, s, clk.Now)
		tn := mkTenant(t, svc, "acme")
		good, token := mkKey(t, svc, tn.ID, tenancy.NewAPIKey{Name: "good"})
		revoked, revokedToken := mkKey(t, svc, tn.ID, tenancy.NewAPIKey{Name: "revoked"})
		expired, expiredToken := mkKey(t, svc, tn.ID, tenancy.NewAPIKey{Name: "expired"})
		_, expireNowToken := mkKey(t, svc, tn.ID, tenancy.NewAPIKey{Name: "expire-now"})
		soon := clk.Now().Add(time.Hour)
		_, soonToken := mkKey(t, svc, tn.ID, tenancy.NewAPIKey{Name: "soon", ExpiresAt: &soon})
		_, platformToken := mkKey(t, svc, store.PlatformTenant, tenancy.NewAPIKey{Name: "platform"})

		k, err := svc.AuthenticateAPIKey(t.Context(), token)
		if err != nil || k.ID != good.ID || k.Tenant != tn.ID || !slices.Equal(k.Scopes, []string{"admin"}) {
			t.Fatalf("AuthenticateAPIKey(good) = %+v, %v", k, err)
		}
		if got, err := s.APIKeys().GetAPIKeyByHash(t.Context(), good.Hash); err != nil || got.LastUsedAt == nil {
			t.Errorf("use not recorded: %+v, %v", got, err)
		}
		if k, err := svc.AuthenticateAPIKey(t.Context(), platformToken); err != nil || k.Tenant != store.PlatformTenant {
			t.Errorf("platform key: %+v, %v", k, err)
		}
		if k, err := svc.AuthenticateAPIKey(t.Context(), soonToken); err != nil {
			t.Errorf("key expiring in an hour: %+v, %v", k, err)
		}

		if _, err := svc.RevokeAPIKey(t.Context(), admin, tn.ID, revoked.ID); err != nil {
			t.Fatal(err)
		}
		past := clk.Now().Add(-time.Minute)
		if k, err := svc.ExpireAPIKey(t.Context(), admin, tn.ID, expired.ID, &past); err != nil || k.ExpiresAt == nil || !k.ExpiresAt.Equal(past.Truncate(time.Microsecond)) {
			t.Fatalf("ExpireAPIKey = %+v, %v", k, err)
		}
		keys, err := svc.ListAPIKeys(t.Context(), tn.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			if k.Name == "expire-now" {
				if _, err := svc.ExpireAPIKey(t.Context(), admin, tn.ID, k.ID, nil); err != nil {
					t.Fatal(err)
				}
			}
		}

		flip := func(s string, i int) string {
			b := []byte(s)
			if b[i] == 'A' {
				b[i] = 'B'
			} else {
				b[i] = 'A'
			}
			return string(b)
		}
		bad := []struct{ name, token string }{
			{"empty", ""},
			{"prefix only", tenancy.TokenPrefix},
			{"one character changed", flip(token, len(token)-5)},
			{"first secret character changed", flip(token, len(tenancy.TokenPrefix))},
			{"last character changed", flip(token, len(token)-1)},
			{"one character longer", token + "A"},
			{"one character shorter", token[:len(token)-1]},
			{"other prefix", "gh_at_" + strings.TrimPrefix(token, tenancy.TokenPrefix)},
			{"no prefix", strings.TrimPrefix(token, tenancy.TokenPrefix)},
			{"upper case", strings.ToUpper(token)},
			{"surrounding space", " " + token},
			{"hash as token", hex.EncodeToString(good.Hash)},
			{"revoked", revokedToken},
			{"expired", expiredToken},
			{"expired now", expireNowToken},
		}
		clk.Add(time.Second) // "now" expiry is in the past from here on
		for _, tc := range bad {
			k, err := svc.AuthenticateAPIKey(t.Context(), tc.token)
			if err != tenancy.ErrBadToken || k != nil {
				t.Errorf("%s: AuthenticateAPIKey = %+v, %v; want exactly ErrBadToken", tc.name, k, err)
			}
		}
		// The clock passing the expiry ends a key too.
		clk.Add(2 * time.Hour)
		if _, err := svc.AuthenticateAPIKey(t.Context(), soonToken); err != tenancy.ErrBadToken {
			t.Errorf("key past its expiry: %v, want ErrBadToken", err)
		}
		if _, err := svc.AuthenticateAPIKey(t.Context(), token); err != nil {
			t.Errorf("good key after the others changed: %v", err)
		}
	})
}

func TestCreateAPIKeyValidation(t *testing.T) {
	sqltest.ForEachStore(t, func(t *testing.T, s store.Store) {
		clk := newClock()
		svc := newService(t, s, clk.Now)
		tn := mkTenant(t, svc, "acme")
		past := clk.Now().Add(-time.Second)
		now := clk.Now()
		tests := []struct {
			name  string
			in    tenancy.NewAPIKey
			field string // "" when valid
		}{
			{"all scopes", tenancy.NewAPIKey{Name: "k", Scopes: []string{"admin", "read", "scim", "audit:read", "ssf"}}, ""},
			{"future expiry", tenancy.NewAPIKey{Name: "k", Scopes: []string{"read"}, ExpiresAt: new(now.Add(time.Minute))}, ""},
			{"no scopes", tenancy.NewAPIKey{Name: "k"}, "scopes"},
			{"empty scopes", tenancy.NewAPIKey{Name: "k", Scopes: []string{}}, "scopes"},
			{"unknown scope", tenancy.NewAPIKey{Name: "k", Scopes: []string{"root"}}, "scopes"},
			{"one unknown among known", tenancy.NewAPIKey{Name: "k", Scopes: []string{"read", "write"}}, "scopes"},
			{"upper-case scope", tenancy.NewAPIKey{Name: "k", Scopes: []string{"ADMIN"}}, "scopes"},
			{"empty scope", tenancy.NewAPIKey{Name: "k", Scopes: []string{""}}, "scopes"},
			{"past expiry", tenancy.NewAPIKey{Name: "k", Scopes: []string{"read"}, ExpiresAt: &past}, "expires_at"},
			{"expiry now", tenancy.NewAPIKey{Name: "k", Scopes: []string{"read"}, ExpiresAt: &now}, "expires_at"},
			{"name too long", tenancy.NewAPIKey{Name: strings.Repeat("n", 101), Scopes: []string{"read"}}, "name"},
		}
		for _, tc := range tests {
			k, token, err := svc.CreateAPIKey(t.Context(), admin, tn.ID, tc.in)
			if tc.field == "" {
				if err != nil || k == nil || token == "" {
					t.Errorf("%s: %v", tc.name, err)
				}
				continue
			}
			if fs := fieldsOf(t, err); !slices.Equal(fs, []string{tc.field}) || k != nil || token != "" {
				t.Errorf("%s: fields %v (key %v, token %q), want %s", tc.name, fs, k, token, tc.field)
			}
		}
		if ks, err := svc.ListAPIKeys(t.Context(), tn.ID); err != nil || len(ks) != 2 {
			t.Errorf("%d keys stored (%v), want the 2 valid ones", len(ks), err)
		}
		if _, _, err := svc.CreateAPIKey(t.Context(), admin, "01900000-0000-7000-8000-000000000000",
			tenancy.NewAPIKey{Name: "k", Scopes: []string{"read"}}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("key for an unknown tenant: %v, want store.ErrNotFound", err)
		}
	})
}

func TestAPIKeyTenantIsolation(t *testing.T) {
	sqltest.ForEachStore(t, func(t *testing.T, s store.Store) {
		svc := newService(t, s, time.Now)
		a := mkTenant(t, svc, "tenant-a")
		b := mkTenant(t, svc, "tenant-b")
		ka, token := mkKey(t, svc, a.ID, tenancy.NewAPIKey{Name: "a"})
		mkKey(t, svc, b.ID, tenancy.NewAPIKey{Name: "b"})

		for _, via := range []store.TenantID{b.ID, store.PlatformTenant} {
			if _, err := svc.RevokeAPIKey(t.Context(), admin, via, ka.ID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("revoke via %s: %v, want store.ErrNotFound", via, err)
			}
			past := time.Now().Add(-time.Hour)
			if _, err := svc.ExpireAPIKey(t.Context(), admin, via, ka.ID, &past); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("expire via %s: %v, want store.ErrNotFound", via, err)
			}
		}
		if _, err := svc.AuthenticateAPIKey(t.Context(), token); err != nil {
			t.Errorf("key after refused cross-tenant changes: %v", err)
		}
		kb, err := svc.ListAPIKeys(t.Context(), b.ID)
		if err != nil || len(kb) != 1 || kb[0].Name != "b" {
			t.Errorf("tenant b lists %+v (%v), want its own key only", kb, err)
		}
		if n := len(auditEntries(t, s, b.ID)); n != 1 {
			t.Errorf("tenant b's chain has %d entries, want 1: refused changes record nothing", n)
		}
	})
}

func TestAPIKeyAudit(t *testing.T) {
	sqltest.ForEachStore(t, func(t *testing.T, s store.Store) {
		svc := newService(t, s, time.Now)
		tn := mkTenant(t, svc, "acme")
		k, token := mkKey(t, svc, tn.ID, tenancy.NewAPIKey{Name: "ci", Scopes: []string{"scim"}})
		if _, err := svc.RevokeAPIKey(t.Context(), admin, tn.ID, k.ID); err != nil {
			t.Fatal(err)
		}
		es := auditEntries(t, s, tn.ID)
		if !slices.Equal(actions(es), []string{"apikey.create", "apikey.revoke"}) {
			t.Fatalf("audit %v, want create and revoke", actions(es))
		}
		for _, e := range es {
			if e.TargetType != "apikey" || e.TargetID != k.ID || e.ActorID != admin.ID || e.RequestID != admin.RequestID {
				t.Errorf("entry %+v", e)
			}
		}
		var created map[string]map[string]any
		if err := json.Unmarshal(es[0].Changes, &created); err != nil {
			t.Fatal(err)
		}
		if created["name"]["after"] != "ci" || created["hint"]["after"] != k.Hint {
			t.Errorf("create changes %s", es[0].Changes)
		}
		var revoked map[string]map[string]any
		if err := json.Unmarshal(es[1].Changes, &revoked); err != nil {
			t.Fatal(err)
		}
		if r := revoked["revoked_at"]; r == nil || r["before"] != nil || r["after"] == nil {
			t.Errorf("revoke changes %s, want revoked_at set", es[1].Changes)
		}
		all, err := json.Marshal(es)
		if err != nil {
			t.Fatal(err)
		}
		secret := strings.TrimPrefix(token, tenancy.TokenPrefix)
		for _, leak := range []string{token, secret, secret[4:], hex.EncodeToString(k.Hash), base64.StdEncoding.EncodeToString(k.Hash)} {
			if bytes.Contains(all, []byte(leak)) {
				t.Errorf("audit entries contain %q", leak)
			}
		}
	})
}
