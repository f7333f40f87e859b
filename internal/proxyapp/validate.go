package proxyapp

import (
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// Bounds of a registration.
const (
	DefaultLifetime = 8 * time.Hour
	minLifetime     = 5 * time.Minute
	maxLifetime     = 30 * 24 * time.Hour
	maxDomains      = 20
	maxNames        = 50
	maxURL          = 2048
)

// Header keys an application may rename ("user" -> "Remote-User"), and
// "jwt", which names the header of a signed identity token (none without).
var headerKeys = []string{"user", "email", "groups", "roles", "preferred_username", "jwt"}

// DefaultHeaders are the identity headers' names when not renamed.
var DefaultHeaders = map[string]string{
	"user":               "X-Auth-Request-User",
	"email":              "X-Auth-Request-Email",
	"groups":             "X-Auth-Request-Groups",
	"roles":              "X-Auth-Request-Roles",
	"preferred_username": "X-Auth-Request-Preferred-Username",
}

// hostLabel is one DNS label of an ASCII host name; IDNs are registered
// in their punycode (xn--) form, so look-alike Unicode never matches.
var hostLabel = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

var headerName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]{0,63}$`)

// validDomain: a lower-case ASCII host name of at least two labels, or
// "localhost"; no port, no IP literal, no wildcard.
func validDomain(d string) bool {
	if d == "localhost" {
		return true
	}
	if len(d) > 253 || net.ParseIP(d) != nil {
		return false
	}
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if !hostLabel.MatchString(l) {
			return false
		}
	}
	return true
}

// normalise lower-cases domains and drops duplicates and blanks.
func normalise(a *store.ProxyApp) {
	a.Name = strings.TrimSpace(a.Name)
	var ds []string
	for _, d := range a.Domains {
		d = strings.ToLower(strings.TrimSpace(d))
		if d != "" && !slices.Contains(ds, d) {
			ds = append(ds, d)
		}
	}
	a.Domains = ds
	if a.SessionLifetime == 0 {
		a.SessionLifetime = DefaultLifetime
	}
}

func check(c *valid.Collector, a *store.ProxyApp) {
	if a.Name == "" || len(a.Name) > 200 {
		c.Add("name", "required", "name is required (at most 200 characters).")
	}
	switch {
	case len(a.Domains) == 0:
		c.Add("domains", "required", "domains lists the host names the application answers on.")
	case len(a.Domains) > maxDomains:
		c.Add("domains", "too_many", "at most 20 domains.")
	}
	for _, d := range a.Domains {
		if !validDomain(d) {
			c.Add("domains", "invalid", "a domain is a host name without scheme, port or wildcard (IDNs in xn-- form).")
			break
		}
	}
	for _, l := range []struct {
		field string
		names []string
	}{{"allowed_groups", a.AllowedGroups}, {"allowed_roles", a.AllowedRoles}} {
		if len(l.names) > maxNames {
			c.Add(l.field, "too_many", l.field+" takes at most 50 names.")
		}
		for _, n := range l.names {
			if n == "" || len(n) > 256 {
				c.Add(l.field, "invalid", l.field+" takes names of 1 to 256 characters.")
				break
			}
		}
	}
	for k, v := range a.Headers {
		if !slices.Contains(headerKeys, k) {
			c.Add("headers", "unknown", "headers renames user, email, groups, roles or preferred_username, or names jwt's header.")
			break
		}
		if !headerName.MatchString(v) {
			c.Add("headers", "invalid", "a header name is letters, digits and dashes.")
			break
		}
	}
	if a.SessionLifetime < minLifetime || a.SessionLifetime > maxLifetime {
		c.Add("session_lifetime", "out_of_range", "session_lifetime is between 5m and 720h.")
	}
	if a.MFA != "" && a.MFA != MFARequired {
		c.Add("mfa", "invalid", `mfa is "required" or "" (the tenant's policy).`)
	}
}

// MFARequired is the mfa setting that asks for a second factor whatever
// the tenant's policy says.
const MFARequired = "required"

// HostOnly is the host of a Host-style value ("wiki.acme.test:8443"),
// lower case, without port; "" when it is not a plain host name.
func HostOnly(hostport string) string {
	h := strings.ToLower(hostport)
	if i := strings.LastIndexByte(h, ':'); i >= 0 && !strings.Contains(h[i:], "]") {
		port := h[i+1:]
		for _, r := range port {
			if r < '0' || r > '9' {
				return ""
			}
		}
		h = h[:i]
	}
	if !validDomain(h) {
		return ""
	}
	return h
}

// ReturnURL parses raw as the absolute http(s) URL a browser may be sent
// back to after signing in to an application: its host must be one of
// domains exactly (the port is free, as the proxy may listen on any),
// with no user information, no control characters or backslashes and no
// encoded host tricks. It answers the URL re-serialised, or false.
func ReturnURL(domains []string, raw string) (string, bool) {
	if raw == "" || len(raw) > maxURL {
		return "", false
	}
	for _, r := range raw {
		if r < 0x21 || r == 0x7f || r == '\\' || r > 0x7e {
			return "", false
		}
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Opaque != "" || u.User != nil ||
		u.Host == "" || strings.Contains(u.Host, "%") {
		return "", false
	}
	host := HostOnly(u.Host)
	if host == "" || !slices.Contains(domains, host) || !strings.EqualFold(u.Hostname(), host) {
		return "", false
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || p[0] == '0' || n < 1 || n > 65535 {
			return "", false
		}
	}
	return u.String(), true
}
