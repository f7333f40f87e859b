package oidc

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/safehttp"
)

// TestBackchannelClientOutboundPolicy: a client's registered back-channel
// logout URI cannot make the server POST into its own network; loopback is
// reached only on a development deployment (public URL on http://).
func TestBackchannelClientOutboundPolicy(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { hits.Add(1) }))
	defer srv.Close()
	prod := &Provider{publicURL: "https://id.example.com"}
	for _, u := range []string{srv.URL, "http://169.254.169.254/", "https://10.0.0.1/logout", "https://[::1]/"} {
		res, err := prod.backchannelClient().Post(u, "application/x-www-form-urlencoded", strings.NewReader("logout_token=x"))
		if err == nil {
			res.Body.Close()
		}
		if !errors.Is(err, safehttp.ErrRefused) {
			t.Errorf("POST %s: err = %v, want safehttp.ErrRefused", u, err)
		}
	}
	if hits.Load() != 0 {
		t.Fatalf("loopback server got %d requests from a production provider", hits.Load())
	}
	dev := &Provider{publicURL: "http://127.0.0.1:8080"}
	res, err := dev.backchannelClient().Post(srv.URL, "application/x-www-form-urlencoded", strings.NewReader("logout_token=x"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if hits.Load() != 1 {
		t.Fatalf("hits = %d, want 1", hits.Load())
	}
}
