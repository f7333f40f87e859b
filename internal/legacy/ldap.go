package legacy

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/gatehouse-id/gatehouse/internal/connection"
	"github.com/gatehouse-id/gatehouse/internal/safehttp"
)

// ldapBackend is a legacy_ldap directory: search with the service account
// (or anonymously), then bind as the entry found with the password given.
type ldapBackend struct {
	st            connection.Settings
	password      string
	allowLoopback bool
}

// maxEntries bounds a sync's search.
const maxEntries = 1_000_000

// dial opens a connection, upgraded by StartTLS when asked, and binds the
// service account; ctx's end closes it. The dialer refuses the addresses
// every outbound fetch refuses (internal/safehttp).
func (b *ldapBackend) dial(ctx context.Context) (*ldap.Conn, error) {
	u, err := url.Parse(b.st.URL)
	if err != nil {
		return nil, err
	}
	d := safehttp.Policy{AllowLoopback: b.allowLoopback}.Dialer()
	if dl, ok := ctx.Deadline(); ok {
		d.Deadline = dl
	}
	tc := &tls.Config{ServerName: u.Hostname(), MinVersion: tls.VersionTLS12}
	conn, err := ldap.DialURL(b.st.URL, ldap.DialWithDialer(d), ldap.DialWithTLSConfig(tc))
	if err != nil {
		return nil, fmt.Errorf("dial: %w", err)
	}
	context.AfterFunc(ctx, func() { conn.Close() })
	if dl, ok := ctx.Deadline(); ok {
		conn.SetTimeout(time.Until(dl))
	}
	if b.st.StartTLS {
		if err := conn.StartTLS(tc); err != nil {
			conn.Close()
			return nil, fmt.Errorf("starttls: %w", err)
		}
	}
	if b.st.BindDN != "" {
		if err := conn.Bind(b.st.BindDN, b.password); err != nil {
			conn.Close()
			return nil, fmt.Errorf("service bind: %w", err)
		}
	}
	return conn, nil
}

// attrs are the attributes a profile is read from.
func (b *ldapBackend) attrs() []string {
	out := []string{"dn"}
	for _, v := range b.st.Mapping {
		out = append(out, v)
	}
	return out
}

func (b *ldapBackend) filter(identifier string) string {
	v := "*"
	if identifier != "" {
		v = ldap.EscapeFilter(identifier)
	}
	return strings.ReplaceAll(b.st.UserFilter, "{username}", v)
}

// Check implements backend.
func (b *ldapBackend) Check(ctx context.Context, identifier, password string) (*Profile, error) {
	if identifier == "" || password == "" {
		// An empty password would be an unauthenticated bind, which a
		// directory accepts for any DN.
		return nil, errWrongPassword
	}
	conn, err := b.dial(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	res, err := conn.Search(ldap.NewSearchRequest(b.st.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
		2, 10, false, b.filter(identifier), b.attrs(), nil))
	if ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) {
		return nil, errors.New("the user filter matches more than one entry")
	}
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	switch len(res.Entries) {
	case 0:
		return nil, errNoAccount
	case 1:
	default:
		return nil, errors.New("the user filter matches more than one entry")
	}
	e := res.Entries[0]
	if err := conn.Bind(e.DN, password); err != nil {
		if ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
			return nil, errWrongPassword
		}
		return nil, fmt.Errorf("user bind: %w", err)
	}
	return b.profile(e), nil
}

// profile reads an entry through the mapping; the subject is the DN
// unless mapped to an attribute.
func (b *ldapBackend) profile(e *ldap.Entry) *Profile {
	get := func(k string) string {
		if a := b.st.Mapping[k]; a != "" {
			return strings.TrimSpace(e.GetAttributeValue(a))
		}
		return ""
	}
	p := &Profile{Subject: e.DN, Username: get("username"), Email: get("email"),
		GivenName: get("given_name"), FamilyName: get("family_name")}
	if s := get("subject"); s != "" {
		p.Subject = s
	}
	// A directory's addresses are the organisation's own word.
	p.EmailVerified = p.Email != ""
	if v := get("email_verified"); v != "" {
		p.EmailVerified = strings.EqualFold(v, "true")
	}
	return p
}

// entry is one account a sync found, with its profile.
type entry struct {
	dn      string
	profile *Profile
}

// users answers every account the user filter finds (modified at or after
// since, when the directory keeps modifyTimestamp and since is not zero).
func (b *ldapBackend) users(ctx context.Context, conn *ldap.Conn, since time.Time) ([]entry, error) {
	filter := b.filter("")
	if !since.IsZero() {
		filter = "(&" + filter + "(modifyTimestamp>=" + since.UTC().Format("20060102150405Z") + "))"
	}
	res, err := conn.SearchWithPaging(ldap.NewSearchRequest(b.st.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
		maxEntries, 0, false, filter, b.attrs(), nil), 500)
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	out := make([]entry, 0, len(res.Entries))
	for _, e := range res.Entries {
		out = append(out, entry{dn: e.DN, profile: b.profile(e)})
	}
	return out, nil
}

// groups answers the groups under GroupBaseDN by name (cn), each with its
// members' DNs (member or uniqueMember), normalised.
func (b *ldapBackend) groups(ctx context.Context, conn *ldap.Conn) (map[string][]string, error) {
	if b.st.GroupBaseDN == "" {
		return nil, nil
	}
	res, err := conn.SearchWithPaging(ldap.NewSearchRequest(b.st.GroupBaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
		maxEntries, 0, false, "(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames))",
		[]string{"cn", "member", "uniqueMember"}, nil), 500)
	if err != nil {
		return nil, fmt.Errorf("group search: %w", err)
	}
	out := map[string][]string{}
	for _, e := range res.Entries {
		name := e.GetAttributeValue("cn")
		if name == "" {
			continue
		}
		var members []string
		for _, m := range append(e.GetAttributeValues("member"), e.GetAttributeValues("uniqueMember")...) {
			members = append(members, normDN(m))
		}
		out[name] = members
	}
	return out, nil
}

// normDN is a DN in a form two spellings of it share (case and spaces
// around separators), for matching members to entries.
func normDN(dn string) string {
	if p, err := ldap.ParseDN(dn); err == nil {
		parts := make([]string, 0, len(p.RDNs))
		for _, r := range p.RDNs {
			var as []string
			for _, a := range r.Attributes {
				as = append(as, strings.ToLower(a.Type)+"="+strings.ToLower(a.Value))
			}
			parts = append(parts, strings.Join(as, "+"))
		}
		return strings.Join(parts, ",")
	}
	return strings.ToLower(dn)
}
