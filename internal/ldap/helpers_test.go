package ldap_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/credential"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/keys"
	"github.com/gatehouse-id/gatehouse/internal/ldap"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/seal"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
)

const pw = "correct horse battery staple"

var admin = events.Actor{Type: "cli", ID: "tester"}

// env is a directory with two tenants behind a real LDAP listener.
type env struct {
	s       store.Store
	dir     *directory.Service
	tenants *tenancy.Service
	flow    *flow.Service
	srv     *ldap.Server
	acme    *store.Tenant
	other   *store.Tenant
	users   map[string]*store.User
	groups  map[string]*store.Group
	// readKey is "cn={id},ou=services,dc=acme,dc=gatehouse" and its token.
	readKeyDN, readKey string
	scimKeyDN, scimKey string
	otherKey           string
}

type opts struct {
	cfg    config.LDAPConfig
	params credential.Params
}

func newEnv(t testing.TB, s store.Store, o ...func(*opts)) *env {
	t.Helper()
	op := opts{
		cfg:    config.LDAPConfig{Enabled: true, Addr: "127.0.0.1:0", SizeLimit: 1000, TimeLimit: 30 * time.Second},
		params: credential.Params{MemoryKiB: 1024, Iterations: 1, Parallelism: 1},
	}
	for _, f := range o {
		f(&op)
	}
	key, err := seal.NewKey()
	must(t, err)
	sealer, err := seal.New(key, nil)
	must(t, err)
	hasher, err := credential.NewHasher(op.params, nil)
	must(t, err)
	rec := &events.Recorder{Now: time.Now}
	e := &env{s: s, users: map[string]*store.User{}, groups: map[string]*store.Group{}}
	e.tenants = &tenancy.Service{Store: s, Keys: &keys.Manager{Sealer: sealer, Now: time.Now}, Audit: rec, Now: time.Now}
	e.dir = &directory.Service{Store: s, Hasher: hasher, Audit: rec, Now: time.Now}
	e.flow = &flow.Service{Store: s, Directory: e.dir, Now: time.Now, MFA: &mfa.Service{Store: s, Sealer: sealer, Audit: rec, Now: time.Now}}
	ctx := t.Context()
	e.acme, err = e.tenants.CreateTenant(ctx, admin, tenancy.NewTenant{Slug: "acme", Name: "Acme Corp"})
	must(t, err)
	e.other, err = e.tenants.CreateTenant(ctx, admin, tenancy.NewTenant{Slug: "other", Name: "Other"})
	must(t, err)
	p := pw
	for _, u := range []struct {
		key string
		tn  store.TenantID
		in  directory.NewUser
	}{
		{"alice", e.acme.ID, directory.NewUser{Email: "alice@example.com", Username: "alice", GivenName: "Alice", FamilyName: "Liddell", Password: &p}},
		{"bob", e.acme.ID, directory.NewUser{Email: "Bob@Example.com", GivenName: "Bob", FamilyName: "Stone", Password: &p}},
		{"carol", e.acme.ID, directory.NewUser{Email: "carol@example.com", Username: "carol", GivenName: "Carol", Password: &p}},
		{"zoe", e.acme.ID, directory.NewUser{Email: "zoe@example.com", Username: "zoe", FamilyName: "Zimmer"}},
		{"dave", e.acme.ID, directory.NewUser{Email: "dave@example.com", Username: "dave", GivenName: "Dave", Password: &p, Status: "disabled"}},
		{"mallory", e.other.ID, directory.NewUser{Email: "mallory@example.com", Username: "mallory", GivenName: "Mallory", Password: &p}},
	} {
		e.users[u.key], err = e.dir.CreateUser(ctx, admin, u.tn, u.in)
		must(t, err)
	}
	for _, g := range []struct {
		tn   store.TenantID
		name string
	}{{e.acme.ID, "staff"}, {e.acme.ID, "eng"}, {e.acme.ID, "ops"}, {e.other.ID, "secret"}} {
		e.groups[g.name], err = e.dir.CreateGroup(ctx, admin, g.tn, directory.NewGroup{Name: g.name, Description: "The " + g.name})
		must(t, err)
	}
	for _, m := range []struct {
		group string
		m     store.Member
	}{
		{"staff", store.Member{Type: store.MemberUser, ID: e.users["alice"].ID}},
		{"staff", store.Member{Type: store.MemberUser, ID: e.users["bob"].ID}},
		{"staff", store.Member{Type: store.MemberUser, ID: e.users["dave"].ID}},
		{"staff", store.Member{Type: store.MemberGroup, ID: e.groups["eng"].ID}},
		{"eng", store.Member{Type: store.MemberUser, ID: e.users["carol"].ID}},
	} {
		must(t, e.dir.AddMember(ctx, admin, e.acme.ID, e.groups[m.group].ID, m.m))
	}
	k, tok, err := e.tenants.CreateAPIKey(ctx, admin, e.acme.ID, tenancy.NewAPIKey{Name: "ldap", Scopes: []string{"read"}})
	must(t, err)
	e.readKeyDN, e.readKey = "cn="+k.ID+",ou=services,dc=acme,dc=gatehouse", tok
	k, tok, err = e.tenants.CreateAPIKey(ctx, admin, e.acme.ID, tenancy.NewAPIKey{Name: "scim", Scopes: []string{"scim"}})
	must(t, err)
	e.scimKeyDN, e.scimKey = "cn="+k.ID+",ou=services,dc=acme,dc=gatehouse", tok
	_, e.otherKey, err = e.tenants.CreateAPIKey(ctx, admin, e.other.ID, tenancy.NewAPIKey{Name: "x", Scopes: []string{"read"}})
	must(t, err)

	e.srv, err = ldap.New(op.cfg, ldap.Deps{Store: s, Directory: e.dir, Tenants: e.tenants, Flow: e.flow, Audit: rec,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	must(t, err)
	must(t, e.srv.Start())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := e.srv.Stop(ctx); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return e
}

func sqlite(t testing.TB) store.Store { return sqltest.OpenSQLite(t) }

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// dial connects a go-ldap client to the plain listener.
func (e *env) dial(t *testing.T) *goldap.Conn {
	t.Helper()
	return e.dialFrom(t, "127.0.0.1")
}

// dialFrom connects from the loopback address local (127.0.0.0/8 is all
// loopback), so the server sees that client address.
func (e *env) dialFrom(t *testing.T, local string) *goldap.Conn {
	t.Helper()
	d := &net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
	c, err := goldap.DialURL("ldap://"+e.srv.Addr(), goldap.DialWithDialer(d))
	must(t, err)
	c.SetTimeout(30 * time.Second)
	t.Cleanup(func() { c.Close() })
	return c
}

// bound dials and binds as the read service account.
func (e *env) bound(t *testing.T) *goldap.Conn {
	t.Helper()
	c := e.dial(t)
	must(t, c.Bind(e.readKeyDN, e.readKey))
	return c
}

func code(err error) uint16 {
	if err == nil {
		return 0
	}
	if le, ok := err.(*goldap.Error); ok {
		return le.ResultCode
	}
	return 0xffff
}

func (e *env) audit(t *testing.T, tn store.TenantID, action string) []store.AuditEntry {
	t.Helper()
	es, err := e.s.Audit().ListAudit(t.Context(), tn, store.AuditQuery{Action: action, Limit: 1000})
	must(t, err)
	return es
}

func dns(entries []*goldap.Entry) []string {
	out := []string{}
	for _, x := range entries {
		out = append(out, x.DN)
	}
	slices.Sort(out)
	return out
}

// testCert writes a self-signed certificate for 127.0.0.1 and answers its
// files and a pool that trusts it.
func testCert(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "gatehouse test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	must(t, err)
	kd, err := x509.MarshalPKCS8PrivateKey(k)
	must(t, err)
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "ldap.crt"), filepath.Join(dir, "ldap.key")
	must(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	must(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd}), 0o600))
	cert, err := x509.ParseCertificate(der)
	must(t, err)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}
