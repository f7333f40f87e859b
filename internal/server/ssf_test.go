package server

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/ssf"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// ssfReceiver is an RFC 8935 push receiver: it keeps the SETs it is sent
// with their Authorization header, and answers fail while it is set.
type ssfReceiver struct {
	srv  *httptest.Server
	mu   sync.Mutex
	sets []string
	auth []string
	ct   []string
	fail int // answer 503 to this many more pushes
}

func newSSFReceiver(t *testing.T) *ssfReceiver {
	rx := &ssfReceiver{}
	rx.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rx.mu.Lock()
		defer rx.mu.Unlock()
		if rx.fail > 0 {
			rx.fail--
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		rx.sets = append(rx.sets, string(b))
		rx.auth = append(rx.auth, r.Header.Get("Authorization"))
		rx.ct = append(rx.ct, r.Header.Get("Content-Type"))
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(rx.srv.Close)
	return rx
}

func (rx *ssfReceiver) received() []string {
	rx.mu.Lock()
	defer rx.mu.Unlock()
	return append([]string(nil), rx.sets...)
}

// verifySET checks a SET as a receiver does: the signature with the
// tenant's JWKS (key by kid, algorithm from the key), typ secevent+jwt,
// iss and aud; it answers the claims.
func verifySET(t *testing.T, ta *testApp, slug, token, aud string) map[string]any {
	t.Helper()
	jws, err := jose.ParseSigned(token, []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.EdDSA})
	if err != nil {
		t.Fatalf("SET does not parse: %v", err)
	}
	h := jws.Signatures[0].Header
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); typ != "secevent+jwt" {
		t.Errorf("SET typ = %q, want secevent+jwt", typ)
	}
	res := ta.get("/t/"+slug+"/keys", "")
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(res.body, &set); err != nil || res.status != http.StatusOK {
		t.Fatalf("JWKS: %s", res)
	}
	keys := set.Key(h.KeyID)
	if len(keys) != 1 {
		t.Fatalf("the JWKS has %d keys with kid %q", len(keys), h.KeyID)
	}
	payload, err := jws.Verify(keys[0])
	if err != nil {
		t.Fatalf("SET signature does not verify with the tenant's JWKS: %v", err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	if claims["iss"] != ta.Config.PublicURL+"/t/"+slug || claims["aud"] != aud || claims["jti"] == "" || claims["iat"] == nil {
		t.Errorf("SET claims %v (want iss %s/t/%s, aud %s)", claims, ta.Config.PublicURL, slug, aud)
	}
	return claims
}

func eventOf(claims map[string]any, uri string) (map[string]any, bool) {
	evs, _ := claims["events"].(map[string]any)
	e, ok := evs[uri].(map[string]any)
	return e, ok && len(evs) == 1
}

// sessionEnded is the catalogue event the outbox hands the sinks when a
// session ends.
func sessionEnded(t *testing.T, tn *store.Tenant, u *store.User) events.Event {
	t.Helper()
	id := uuid.Must(uuid.NewV7()).String()
	data, _ := json.Marshal(map[string]string{"user_id": u.ID, "session_id": "s-" + id})
	return events.Event{ID: id, Type: "session.ended", Timestamp: time.Now().UTC().Truncate(time.Microsecond),
		Tenant: string(tn.ID), TenantSlug: tn.Slug, UserID: u.ID, Data: data}
}

// TestSSFTransmitter: a receiver reads the metadata, creates a push and a
// poll stream with an ssf key, adds subjects, verifies the push stream,
// and receives a signed session-revoked SET for its subject (by push and
// by poll), which it verifies with the tenant's JWKS; a redelivered event
// is not sent twice; a failing receiver gets the SET once it recovers.
func TestSSFTransmitter(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ta := newTestApp(t, be)
		tn, other := ta.tenant("acme"), ta.tenant("other")
		ann, bob := ta.user(tn.ID, "Ann@Example.com"), ta.user(tn.ID, "bob@example.com")
		key := "Bearer " + ta.key(tn.ID, "ssf")
		tx := ta.surfaces.ssf
		iss := ta.Config.PublicURL + "/t/acme"

		// Metadata, at both places.
		var md ssf.Metadata
		for _, p := range []string{"/.well-known/ssf-configuration/t/acme", "/t/acme/.well-known/ssf-configuration"} {
			res := ta.get(p, "")
			if res.status != http.StatusOK {
				t.Fatalf("GET %s: %s", p, res)
			}
			var m map[string]any
			_ = json.Unmarshal(res.body, &m)
			for _, f := range []string{"spec_version", "issuer", "jwks_uri", "delivery_methods_supported", "configuration_endpoint",
				"status_endpoint", "add_subject_endpoint", "remove_subject_endpoint", "verification_endpoint", "authorization_schemes"} {
				if m[f] == nil {
					t.Errorf("metadata at %s lacks %s", p, f)
				}
			}
			_ = json.Unmarshal(res.body, &md)
		}
		if md.Issuer != iss || md.JWKSURI != iss+"/keys" || md.ConfigurationURL != iss+"/ssf/streams" ||
			strings.Join(md.DeliveryMethods, " ") != "urn:ietf:rfc:8935 urn:ietf:rfc:8936" {
			t.Errorf("metadata %+v", md)
		}
		if res := ta.get("/.well-known/ssf-configuration/t/nosuch", ""); res.status != http.StatusNotFound {
			t.Errorf("metadata of an unknown tenant: %s", res)
		}
		path := func(u string) string { return strings.TrimPrefix(u, ta.Config.PublicURL) }

		// Who may manage streams.
		create := func(auth string, body any) *response {
			return ta.do(request{method: http.MethodPost, path: path(md.ConfigurationURL), auth: auth, body: body})
		}
		rx := newSSFReceiver(t)
		pushIn := map[string]any{"events_requested": []string{ssf.SessionRevoked, ssf.CredentialChange, ssf.Verification, "urn:example:unknown"},
			"delivery": map[string]any{"method": "urn:ietf:rfc:8935", "endpoint_url": rx.srv.URL + "/events",
				"authorization_header": "Bearer rx-secret"}, "description": "SIEM"}
		for _, c := range []struct {
			auth string
			want int
		}{
			{"", http.StatusUnauthorized},
			{"Bearer gh_ak_nonsense", http.StatusUnauthorized},
			{"Bearer " + ta.key(tn.ID, "read"), http.StatusForbidden},
			{"Bearer " + ta.key(tn.ID, "scim"), http.StatusForbidden},
			{"Bearer " + ta.key(other.ID, "ssf"), http.StatusNotFound},
		} {
			if res := create(c.auth, pushIn); res.status != c.want {
				t.Errorf("create with %q: %s, want %d", c.auth, res, c.want)
			}
		}
		if l, _ := ta.DB.SSF().ListSSFStreams(context.Background(), tn.ID, 50); len(l) != 0 {
			t.Fatalf("refused calls created %d streams", len(l))
		}
		// Hostile input: clear 400s, nothing stored.
		for _, bad := range []map[string]any{
			{"delivery": map[string]any{"method": "urn:ietf:rfc:8935", "endpoint_url": "ftp://rx.example/"}},
			{"delivery": map[string]any{"method": "urn:ietf:rfc:8935", "endpoint_url": "http://10.0.0.1/events"}},
			{"delivery": map[string]any{"method": "urn:ietf:rfc:8935", "endpoint_url": rx.srv.URL, "authorization_header": "a\r\nX-Evil: 1"}},
			{"delivery": map[string]any{"method": "urn:example:carrier-pigeon"}},
			{"events_requested": "all"},
			{"unknown_member": true},
		} {
			if res := create(key, bad); res.status != http.StatusBadRequest {
				t.Errorf("create %v: %s, want 400", bad, res)
			}
		}

		res := create(key, pushIn)
		if res.status != http.StatusCreated || strings.Contains(string(res.body), "rx-secret") {
			t.Fatalf("create push stream: %s", res)
		}
		var push ssf.StreamConfig
		_ = json.Unmarshal(res.body, &push)
		if push.Issuer != iss || push.Audience == "" || push.Delivery.Method != "urn:ietf:rfc:8935" ||
			strings.Join(push.EventsDelivered, " ") != ssf.SessionRevoked+" "+ssf.CredentialChange+" "+ssf.Verification {
			t.Errorf("push stream %+v", push)
		}
		res = create(key, map[string]any{"events_requested": []string{ssf.SessionRevoked},
			"delivery": map[string]any{"method": "urn:ietf:rfc:8936"}})
		if res.status != http.StatusCreated {
			t.Fatalf("create poll stream: %s", res)
		}
		var poll ssf.StreamConfig
		_ = json.Unmarshal(res.body, &poll)
		if poll.Delivery.EndpointURL != iss+"/ssf/poll/"+poll.StreamID {
			t.Errorf("poll endpoint %q", poll.Delivery.EndpointURL)
		}
		if res := ta.get(path(md.ConfigurationURL)+"?stream_id="+push.StreamID, ta.key(other.ID, "admin")); res.status != http.StatusNotFound {
			t.Errorf("another tenant's admin reads the stream: %s", res)
		}
		if res := ta.get(path(md.ConfigurationURL), strings.TrimPrefix(key, "Bearer ")); res.status != http.StatusOK ||
			strings.Count(string(res.body), `"stream_id"`) != 2 || strings.Contains(string(res.body), "rx-secret") {
			t.Errorf("list streams: %s", res)
		}

		// Subjects: Ann by email on the push stream, by iss_sub on the poll
		// stream; a subject of another issuer is refused.
		subj := func(p, stream string, s map[string]string) *response {
			return ta.do(request{method: http.MethodPost, path: path(p), auth: key, body: map[string]any{"stream_id": stream, "subject": s}})
		}
		if res := subj(md.AddSubjectURL, push.StreamID, map[string]string{"format": "email", "email": "ANN@example.com"}); res.status != http.StatusOK {
			t.Fatalf("add email subject: %s", res)
		}
		if res := subj(md.AddSubjectURL, poll.StreamID, map[string]string{"format": "iss_sub", "iss": iss, "sub": ann.ID}); res.status != http.StatusOK {
			t.Fatalf("add iss_sub subject: %s", res)
		}
		if res := subj(md.AddSubjectURL, poll.StreamID, map[string]string{"format": "iss_sub", "iss": "https://evil.example", "sub": bob.ID}); res.status != http.StatusBadRequest {
			t.Errorf("iss_sub of another issuer: %s", res)
		}
		if res := subj(md.AddSubjectURL, poll.StreamID, map[string]string{"format": "phone_number", "phone_number": "+1"}); res.status != http.StatusBadRequest {
			t.Errorf("unsupported subject format: %s", res)
		}

		// Verification: pushed before the answer, signed, with the state.
		res = ta.do(request{method: http.MethodPost, path: path(md.VerificationURL), auth: key,
			body: map[string]any{"stream_id": push.StreamID, "state": "st-123"}})
		if res.status != http.StatusNoContent {
			t.Fatalf("verify: %s", res)
		}
		got := rx.received()
		if len(got) != 1 {
			t.Fatalf("receiver got %d SETs after verification, want 1", len(got))
		}
		claims := verifySET(t, ta, "acme", got[0], push.Audience)
		if e, ok := eventOf(claims, ssf.Verification); !ok || e["state"] != "st-123" {
			t.Errorf("verification SET events %v", claims["events"])
		}
		if rx.auth[0] != "Bearer rx-secret" || rx.ct[0] != "application/secevent+jwt" {
			t.Errorf("push sent Authorization %q, Content-Type %q", rx.auth[0], rx.ct[0])
		}

		// An admin ends Ann's session: the outbox hands session.ended to
		// the sinks.
		ev := sessionEnded(t, tn, ann)
		if err := tx.Deliver(context.Background(), ev); err != nil {
			t.Fatalf("Deliver: %v", err)
		}
		got = rx.received()
		if len(got) != 2 {
			t.Fatalf("receiver got %d SETs, want 2", len(got))
		}
		claims = verifySET(t, ta, "acme", got[1], push.Audience)
		e, ok := eventOf(claims, ssf.SessionRevoked)
		sub, _ := claims["sub_id"].(map[string]any)
		if !ok || e["event_timestamp"] != float64(ev.Timestamp.Unix()) || claims["txn"] != ev.ID ||
			sub["format"] != "email" || sub["email"] != "ann@example.com" {
			t.Errorf("session-revoked SET %v", claims)
		}

		// Poll: the same event, for the iss_sub subject.
		pollReq := func(body map[string]any) map[string]string {
			t.Helper()
			res := ta.do(request{method: http.MethodPost, path: path(poll.Delivery.EndpointURL), auth: key, body: body})
			var out struct {
				Sets map[string]string `json:"sets"`
			}
			if res.status != http.StatusOK || json.Unmarshal(res.body, &out) != nil {
				t.Fatalf("poll: %s", res)
			}
			return out.Sets
		}
		sets := pollReq(map[string]any{"returnImmediately": true})
		if len(sets) != 1 {
			t.Fatalf("poll answered %d SETs, want 1", len(sets))
		}
		var jti string
		for j, tok := range sets {
			jti = j
			claims = verifySET(t, ta, "acme", tok, poll.Audience)
			sub, _ := claims["sub_id"].(map[string]any)
			if _, ok := eventOf(claims, ssf.SessionRevoked); !ok || claims["jti"] != j || sub["format"] != "iss_sub" ||
				sub["iss"] != iss || sub["sub"] != ann.ID {
				t.Errorf("polled SET %v", claims)
			}
		}
		if again := pollReq(map[string]any{"returnImmediately": true}); len(again) != 1 || again[jti] == "" {
			t.Errorf("an unacknowledged SET was not offered again: %v", again)
		}
		if after := pollReq(map[string]any{"returnImmediately": true, "ack": []string{jti}}); len(after) != 0 {
			t.Errorf("after the ack, poll answered %d SETs", len(after))
		}
		if res := ta.do(request{method: http.MethodPost, path: path(poll.Delivery.EndpointURL), auth: "Bearer " + ta.key(other.ID, "ssf"),
			body: map[string]any{"returnImmediately": true}}); res.status != http.StatusNotFound {
			t.Errorf("another tenant's key polls: %s", res)
		}

		// The outbox delivers the same event again: nobody gets it twice.
		if err := tx.Deliver(context.Background(), ev); err != nil {
			t.Fatalf("Deliver again: %v", err)
		}
		if n := len(rx.received()); n != 2 {
			t.Errorf("a redelivered event was pushed again: %d SETs", n)
		}
		if sets := pollReq(map[string]any{"returnImmediately": true}); len(sets) != 0 {
			t.Errorf("a redelivered event was queued again for poll: %d", len(sets))
		}
		// Bob is no stream's subject: nothing for him.
		if err := tx.Deliver(context.Background(), sessionEnded(t, tn, bob)); err != nil {
			t.Fatal(err)
		}
		if n := len(rx.received()); n != 2 {
			t.Errorf("bob's session reached a stream: %d SETs", n)
		}

		// A receiver that fails: Deliver fails (the outbox retries) and the
		// retry pushes the SET once.
		rx.mu.Lock()
		rx.fail = 1
		rx.mu.Unlock()
		ev2 := sessionEnded(t, tn, ann)
		if err := tx.Deliver(context.Background(), ev2); err == nil {
			t.Fatal("Deliver succeeded while the receiver failed")
		}
		if err := tx.Deliver(context.Background(), ev2); err != nil {
			t.Fatalf("Deliver after recovery: %v", err)
		}
		got = rx.received()
		if len(got) != 3 {
			t.Fatalf("receiver got %d SETs, want 3", len(got))
		}
		if c := verifySET(t, ta, "acme", got[2], push.Audience); c["txn"] != ev2.ID {
			t.Errorf("retried SET is for %v, want %s", c["txn"], ev2.ID)
		}

		// Paused: held; enabled again: sent. Disabled: dropped.
		status := func(s string) {
			t.Helper()
			res := ta.do(request{method: http.MethodPost, path: path(md.StatusURL), auth: key,
				body: map[string]any{"stream_id": push.StreamID, "status": s}})
			if res.status != http.StatusOK {
				t.Fatalf("status %s: %s", s, res)
			}
		}
		status("paused")
		if err := tx.Deliver(context.Background(), sessionEnded(t, tn, ann)); err != nil {
			t.Fatal(err)
		}
		if n := len(rx.received()); n != 3 {
			t.Errorf("a paused stream pushed: %d SETs", n)
		}
		status("enabled")
		deadline := time.Now().Add(10 * time.Second)
		for len(rx.received()) != 4 && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if n := len(rx.received()); n != 4 {
			t.Errorf("the held SET was not sent on resume: %d SETs", n)
		}
		status("disabled")
		if err := tx.Deliver(context.Background(), sessionEnded(t, tn, ann)); err != nil {
			t.Fatal(err)
		}
		if n := len(rx.received()); n != 4 {
			t.Errorf("a disabled stream pushed: %d", n)
		}

		// Delete: gone for its tenant.
		res = ta.do(request{method: http.MethodDelete, path: path(md.ConfigurationURL) + "?stream_id=" + push.StreamID, auth: key})
		if res.status != http.StatusNoContent {
			t.Fatalf("delete: %s", res)
		}
		if res := ta.get(path(md.ConfigurationURL)+"?stream_id="+push.StreamID, strings.TrimPrefix(key, "Bearer ")); res.status != http.StatusNotFound {
			t.Errorf("deleted stream reads %s", res)
		}
	})
}

