package oidc

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"testing"
	"time"
)

func testCert(t *testing.T) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "c"},
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c
}

// TestForwardedCertOnlyFromTrustedProxies: the forwarded certificate
// header counts from a trusted proxy only, once, in RFC 9440 form or as
// URL-escaped PEM; anything else is no certificate.
func TestForwardedCertOnlyFromTrustedProxies(t *testing.T) {
	cert := testCert(t)
	sf := ":" + base64.StdEncoding.EncodeToString(cert.Raw) + ":"
	escaped := url.QueryEscape(string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})))
	p := &Provider{mtls: MTLSConfig{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}}
	for _, c := range []struct {
		name   string
		peer   string
		values []string
		want   bool
	}{
		{"RFC 9440 from a trusted proxy", "10.1.2.3:4000", []string{sf}, true},
		{"escaped PEM from a trusted proxy", "10.1.2.3:4000", []string{escaped}, true},
		{"from an untrusted peer", "127.0.0.1:4000", []string{sf}, false},
		{"from an IPv4-mapped trusted peer", "[::ffff:10.1.2.3]:4000", []string{sf}, true},
		{"two headers", "10.1.2.3:4000", []string{sf, sf}, false},
		{"not a certificate", "10.1.2.3:4000", []string{":aGVsbG8=:"}, false},
		{"not base64", "10.1.2.3:4000", []string{":***:"}, false},
		{"a PEM key, not a certificate", "10.1.2.3:4000", []string{url.QueryEscape("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")}, false},
	} {
		r := httptest.NewRequest("POST", "/oauth/token", nil)
		r.RemoteAddr = c.peer
		for _, v := range c.values {
			r.Header.Add("X-Client-Cert", v)
		}
		got := clientCertFrom(p.withClientCert(r.Context(), r))
		if (got != nil) != c.want || got != nil && !got[0].Equal(cert) {
			t.Errorf("%s: certificate %v, want %v", c.name, got != nil, c.want)
		}
	}
	// Without trusted proxies no header counts.
	r := httptest.NewRequest("POST", "/oauth/token", nil)
	r.RemoteAddr = "10.1.2.3:4000"
	r.Header.Set("X-Client-Cert", sf)
	if clientCertFrom((&Provider{}).withClientCert(r.Context(), r)) != nil {
		t.Error("a forwarded certificate counted with no trusted proxy configured")
	}
}

func TestSameDN(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"CN=client-a,O=Acme", "CN=client-a, O=Acme", true},
		{"CN=client-a,O=Acme", "cn=Client-A,o=acme", true},
		{"CN=client-a,O=Acme", "O=Acme,CN=client-a", false},
		{"CN=client-a,O=Acme", "CN=client-a", false},
		{"CN=client-a,O=Acme,C=DE", "CN=client-a,O=Acme", false},
	} {
		if got := sameDN(c.a, c.b); got != c.want {
			t.Errorf("sameDN(%q, %q) = %v", c.a, c.b, got)
		}
	}
}
