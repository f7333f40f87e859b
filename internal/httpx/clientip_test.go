package httpx

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestClientAddress(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("10.0.0.0/8")}
	cases := []struct {
		name, peer string
		headers    map[string][]string
		want       string
	}{
		{"untrusted peer: XFF ignored", "198.51.100.7:5000", map[string][]string{"X-Forwarded-For": {"1.2.3.4"}}, "198.51.100.7"},
		{"untrusted peer: Forwarded ignored", "198.51.100.7:5000", map[string][]string{"Forwarded": {"for=1.2.3.4"}}, "198.51.100.7"},
		{"trusted peer, no header", "127.0.0.1:5000", nil, "127.0.0.1"},
		{"trusted peer, XFF", "127.0.0.1:5000", map[string][]string{"X-Forwarded-For": {"203.0.113.9"}}, "203.0.113.9"},
		// The client prepends a forged address; the proxy appends the real one.
		{"spoofed left entries", "127.0.0.1:5000", map[string][]string{"X-Forwarded-For": {"1.1.1.1, 203.0.113.9"}}, "203.0.113.9"},
		{"chain of trusted proxies", "127.0.0.1:5000", map[string][]string{"X-Forwarded-For": {"1.1.1.1, 203.0.113.9, 10.1.2.3"}}, "203.0.113.9"},
		{"several XFF headers", "127.0.0.1:5000", map[string][]string{"X-Forwarded-For": {"1.1.1.1", "203.0.113.9"}}, "203.0.113.9"},
		{"garbage right-most stops at the proxy", "127.0.0.1:5000", map[string][]string{"X-Forwarded-For": {"1.1.1.1, nonsense"}}, "127.0.0.1"},
		{"Forwarded wins over XFF", "127.0.0.1:5000", map[string][]string{"Forwarded": {`for="[2001:db8::1]:443";proto=https`},
			"X-Forwarded-For": {"203.0.113.9"}}, "2001:db8::1"},
		{"Forwarded chain", "127.0.0.1:5000", map[string][]string{"Forwarded": {"for=1.1.1.1, for=203.0.113.10;by=10.0.0.1"}}, "203.0.113.10"},
		{"Forwarded obfuscated", "127.0.0.1:5000", map[string][]string{"Forwarded": {"for=1.1.1.1, for=_hidden"}}, "127.0.0.1"},
		{"only trusted in chain", "127.0.0.1:5000", map[string][]string{"X-Forwarded-For": {"10.0.0.5"}}, "10.0.0.5"},
		{"mapped v4 peer", "[::ffff:127.0.0.1]:5000", map[string][]string{"X-Forwarded-For": {"203.0.113.9"}}, "203.0.113.9"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = c.peer
			for k, vs := range c.headers {
				for _, v := range vs {
					r.Header.Add(k, v)
				}
			}
			if got := ClientAddress(r, trusted); got != c.want {
				t.Fatalf("ClientAddress = %q, want %q", got, c.want)
			}
			var seen string
			TrustedProxies(trusted, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen = ClientIP(r) })).
				ServeHTTP(httptest.NewRecorder(), r)
			if seen != c.want {
				t.Fatalf("ClientIP behind TrustedProxies = %q, want %q", seen, c.want)
			}
		})
	}
}

// Without trusted proxies no header is read, whatever the peer.
func TestClientIPIgnoresHeadersByDefault(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "127.0.0.1:1234"
	r.Header.Set("X-Forwarded-For", "203.0.113.9")
	r.Header.Set("Forwarded", "for=203.0.113.9")
	var seen string
	TrustedProxies(nil, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen = ClientIP(r) })).
		ServeHTTP(httptest.NewRecorder(), r)
	if seen != "127.0.0.1" {
		t.Fatalf("ClientIP = %q, want the peer", seen)
	}
}
