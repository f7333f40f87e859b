package tlsserve_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/letsencrypt/pebble/v2/ca"
	"github.com/letsencrypt/pebble/v2/db"
	"github.com/letsencrypt/pebble/v2/va"
	"github.com/letsencrypt/pebble/v2/wfe"
	"github.com/miekg/dns"

	"github.com/gatehouse-id/gatehouse/internal/seal"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
	"github.com/gatehouse-id/gatehouse/internal/tlsserve"
)

// loopbackDNS answers every A query with 127.0.0.1 (and nothing else): the
// ACME CA's validation authority resolves the test's names through it.
func loopbackDNS(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{Listener: ln, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		for _, qq := range q.Question {
			if qq.Qtype == dns.TypeA {
				m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: qq.Name, Rrtype: dns.TypeA,
					Class: dns.ClassINET, Ttl: 1}, A: net.IPv4(127, 0, 0, 1)})
			}
		}
		_ = w.WriteMsg(m)
	})}
	go func() { _ = srv.ActivateAndServe() }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	return ln.Addr().String()
}

// pebbleCA runs Let's Encrypt's test CA in-process: its directory over
// HTTPS on loopback, validating TLS-ALPN-01 challenges on tlsPort of the
// addresses dnsAddr answers. It answers the directory URL, the pool that
// trusts the directory's HTTPS certificate and the pool that trusts the
// certificates it issues.
func pebbleCA(t *testing.T, dnsAddr string, tlsPort int) (string, *x509.CertPool, *x509.CertPool) {
	t.Helper()
	t.Setenv("PEBBLE_VA_NOSLEEP", "1")
	logger := log.New(io.Discard, "", 0)
	if testing.Verbose() {
		logger = log.New(os.Stderr, "pebble ", log.LstdFlags)
	}
	mem := db.NewMemoryStore()
	authority := ca.New(logger, mem, "", "ecdsa", 0, 1, map[string]ca.Profile{"default": {Description: "default"}})
	validator := va.New(logger, 0, tlsPort, false, dnsAddr, mem)
	front := wfe.New(logger, mem, validator, authority, nil, false, false, 0, 0)
	srv := httptest.NewTLSServer(front.Handler())
	t.Cleanup(srv.Close)
	dirRoots := x509.NewCertPool()
	dirRoots.AddCert(srv.Certificate())
	issued := x509.NewCertPool()
	root, err := x509.ParseCertificate(authority.GetRootCert(0).DER)
	if err != nil {
		t.Fatal(err)
	}
	issued.AddCert(root)
	return srv.URL + "/dir", dirRoots, issued
}

// TestACMEIssuesForVerifiedDomain: with an ACME CA on loopback, the first
// handshake naming a verified custom domain obtains a certificate
// (TLS-ALPN-01 answered on the same listener) that the listener then
// serves, stored sealed in the database; a name that is not a verified
// domain gets none, and no order is placed for it.
func TestACMEIssuesForVerifiedDomain(t *testing.T) {
	for name, open := range map[string]func(testing.TB) *sqlstore.DB{"sqlite": sqltest.OpenSQLite, "postgres": func(tb testing.TB) *sqlstore.DB {
		if os.Getenv(sqltest.EnvPostgresDSN) == "" {
			tb.Skip(sqltest.EnvPostgresDSN + " is not set")
		}
		return sqltest.OpenPostgres(tb)
	}} {
		t.Run(name, func(t *testing.T) { acmeScenario(t, open(t)) })
	}
}

