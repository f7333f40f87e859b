package ssf

import (
	"context"
	"encoding/json"
	"strings"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Event type URIs (CAEP 1.0, RISC 1.0, SSF 1.0).
const (
	caep = "https://schemas.openid.net/secevent/caep/event-type/"
	risc = "https://schemas.openid.net/secevent/risc/event-type/"

	SessionRevoked       = caep + "session-revoked"
	CredentialChange     = caep + "credential-change"
	AccountDisabled      = risc + "account-disabled"
	AccountPurged        = risc + "account-purged"
	IdentifierChanged    = risc + "identifier-changed"
	Verification         = "https://schemas.openid.net/secevent/ssf/event-type/verification"
	setType              = "secevent+jwt"
	maxEventsRequested   = 50
	maxEventURIBytes     = 256
	maxDescriptionLength = 500
)

// Supported are the event types streams can receive, in the order the
// metadata lists them. CAEP assurance-level-change and RISC
// credential-compromise are not among them: the catalogue has no event
// that says a session's assurance level changed or that a credential was
// found compromised.
var Supported = []string{SessionRevoked, CredentialChange, AccountDisabled, AccountPurged, IdentifierChanged, Verification}

// signal is what one catalogue event becomes: an event type URI with its
// payload, about a user; oldEmail is the subject's former address for
// identifier-changed, matched against email subjects.
type signal struct {
	uri      string
	payload  map[string]any
	userID   string
	oldEmail string
}

// credentialTypes maps Gatehouse factor kinds to CAEP credential_type.
// A WebAuthn credential may be a platform authenticator or a roaming one;
// Gatehouse does not record which, so it is sent as fido2-roaming.
var credentialTypes = map[string]string{"totp": "app", "webauthn": "fido2-roaming"}

// translate answers the signal for ev, or false when ev is none of the
// catalogue entries a stream can receive.
func translate(ev events.Event) (signal, bool) {
	var data map[string]any
	if len(ev.Data) > 0 && json.Unmarshal(ev.Data, &data) != nil {
		return signal{}, false
	}
	user := ev.UserID
	if user == "" {
		user = str(data["user_id"])
	}
	if user == "" {
		return signal{}, false
	}
	at := ev.Timestamp.Unix()
	s := signal{userID: user}
	switch ev.Type {
	case "session.ended":
		s.uri, s.payload = SessionRevoked, map[string]any{"event_timestamp": at}
		if by := initiator(data); by != "" {
			s.payload["initiating_entity"] = by
		}
	case "user.password.changed":
		s.uri, s.payload = CredentialChange, map[string]any{"event_timestamp": at,
			"credential_type": "password", "change_type": "update"}
	case "mfa.enrolled", "mfa.removed":
		// data.factor is {"id","kind",...}; a reset of every factor
		// names no kind and is not sent.
		f, _ := data["factor"].(map[string]any)
		ct, ok := credentialTypes[str(f["kind"])]
		if !ok {
			return signal{}, false // an email code: no CAEP credential type
		}
		change := "create"
		if ev.Type == "mfa.removed" {
			change = "delete"
		}
		s.uri, s.payload = CredentialChange, map[string]any{"event_timestamp": at,
			"credential_type": ct, "change_type": change}
	case "user.disabled":
		s.uri, s.payload = AccountDisabled, map[string]any{}
	case "user.deleted", "user.erased":
		s.uri, s.payload = AccountPurged, map[string]any{}
	case "user.updated", "user.email.changed":
		before, after := emailChange(data)
		if after == "" || strings.EqualFold(before, after) {
			return signal{}, false
		}
		s.uri, s.payload, s.oldEmail = IdentifierChanged, map[string]any{"new-value": after}, before
	default:
		return signal{}, false
	}
	return s, true
}

// emailChange finds an address change in an event's data: {"email":
// {"before","after"}}, the same under "changes", or "old_email" and
// "new_email"/"email".
func emailChange(data map[string]any) (before, after string) {
	pick := func(m map[string]any) (string, string, bool) {
		c, ok := m["email"].(map[string]any)
		if !ok {
			return "", "", false
		}
		return str(c["before"]), str(c["after"]), true
	}
	if b, a, ok := pick(data); ok {
		return b, a
	}
	if ch, ok := data["changes"].(map[string]any); ok {
		if b, a, ok := pick(ch); ok {
			return b, a
		}
	}
	if old := str(data["old_email"]); old != "" {
		after = str(data["new_email"])
		if after == "" {
			after = str(data["email"])
		}
		return old, after
	}
	return "", ""
}

// initiator maps who ended a session to CAEP's initiating_entity.
func initiator(data map[string]any) string {
	actor := str(data["actor_type"])
	if actor == "" {
		if a, ok := data["actor"].(map[string]any); ok {
			actor = str(a["type"])
		}
	}
	switch actor {
	case "apikey", "admin", "cli":
		return "admin"
	case "user":
		return "user"
	case "system":
		return "system"
	}
	return ""
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// setClaims is a SET's payload (RFC 8417 with SSF 1.0's sub_id).
type setClaims struct {
	Issuer   string                    `json:"iss"`
	JTI      string                    `json:"jti"`
	IssuedAt int64                     `json:"iat"`
	Audience string                    `json:"aud"`
	TXN      string                    `json:"txn,omitempty"`
	SubID    map[string]string         `json:"sub_id"`
	Events   map[string]map[string]any `json:"events"`
}

// sign makes a SET for tenant: a JWS with typ secevent+jwt, signed by the
// tenant's active RS256 key (kid in the header). It answers the jti.
func (t *Transmitter) sign(ctx context.Context, tenant store.TenantID, slug, aud, txn string, subID map[string]string, uri string, payload map[string]any) (string, string, error) {
	kid, key, err := t.signer(ctx, tenant)
	if err != nil {
		return "", "", err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return "", "", err
	}
	claims := setClaims{Issuer: t.Issuer(slug), JTI: id.String(), IssuedAt: t.now().Unix(), Audience: aud, TXN: txn,
		SubID: subID, Events: map[string]map[string]any{uri: payload}}
	body, err := json.Marshal(claims)
	if err != nil {
		return "", "", err
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: kid}},
		(&jose.SignerOptions{}).WithType(setType))
	if err != nil {
		return "", "", err
	}
	obj, err := signer.Sign(body)
	if err != nil {
		return "", "", err
	}
	tok, err := obj.CompactSerialize()
	return tok, claims.JTI, err
}

// subjectKey is how a subject is stored and matched: "email:<normalised
// address>" or "iss_sub:<user id>".
func emailKey(norm string) string  { return "email:" + norm }
func issSubKey(user string) string { return "iss_sub:" + user }

// subID answers the sub_id a SET carries for a stream that matched key.
func subID(key, issuer string) map[string]string {
	if e, ok := strings.CutPrefix(key, "email:"); ok {
		return map[string]string{"format": "email", "email": e}
	}
	return map[string]string{"format": "iss_sub", "iss": issuer, "sub": strings.TrimPrefix(key, "iss_sub:")}
}
