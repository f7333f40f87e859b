package mail_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/mail"
	"github.com/gatehouse-id/gatehouse/test/mailpit"
)

// selfSigned writes a certificate for 127.0.0.1 and its key, and answers
// their paths and a pool that trusts it.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kd, _ := x509.MarshalPKCS8PrivateKey(key)
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// SMTP against a real server that offers STARTTLS and requires it: auto
// mode upgrades (and authenticates inside TLS), the certificate is
// checked, and a non-ASCII subject arrives intact.
func TestSMTPStartTLS(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t)
	mp := mailpit.Start(t, "--smtp-tls-cert", certFile, "--smtp-tls-key", keyFile, "--smtp-require-starttls",
		"--smtp-auth-accept-any")
	send := func(mode string, roots *x509.CertPool, user string) error {
		s := &mail.SMTP{Host: mp.SMTPHost, Port: mp.SMTPPort, From: "Acme <id@acme.example>", TLS: mode,
			Username: user, Password: "smtp-secret", Timeout: 5 * time.Second,
			TLSConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}}
		return s.Send(t.Context(), mail.Message{To: "ada@example.com", Subject: "Grüße, " + mode, Text: "hello " + mode, HTML: "<p>hello</p>"})
	}
	if err := send(mail.TLSAuto, pool, "gatehouse"); err != nil {
		t.Fatalf("auto with STARTTLS offered: %v", err)
	}
	got := mp.WaitFor(t, "ada@example.com", "Grüße, auto", 10*time.Second)
	if !strings.Contains(got.Text, "hello auto") {
		t.Fatalf("received %+v", got)
	}
	if err := send(mail.TLSStartTLS, nil, ""); err == nil {
		t.Fatal("an untrusted certificate was accepted")
	}
	if err := send(mail.TLSNone, pool, ""); err == nil {
		t.Fatal("plain text went through a server that requires STARTTLS")
	}
}

// starttls mode refuses a server that does not offer it, rather than send
// in the clear; PLAIN auth is never sent in the clear to a non-local host
// (net/smtp refuses), and a bad recipient never reaches the server.
func TestSMTPRequiresStartTLS(t *testing.T) {
	mp := mailpit.Start(t)
	s := &mail.SMTP{Host: mp.SMTPHost, Port: mp.SMTPPort, From: "id@acme.example", TLS: mail.TLSStartTLS, Timeout: 5 * time.Second}
	if err := s.Send(t.Context(), mail.Message{To: "ada@example.com", Subject: "s", Text: "t"}); err == nil ||
		!strings.Contains(err.Error(), "STARTTLS") {
		t.Fatalf("starttls against a plain server: %v", err)
	}
	s.TLS = mail.TLSAuto
	err := s.Send(t.Context(), mail.Message{To: "ada@example.com\r\nBcc: x@example.com", Subject: "s", Text: "t"})
	var perm *mail.PermanentError
	if err == nil || !errorsAs(err, &perm) {
		t.Fatalf("header injection in the recipient: %v", err)
	}
	if len(mp.Messages(t)) != 0 {
		t.Fatal("something was delivered")
	}
}
