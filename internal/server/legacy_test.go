package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/connection"
	"github.com/gatehouse-id/gatehouse/internal/legacy"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// TestLegacyMigrationThroughLoginPage: the hosted sign-in page of a
// tenant with a legacy_http store. A wrong password gets the page's one
// answer and creates nothing; the first right one signs in and moves the
// account here (argon2id); with the legacy endpoint gone, the same
// password still signs in; the login page shows no button for the store.
func TestLegacyMigrationThroughLoginPage(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ta := newTestApp(t, be)
		tn := ta.tenant("acme")
		const secret = "shared-secret-for-the-old-user-table"
		var calls atomic.Int32
		old := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls.Add(1)
			body, _ := io.ReadAll(io.LimitReader(r.Body, 4096))
			var req legacy.Request
			if r.Header.Get(legacy.SignatureHeader) != legacy.Sign(secret, body) || json.Unmarshal(body, &req) != nil {
				http.Error(w, "bad signature", http.StatusBadRequest)
				return
			}
			switch {
			case req.Username != "gil@old.example":
				http.NotFound(w, r)
			case req.Password != "gils-old-password-1":
				http.Error(w, "wrong", http.StatusUnauthorized)
			default:
				_, _ = w.Write([]byte(`{"id":"u-77","email":"gil@old.example","email_verified":true,"given_name":"Gil"}`))
			}
		}))
		defer old.Close()
		res := ta.do(request{method: http.MethodPost, path: "/api/v1/tenants/acme/connections", auth: "Bearer " + ta.key(tn.ID, "admin"),
			body: map[string]any{"type": "legacy_http", "name": "old-table", "endpoint": old.URL, "client_secret": secret,
				"migrate_until": "2099-12-31"}})
		var created map[string]any
		if res.status != http.StatusCreated || json.Unmarshal(res.body, &created) != nil || created["has_secret"] != true ||
			created["mode"] != connection.ModeMigrate || created["migrate_until"] != "2099-12-31" || strings.Contains(string(res.body), secret) {
			t.Fatalf("POST connections: %s", res)
		}
		b := ta.browser()
		tok := b.csrf("/t/acme/account/login")
		p := b.post("/t/acme/account/login", form("csrf", tok, "identifier", "gil@old.example", "password", "not-gils-password"))
		if p.status != http.StatusUnauthorized || !strings.Contains(p.body, "Incorrect email, username or password.") {
			t.Fatalf("wrong password: %d", p.status)
		}
		if strings.Contains(p.body, "old-table") {
			t.Fatal("the login page shows the legacy store")
		}
		if _, err := ta.DB.Users().GetUserByEmail(context.Background(), tn.ID, "gil@old.example"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("a wrong password created the account: %v", err)
		}
		if !b.passwordSignIn("acme", "gil@old.example", "gils-old-password-1") {
			t.Fatal("first sign-in through the legacy store failed")
		}
		u, err := ta.DB.Users().GetUserByEmail(context.Background(), tn.ID, "gil@old.example")
		if err != nil || !strings.HasPrefix(u.PasswordHash, "$argon2id$") || u.GivenName != "Gil" {
			t.Fatalf("migrated account = %+v, %v", u, err)
		}
		old.Close()
		n := calls.Load()
		if !ta.browser().passwordSignIn("acme", "gil@old.example", "gils-old-password-1") {
			t.Fatal("second sign-in with the legacy store gone failed")
		}
		if calls.Load() != n {
			t.Fatal("the second sign-in asked the legacy store")
		}
	})
}
