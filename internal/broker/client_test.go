package broker

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/connection"
	"github.com/gatehouse-id/gatehouse/internal/safehttp"
)

// TestUpstreamClientRefusesLoopbackOnProduction: an https upstream URL
// passes the URL policy whatever its host, so the dialer is what keeps a
// tenant admin's connection from reaching the deployment's own network.
func TestUpstreamClientRefusesLoopbackOnProduction(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer srv.Close()
	b := &Broker{Connections: &connection.Service{Policy: connection.URLPolicy{}}}
	if msg := b.Connections.Policy.Check(srv.URL); msg != "" {
		t.Fatalf("URL policy refuses %s: %s (the test needs it admitted)", srv.URL, msg)
	}
	_, err := b.httpClient().Get(srv.URL)
	if !errors.Is(err, safehttp.ErrRefused) {
		t.Fatalf("GET %s: err = %v, want safehttp.ErrRefused", srv.URL, err)
	}
	for _, u := range []string{"https://169.254.169.254/latest/meta-data/", "https://10.0.0.1/", "https://[::1]/"} {
		if _, err := b.httpClient().Get(u); !errors.Is(err, safehttp.ErrRefused) {
			t.Errorf("GET %s: err = %v, want safehttp.ErrRefused", u, err)
		}
	}
}

// TestUpstreamClientAllowsLoopbackInDevelopment: with loopback http
// admitted (public URL on http://) the dial goes through.
func TestUpstreamClientAllowsLoopbackInDevelopment(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) }))
	defer srv.Close()
	b := &Broker{Connections: &connection.Service{Policy: connection.URLPolicy{AllowLoopbackHTTP: true}}}
	res, err := b.httpClient().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusTeapot {
		t.Fatalf("status %d", res.StatusCode)
	}
}
