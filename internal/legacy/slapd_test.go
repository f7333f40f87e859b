package legacy

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// The test directory: Debian's OpenLDAP server started in a temporary
// directory on a free loopback port, with an mdb database under
// dc=legacy,dc=test, a manager (rootdn) that loads it, a search account
// and users whose passwords are {SSHA} hashes made by slappasswd.
const (
	slapdBin   = "/usr/sbin/slapd"
	suffix     = "dc=legacy,dc=test"
	managerDN  = "cn=manager," + suffix
	managerPW  = "manager-secret"
	readerDN   = "cn=reader," + suffix
	readerPW   = "reader-secret"
	peopleDN   = "ou=people," + suffix
	groupsDN   = "ou=groups," + suffix
	slapdStart = 15 * time.Second
)

type slapd struct {
	t   *testing.T
	url string
	cmd *exec.Cmd
}

// needSlapd skips outside CI when slapd is missing; in CI (which installs
// it, .ci/run) its absence fails the test.
func needSlapd(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(slapdBin); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is missing: install Debian's slapd package (.ci/run does when it runs)", slapdBin)
		}
		t.Skipf("%s is not installed (apt-get install slapd)", slapdBin)
	}
}

// startSlapd starts a directory with the base entries and the search
// account; Stop (also run at cleanup) ends it.
func startSlapd(t *testing.T) *slapd {
	t.Helper()
	needSlapd(t)
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "db"), 0o700); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf(`include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
pidfile %[1]s/slapd.pid
modulepath /usr/lib/ldap
moduleload back_mdb
database mdb
maxsize 16777216
suffix "%[2]s"
rootdn "%[3]s"
rootpw %[4]s
directory %[1]s/db
access to attrs=userPassword by anonymous auth by * none
access to * by users read by * none
`, dir, suffix, managerDN, ssha(t, managerPW))
	confPath := filepath.Join(dir, "slapd.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	s := &slapd{t: t, url: "ldap://" + addr}
	s.cmd = exec.Command(slapdBin, "-h", s.url+"/", "-f", confPath, "-d", "0")
	var out strings.Builder
	s.cmd.Stdout, s.cmd.Stderr = &out, &out
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("slapd: %v", err)
	}
	t.Cleanup(s.Stop)
	deadline := time.Now().Add(slapdStart)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("slapd did not listen on %s within %s: %s", addr, slapdStart, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.add(suffix, map[string][]string{"objectClass": {"dcObject", "organization"}, "dc": {"legacy"}, "o": {"Legacy"}})
	s.add(peopleDN, map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {"people"}})
	s.add(groupsDN, map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {"groups"}})
	s.add(readerDN, map[string][]string{"objectClass": {"person"}, "cn": {"reader"}, "sn": {"reader"},
		"userPassword": {ssha(t, readerPW)}})
	return s
}

// Stop ends the directory (once).
func (s *slapd) Stop() {
	if s.cmd.ProcessState != nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
}

// ssha is slappasswd's {SSHA} hash of pw.
func ssha(t *testing.T, pw string) string {
	t.Helper()
	out, err := exec.Command("/usr/sbin/slappasswd", "-h", "{SSHA}", "-s", pw).Output()
	if err != nil {
		t.Fatalf("slappasswd: %v", err)
	}
	h := strings.TrimSpace(string(out))
	if !strings.HasPrefix(h, "{SSHA}") {
		t.Fatalf("slappasswd answered %q", h)
	}
	return h
}

// manager is a connection bound as the rootdn.
func (s *slapd) manager() *ldap.Conn {
	s.t.Helper()
	c, err := ldap.DialURL(s.url)
	if err != nil {
		s.t.Fatal(err)
	}
	if err := c.Bind(managerDN, managerPW); err != nil {
		c.Close()
		s.t.Fatal(err)
	}
	return c
}

func (s *slapd) add(dn string, attrs map[string][]string) {
	s.t.Helper()
	c := s.manager()
	defer c.Close()
	r := ldap.NewAddRequest(dn, nil)
	for k, v := range attrs {
		r.Attribute(k, v)
	}
	if err := c.Add(r); err != nil {
		s.t.Fatalf("add %s: %v", dn, err)
	}
}

// addUser adds uid under ou=people with an {SSHA} password, answering its DN.
func (s *slapd) addUser(uid, mail, given, family, password string) string {
	dn := "uid=" + uid + "," + peopleDN
	s.add(dn, map[string][]string{"objectClass": {"inetOrgPerson"}, "uid": {uid}, "cn": {given + " " + family},
		"givenName": {given}, "sn": {family}, "mail": {mail}, "userPassword": {ssha(s.t, password)}})
	return dn
}

func (s *slapd) modify(dn string, fn func(*ldap.ModifyRequest)) {
	s.t.Helper()
	c := s.manager()
	defer c.Close()
	r := ldap.NewModifyRequest(dn, nil)
	fn(r)
	if err := c.Modify(r); err != nil {
		s.t.Fatalf("modify %s: %v", dn, err)
	}
}

func (s *slapd) remove(dn string) {
	s.t.Helper()
	c := s.manager()
	defer c.Close()
	if err := c.Del(ldap.NewDelRequest(dn, nil)); err != nil {
		s.t.Fatalf("delete %s: %v", dn, err)
	}
}
