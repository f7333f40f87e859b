package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"
)

// loopback is the only host this tool ever sends a request to.
const loopback = "127.0.0.1"

// errNotLoopback refuses a target that is not 127.0.0.1.
var errNotLoopback = errors.New("only http://127.0.0.1 targets are allowed")

// checkTarget parses a base URL and refuses anything but
// http://127.0.0.1[:port] with no user info, query or fragment. Names such
// as localhost are refused too: what they resolve to is not ours to know.
func checkTarget(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("base URL %q: %w", raw, err)
	}
	if u.Scheme != "http" || u.Hostname() != loopback || u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return nil, fmt.Errorf("base URL %q: %w", raw, errNotLoopback)
	}
	if p := u.Port(); p != "" {
		if _, err := net.LookupPort("tcp", p); err != nil {
			return nil, fmt.Errorf("base URL %q: bad port", raw)
		}
	}
	return u, nil
}

// checkDialAddr is the last line of defence, in the dialer: whatever URL a
// redirect or a bug produces, no connection leaves 127.0.0.1.
func checkDialAddr(network, addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if (network != "tcp" && network != "tcp4") || host != loopback {
		return fmt.Errorf("dial %s %s: %w", network, addr, errNotLoopback)
	}
	return nil
}

// newTransport is an HTTP/1.1 transport that dials 127.0.0.1 only and
// keeps a connection per worker alive.
func newTransport(concurrency int) *http.Transport {
	d := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if err := checkDialAddr(network, addr); err != nil {
				return nil, err
			}
			return d.DialContext(ctx, "tcp4", addr)
		},
		Proxy:               nil, // never an HTTP(S)_PROXY from the environment
		MaxIdleConns:        2 * concurrency,
		MaxIdleConnsPerHost: 2 * concurrency,
		IdleConnTimeout:     30 * time.Second,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
}
