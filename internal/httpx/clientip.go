package httpx

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Client addresses behind proxies. A deployment behind load balancers names
// them (GATEHOUSE_TRUSTED_PROXIES); only a connection from one of them has
// its forwarding headers read, and then the client is the right-most
// address of the chain that is not itself a trusted proxy: everything left
// of it may be forged by the client. With no trusted proxies the headers
// are ignored and the client is the connection's peer.

type clientIPKey struct{}

// TrustedProxies resolves each request's client address once (ClientIP)
// from the peer and, when the peer is in trusted, from Forwarded (RFC
// 7239) or, without it, X-Forwarded-For. An empty trusted passes h
// unchanged.
func TrustedProxies(trusted []netip.Prefix, h http.Handler) http.Handler {
	if len(trusted) == 0 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ip := ClientAddress(r, trusted)
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), clientIPKey{}, ip)))
	})
}

// ClientIP is the address of the client: the one TrustedProxies resolved,
// else the connection's peer. Everything that judges a client by its
// address (throttles, audit, sessions, rate limits, risk) reads it here.
func ClientIP(r *http.Request) string {
	if ip, ok := r.Context().Value(clientIPKey{}).(string); ok && ip != "" {
		return ip
	}
	return peer(r)
}

func peer(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// maxHops bounds the addresses read from forwarding headers.
const maxHops = 32

// ClientAddress answers the client address of r given the trusted proxy
// networks: the peer unless it is trusted; then the right-most address of
// the forwarding chain (Forwarded if present, else X-Forwarded-For) that
// is not trusted. A malformed entry ends the walk at the last good one,
// and a chain of trusted proxies only answers the left-most of them.
func ClientAddress(r *http.Request, trusted []netip.Prefix) string {
	p := peer(r)
	addr, err := netip.ParseAddr(p)
	if err != nil || !isTrusted(addr, trusted) {
		return p
	}
	chain := forwardedChain(r.Header)
	if chain == nil {
		chain = xffChain(r.Header)
	}
	client := addr
	for i := len(chain) - 1; i >= 0 && i >= len(chain)-maxHops; i-- {
		if !chain[i].ok {
			break // unparsable: nothing left of it can be believed
		}
		client = chain[i].addr
		if !isTrusted(client, trusted) {
			break
		}
	}
	return client.String()
}

// optAddr is one entry of a forwarding chain; ok is false for an entry
// that is not an address (obfuscated identifiers, "unknown", garbage).
type optAddr struct {
	addr netip.Addr
	ok   bool
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	a = a.Unmap()
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// parseHop reads one address of a header: v4, v6, bracketed v6, with or
// without a port.
func parseHop(s string) (netip.Addr, bool) {
	s = strings.Trim(strings.TrimSpace(s), `"`)
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone(""), true
	}
	s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap().WithZone(""), true
}

// xffChain reads every X-Forwarded-For header, in order.
func xffChain(h http.Header) []optAddr {
	var out []optAddr
	for _, v := range h.Values("X-Forwarded-For") {
		for _, part := range strings.Split(v, ",") {
			a, ok := parseHop(part)
			out = append(out, optAddr{a, ok})
		}
	}
	return out
}

// forwardedChain reads the for= parameters of every Forwarded header (RFC
// 7239), in order; nil when there is none.
func forwardedChain(h http.Header) []optAddr {
	var out []optAddr
	for _, v := range h.Values("Forwarded") {
		for _, elem := range strings.Split(v, ",") {
			found := false
			for _, pair := range strings.Split(elem, ";") {
				k, val, ok := strings.Cut(strings.TrimSpace(pair), "=")
				if !ok || !strings.EqualFold(k, "for") {
					continue
				}
				a, good := parseHop(val)
				out = append(out, optAddr{a, good})
				found = true
				break
			}
			if !found {
				out = append(out, optAddr{})
			}
		}
	}
	return out
}
