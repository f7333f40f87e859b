// Package domain is custom domains: a tenant registers a host name of its
// own, proves it controls it (an HTTP file Gatehouse serves itself, or a
// DNS TXT record), and from then on requests whose Host is that name are
// served as the tenant at the root (httpx.ResolveTenants). It keeps the
// uploaded certificates of GATEHOUSE_TLS=files and decides which names the
// ACME client may obtain certificates for. It knows nothing of HTTP
// routing; internal/api and the server serve it.
package domain

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/safehttp"
	"github.com/gatehouse-id/gatehouse/internal/seal"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// WellKnownPrefix is the path under which Gatehouse serves a pending
// domain's token, as an ACME HTTP-01 responder does.
const WellKnownPrefix = "/.well-known/gatehouse-domain/"

// TXTPrefix is prepended to the host for the DNS TXT record's name.
const TXTPrefix = "_gatehouse."

// hostTTL is how long ResolveHost trusts what it looked up: a deleted
// domain stops being served within this long on every node.
const hostTTL = 2 * time.Second

// hostCacheMax bounds the cache (unknown Hosts are cached too, so a flood
// of them costs one query each per TTL, and the map starts over past it).
const hostCacheMax = 10000

// Service manages custom domains.
type Service struct {
	Store  store.Store
	Audit  *events.Recorder
	Sealer *seal.Sealer
	Now    func() time.Time
	// PublicURL is the deployment's own base URL: its scheme is every
	// custom domain's scheme, its host can never be registered.
	PublicURL string
	// Resolve maps host names to the ip:port the verifier dials instead
	// of resolving them (GATEHOUSE_DEV_RESOLVE; development and tests).
	Resolve map[string]string
	// Policy is the verifier's dial policy (loopback only in development).
	Policy safehttp.Policy
	// LookupTXT answers a name's TXT records; nil uses the system resolver.
	LookupTXT func(ctx context.Context, name string) ([]string, error)

	mu    sync.Mutex
	hosts map[string]hostEntry
	certs certCache // files.go
	// hits and misses count ResolveHost's cache lookups.
	hits, misses atomic.Int64
}

// HostCacheStats answers ResolveHost's cache hits and misses so far.
func (s *Service) HostCacheStats() (hits, misses int64) { return s.hits.Load(), s.misses.Load() }

type hostEntry struct {
	site    *httpx.Site // nil: not a verified domain
	expires time.Time
}

// Verification is what the owner publishes to prove control of a host.
type Verification struct {
	DNSTXT struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	} `json:"dns_txt"`
	HTTP struct {
		URL   string `json:"url"`
		Token string `json:"token"`
	} `json:"http"`
}

// VerificationOf answers d's proofs.
func VerificationOf(d *store.CustomDomain) Verification {
	var v Verification
	v.DNSTXT.Name, v.DNSTXT.Value = TXTPrefix+d.Host, d.Token
	v.HTTP.URL, v.HTTP.Token = "http://"+d.Host+WellKnownPrefix+d.Token, d.Token
	return v
}

func (s *Service) now() time.Time { return s.Now().UTC().Truncate(time.Microsecond) }

func (s *Service) publicHost() string {
	u, err := url.Parse(s.PublicURL)
	if err != nil {
		return ""
	}
	return strings.ToLower(u.Hostname())
}

// NormalizeHost answers host lower case without a trailing dot, or an
// error when it is not a DNS name Gatehouse may serve: an IP address, a
// single label, a name that is not ASCII (give its punycode form), or the
// deployment's own host.
func (s *Service) NormalizeHost(host string) (string, error) {
	h := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(host)), ".")
	bad := func(msg string) (string, error) { return "", valid.Field("host", "invalid", msg) }
	if h == "" {
		return "", valid.Field("host", "required", "host is required.")
	}
	if len(h) > 253 {
		return bad("host is longer than 253 characters.")
	}
	if _, err := netip.ParseAddr(h); err == nil {
		return bad("host is a DNS name, not an IP address.")
	}
	labels := strings.Split(h, ".")
	if len(labels) < 2 {
		return bad("host needs at least two labels (login.example.com).")
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return bad("host is not a valid DNS name.")
		}
		for _, c := range l {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return bad("host is not a valid DNS name (use the punycode form of international names).")
			}
		}
	}
	if tld := labels[len(labels)-1]; strings.Trim(tld, "0123456789") == "" {
		return bad("host is not a valid DNS name.")
	}
	if h == s.publicHost() {
		return bad("host is the deployment's own host.")
	}
	return h, nil
}

// hostOf normalises a host taken from a URL path or a Host header:
// anything invalid names no domain.
func (s *Service) hostOf(host string) (string, error) {
	h, err := s.NormalizeHost(host)
	if err != nil {
		return "", store.ErrNotFound
	}
	return h, nil
}

func auditFields(d *store.CustomDomain) map[string]any {
	return map[string]any{"host": d.Host, "status": d.Status}
}

