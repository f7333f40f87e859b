package proxyapp

import (
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

var domains = []string{"wiki.acme.test", "xn--wki-cmc.acme.test"}

// TestReturnURLRefusesHostile: the URL a browser is sent back to after
// signing in is an absolute http(s) URL on one of the application's
// domains, and nothing that a browser or a proxy could read as another
// host.
func TestReturnURLRefusesHostile(t *testing.T) {
	hostile := []string{
		"https://evil.test/",                                   // another host
		"https://wiki.acme.test.evil.test/",                    // suffix
		"https://evilwiki.acme.test/",                          // prefix
		"https://acme.test/",                                   // parent domain
		"https://sub.wiki.acme.test/",                          // subdomain
		"https://wiki.acme.test@evil.test/",                    // userinfo: the host is evil.test
		"https://user:pw@wiki.acme.test/",                      // userinfo on our host
		`https://evil.test\@wiki.acme.test/`,                   // backslash
		`https:\\evil.test/`,                                   // backslashes as slashes
		`/\evil.test/`,                                         // backslash, relative
		"//evil.test/",                                         // scheme-relative
		"//wiki.acme.test/",                                    // scheme-relative, even our host
		"/path",                                                // relative
		"javascript:alert(1)",                                  // script
		"JavaScript://wiki.acme.test/%0aalert(1)",              // script with our host
		"data:text/html,<script>alert(1)</script>",             // data
		"ftp://wiki.acme.test/",                                // another scheme
		"https://evil%2etest/",                                 // encoded dot
		"https://wiki.acme.test%2f@evil.test/",                 // encoded slash before userinfo
		"https://%77iki.acme.test/",                            // encoded host
		"https://wiki.acme.test:443@evil.test/",                // port trick via userinfo
		"https://wiki.acme.test:99999/",                        // port out of range
		"https://wiki.acme.test:0443/",                         // leading-zero port
		"https://wiki.acme.test:80x/",                          // port with letters
		"https://wіki.acme.test/",                              // IDN look-alike (Cyrillic і)
		"https://xn--wki-cmc.acme.test.evil.test/",             // punycode suffix
		"https://wiki.acme.test/\r\nSet-Cookie: x=1",           // CRLF
		"https://wiki.acme.test/%0d%0a x",                      // raw space after encoded CRLF
		"https://wiki.acme.test\t/",                            // tab
		"https://[::1]/",                                       // IP literal
		"https://127.0.0.1/",                                   // IP
		"https:///wiki.acme.test/",                             // empty host
		"https://wiki.acme.test./",                             // trailing dot
		"",                                                     // empty
		"https://wiki.acme.test/" + string(make([]byte, 3000)), // too long
	}
	for _, raw := range hostile {
		if got, ok := ReturnURL(domains, raw); ok {
			t.Errorf("ReturnURL(%q) = %q, accepted; want refused", raw, got)
		}
	}
	fine := map[string]string{
		"https://wiki.acme.test/":                    "https://wiki.acme.test/",
		"http://wiki.acme.test:8080/doc?a=1&b=%20#x": "http://wiki.acme.test:8080/doc?a=1&b=%20#x",
		"https://WIKI.acme.test/Page":                "https://WIKI.acme.test/Page",
		"https://xn--wki-cmc.acme.test/":             "https://xn--wki-cmc.acme.test/",
		"https://wiki.acme.test":                     "https://wiki.acme.test",
	}
	for raw, want := range fine {
		if got, ok := ReturnURL(domains, raw); !ok || got != want {
			t.Errorf("ReturnURL(%q) = %q, %v; want %q", raw, got, ok, want)
		}
	}
}

func TestHostOnly(t *testing.T) {
	for in, want := range map[string]string{
		"wiki.acme.test": "wiki.acme.test", "Wiki.Acme.Test:8443": "wiki.acme.test", "localhost:80": "localhost",
		"wiki.acme.test:": "wiki.acme.test", "[::1]:80": "", "127.0.0.1:80": "", "wiki.acme.test:8o": "",
		"evil.test\\@wiki.acme.test": "", "": "", "wiki": "",
	} {
		if got := HostOnly(in); got != want {
			t.Errorf("HostOnly(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestCheckRegistration: every rule of a registration, reported together.
func TestCheckRegistration(t *testing.T) {
	ok := store.ProxyApp{Name: "Wiki", Domains: []string{"wiki.acme.test"}, SessionLifetime: 8 * time.Hour}
	for name, tc := range map[string]struct {
		change func(a *store.ProxyApp)
		field  string
	}{
		"no name":        {func(a *store.ProxyApp) { a.Name = " " }, "name"},
		"no domain":      {func(a *store.ProxyApp) { a.Domains = nil }, "domains"},
		"scheme":         {func(a *store.ProxyApp) { a.Domains = []string{"https://wiki.acme.test"} }, "domains"},
		"port":           {func(a *store.ProxyApp) { a.Domains = []string{"wiki.acme.test:443"} }, "domains"},
		"wildcard":       {func(a *store.ProxyApp) { a.Domains = []string{"*.acme.test"} }, "domains"},
		"unicode":        {func(a *store.ProxyApp) { a.Domains = []string{"wіki.acme.test"} }, "domains"},
		"ip":             {func(a *store.ProxyApp) { a.Domains = []string{"10.0.0.1"} }, "domains"},
		"empty group":    {func(a *store.ProxyApp) { a.AllowedGroups = []string{""} }, "allowed_groups"},
		"unknown header": {func(a *store.ProxyApp) { a.Headers = map[string]string{"password": "X-Pw"} }, "headers"},
		"bad header":     {func(a *store.ProxyApp) { a.Headers = map[string]string{"user": "X User\r\n"} }, "headers"},
		"short life":     {func(a *store.ProxyApp) { a.SessionLifetime = time.Minute }, "session_lifetime"},
		"long life":      {func(a *store.ProxyApp) { a.SessionLifetime = 1000 * time.Hour }, "session_lifetime"},
		"mfa":            {func(a *store.ProxyApp) { a.MFA = "sometimes" }, "mfa"},
	} {
		a := ok
		tc.change(&a)
		normalise(&a)
		var c valid.Collector
		check(&c, &a)
		err := c.Err()
		ve, isValid := err.(*valid.Error)
		if !isValid || len(ve.Fields) == 0 || ve.Fields[0].Field != tc.field {
			t.Errorf("%s: %v, want an error on %s", name, err, tc.field)
		}
	}
	a := ok
	normalise(&a)
	var c valid.Collector
	check(&c, &a)
	if err := c.Err(); err != nil {
		t.Errorf("a good registration: %v", err)
	}
}
