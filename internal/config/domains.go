package config

import (
	"net/netip"
	"net/url"
	"strings"
)

// DomainsConfig is custom domains, TLS termination and tracing.
type DomainsConfig struct {
	// ACMECA is the ACME directory URL; ACMEEmail the account's contact
	// (GATEHOUSE_TLS=acme; the mode itself is Config.TLS.Mode, tls.go).
	ACMECA    string
	ACMEEmail string
	// DevResolve maps host names to loopback ip:port for the domain
	// verifier ("host=ip:port;..."), only with an http loopback public URL.
	DevResolve string
	// OTelEndpoint is the OTLP/HTTP collector traces are sent to; empty
	// sends none.
	OTelEndpoint string
}

// domainSettings are the settings of DomainsConfig.
var domainSettings = []setting{
	{key: "tls.acme_ca", env: "GATEHOUSE_TLS_ACME_CA", flag: "tls-acme-ca",
		usage: "ACME directory URL for GATEHOUSE_TLS=acme", def: "Let's Encrypt",
		field: func(c *Config) any { return &c.Domains.ACMECA }, check: checkOptionalHTTPSURL},
	{key: "tls.acme_email", env: "GATEHOUSE_TLS_ACME_EMAIL", flag: "tls-acme-email",
		usage: "contact address of the ACME account", def: "none",
		field: func(c *Config) any { return &c.Domains.ACMEEmail }, check: checkAny},
	{key: "dev_resolve", env: "GATEHOUSE_DEV_RESOLVE", flag: "dev-resolve",
		usage: "development only: host=ip:port;... tells the domain verifier where names point (loopback; refused unless the public URL is http on loopback)",
		def:   "none",
		field: func(c *Config) any { return &c.Domains.DevResolve }, check: checkDevResolve},
	{key: "otel.endpoint", env: "GATEHOUSE_OTEL_ENDPOINT", flag: "otel-endpoint",
		usage: "OTLP/HTTP endpoint (http(s)://host:port) traces are exported to", def: "no export",
		field: func(c *Config) any { return &c.Domains.OTelEndpoint }, check: checkOptionalURL},
}

func init() { settings = append(settings, domainSettings...) }

func checkOptionalHTTPSURL(s string) (string, string) {
	if s == "" {
		return "", ""
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", "is not an http(s) URL"
	}
	return s, ""
}

func checkOptionalURL(s string) (string, string) { return checkOptionalHTTPSURL(s) }

func checkDevResolve(s string) (string, string) {
	for _, part := range strings.Split(s, ";") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		h, to, ok := strings.Cut(part, "=")
		ap, err := netip.ParseAddrPort(strings.TrimSpace(to))
		if !ok || strings.TrimSpace(h) == "" || err != nil || !ap.Addr().IsLoopback() {
			return "", "is not host=ip:port;... with loopback addresses"
		}
	}
	return s, ""
}

// DevResolveAllowed reports whether GATEHOUSE_DEV_RESOLVE may be used: the
// public URL is http:// on a loopback address or localhost.
func (c Config) DevResolveAllowed() bool {
	u, err := url.Parse(c.PublicURL)
	if err != nil || u.Scheme != "http" {
		return false
	}
	if u.Hostname() == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(u.Hostname())
	return err == nil && a.IsLoopback()
}
