package server

import (
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/config"
)

// TestDevResolveOnlyOnLoopbackHTTP: GATEHOUSE_DEV_RESOLVE is refused unless
// the public URL is http:// on loopback.
func TestDevResolveOnlyOnLoopbackHTTP(t *testing.T) {
	for pub, ok := range map[string]bool{
		"http://127.0.0.1:8080": true, "http://localhost:8080": true, "http://[::1]:80": true,
		"https://127.0.0.1": false, "http://id.example.com": false, "http://10.0.0.1": false,
	} {
		cfg := config.Default()
		cfg.PublicURL = pub
		cfg.Domains.DevResolve = "login.acme.test=127.0.0.1:8080"
		_, err := newDomains(cfg, nil, nil, nil, time.Now)
		if ok != (err == nil) || !ok && !errors.Is(err, errDevResolve) {
			t.Errorf("public URL %s: %v", pub, err)
		}
	}
}
