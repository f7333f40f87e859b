package events

import (
	"encoding/json"
	"slices"
	"strings"
)

// Field is one property of an event's data.
type Field struct {
	Name     string
	Type     string // JSON Schema type: string, boolean, integer, object, array
	Required bool
	Doc      string
}

// Kind is one entry of the event catalogue. Version is the version of its
// data's schema: fields are only ever added within a version (receivers
// ignore what they do not know); a change that removes or retypes a field
// is a new version. Open kinds allow data properties beyond Fields (their
// data carries the audited change's fields as they are).
type Kind struct {
	Type    string
	Version int
	Doc     string
	Fields  []Field
	Open    bool
}

// Data fields shared by many kinds.
var (
	fUserID   = Field{Name: "user_id", Type: "string", Required: true, Doc: "the user's id"}
	fUserOpt  = Field{Name: "user_id", Type: "string", Doc: "the user's id, when the subject is a user"}
	fRedacted = Field{Name: "redacted", Type: "boolean", Doc: "true when the user's personal data was erased from this event"}
	fChanges  = Field{Name: "changes", Type: "object", Doc: "changed fields: each maps to {\"before\", \"after\"}"}
	fSession  = Field{Name: "session_id", Type: "string", Required: true, Doc: "the session's id"}
	fAMR      = Field{Name: "amr", Type: "array", Doc: "authentication methods of the login (RFC 8176 values)"}
	fFactor   = Field{Name: "factor", Type: "object", Doc: "the factor: {\"id\", \"kind\", \"name\"}"}
)

func userKind(typ, doc string, fields ...Field) Kind {
	return Kind{Type: typ, Version: 1, Doc: doc, Fields: append([]Field{fUserID, fRedacted}, fields...)}
}

// objectKinds are the created/updated/deleted kinds of a managed object
// whose id is idField.
func objectKinds(prefix, idField, what string, verbs ...string) []Kind {
	var out []Kind
	for _, v := range verbs {
		out = append(out, Kind{Type: prefix + "." + v, Version: 1, Doc: "A " + what + " was " + strings.ReplaceAll(v, "_", " ") + ".",
			Fields: []Field{{Name: idField, Type: "string", Required: true, Doc: "the " + what + "'s id"}, fChanges}})
	}
	return out
}

// catalogue lists every event type Gatehouse emits.
var catalogue = func() []Kind {
	k := []Kind{
		userKind("user.created", "A user was created (by an admin, sign-up, import, SCIM or a first social login).",
			Field{Name: "email", Type: "string"}, Field{Name: "username", Type: "string"},
			Field{Name: "given_name", Type: "string"}, Field{Name: "family_name", Type: "string"},
			Field{Name: "phone", Type: "string"}, Field{Name: "locale", Type: "string"},
			Field{Name: "status", Type: "string", Doc: "active or disabled"},
			Field{Name: "email_verified", Type: "boolean"}, Field{Name: "attributes", Type: "object", Doc: "custom profile attributes"}),
		userKind("user.updated", "A user's profile changed.", fChanges),
		userKind("user.deleted", "A user was deleted."),
		Kind{Type: "user.erased", Version: 1, Open: true, Doc: "A user's personal data was erased (right to erasure).",
			Fields: []Field{fUserID, fRedacted}},
		userKind("user.disabled", "A user was disabled."),
		userKind("user.email.verified", "A user's email address was verified.", Field{Name: "email", Type: "string"}),
		userKind("user.password.changed", "A user's password was set, changed or reset."),
		userKind("login.succeeded", "A user signed in: a session began.", fSession, fAMR),
		Kind{Type: "login.failed", Version: 1, Doc: "A sign-in failed: a refused password (user_id when the identifier names an account; the identifier itself is never in the event), or a failure at an upstream connection (connection_id).",
			Fields: []Field{fUserOpt, fRedacted, {Name: "reason", Type: "string", Doc: "invalid_credentials for a refused password"},
				{Name: "connection_id", Type: "string"}, fChanges}},
		Kind{Type: "login.risk", Version: 1, Open: true, Doc: "A sign-in was assessed as risky.", Fields: []Field{fUserID, fRedacted}},
		userKind("mfa.enrolled", "A second factor was added.", fFactor),
		userKind("mfa.removed", "Second factors were removed (one, or all in a reset).", fFactor,
			Field{Name: "count", Type: "integer", Doc: "factors removed by a reset"}),
		userKind("session.created", "A browser session began.", fSession, fAMR),
		userKind("session.ended", "A browser session ended (logout, revocation by the user or an admin).", fSession),
		Kind{Type: "consent.granted", Version: 1, Open: true, Doc: "A user granted consent.", Fields: []Field{fUserID, fRedacted}},
		Kind{Type: "consent.withdrawn", Version: 1, Open: true, Doc: "A user withdrew consent (a purpose, or an application's access).",
			Fields: []Field{fUserID, fRedacted, {Name: "client_id", Type: "string", Doc: "the application, when its access was revoked"},
				{Name: "scopes", Type: "array"}}},
		Kind{Type: "preferences.changed", Version: 1, Open: true, Doc: "A user's communication preferences changed.",
			Fields: []Field{fUserID, fRedacted}},
		{Type: "role.assigned", Version: 1, Doc: "A role was assigned to a user or a group.", Fields: roleFields()},
		{Type: "role.revoked", Version: 1, Doc: "A role assignment was removed.", Fields: roleFields()},
		{Type: "elevation.granted", Version: 1, Doc: "A privileged role was granted for a time (approved or self-activated).",
			Fields: elevationFields()},
		{Type: "elevation.ended", Version: 1, Doc: "An elevation was revoked before it expired.", Fields: elevationFields()},
		{Type: "usage.threshold", Version: 1, Doc: "A tenant's usage reached 80% or 100% of a plan limit this month.",
			Fields: []Field{{Name: "plan", Type: "string", Required: true}, {Name: "limit", Type: "string", Required: true},
				{Name: "percent", Type: "integer", Required: true}, {Name: "used", Type: "integer"},
				{Name: "max", Type: "integer"}, {Name: "month", Type: "string"}}},
	}
	k = append(k, objectKinds("client", "client_id", "client", "created", "updated", "deleted", "secret_rotated")...)
	k = append(k, objectKinds("connection", "connection_id", "connection", "created", "updated", "deleted", "synced")...)
	k = append(k, objectKinds("group", "group_id", "group", "created", "updated", "deleted")...)
	k = append(k, memberKinds()...)
	k = append(k, objectKinds("tenant", "tenant_id", "tenant", "created", "updated", "suspended", "resumed", "deleted",
		"restored", "purged", "plan_changed")...)
	return k
}()

