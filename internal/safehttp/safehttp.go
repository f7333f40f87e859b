// Package safehttp is the one outbound HTTP client policy for every fetch a
// tenant admin can point somewhere (upstream discovery, JWKS, token,
// userinfo, SAML metadata, back-channel logout): its dialer refuses, after
// DNS resolution, loopback, private (RFC 1918, RFC 4193), link-local,
// unspecified, multicast and CGNAT (RFC 6598) addresses, so a configured
// URL cannot reach the deployment's own network. Loopback is allowed only
// when the caller says so (development deployments on an http:// public
// URL, and tests).
package safehttp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/tracing/tracehttp"
)

// ErrRefused is returned (wrapped) when a dial targets a refused address.
var ErrRefused = errors.New("safehttp: destination address refused")

// Policy says which destinations a dial may reach.
type Policy struct {
	// AllowLoopback admits 127.0.0.0/8 and ::1 (development and tests).
	AllowLoopback bool
}

var (
	cgnat     = netip.MustParsePrefix("100.64.0.0/10")
	broadcast = netip.MustParseAddr("255.255.255.255")
)

// Allowed reports whether a dial to ip is acceptable under p.
func (p Policy) Allowed(ip netip.Addr) bool {
	ip = ip.Unmap()
	switch {
	case !ip.IsValid():
		return false
	case ip.IsLoopback():
		return p.AllowLoopback
	case ip.IsPrivate(), ip.IsLinkLocalUnicast(), ip.IsLinkLocalMulticast(), ip.IsInterfaceLocalMulticast(),
		ip.IsMulticast(), ip.IsUnspecified(), cgnat.Contains(ip):
		return false
	case ip.Is4() && ip.As4()[0] == 0: // 0.0.0.0/8 "this network"
		return false
	case ip == broadcast:
		return false
	}
	return true
}

// Control is a net.Dialer Control function: it runs after DNS resolution,
// before the connection is made, and refuses addresses p does not allow.
func (p Policy) Control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %q", ErrRefused, address)
	}
	if !p.Allowed(ap.Addr()) {
		return fmt.Errorf("%w: %s", ErrRefused, ap.Addr())
	}
	return nil
}

// Dialer is a net.Dialer whose Control enforces p.
func (p Policy) Dialer() *net.Dialer {
	return &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second, Control: p.Control}
}

// Transport is a fresh http.Transport (http.DefaultTransport's settings)
// dialling through p's dialer and ignoring proxy variables, since a proxy
// would dial on our behalf without the check.
func (p Policy) Transport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil
	d := p.Dialer()
	t.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		return d.DialContext(ctx, network, addr)
	}
	return t
}

// Client is an http.Client with p's transport and the given timeout;
// callers set CheckRedirect and wrap Transport as they need. Every call
// has a client span and passes its trace context on (tracehttp).
func (p Policy) Client(timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: tracehttp.Transport(p.Transport())}
}
