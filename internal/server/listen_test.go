package server

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"
)

// TestListenThenServe: with a port of 0, Listen answers the config whose
// public URL names the bound port, the App is built with it (the issuer
// says so), Serve answers on the listener and returns cleanly when its
// context ends.
func TestListenThenServe(t *testing.T) {
	cfg := testConfig(t, "")
	cfg.Addr, cfg.PublicURL = "127.0.0.1:0", "http://127.0.0.1:0"
	ln, cfg, err := Listen(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if want := "http://" + ln.Addr().String(); cfg.PublicURL != want {
		t.Fatalf("public URL %q, want %q", cfg.PublicURL, want)
	}
	app, err := Open(context.Background(), cfg, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	if err := app.Bootstrap(context.Background(), io.Discard); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Serve(ctx, ln, nil) }()
	c := &http.Client{Timeout: 10 * time.Second}
	res, err := c.Get(cfg.PublicURL + "/t/default/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Issuer string `json:"issuer"`
	}
	err = json.NewDecoder(res.Body).Decode(&d)
	res.Body.Close()
	if err != nil || d.Issuer != cfg.PublicURL+"/t/default" {
		t.Fatalf("issuer %q (%v), want %q", d.Issuer, err, cfg.PublicURL+"/t/default")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Serve did not return after its context ended")
	}
}