// memberKinds are a group's membership changes; a user member's events
// carry user_id and go out in order with the user's other events.
func memberKinds() []Kind {
	fields := []Field{{Name: "group_id", Type: "string", Required: true, Doc: "the group's id"},
		{Name: "member_type", Type: "string", Required: true, Doc: "user or group"},
		{Name: "member_id", Type: "string", Required: true, Doc: "the member's id"}, fUserOpt}
	return []Kind{
		{Type: "group.member.added", Version: 1, Doc: "A user or a group became a direct member of a group.", Fields: fields},
		{Type: "group.member.removed", Version: 1, Doc: "A direct member left a group.", Fields: fields},
	}
}

func roleFields() []Field {
	return []Field{{Name: "role_id", Type: "string", Required: true}, {Name: "role", Type: "string", Doc: "the role's name"},
		{Name: "assignment_id", Type: "string"}, fUserOpt, {Name: "group_id", Type: "string"},
		{Name: "privileged", Type: "boolean"}, fRedacted}
}

func elevationFields() []Field {
	return []Field{{Name: "elevation_id", Type: "string", Required: true}, fUserOpt, {Name: "role_id", Type: "string"},
		{Name: "role", Type: "string"}, {Name: "expires_at", Type: "string", Doc: "RFC 3339"}, {Name: "reason", Type: "string"},
		fRedacted}
}

// Catalogue answers every kind, in the documented order.
func Catalogue() []Kind { return slices.Clone(catalogue) }

// Lookup answers the kind of an event type.
func Lookup(typ string) (Kind, bool) {
	for _, k := range catalogue {
		if k.Type == typ {
			return k, true
		}
	}
	return Kind{}, false
}

// Matches reports whether a subscription pattern matches typ: an exact
// type, "prefix.*" (every type under the prefix) or "*".
func Matches(pattern, typ string) bool {
	if pattern == "*" || pattern == typ {
		return true
	}
	p, ok := strings.CutSuffix(pattern, ".*")
	return ok && strings.HasPrefix(typ, p+".")
}

// ValidPattern reports whether a subscription pattern names at least one
// catalogue type.
func ValidPattern(pattern string) bool {
	for _, k := range catalogue {
		if Matches(pattern, k.Type) {
			return true
		}
	}
	return false
}

// Schema answers the JSON Schema (draft 2020-12) of the kind's data.
func (k Kind) Schema() json.RawMessage {
	props := map[string]any{}
	required := []string{}
	for _, f := range k.Fields {
		p := map[string]any{"type": f.Type}
		if f.Doc != "" {
			p["description"] = f.Doc
		}
		props[f.Name] = p
		if f.Required {
			required = append(required, f.Name)
		}
	}
	s := map[string]any{
		"$schema":              "https://json-schema.org/draft/2020-12/schema",
		"$id":                  "https://gatehouse.dev/schemas/events/" + k.Type + ".v" + itoa(k.Version) + ".json",
		"title":                k.Type,
		"description":          k.Doc,
		"type":                 "object",
		"required":             required,
		"properties":           props,
		"additionalProperties": k.Open,
	}
	out, _ := json.MarshalIndent(s, "", "  ") // maps of strings and bools always encode
	return out
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
