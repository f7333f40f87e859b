package legacy

import (
	"bytes"
	"crypto/hmac"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/connection"
	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
)

const httpSecret = "legacy-endpoint-shared-secret-0123456789"

// legacyEndpoint is a home-grown user table behind a signed POST, as the
// docs describe it: it refuses a bad signature or a stale timestamp (400),
// answers 404 for an unknown user, 401 for a wrong password, 200 with the
// profile otherwise. down makes it answer 503.
type legacyEndpoint struct {
	calls, badSig atomic.Int32
	down          atomic.Bool
}

func (e *legacyEndpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e.calls.Add(1)
	body, _ := io.ReadAll(io.LimitReader(r.Body, 4096))
	if !hmac.Equal([]byte(r.Header.Get(SignatureHeader)), []byte(Sign(httpSecret, body))) {
		e.badSig.Add(1)
		http.Error(w, "bad signature", http.StatusBadRequest)
		return
	}
	var req Request
	if json.Unmarshal(body, &req) != nil || time.Since(time.Unix(req.Timestamp, 0)).Abs() > time.Minute || len(req.Nonce) < 16 {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	if e.down.Load() {
		http.Error(w, "maintenance", http.StatusServiceUnavailable)
		return
	}
	if req.Username != "dana" && req.Username != "dana@home.test" {
		http.NotFound(w, r)
		return
	}
	if req.Password != "dana-home-pw-55555" {
		http.Error(w, "wrong", http.StatusUnauthorized)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"id":4242,"username":"dana","email":"dana@home.test","email_verified":true,"given_name":"Dana","family_name":"Dorsey"}`))
}

// TestHTTPLazyMigration: a legacy_http connection with its shared secret
// sealed; the endpoint sees a valid signature; a wrong password and an
// unknown user create nothing; the first right login migrates; the second
// does not call the endpoint; a failing endpoint is audited and answered
// as a wrong password.
func TestHTTPLazyMigration(t *testing.T) {
	sqltest.ForEachStore(t, func(t *testing.T, s store.Store) {
		ep := &legacyEndpoint{}
		srv := httptest.NewServer(ep)
		defer srv.Close()
		f := newFixture(t, s)
		in := connection.NewConnection{Type: connection.TypeLegacyHTTP, Name: "home-grown", ClientSecret: httpSecret}
		in.Endpoint = srv.URL + "/check"
		conn, err := f.conns.Create(t.Context(), events.Actor{Type: "cli"}, f.tn, in)
		if err != nil {
			t.Fatalf("create: %v", err)
		}
		stored, err := s.Connections().Connections().GetConnection(t.Context(), f.tn, conn.ID)
		if err != nil || len(stored.SealedSecret) == 0 || bytes.Contains(stored.SealedSecret, []byte(httpSecret)) ||
			strings.Contains(string(stored.Config), httpSecret) {
			t.Fatalf("secret not sealed: %+v, %v", stored, err)
		}

		_, err = f.login("dana", "not-the-password")
		wantInvalid(t, "wrong password", err)
		_, err = f.login("erin@home.test", "dana-home-pw-55555")
		wantInvalid(t, "unknown user", err)
		if n := f.count(); n != 0 {
			t.Fatalf("%d accounts created by refusals", n)
		}
		u, err := f.login("dana@home.test", "dana-home-pw-55555")
		if err != nil {
			t.Fatalf("first login: %v", err)
		}
		if !strings.HasPrefix(u.PasswordHash, "$argon2id$") || u.Username != "dana" || u.FamilyName != "Dorsey" || !u.EmailVerified {
			t.Fatalf("migrated = %+v", u)
		}
		if _, err := s.Connections().Identities().GetIdentityBySubject(t.Context(), f.tn, conn.ID, "4242"); err != nil {
			t.Fatalf("link by the endpoint's id: %v", err)
		}
		calls := ep.calls.Load()
		if _, err := f.login("dana", "dana-home-pw-55555"); err != nil {
			t.Fatalf("second login: %v", err)
		}
		if ep.calls.Load() != calls {
			t.Fatal("the second login called the legacy endpoint")
		}
		if ep.badSig.Load() != 0 {
			t.Fatalf("%d requests with a bad signature", ep.badSig.Load())
		}

		ep.down.Store(true)
		_, err = f.login("frank@home.test", "whatever-it-is-6")
		wantInvalid(t, "endpoint down", err)
		if got := f.audited("connection.legacy_failed"); len(got) != 1 || !strings.Contains(got[0], "unavailable") {
			t.Fatalf("failure audit = %v", got)
		}
	})
}

// TestHTTPWrongSecretFailsClosed: signed with another secret, the
// endpoint refuses every request: nobody gets in, nothing is created.
func TestHTTPWrongSecretFailsClosed(t *testing.T) {
	ep := &legacyEndpoint{}
	srv := httptest.NewServer(ep)
	defer srv.Close()
	f := newFixture(t, sqltest.OpenSQLite(t))
	in := connection.NewConnection{Type: connection.TypeLegacyHTTP, Name: "home-grown", ClientSecret: "another-secret"}
	in.Endpoint = srv.URL
	if _, err := f.conns.Create(t.Context(), events.Actor{Type: "cli"}, f.tn, in); err != nil {
		t.Fatal(err)
	}
	_, err := f.login("dana", "dana-home-pw-55555")
	wantInvalid(t, "bad signature", err)
	if ep.badSig.Load() != 1 || f.count() != 0 {
		t.Fatalf("badSig = %d, accounts = %d", ep.badSig.Load(), f.count())
	}
}

// TestLegacyConnectionValidation: the settings a legacy store needs, and
// no login button for it.
func TestLegacyConnectionValidation(t *testing.T) {
	f := newFixture(t, sqltest.OpenSQLite(t))
	bad := map[string]connection.NewConnection{}
	mk := func(typ string, fn func(*connection.NewConnection)) connection.NewConnection {
		in := connection.NewConnection{Type: typ, Name: "x", ClientSecret: "s"}
		in.URL, in.BaseDN, in.Endpoint = "ldap://127.0.0.1:389", "dc=x", "http://127.0.0.1:1/"
		fn(&in)
		return in
	}
	bad["cleartext ldap to a remote host"] = mk(connection.TypeLegacyLDAP, func(in *connection.NewConnection) { in.URL = "ldap://ldap.example.com" })
	bad["ldapi"] = mk(connection.TypeLegacyLDAP, func(in *connection.NewConnection) { in.URL = "ldapi:///var/run/slapd" })
	bad["no base"] = mk(connection.TypeLegacyLDAP, func(in *connection.NewConnection) { in.BaseDN = "" })
	bad["filter without {username}"] = mk(connection.TypeLegacyLDAP, func(in *connection.NewConnection) { in.UserFilter = "(uid=*)" })
	bad["unbalanced filter"] = mk(connection.TypeLegacyLDAP, func(in *connection.NewConnection) { in.UserFilter = "(uid={username}" })
	bad["bind dn without password"] = mk(connection.TypeLegacyLDAP, func(in *connection.NewConnection) { in.BindDN, in.ClientSecret = "cn=r,dc=x", "" })
	bad["unknown mode"] = mk(connection.TypeLegacyLDAP, func(in *connection.NewConnection) { in.Mode = "mirror" })
	bad["bad date"] = mk(connection.TypeLegacyLDAP, func(in *connection.NewConnection) { in.MigrateUntil = "next year" })
	bad["http without secret"] = mk(connection.TypeLegacyHTTP, func(in *connection.NewConnection) { in.ClientSecret = "" })
	bad["http to a remote http"] = mk(connection.TypeLegacyHTTP, func(in *connection.NewConnection) { in.Endpoint = "http://legacy.example.com/" })
	bad["http federating"] = mk(connection.TypeLegacyHTTP, func(in *connection.NewConnection) { in.Mode = connection.ModeFederate })
	for name, in := range bad {
		if _, err := f.conns.Create(t.Context(), events.Actor{Type: "cli"}, f.tn, in); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	ok := mk(connection.TypeLegacyLDAP, func(in *connection.NewConnection) { in.URL, in.StartTLS = "ldap://ldap.example.com", true })
	if _, err := f.conns.Create(t.Context(), events.Actor{Type: "cli"}, f.tn, ok); err != nil {
		t.Fatalf("ldap with start_tls: %v", err)
	}
	if got, err := f.conns.Enabled(t.Context(), f.tn); err != nil || len(got) != 0 {
		t.Fatalf("legacy stores among the login buttons: %v, %v", got, err)
	}
	if got, err := f.conns.LegacyStores(t.Context(), f.tn); err != nil || len(got) != 1 {
		t.Fatalf("LegacyStores = %v, %v", got, err)
	}
}