// Create registers host for tenant, pending verification.
// Errors: *valid.Error, *valid.Conflict (the host is registered already,
// by this tenant or another), store.ErrNotFound (no such tenant).
func (s *Service) Create(ctx context.Context, actor events.Actor, tenant store.TenantID, host string) (*store.CustomDomain, error) {
	h, err := s.NormalizeHost(host)
	if err != nil {
		return nil, err
	}
	tok := make([]byte, 32)
	if _, err := rand.Read(tok); err != nil {
		return nil, err
	}
	d := &store.CustomDomain{Host: h, Tenant: tenant, Status: store.DomainPending,
		Token: base64.RawURLEncoding.EncodeToString(tok), CreatedAt: s.now()}
	err = s.Store.InTx(ctx, func(tx store.Repos) error {
		if _, err := tx.Tenants().GetTenant(ctx, tenant); err != nil {
			return err
		}
		if err := tx.Domains().Create(ctx, d); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return &valid.Conflict{Field: "host", Cause: err}
			}
			return err
		}
		return s.Audit.Record(ctx, tx, actor, events.Entry{Tenant: tenant, Action: "custom_domain.create",
			TargetType: "custom_domain", TargetID: h, Changes: events.Diff(nil, auditFields(d))})
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// Get answers a tenant's domain; store.ErrNotFound when it has none such.
func (s *Service) Get(ctx context.Context, tenant store.TenantID, host string) (*store.CustomDomain, error) {
	h, err := s.hostOf(host)
	if err != nil {
		return nil, err
	}
	return s.Store.Domains().Get(ctx, tenant, h)
}

// List answers a tenant's domains.
func (s *Service) List(ctx context.Context, tenant store.TenantID) ([]store.CustomDomain, error) {
	return s.Store.Domains().List(ctx, tenant)
}

// Delete removes a tenant's domain: from then on (within hostTTL on
// every node) its Host is not served. Errors: store.ErrNotFound.
func (s *Service) Delete(ctx context.Context, actor events.Actor, tenant store.TenantID, host string) error {
	h, err := s.hostOf(host)
	if err != nil {
		return err
	}
	err = s.Store.InTx(ctx, func(tx store.Repos) error {
		d, err := tx.Domains().Get(ctx, tenant, h)
		if err != nil {
			return err
		}
		if err := tx.Domains().Delete(ctx, tenant, h); err != nil {
			return err
		}
		return s.Audit.Record(ctx, tx, actor, events.Entry{Tenant: tenant, Action: "custom_domain.delete",
			TargetType: "custom_domain", TargetID: h, Changes: events.Diff(auditFields(d), nil)})
	})
	if err == nil {
		s.forget(h)
	}
	return err
}

// Verify checks a pending domain's proofs, the HTTP file first, then the
// TXT record, and marks it verified when one holds its token. A verified
// domain answers as it is. Errors: store.ErrNotFound, *valid.Error
// (code "unverified", saying what failed, never the fetched content).
func (s *Service) Verify(ctx context.Context, actor events.Actor, tenant store.TenantID, host string) (*store.CustomDomain, error) {
	d, err := s.Get(ctx, tenant, host)
	if err != nil || d.Status == store.DomainVerified {
		return d, err
	}
	method := "http"
	if httpErr := s.checkHTTP(ctx, d); httpErr != nil {
		if dnsErr := s.checkTXT(ctx, d); dnsErr != nil {
			return nil, valid.Field("host", "unverified", fmt.Sprintf(
				"neither proof holds the token: http: %v; dns_txt: %v.", httpErr, dnsErr))
		}
		method = "dns_txt"
	}
	var out *store.CustomDomain
	err = s.Store.InTx(ctx, func(tx store.Repos) error {
		var before map[string]any
		out, err = tx.Domains().Update(ctx, tenant, d.Host, func(n *store.CustomDomain) error {
			before = auditFields(n)
			if n.Token != d.Token { // re-registered meanwhile: prove again
				return valid.Field("host", "unverified", "the domain changed while it was checked; verify again.")
			}
			n.Status, n.VerifiedAt = store.DomainVerified, s.now()
			return nil
		})
		if err != nil {
			return err
		}
		after := auditFields(out)
		after["method"] = method
		return s.Audit.Record(ctx, tx, actor, events.Entry{Tenant: tenant, Action: "custom_domain.verify",
			TargetType: "custom_domain", TargetID: d.Host, Changes: events.Diff(before, after)})
	})
	if err != nil {
		return nil, err
	}
	s.forget(d.Host)
	return out, nil
}

// checkHTTP fetches the domain's well-known URL (no redirects, through
// the safe dialer) and compares the body with the token.
func (s *Service) checkHTTP(ctx context.Context, d *store.CustomDomain) error {
	tr := s.Policy.Transport()
	dial := tr.DialContext
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if h, _, err := net.SplitHostPort(addr); err == nil {
			if to, ok := s.Resolve[h]; ok {
				addr = to
			}
		}
		return dial(ctx, network, addr)
	}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, VerificationOf(d).HTTP.URL, nil)
	if err != nil {
		return errors.New("bad URL")
	}
	res, err := c.Do(req)
	if err != nil {
		if errors.Is(err, safehttp.ErrRefused) {
			return errors.New("the host resolves to an address Gatehouse does not dial")
		}
		return errors.New("the URL could not be fetched")
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("the URL answered %d", res.StatusCode)
	}
	body, _ := io.ReadAll(io.LimitReader(res.Body, 256))
	if subtle.ConstantTimeCompare([]byte(strings.TrimSpace(string(body))), []byte(d.Token)) != 1 {
		return errors.New("the URL does not answer the token")
	}
	return nil
}

