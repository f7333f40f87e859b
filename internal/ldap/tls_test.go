package ldap_test

import (
	"context"
	"crypto/tls"
	"net"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/gatehouse-id/gatehouse/internal/credential"
)

func TestStartTLSAndLDAPS(t *testing.T) {
	cert, key, pool := testCert(t)
	e := newEnv(t, sqlite(t), func(o *opts) {
		o.cfg.TLSCert, o.cfg.TLSKey, o.cfg.LDAPSAddr = cert, key, "127.0.0.1:0"
	})
	client := &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
	alice := "uid=alice,ou=users,dc=acme,dc=gatehouse"

	// With a certificate, a bind in the clear is refused before the
	// password is looked at.
	c := e.dial(t)
	if err := c.Bind(alice, pw); code(err) != goldap.LDAPResultConfidentialityRequired {
		t.Fatalf("bind without TLS = %v, want confidentialityRequired", err)
	}
	must(t, c.StartTLS(client))
	if _, ok := c.TLSConnectionState(); !ok {
		t.Fatal("no TLS after StartTLS")
	}
	must(t, c.Bind(alice, pw))
	got, err := search(t, c, base, goldap.ScopeSingleLevel, "(objectClass=*)")
	if err != nil || len(got) != 2 {
		t.Errorf("search over StartTLS: %v, %v", dns(got), err)
	}
	if err := c.StartTLS(client); err == nil {
		t.Error("a second StartTLS succeeded")
	}

	// LDAPS on its own port.
	s, err := goldap.DialURL("ldaps://"+e.srv.LDAPSAddr(), goldap.DialWithTLSConfig(client),
		goldap.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}))
	must(t, err)
	defer s.Close()
	must(t, s.Bind(e.readKeyDN, e.readKey))
	got, err = search(t, s, "uid=alice,"+users, goldap.ScopeBaseObject, "(objectClass=*)", "mail")
	if err != nil || len(got) != 1 || got[0].GetAttributeValue("mail") != "alice@example.com" {
		t.Errorf("search over LDAPS: %v, %v", got, err)
	}
	// A client that does not trust the certificate does not get in.
	if _, err := goldap.DialURL("ldaps://"+e.srv.LDAPSAddr(), goldap.DialWithTLSConfig(&tls.Config{ServerName: "127.0.0.1"})); err == nil {
		t.Error("LDAPS dial without trusting the certificate succeeded")
	}
}

func TestStartTLSUnconfigured(t *testing.T) {
	e := newEnv(t, sqlite(t))
	c := e.dial(t)
	if err := c.StartTLS(&tls.Config{InsecureSkipVerify: true}); code(err) != goldap.LDAPResultUnavailable {
		t.Errorf("StartTLS without a certificate = %v, want unavailable", err)
	}
	// Binds in the clear still work (on a new connection: go-ldap stops
	// reading a connection whose StartTLS failed).
	must(t, e.dial(t).Bind(e.readKeyDN, e.readKey))
}

// TestHostileBytes: garbage on a connection ends that connection only.
func TestHostileBytes(t *testing.T) {
	e := newEnv(t, sqlite(t))
	for _, b := range [][]byte{
		{0x30, 0x84, 0x7f, 0xff, 0xff, 0xff},       // a 2 GiB length
		{0x30, 0x05, 0x02, 0x01, 0x01, 0x60, 0x00}, // an empty bind
		{0x30, 0x03, 0x02, 0x01},                   // truncated
		[]byte("GET / HTTP/1.1\r\n\r\n"),
	} {
		raw, err := net.DialTimeout("tcp", e.srv.Addr(), 5*time.Second)
		must(t, err)
		_ = raw.SetDeadline(time.Now().Add(time.Second))
		_, _ = raw.Write(b)
		buf := make([]byte, 512)
		_, _ = raw.Read(buf)
		raw.Close()
	}
	must(t, e.dial(t).Bind(e.readKeyDN, e.readKey))
}

// TestStopWaitsForHandlers: a request still running when its client has
// gone keeps Stop waiting, so the database outlives every handler (gldap
// alone stops waiting once the connection is closed).
func TestStopWaitsForHandlers(t *testing.T) {
	e := newEnv(t, sqlite(t), func(o *opts) {
		o.params = credential.Params{MemoryKiB: 128 * 1024, Iterations: 4, Parallelism: 1}
	})
	raw, err := net.DialTimeout("tcp", e.srv.Addr(), 5*time.Second)
	must(t, err)
	_, err = raw.Write(message(1, bindPacket("uid=alice,ou=users,dc=acme,dc=gatehouse", "wrong password!")))
	must(t, err)
	raw.Close()
	time.Sleep(100 * time.Millisecond) // the server reads the bind and starts hashing
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	must(t, e.srv.Stop(ctx))
	if n := len(e.audit(t, e.acme.ID, "ldap.bind")); n != 1 {
		t.Errorf("after Stop, %d bind audit entries, want the running bind's 1", n)
	}
}
