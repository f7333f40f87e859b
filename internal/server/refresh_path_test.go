package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
	"testing"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/gatehouse-id/gatehouse/internal/oauthclient"
	"github.com/gatehouse-id/gatehouse/internal/tracing"
)

// TestRefreshPath: a refresh by a client declaring ES256 ID tokens answers
// an ES256 ID token that go-oidc verifies against the tenant's JWKS (ES256
// only), for the user, with the rotated refresh token; and, read from the
// statements the refresh sends (the tracer's spans of its trace), it reads
// the user once and the refresh token once, writes nothing to the session
// the client is already on nor to the month's active users it is already
// counted in, and reads neither the tenant (the MFA policy uses the
// request's) nor, on a refresh right after another, the tenant's hook.
func TestRefreshPath(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	tracing.SetProvider(tp)
	t.Cleanup(func() { tracing.SetProvider(nil); _ = tp.Shutdown(context.Background()) })
	forEachBackendInTurn(t, func(t *testing.T, be backend) {
		ta := newTestApp(t, be)
		tn := ta.tenant("acme")
		ada := ta.userWithPassword(tn.ID, "ada@example.com", "correct horse battery")
		c, secret := ta.registered(tn.ID, oauthclient.NewClient{IDTokenSignedResponseAlg: "ES256"})
		tok := ta.userToken("acme", ta.oauthConfig("acme", c, secret), "ada@example.com", "correct horse battery")
		ctx := gooidc.ClientContext(context.Background(), ta.srv.Client())
		ks := gooidc.NewRemoteKeySet(ctx, ta.srv.URL+"/t/acme/keys")
		v := gooidc.NewVerifier("http://127.0.0.1/t/acme", ks, &gooidc.Config{ClientID: c.ID, SupportedSigningAlgs: []string{gooidc.ES256}})

		rt := tok.RefreshToken
		// refresh sends one refresh in the trace traceID and answers the
		// statements of the trace by name, counted.
		refresh := func(traceID string) map[string]int {
			t.Helper()
			req, err := http.NewRequest(http.MethodPost, ta.srv.URL+"/t/acme/oauth/token",
				strings.NewReader(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}.Encode()))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
			req.SetBasicAuth(url.QueryEscape(c.ID), url.QueryEscape(secret))
			status, body := ta.sendOAuth(req)
			next, _ := body["refresh_token"].(string)
			raw, _ := body["id_token"].(string)
			if status != http.StatusOK || next == "" || next == rt || raw == "" {
				t.Fatalf("refresh: %d %v", status, body)
			}
			rt = next
			idt, err := v.Verify(ctx, raw)
			if err != nil {
				t.Fatalf("the refresh's ID token does not verify as ES256: %v", err)
			}
			if idt.Subject != ada.ID {
				t.Errorf("ID token sub %s, want %s", idt.Subject, ada.ID)
			}
			n := map[string]int{}
			for _, s := range exp.GetSpans() {
				if s.SpanContext.TraceID().String() == traceID && strings.HasPrefix(s.Name, "db ") {
					n[strings.TrimPrefix(s.Name, "db ")]++
				}
			}
			return n
		}
		refresh(randomTraceID(t))
		n, again := refresh(randomTraceID(t)), refresh(randomTraceID(t))
		t.Logf("statements of a refresh: %v", n)
		for stmt, want := range map[string]int{
			"SELECT users": 1, "SELECT refresh_tokens": 1, "UPDATE refresh_tokens": 1, "INSERT refresh_tokens": 1,
			"SELECT sessions": 0, "UPDATE sessions": 0, "INSERT usage_active_users": 0,
		} {
			if n[stmt] != want {
				t.Errorf("%s: %d in a refresh, want %d (all: %v)", stmt, n[stmt], want, n)
			}
		}
		// Cached for a second or two: one of two refreshes in a row reads
		// neither, however slow the machine.
		for _, stmt := range []string{"SELECT tenants", "SELECT hooks"} {
			if min(n[stmt], again[stmt]) != 0 {
				t.Errorf("%s: %d and %d in two refreshes in a row, want none in one", stmt, n[stmt], again[stmt])
			}
		}
	})
}

// randomTraceID is a W3C trace id of its own, so parallel tests' spans
// are told apart.
func randomTraceID(t *testing.T) string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b[:])
}
