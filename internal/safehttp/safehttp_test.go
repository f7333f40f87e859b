package safehttp

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"
)

// TestDialRefusesInternalAddresses: the Control function refuses before
// any packet leaves, so no real target is needed.
func TestDialRefusesInternalAddresses(t *testing.T) {
	d := Policy{}.Dialer()
	for _, addr := range []string{"10.0.0.1:80", "169.254.169.254:80", "[::1]:80", "127.0.0.1:80",
		"192.168.1.1:443", "172.16.0.1:443", "100.64.0.1:443", "[fc00::1]:443", "[fe80::1]:443",
		"0.0.0.0:80", "[::]:80", "224.0.0.1:80", "[::ffff:10.0.0.1]:80"} {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		c, err := d.DialContext(ctx, "tcp", addr)
		cancel()
		if c != nil {
			c.Close()
		}
		if !errors.Is(err, ErrRefused) {
			t.Errorf("dial %s: err = %v, want ErrRefused", addr, err)
		}
	}
}

func TestAllowed(t *testing.T) {
	for addr, want := range map[string][2]bool{ // {strict, loopback allowed}
		"127.0.0.1":        {false, true},
		"::1":              {false, true},
		"::ffff:127.0.0.1": {false, true},
		"10.1.2.3":         {false, false},
		"169.254.169.254":  {false, false},
		"100.127.255.255":  {false, false},
		"100.128.0.0":      {true, true},
		"fd12::1":          {false, false},
		"255.255.255.255":  {false, false},
		"93.184.216.34":    {true, true},
		"2606:4700::1111":  {true, true},
	} {
		ip := netip.MustParseAddr(addr)
		if got := (Policy{}).Allowed(ip); got != want[0] {
			t.Errorf("strict Allowed(%s) = %v", addr, got)
		}
		if got := (Policy{AllowLoopback: true}).Allowed(ip); got != want[1] {
			t.Errorf("loopback Allowed(%s) = %v", addr, got)
		}
	}
}

// TestClientLoopbackSwitch: a real loopback server is reachable only with
// AllowLoopback, also when named through DNS ("localhost").
func TestClientLoopbackSwitch(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") }))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	for _, u := range []string{srv.URL, "http://localhost:" + port} {
		res, err := Policy{}.Client(5 * time.Second).Get(u)
		if err == nil {
			res.Body.Close()
			t.Fatalf("strict client reached %s", u)
		}
		if !errors.Is(err, ErrRefused) {
			t.Fatalf("strict client %s: %v, want ErrRefused", u, err)
		}
	}
	res, err := Policy{AllowLoopback: true}.Client(5 * time.Second).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(b) != "ok" {
		t.Fatalf("body %q", b)
	}
}