func acmeScenario(t *testing.T, st *sqlstore.DB) {
	const verified, other = "login.acme.test", "evil.acme.test"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	dir, dirRoots, issuedRoots := pebbleCA(t, loopbackDNS(t), port)

	sealer, err := seal.New(make([]byte, 32), nil)
	if err != nil {
		t.Fatal(err)
	}
	storage := &tlsserve.Storage{DB: st.TLS(), Sealer: sealer, Now: time.Now, LockTTL: time.Minute, Poll: 100 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	asked := map[string]int{}
	tc, err := tlsserve.ACME(ctx, tlsserve.ACMEOptions{
		CA: dir, Email: "ops@acme.test", TrustedRoots: dirRoots, PublicHost: "127.0.0.1",
		Allowed: func(_ context.Context, name string) error {
			asked[name]++
			if name == verified {
				return nil
			}
			return errors.New("not a verified domain")
		},
		Storage: storage, ListenAddr: ln.Addr().String(),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "hello "+r.Host)
	}), ReadHeaderTimeout: 5 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
	go func() { _ = srv.Serve(tls.NewListener(ln, tc)) }()
	t.Cleanup(func() { _ = srv.Close() })

	client := func(name string) *http.Client {
		d := &net.Dialer{Timeout: 5 * time.Second}
		return &http.Client{Timeout: 90 * time.Second, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: issuedRoots, ServerName: name},
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return d.DialContext(ctx, network, ln.Addr().String())
			}}}
	}
	began := time.Now()
	res, err := client(verified).Get("https://" + verified + "/")
	if err != nil {
		t.Fatalf("HTTPS to the verified domain: %v", err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	leaf := res.TLS.PeerCertificates[0]
	if string(body) != "hello "+verified || leaf.VerifyHostname(verified) != nil {
		t.Fatalf("served %q with a certificate for %v", body, leaf.DNSNames)
	}
	t.Logf("issued on demand and served in %v (issuer %s)", time.Since(began).Round(time.Millisecond), leaf.Issuer.CommonName)

	// The certificate and its key are in the database, sealed.
	keys, err := st.TLS().Keys(ctx, "certificates", true)
	if err != nil {
		t.Fatal(err)
	}
	var keyFile string
	for _, k := range keys {
		if strings.HasSuffix(k, verified+".key") {
			keyFile = k
		}
	}
	if keyFile == "" {
		t.Fatalf("no stored key for %s in %v", verified, keys)
	}
	raw, _, err := st.TLS().Get(ctx, keyFile)
	if err != nil || strings.Contains(string(raw), "PRIVATE KEY") {
		t.Fatalf("stored key is not sealed (%v)", err)
	}

	// Another node with the same database serves the same certificate
	// without asking the CA again.
	ln2, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tc2, err := tlsserve.ACME(ctx, tlsserve.ACMEOptions{CA: dir, TrustedRoots: dirRoots, PublicHost: "127.0.0.1",
		Allowed: func(context.Context, string) error { return nil }, Storage: storage, ListenAddr: ln2.Addr().String()})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		c, err := ln2.Accept()
		if err != nil {
			return
		}
		tconn := tls.Server(c, tc2)
		_ = tconn.Handshake()
		tconn.Close()
	}()
	conn, err := tls.Dial("tcp", ln2.Addr().String(), &tls.Config{RootCAs: issuedRoots, ServerName: verified})
	if err != nil {
		t.Fatalf("second node: %v", err)
	}
	if got := conn.ConnectionState().PeerCertificates[0]; !got.Equal(leaf) {
		t.Errorf("second node served another certificate (serial %v, want %v)", got.SerialNumber, leaf.SerialNumber)
	}
	conn.Close()
	ln2.Close()

	// A name that is no verified domain: no certificate, handshake fails.
	if _, err := client(other).Get("https://" + other + "/"); err == nil {
		t.Fatalf("HTTPS to %s succeeded", other)
	}
	if asked[other] == 0 {
		t.Errorf("the decision was not asked for %s: %v", other, asked)
	}
	for _, k := range mustKeys(t, st.TLS(), "certificates") {
		if strings.Contains(k, other) {
			t.Errorf("a certificate was stored for %s: %s", other, k)
		}
	}
}

func mustKeys(t *testing.T, s store.TLSStorage, prefix string) []string {
	t.Helper()
	keys, err := s.Keys(context.Background(), prefix, true)
	if err != nil {
		t.Fatal(err)
	}
	return keys
}
