package ldap

import (
	"errors"
	"strings"
	"unicode/utf8"

	goldap "github.com/go-ldap/ldap/v3"
)

// The tree: dc={tenant},dc=gatehouse holds ou=users (uid={username or
// email}), ou=groups (cn={name}) and ou=services (cn={API key id}, for
// binds only).
const (
	rootDC     = "gatehouse"
	maxDNLen   = 1024
	ouUsers    = "users"
	ouGroups   = "groups"
	ouServices = "services"
)

// dnKind is what a DN names.
type dnKind int

const (
	dnRootDSE dnKind = iota // the empty DN
	dnTenant
	dnUsersOU
	dnGroupsOU
	dnServicesOU
	dnUser
	dnGroup
	dnService
)

// dnRef is a parsed DN of the tree.
type dnRef struct {
	kind   dnKind
	tenant string // the tenant slug, lower case
	value  string // the uid, group name or key id (as written)
}

var errDN = errors.New("ldap: not a DN of this directory")

// parseDN parses a DN of the tree; anything else is errDN.
func parseDN(s string) (dnRef, error) {
	if strings.TrimSpace(s) == "" {
		return dnRef{kind: dnRootDSE}, nil
	}
	if len(s) > maxDNLen {
		return dnRef{}, errDN
	}
	dn, err := goldap.ParseDN(s)
	if err != nil {
		return dnRef{}, errDN
	}
	var rdns [][2]string
	for _, r := range dn.RDNs {
		// DN values are UTF-8 (RFC 4514); an escaped invalid byte would
		// not survive being written back into a DN.
		if len(r.Attributes) != 1 || !utf8.ValidString(r.Attributes[0].Value) {
			return dnRef{}, errDN
		}
		rdns = append(rdns, [2]string{strings.ToLower(r.Attributes[0].Type), r.Attributes[0].Value})
	}
	n := len(rdns)
	if n < 2 || rdns[n-1][0] != "dc" || !strings.EqualFold(rdns[n-1][1], rootDC) {
		return dnRef{}, errDN
	}
	if rdns[n-2][0] != "dc" || rdns[n-2][1] == "" {
		return dnRef{}, errDN
	}
	ref := dnRef{kind: dnTenant, tenant: strings.ToLower(rdns[n-2][1])}
	if n == 2 {
		return ref, nil
	}
	ou := rdns[n-3]
	if ou[0] != "ou" {
		return dnRef{}, errDN
	}
	var leafAttr string
	switch strings.ToLower(ou[1]) {
	case ouUsers:
		ref.kind, leafAttr = dnUsersOU, "uid"
	case ouGroups:
		ref.kind, leafAttr = dnGroupsOU, "cn"
	case ouServices:
		ref.kind, leafAttr = dnServicesOU, "cn"
	default:
		return dnRef{}, errDN
	}
	switch n {
	case 3:
		return ref, nil
	case 4:
		leaf := rdns[0]
		if leaf[0] != leafAttr || leaf[1] == "" {
			return dnRef{}, errDN
		}
		ref.value = leaf[1]
		ref.kind += dnUser - dnUsersOU // the leaf kind of the OU
		return ref, nil
	}
	return dnRef{}, errDN
}

func tenantDN(slug string) string { return "dc=" + goldap.EscapeDN(slug) + ",dc=" + rootDC }

func ouDN(slug, ou string) string { return "ou=" + ou + "," + tenantDN(slug) }

func userDN(slug, uid string) string {
	return "uid=" + goldap.EscapeDN(uid) + "," + ouDN(slug, ouUsers)
}

func groupDN(slug, name string) string {
	return "cn=" + goldap.EscapeDN(name) + "," + ouDN(slug, ouGroups)
}
