package connection

import (
	"context"
	"errors"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// DefaultSyncInterval is how often a federating connection syncs when it
// does not say.
const DefaultSyncInterval = 15 * time.Minute

// MigrateDeadline answers the end of the migration window (zero: none).
// An unparseable value (validation refuses it) closes the window.
func (l Legacy) MigrateDeadline() (time.Time, bool) {
	if l.MigrateUntil == "" {
		return time.Time{}, true
	}
	if t, err := time.Parse(time.RFC3339, l.MigrateUntil); err == nil {
		return t, true
	}
	if t, err := time.Parse(time.DateOnly, l.MigrateUntil); err == nil {
		return t, true
	}
	return time.Time{}, false
}

// Open reports whether the legacy store may still be asked at now: always
// when federating, until MigrateUntil when migrating.
func (l Legacy) Open(now time.Time) bool {
	if l.Mode == ModeFederate {
		return true
	}
	until, ok := l.MigrateDeadline()
	return ok && (until.IsZero() || now.Before(until))
}

// Interval answers the sync interval (DefaultSyncInterval when unset or
// invalid).
func (l Legacy) Interval() time.Duration {
	d, err := time.ParseDuration(l.SyncInterval)
	if err != nil || d < time.Minute {
		return DefaultSyncInterval
	}
	return d
}

// checkLegacy validates a legacy store's settings.
func (p URLPolicy) checkLegacy(c *valid.Collector, typ string, s Settings, hasSecret bool) {
	if s.Mode != ModeMigrate && s.Mode != ModeFederate {
		c.Add("mode", "invalid", "Use migrate or federate.")
	}
	if _, ok := s.MigrateDeadline(); !ok {
		c.Add("migrate_until", "invalid", "Use a date (YYYY-MM-DD, UTC) or an RFC 3339 time.")
	}
	checkMapping(c, s.Mapping, legacyMap, "A mapping value is an attribute or field name.")
	if s.SyncInterval != "" {
		if d, err := time.ParseDuration(s.SyncInterval); err != nil || d < time.Minute || d > 7*24*time.Hour {
			c.Add("sync_interval", "invalid", "Use a duration from 1m to 168h, such as 15m.")
		}
	}
	if typ == TypeLegacyHTTP {
		if s.Endpoint == "" {
			c.Add("endpoint", "required", "A legacy_http connection needs the endpoint that checks passwords.")
		} else if msg := p.Check(s.Endpoint); msg != "" {
			c.Add("endpoint", "invalid", msg)
		}
		if !hasSecret {
			c.Add("client_secret", "required", "Give the shared secret that signs the requests (HMAC-SHA256).")
		}
		if s.Mode == ModeFederate {
			c.Add("mode", "invalid", "Federation needs a directory to sync: use legacy_ldap.")
		}
		return
	}
	p.checkLDAP(c, s, hasSecret)
}

func (p URLPolicy) checkLDAP(c *valid.Collector, s Settings, hasSecret bool) {
	u, err := url.Parse(s.URL)
	switch {
	case s.URL == "":
		c.Add("url", "required", "A legacy_ldap connection needs the directory's url (ldaps://host or ldap://host with start_tls).")
	case err != nil || u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || len(s.URL) > 2048:
		c.Add("url", "invalid", "Use ldaps://host[:port] or ldap://host[:port].")
	case u.Scheme == "ldaps":
		if s.StartTLS {
			c.Add("start_tls", "invalid", "start_tls is for ldap:// URLs; ldaps:// is TLS already.")
		}
	case u.Scheme == "ldap":
		// Passwords cross this connection: in clear only to this host, on
		// a development deployment.
		if !s.StartTLS && !(p.AllowLoopbackHTTP && IsLoopback(u.Hostname())) {
			c.Add("start_tls", "required", "Passwords would cross the network in clear: use ldaps:// or start_tls.")
		}
	default:
		c.Add("url", "invalid", "Use ldaps://host[:port] or ldap://host[:port].")
	}
	if u != nil && u.Port() != "" {
		if _, err := net.LookupPort("tcp", u.Port()); err != nil {
			c.Add("url", "invalid", "The port is not a number.")
		}
	}
	dn := func(field, v string, required bool) {
		if v == "" {
			if required {
				c.Add(field, "required", "A legacy_ldap connection needs "+field+".")
			}
			return
		}
		if len(v) > 1024 || !strings.Contains(v, "=") || strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 }) {
			c.Add(field, "invalid", "Give a distinguished name such as dc=example,dc=com.")
		}
	}
	dn("base_dn", s.BaseDN, true)
	dn("bind_dn", s.BindDN, false)
	dn("group_base_dn", s.GroupBaseDN, false)
	if s.BindDN != "" && !hasSecret {
		c.Add("client_secret", "required", "Give the password of bind_dn as client_secret.")
	}
	if !filterShape(s.UserFilter) {
		c.Add("user_filter", "invalid", "Give an LDAP filter in parentheses, with {username} where the login identifier goes.")
	}
}

// filterShape checks what can be checked of an LDAP filter here: it is in
// balanced parentheses, bounded, and names {username}. The directory
// client compiles it.
func filterShape(f string) bool {
	if len(f) > 1024 || !strings.HasPrefix(f, "(") || !strings.HasSuffix(f, ")") || !strings.Contains(f, "{username}") {
		return false
	}
	depth := 0
	for _, r := range f {
		switch {
		case r == '(':
			depth++
		case r == ')':
			depth--
			if depth < 0 {
				return false
			}
		case r < 0x20:
			return false
		}
	}
	return depth == 0
}

// DirectoryOwned reports whether userID's account belongs to a federating
// directory: it is linked through an enabled legacy_ldap connection in
// federate mode. The directory owns such an account's password, address
// and names, so the account pages do not change them.
func DirectoryOwned(ctx context.Context, st store.Store, tenant store.TenantID, userID string) (bool, error) {
	ids, err := st.Connections().Identities().ListUserIdentities(ctx, tenant, userID)
	if err != nil {
		return false, err
	}
	for _, i := range ids {
		c, err := st.Connections().Connections().GetConnection(ctx, tenant, i.ConnectionID)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return false, err
		}
		if !c.Enabled || c.Type != TypeLegacyLDAP {
			continue
		}
		if s, err := SettingsOf(c); err == nil && s.Mode == ModeFederate {
			return true, nil
		}
	}
	return false, nil
}
