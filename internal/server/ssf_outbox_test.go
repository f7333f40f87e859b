package server

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/ssf"
)

// TestSSFAdminEndsSession: an admin ends a user's sessions through the
// management API; the outbox's dispatcher hands session.ended to the
// transmitter, and a push and a poll receiver each get one signed
// session-revoked SET, which they verify with the tenant's JWKS.
func TestSSFAdminEndsSession(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ta := newTestApp(t, be)
		tn := ta.tenant("acme")
		ann := ta.user(tn.ID, "ann@example.com")
		admin, key := ta.key(tn.ID, "admin"), "Bearer "+ta.key(tn.ID, "ssf")
		iss := ta.Config.PublicURL + "/t/acme"
		rx := newSSFReceiver(t)

		var push, poll ssf.StreamConfig
		for _, c := range []struct {
			into     *ssf.StreamConfig
			delivery map[string]any
			subject  map[string]string
		}{
			{&push, map[string]any{"method": "urn:ietf:rfc:8935", "endpoint_url": rx.srv.URL, "authorization_header": "Bearer rx"},
				map[string]string{"format": "email", "email": "ann@example.com"}},
			{&poll, map[string]any{"method": "urn:ietf:rfc:8936"},
				map[string]string{"format": "iss_sub", "iss": iss, "sub": ann.ID}},
		} {
			res := ta.do(request{method: http.MethodPost, path: "/t/acme/ssf/streams", auth: key,
				body: map[string]any{"events_requested": []string{ssf.SessionRevoked}, "delivery": c.delivery}})
			if res.status != http.StatusCreated || json.Unmarshal(res.body, c.into) != nil {
				t.Fatalf("create stream: %s", res)
			}
			res = ta.do(request{method: http.MethodPost, path: "/t/acme/ssf/subjects/add", auth: key,
				body: map[string]any{"stream_id": c.into.StreamID, "subject": c.subject}})
			if res.status != http.StatusOK {
				t.Fatalf("add subject: %s", res)
			}
		}

		sess, _, err := ta.Sessions.Create(context.Background(), tn.ID, ann.ID, []string{"pwd"}, "test", "127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		if res := ta.do(request{method: http.MethodDelete, path: "/api/v1/tenants/acme/users/" + ann.ID + "/sessions",
			auth: "Bearer " + admin}); res.status/100 != 2 {
			t.Fatalf("end sessions: %s", res)
		}
		d := ta.quickDispatcher()
		deadline := time.Now().Add(20 * time.Second)
		for len(rx.received()) == 0 && time.Now().Before(deadline) {
			if _, err := d.RunOnce(context.Background()); err != nil {
				t.Fatal(err)
			}
			time.Sleep(10 * time.Millisecond)
		}
		got := rx.received()
		if len(got) != 1 {
			t.Fatalf("push receiver got %d SETs, want 1", len(got))
		}
		claims := verifySET(t, ta, "acme", got[0], push.Audience)
		if _, ok := eventOf(claims, ssf.SessionRevoked); !ok {
			t.Errorf("pushed SET events %v", claims["events"])
		}

		res := ta.do(request{method: http.MethodPost, path: strings.TrimPrefix(poll.Delivery.EndpointURL, ta.Config.PublicURL),
			auth: key, body: map[string]any{"returnImmediately": true}})
		var out struct {
			Sets map[string]string `json:"sets"`
		}
		if res.status != http.StatusOK || json.Unmarshal(res.body, &out) != nil || len(out.Sets) != 1 {
			t.Fatalf("poll: %s", res)
		}
		for _, tok := range out.Sets {
			claims := verifySET(t, ta, "acme", tok, poll.Audience)
			sub, _ := claims["sub_id"].(map[string]any)
			if _, ok := eventOf(claims, ssf.SessionRevoked); !ok || sub["sub"] != ann.ID {
				t.Errorf("polled SET %v", claims)
			}
		}
		_ = sess
		// More dispatcher runs send nothing more.
		for range 3 {
			if _, err := d.RunOnce(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		if n := len(rx.received()); n != 1 {
			t.Errorf("push receiver got %d SETs after more runs", n)
		}
	})
}
