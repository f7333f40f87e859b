package e2e

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestLDAPSearch runs Debian's ldapsearch (ldap-utils) against the real
// binary: StartTLS and LDAPS with a test certificate, user and service
// binds, the filter types, scopes, paging and the size limit, refused
// binds with their result codes, and LDAP stopping with serve.
func TestLDAPSearch(t *testing.T) {
	if _, err := exec.LookPath("ldapsearch"); err != nil {
		t.Fatal("ldapsearch is missing: apt-get install ldap-utils (.ci/run does)")
	}
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) { ldapScenario(t, b) })
	}
}

// ldapEnv is what ldapsearch needs to reach one deployment.
type ldapEnv struct {
	t           *testing.T
	addr, ldaps string
	caFile      string
}

// search runs ldapsearch and answers the DNs it printed and its exit code
// (the LDAP result code).
func (l ldapEnv) search(tls string, dn, pw string, args ...string) ([]string, int, string) {
	l.t.Helper()
	cmdArgs := []string{"-x", "-LLL", "-o", "ldif-wrap=no", "-o", "nettimeout=10", "-l", "10"}
	switch tls {
	case "starttls":
		cmdArgs = append(cmdArgs, "-H", "ldap://"+l.addr, "-ZZ")
	case "ldaps":
		cmdArgs = append(cmdArgs, "-H", "ldaps://"+l.ldaps)
	default:
		cmdArgs = append(cmdArgs, "-H", "ldap://"+l.addr)
	}
	if dn != "" {
		cmdArgs = append(cmdArgs, "-D", dn, "-w", pw)
	}
	cmd := exec.Command("ldapsearch", append(cmdArgs, args...)...)
	cmd.Env = append(os.Environ(), "LDAPTLS_CACERT="+l.caFile, "LDAPTLS_REQCERT=demand")
	out, err := cmd.CombinedOutput()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		l.t.Fatalf("ldapsearch: %v", err)
	}
	var dns []string
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "dn: "); ok {
			dns = append(dns, d)
		}
	}
	slices.Sort(dns)
	return dns, code, string(out)
}