// TestSSFStreamUpdates: PATCH changes what it names (a new authorization
// header is used from then on), PUT resets what it leaves out, a removed
// subject gets nothing more, and a stream's receiver reads its stream back
// after each change.
func TestSSFStreamUpdates(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ta := newTestApp(t, be)
		tn := ta.tenant("acme")
		ann := ta.user(tn.ID, "ann@example.com")
		key := "Bearer " + ta.key(tn.ID, "ssf")
		rx := newSSFReceiver(t)
		call := func(method, path string, body any) (*response, ssf.StreamConfig) {
			t.Helper()
			res := ta.do(request{method: method, path: path, auth: key, body: body})
			var c ssf.StreamConfig
			_ = json.Unmarshal(res.body, &c)
			return res, c
		}
		res, st := call(http.MethodPost, "/t/acme/ssf/streams", map[string]any{"events_requested": []string{ssf.SessionRevoked},
			"delivery": map[string]any{"method": "urn:ietf:rfc:8935", "endpoint_url": rx.srv.URL, "authorization_header": "Bearer one"}})
		if res.status != http.StatusCreated {
			t.Fatalf("create: %s", res)
		}
		if res := ta.do(request{method: http.MethodPost, path: "/t/acme/ssf/subjects/add", auth: key,
			body: map[string]any{"stream_id": st.StreamID, "subject": map[string]string{"format": "email", "email": "ann@example.com"}}}); res.status != http.StatusOK {
			t.Fatalf("add subject: %s", res)
		}

		res, up := call(http.MethodPatch, "/t/acme/ssf/streams", map[string]any{"stream_id": st.StreamID,
			"events_requested": []string{ssf.SessionRevoked, ssf.AccountDisabled},
			"delivery":         map[string]any{"method": "urn:ietf:rfc:8935", "endpoint_url": rx.srv.URL, "authorization_header": "Bearer two"}})
		if res.status != http.StatusOK || len(up.EventsDelivered) != 2 || up.Description != "" {
			t.Fatalf("patch: %s", res)
		}
		if res, _ := call(http.MethodPatch, "/t/acme/ssf/streams", map[string]any{"stream_id": st.StreamID,
			"delivery": map[string]any{"method": "urn:ietf:rfc:8935", "endpoint_url": "https://10.1.2.3/"}}); res.status != http.StatusBadRequest {
			t.Errorf("patch to a private address: %s", res)
		}
		if err := ta.surfaces.ssf.Deliver(context.Background(), sessionEnded(t, tn, ann)); err != nil {
			t.Fatal(err)
		}
		rx.mu.Lock()
		auth := append([]string(nil), rx.auth...)
		rx.mu.Unlock()
		if len(auth) != 1 || auth[0] != "Bearer two" {
			t.Errorf("after the patch the push carried %v, want the new header", auth)
		}

		// PUT without delivery: a poll stream now, its requests reset to
		// what the PUT names.
		res, put := call(http.MethodPut, "/t/acme/ssf/streams", map[string]any{"stream_id": st.StreamID,
			"events_requested": []string{ssf.AccountDisabled}, "description": "now polled"})
		if res.status != http.StatusOK || put.Delivery.Method != "urn:ietf:rfc:8936" || len(put.EventsDelivered) != 1 || put.Description != "now polled" {
			t.Fatalf("put: %s", res)
		}
		_, read := call(http.MethodGet, "/t/acme/ssf/streams?stream_id="+st.StreamID, nil)
		if read.Delivery.Method != "urn:ietf:rfc:8936" || read.EventsDelivered[0] != ssf.AccountDisabled {
			t.Errorf("read back %+v", read)
		}

		// Removing the subject: nothing more for Ann.
		if res := ta.do(request{method: http.MethodPost, path: "/t/acme/ssf/subjects/remove", auth: key,
			body: map[string]any{"stream_id": st.StreamID, "subject": map[string]string{"format": "email", "email": "Ann@Example.com"}}}); res.status != http.StatusNoContent {
			t.Fatalf("remove subject: %s", res)
		}
		data, _ := json.Marshal(map[string]string{"user_id": ann.ID})
		if err := ta.surfaces.ssf.Deliver(context.Background(), events.Event{ID: uuid.Must(uuid.NewV7()).String(), Type: "user.disabled",
			Timestamp: time.Now(), Tenant: string(tn.ID), TenantSlug: tn.Slug, UserID: ann.ID, Data: data}); err != nil {
			t.Fatal(err)
		}
		if p, _ := ta.DB.SSF().PendingSSFSets(context.Background(), tn.ID, st.StreamID, 10); len(p) != 0 {
			t.Errorf("a removed subject's event was queued: %d", len(p))
		}

		// Long polling: a poll without returnImmediately waits for the SET
		// of an event that happens while it waits.
		if res := ta.do(request{method: http.MethodPost, path: "/t/acme/ssf/subjects/add", auth: key,
			body: map[string]any{"stream_id": st.StreamID, "subject": map[string]string{"format": "iss_sub",
				"iss": ta.Config.PublicURL + "/t/acme", "sub": ann.ID}}}); res.status != http.StatusOK {
			t.Fatalf("add subject: %s", res)
		}
		later := events.Event{ID: uuid.Must(uuid.NewV7()).String(), Type: "user.disabled", Timestamp: time.Now(),
			Tenant: string(tn.ID), TenantSlug: tn.Slug, UserID: ann.ID, Data: data}
		done := make(chan error, 1)
		go func() {
			time.Sleep(500 * time.Millisecond)
			done <- ta.surfaces.ssf.Deliver(context.Background(), later)
		}()
		start := time.Now()
		res, _ = call(http.MethodPost, strings.TrimPrefix(put.Delivery.EndpointURL, ta.Config.PublicURL), map[string]any{"maxEvents": 5})
		var out struct {
			Sets map[string]string `json:"sets"`
		}
		if err := json.Unmarshal(res.body, &out); err != nil || res.status != http.StatusOK || len(out.Sets) != 1 {
			t.Fatalf("long poll: %s", res)
		}
		if took := time.Since(start); took < 400*time.Millisecond || took > 5*time.Second {
			t.Errorf("long poll answered after %v", took)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		for _, tok := range out.Sets {
			if _, ok := eventOf(verifySET(t, ta, "acme", tok, put.Audience), ssf.AccountDisabled); !ok {
				t.Errorf("long poll answered another event")
			}
		}
	})
}
