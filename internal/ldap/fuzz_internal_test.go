package ldap

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	goldap "github.com/go-ldap/ldap/v3"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

var filterSeeds = []string{
	"(uid=alice)", "(&(objectClass=person)(|(mail=*@example.com)(cn=a*b*c)))", "(!(memberOf=cn=staff,ou=groups,dc=acme,dc=gatehouse))",
	"(uid>=m)", "(sn<=z)", "(givenName=*)", "(cn~=bob)", "(member=uid=a\\2cb,ou=users,dc=acme,dc=gatehouse)",
	"(uid:caseExactMatch:=x)", "(mail=\\00\\ff*)", "(&)", "(|)",
}

// watchdog turns an input that takes more than 2s into a crash the
// fuzzer records: a hang is a finding too.
func watchdog(input any) (stop func()) {
	t := time.AfterFunc(2*time.Second, func() { panic(fmt.Sprintf("input took over 2s: %q", input)) })
	return func() { t.Stop() }
}

// checkBounds fails when a translated filter exceeds what the store takes.
func checkBounds(t *testing.T, f store.DirFilter, depth int, nodes *int) {
	*nodes++
	if depth > store.MaxDirFilterDepth || *nodes > store.MaxDirFilterNodes {
		t.Fatalf("translated filter out of the store's bounds: depth %d, nodes %d", depth, *nodes)
	}
	for _, s := range f.Sub {
		checkBounds(t, s, depth+1, nodes)
	}
}

func exercise(t *testing.T, n node) {
	for _, kind := range []entryKind{kindUser, kindGroup} {
		f := n.toStore(kind, "acme")
		nodes := 0
		// Search wraps the filter twice (scope and active users).
		checkBounds(t, f, 2, &nodes)
	}
	n.matches(map[string][]string{"objectclass": {"top", "organizationalUnit"}, "ou": {"users"}})
}

// FuzzParseFilter: any filter text either is refused or parses into a
// filter within the store's bounds, and survives the BER round trip that
// gldap makes (BER -> text) and this package makes (text -> BER) unchanged.
func FuzzParseFilter(f *testing.F) {
	for _, s := range filterSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		defer watchdog(s)()
		n, err := parseFilter(s)
		if err != nil {
			return
		}
		exercise(t, n)
		p, err := goldap.CompileFilter(s)
		if err != nil {
			t.Fatalf("parsed but does not compile: %v", err)
		}
		text, err := goldap.DecompileFilter(p)
		if err != nil {
			t.Fatalf("compiled but does not decompile: %v", err)
		}
		again, err := parseFilter(text)
		if err != nil {
			t.Fatalf("round trip %q -> %q refused: %v", s, text, err)
		}
		if !reflect.DeepEqual(n, again) {
			t.Fatalf("round trip %q -> %q changed the filter:\n%+v\n%+v", s, text, n, again)
		}
	})
}

// FuzzFilterBER: the path of a filter off the wire: BER decoding (as
// gldap reads a request), decompiling to text (as gldap hands it over),
// and parsing.
func FuzzFilterBER(f *testing.F) {
	for _, s := range filterSeeds {
		if p, err := goldap.CompileFilter(s); err == nil {
			f.Add(p.Bytes())
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		defer watchdog(b)()
		p, err := ber.DecodePacketErr(b)
		if err != nil {
			return
		}
		text, err := goldap.DecompileFilter(p)
		if err != nil {
			return
		}
		if n, err := parseFilter(text); err == nil {
			exercise(t, n)
		}
	})
}

// FuzzParseDN: bind and base DNs and DN-valued assertions.
func FuzzParseDN(f *testing.F) {
	for _, s := range []string{"", "dc=acme,dc=gatehouse", "uid=a\\2cb+x,ou=users,dc=acme,dc=gatehouse",
		"cn=x,ou=groups,dc=acme,dc=gatehouse", "cn=k,ou=services,dc=a,dc=gatehouse", "uid=#04024869,ou=users,dc=a,dc=gatehouse"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		defer watchdog(s)()
		d, err := parseDN(s)
		if err != nil || d.kind == dnRootDSE {
			return
		}
		// A DN built from what was parsed parses back to the same.
		var built string
		switch d.kind {
		case dnTenant:
			built = tenantDN(d.tenant)
		case dnUser:
			built = userDN(d.tenant, d.value)
		case dnGroup:
			built = groupDN(d.tenant, d.value)
		default:
			return
		}
		back, err := parseDN(built)
		if err != nil || back != d {
			t.Fatalf("%q -> %+v -> %q -> %+v, %v", s, d, built, back, err)
		}
	})
}