func ldapScenario(t *testing.T, b backend) {
	certFile, keyFile, caFile := writeTestCert(t)
	env := append(testEnv(t.TempDir(), b.db, testMasterKey),
		"GATEHOUSE_LDAP_ENABLED=true", "GATEHOUSE_LDAP_ADDR=127.0.0.1:0", "GATEHOUSE_LDAPS_ADDR=127.0.0.1:0",
		"GATEHOUSE_LDAP_TLS_CERT="+certFile, "GATEHOUSE_LDAP_TLS_KEY="+keyFile, "GATEHOUSE_LDAP_SIZE_LIMIT=50",
		"GATEHOUSE_HTTP_SHUTDOWN_TIMEOUT=3s")
	n := start(t, env)
	l := ldapEnv{t: t, caFile: caFile}
	// The listeners log their bound addresses.
	for _, line := range strings.Split(n.Logs(), "\n") {
		var rec struct {
			Msg   string `json:"msg"`
			Addr  string `json:"addr"`
			LDAPS bool   `json:"ldaps"`
		}
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "ldap listening" {
			if rec.LDAPS {
				l.ldaps = rec.Addr
			} else {
				l.addr = rec.Addr
			}
		}
	}
	if l.addr == "" || l.ldaps == "" {
		t.Fatalf("no ldap listening lines:\n%s", n.Logs())
	}

	out, errOut, code := cli(t, env, "apikey", "create", "--platform", "--scopes", "admin")
	if code != 0 {
		t.Fatalf("apikey create: %s", errOut)
	}
	platform := &client{t: t, base: n.URL, token: lastLine(out)}
	platform.must(201, "POST", "/api/v1/tenants", map[string]string{"slug": "acme", "name": "Acme"})
	var key, readKey map[string]any
	platform.must(201, "POST", "/api/v1/tenants/acme/apikeys", map[string]any{"scopes": []string{"admin"}}).json(t, &key)
	platform.must(201, "POST", "/api/v1/tenants/acme/apikeys", map[string]any{"name": "ldap", "scopes": []string{"read"}}).json(t, &readKey)
	api := &client{t: t, base: n.URL, token: key["token"].(string)}
	pw := "correct horse battery staple"
	mk := func(body map[string]any) string {
		var u map[string]any
		api.must(201, "POST", "/api/v1/tenants/acme/users", body).json(t, &u)
		return u["id"].(string)
	}
	alice := mk(map[string]any{"email": "alice@example.com", "username": "alice", "given_name": "Alice", "family_name": "Liddell", "password": pw})
	bob := mk(map[string]any{"email": "bob@example.com", "given_name": "Bob", "family_name": "Stone"})
	mk(map[string]any{"email": "carol@example.com", "username": "carol", "given_name": "Carol"})
	mk(map[string]any{"email": "dave@example.com", "username": "dave", "status": "disabled"})
	var staff map[string]any
	api.must(201, "POST", "/api/v1/tenants/acme/groups", map[string]string{"name": "staff"}).json(t, &staff)
	gp := "/api/v1/tenants/acme/groups/" + staff["id"].(string) + "/members"
	api.must(201, "POST", gp, map[string]string{"user_id": alice})
	api.must(201, "POST", gp, map[string]string{"user_id": bob})

	const base = "dc=acme,dc=gatehouse"
	users := "ou=users," + base
	aliceDN, bobDN, carolDN := "uid=alice,"+users, "uid=bob@example.com,"+users, "uid=carol,"+users
	staffDN := "cn=staff,ou=groups," + base
	svcDN := "cn=" + readKey["id"].(string) + ",ou=services," + base
	svcPW := readKey["token"].(string)

	cases := []struct {
		name   string
		tls    string
		dn, pw string
		args   []string
		want   []string
	}{
		{"equality, user bind, StartTLS", "starttls", aliceDN, pw, []string{"-b", base, "(uid=alice)", "uid"}, []string{aliceDN}},
		{"substring", "starttls", svcDN, svcPW, []string{"-b", base, "(mail=*@example.com)"}, []string{aliceDN, bobDN, carolDN}},
		{"presence and not", "starttls", svcDN, svcPW, []string{"-b", users, "(&(sn=*)(!(uid=bob*)))"}, []string{aliceDN}},
		{"or, >= and <=", "starttls", svcDN, svcPW, []string{"-b", base, "(|(uid>=c)(uid<=alice))"}, []string{aliceDN, carolDN}},
		{"memberOf", "ldaps", svcDN, svcPW, []string{"-b", base, "(memberOf=" + staffDN + ")", "cn"}, []string{aliceDN, bobDN}},
		{"member", "ldaps", svcDN, svcPW, []string{"-b", base, "(member=" + bobDN + ")"}, []string{staffDN}},
		{"entryUUID", "ldaps", svcDN, svcPW, []string{"-b", base, "(entryUUID=" + alice + ")"}, []string{aliceDN}},
		{"displayName and givenName", "ldaps", svcDN, svcPW, []string{"-b", base, "(&(displayName=bob stone)(givenName=Bob))"}, []string{bobDN}},
		{"base scope", "ldaps", svcDN, svcPW, []string{"-b", aliceDN, "-s", "base", "(objectClass=inetOrgPerson)"}, []string{aliceDN}},
		{"one level", "ldaps", svcDN, svcPW, []string{"-b", base, "-s", "one", "(objectClass=*)"}, []string{"ou=groups," + base, users}},
		{"paged by 2", "ldaps", svcDN, svcPW, []string{"-b", base, "-E", "pr=2/noprompt", "(objectClass=*)", "1.1"},
			[]string{base, "ou=groups," + base, users, aliceDN, bobDN, carolDN, staffDN}},
	}
	for _, c := range cases {
		got, code, out := l.search(c.tls, c.dn, c.pw, c.args...)
		slices.Sort(c.want)
		if code != 0 || !slices.Equal(got, c.want) {
			t.Errorf("%s: exit %d, %v\nwant %v\n%s", c.name, code, got, c.want, out)
		}
	}
	// Attributes as ldapsearch prints them.
	_, _, out = l.search("ldaps", svcDN, svcPW, "-b", aliceDN, "-s", "base", "(objectClass=*)", "mail", "memberOf", "cn")
	for _, want := range []string{"mail: alice@example.com", "memberOf: " + staffDN, "cn: Alice Liddell"} {
		if !strings.Contains(out, want) {
			t.Errorf("alice's entry lacks %q:\n%s", want, out)
		}
	}
	// Result codes become ldapsearch's exit codes.
	refusals := []struct {
		name   string
		tls    string
		dn, pw string
		args   []string
		code   int
	}{
		{"size limit", "ldaps", svcDN, svcPW, []string{"-z", "2", "-b", base, "(objectClass=*)"}, 4},
		{"wrong password", "starttls", aliceDN, "wrong password!", []string{"-b", base}, 49},
		{"unknown user", "starttls", "uid=ghost," + users, pw, []string{"-b", base}, 49},
		{"anonymous", "starttls", "", "", []string{"-b", base}, 48},
		{"bind without TLS", "", aliceDN, pw, []string{"-b", base}, 13},
		{"another tenant's tree", "ldaps", svcDN, svcPW, []string{"-b", "dc=default,dc=gatehouse"}, 32},
	}
	for _, r := range refusals {
		if _, code, out := l.search(r.tls, r.dn, r.pw, r.args...); code != r.code {
			t.Errorf("%s: exit %d, want %d\n%s", r.name, code, r.code, out)
		}
	}
	// The tenant forbids user binds: users are refused, services are not.
	api.must(200, "PATCH", "/api/v1/tenants/acme", map[string]any{"settings": map[string]any{"ldap": map[string]any{"user_binds": false}}})
	if _, code, out := l.search("starttls", aliceDN, pw, "-b", base); code != 49 {
		t.Errorf("user bind in a tenant that forbids it: exit %d, want 49 (invalidCredentials, as a wrong password)\n%s", code, out)
	}
	if _, code, out := l.search("ldaps", svcDN, svcPW, "-b", base, "-s", "base"); code != 0 {
		t.Errorf("service bind: exit %d\n%s", code, out)
	}
	// Binds and searches are in the audit log.
	var entries struct {
		Items []map[string]any `json:"items"`
	}
	api.must(200, "GET", "/api/v1/tenants/acme/audit?action=ldap.search", nil).json(t, &entries)
	if len(entries.Items) < len(cases) {
		t.Errorf("%d ldap.search audit entries, want at least %d", len(entries.Items), len(cases))
	}
	// LDAP stops with serve, within the shutdown timeout even while a
	// client holds an idle connection.
	idle, err := net.DialTimeout("tcp", l.addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	stopped := time.Now()
	n.stop()
	if took := time.Since(stopped); took > 15*time.Second {
		t.Errorf("serve took %v to stop with an idle LDAP client", took)
	}
	if n.exitErr != nil {
		t.Errorf("serve exited with %v\n%s", n.exitErr, n.Logs())
	}
	if c, err := net.DialTimeout("tcp", l.addr, time.Second); err == nil {
		c.Close()
		t.Error("the LDAP listener still accepts after serve stopped")
	}
}

// writeTestCert writes a self-signed certificate for 127.0.0.1.
func writeTestCert(t *testing.T) (certFile, keyFile, caFile string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kd, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "ldap.crt"), filepath.Join(dir, "ldap.key")
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	for f, b := range map[string][]byte{certFile: certPEM, keyFile: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd})} {
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return certFile, keyFile, certFile
}
