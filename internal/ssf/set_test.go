package ssf

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/events"
)

// TestTranslate: each catalogue event a stream can receive becomes its
// CAEP or RISC event with the payload the specifications name, with the
// data shapes the outbox writes; the rest become nothing.
func TestTranslate(t *testing.T) {
	at := time.Date(2026, 12, 7, 14, 0, 0, 0, time.UTC)
	ev := func(typ, data string) events.Event {
		return events.Event{ID: "e1", Type: typ, Timestamp: at, Tenant: "t1", TenantSlug: "acme", UserID: "u1", Data: json.RawMessage(data)}
	}
	for _, c := range []struct {
		ev       events.Event
		uri      string
		payload  string
		oldEmail string
	}{
		{ev("session.ended", `{"user_id":"u1","session_id":"s1"}`), SessionRevoked, `{"event_timestamp":1796652000}`, ""},
		{ev("user.password.changed", `{"user_id":"u1"}`), CredentialChange,
			`{"change_type":"update","credential_type":"password","event_timestamp":1796652000}`, ""},
		{ev("mfa.enrolled", `{"user_id":"u1","factor":{"id":"f1","kind":"totp","name":"phone"}}`), CredentialChange,
			`{"change_type":"create","credential_type":"app","event_timestamp":1796652000}`, ""},
		{ev("mfa.removed", `{"user_id":"u1","factor":{"id":"f1","kind":"webauthn"}}`), CredentialChange,
			`{"change_type":"delete","credential_type":"fido2-roaming","event_timestamp":1796652000}`, ""},
		{ev("user.disabled", `{"user_id":"u1"}`), AccountDisabled, `{}`, ""},
		{ev("user.deleted", `{"user_id":"u1"}`), AccountPurged, `{}`, ""},
		{ev("user.erased", `{"user_id":"u1","redacted":true}`), AccountPurged, `{}`, ""},
		{ev("user.updated", `{"user_id":"u1","changes":{"email":{"before":"old@example.com","after":"new@example.com"}}}`),
			IdentifierChanged, `{"new-value":"new@example.com"}`, "old@example.com"},
	} {
		s, ok := translate(c.ev)
		if !ok {
			t.Errorf("%s: no signal", c.ev.Type)
			continue
		}
		got, _ := json.Marshal(s.payload)
		if s.uri != c.uri || string(got) != c.payload || s.userID != "u1" || s.oldEmail != c.oldEmail {
			t.Errorf("%s: %s %s (old %q), want %s %s", c.ev.Type, s.uri, got, s.oldEmail, c.uri, c.payload)
		}
	}
	for _, e := range []events.Event{
		ev("user.created", `{"user_id":"u1","email":"a@example.com"}`),
		ev("user.updated", `{"user_id":"u1","changes":{"given_name":{"before":"A","after":"B"}}}`),
		ev("user.updated", `{"user_id":"u1","changes":{"email":{"before":"A@example.com","after":"a@example.com"}}}`),
		ev("mfa.enrolled", `{"user_id":"u1","factor":{"id":"f1","kind":"email"}}`),
		ev("mfa.removed", `{"user_id":"u1","count":2}`),
		ev("login.succeeded", `{"user_id":"u1"}`),
		{ID: "e2", Type: "session.ended", Tenant: "t1", Data: json.RawMessage(`{}`)}, // no user
		ev("session.ended", `not json`),
	} {
		if s, ok := translate(e); ok {
			t.Errorf("%s %s became %s", e.Type, e.Data, s.uri)
		}
	}
}