// checkTXT looks up _gatehouse.<host> and looks for the token.
func (s *Service) checkTXT(ctx context.Context, d *store.CustomDomain) error {
	look := s.LookupTXT
	if look == nil {
		look = net.DefaultResolver.LookupTXT
	}
	lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	recs, err := look(lctx, TXTPrefix+d.Host)
	if err != nil {
		return errors.New("no TXT record found")
	}
	for _, r := range recs {
		if subtle.ConstantTimeCompare([]byte(strings.TrimSpace(r)), []byte(d.Token)) == 1 {
			return nil
		}
	}
	return errors.New("no TXT record holds the token")
}

// PendingToken answers whether token is the pending domain host's token,
// for the well-known responder (false also on any storage error).
func (s *Service) PendingToken(ctx context.Context, host, token string) bool {
	h, err := s.hostOf(host)
	if err != nil {
		return false
	}
	d, err := s.Store.Domains().ByHost(ctx, h)
	return err == nil && d.Status == store.DomainPending &&
		subtle.ConstantTimeCompare([]byte(d.Token), []byte(token)) == 1
}

// ResolveHost answers the verified domain host names, with its tenant,
// for httpx.ResolveTenants; store.ErrNotFound for any other host (the
// public host, a pending or unknown domain, a deleted tenant's).
func (s *Service) ResolveHost(ctx context.Context, host string) (*httpx.Site, error) {
	if host == "" || host == s.publicHost() {
		return nil, store.ErrNotFound
	}
	now := s.Now()
	s.mu.Lock()
	e, ok := s.hosts[host]
	s.mu.Unlock()
	if ok && now.Before(e.expires) {
		s.hits.Add(1)
		if e.site == nil {
			return nil, store.ErrNotFound
		}
		return e.site, nil
	}
	s.misses.Add(1)
	site, err := s.lookupSite(ctx, host)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err // a storage failure is not cached
	}
	s.mu.Lock()
	if s.hosts == nil || len(s.hosts) >= hostCacheMax {
		s.hosts = map[string]hostEntry{}
	}
	s.hosts[host] = hostEntry{site: site, expires: now.Add(hostTTL)}
	s.mu.Unlock()
	if site == nil {
		return nil, store.ErrNotFound
	}
	return site, nil
}

func (s *Service) lookupSite(ctx context.Context, host string) (*httpx.Site, error) {
	h, err := s.hostOf(host)
	if err != nil {
		return nil, err
	}
	d, err := s.Store.Domains().ByHost(ctx, h)
	if err != nil {
		return nil, err
	}
	if d.Status != store.DomainVerified {
		return nil, store.ErrNotFound
	}
	t, err := s.Store.Tenants().GetTenant(ctx, d.Tenant)
	if err != nil {
		return nil, err
	}
	if t.Status == store.TenantDeleted {
		return nil, store.ErrNotFound
	}
	scheme := "https"
	if u, err := url.Parse(s.PublicURL); err == nil && u.Scheme != "" {
		scheme = u.Scheme
	}
	return &httpx.Site{Tenant: t, Host: d.Host, Origin: scheme + "://" + d.Host, PublicURL: s.PublicURL}, nil
}

// forget drops host from this node's caches (other nodes see the change
// within hostTTL).
func (s *Service) forget(host string) {
	s.mu.Lock()
	delete(s.hosts, host)
	s.mu.Unlock()
	s.certs.forget(host)
}

// ParseResolve parses GATEHOUSE_DEV_RESOLVE: "host=ip:port;..." with
// loopback addresses only.
func ParseResolve(spec string) (map[string]string, error) {
	out := map[string]string{}
	for _, part := range strings.Split(spec, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		h, to, ok := strings.Cut(part, "=")
		ap, err := netip.ParseAddrPort(strings.TrimSpace(to))
		if !ok || err != nil || !ap.Addr().IsLoopback() || strings.TrimSpace(h) == "" {
			return nil, fmt.Errorf("%q is not host=ip:port with a loopback ip", part)
		}
		out[strings.ToLower(strings.TrimSpace(h))] = ap.String()
	}
	return out, nil
}
