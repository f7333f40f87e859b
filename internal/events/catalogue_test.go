package events

import (
	"encoding/json"
	"flag"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

var update = flag.Bool("update", false, "rewrite the schema section of docs/events.md")

// auditCases are audit entries as the services record them, with the
// catalogue types each must become.
var auditCases = []struct {
	e    Entry
	want []string
}{
	{Entry{Action: "user.create", TargetType: "user", TargetID: "u1", Changes: Diff(nil, map[string]any{
		"email": "ada@example.com", "username": "", "given_name": "Ada", "status": "active", "email_verified": false,
		"attributes": json.RawMessage(`{"plan":"gold"}`), "has_password": true})}, []string{"user.created"}},
	{Entry{Action: "user.update", TargetType: "user", TargetID: "u1", Changes: Changes{
		"given_name": {Before: "Ada", After: "Augusta"}}}, []string{"user.updated"}},
	{Entry{Action: "user.update", TargetType: "user", TargetID: "u1", Changes: Changes{
		"status": {Before: "active", After: "disabled"}}}, []string{"user.updated", "user.disabled"}},
	{Entry{Action: "user.update", TargetType: "user", TargetID: "u1", Changes: Changes{
		"email_verified": {Before: false, After: true}}}, []string{"user.updated", "user.email.verified"}},
	{Entry{Action: "user.update", TargetType: "user", TargetID: "u1", Changes: Changes{
		"password": {Before: "(redacted)", After: "(changed)"}}}, []string{"user.password.changed"}},
	{Entry{Action: "user.claimed", TargetType: "user", TargetID: "u1", Changes: Changes{
		"password": {Before: "(redacted)", After: "(removed)"}}}, []string{"user.password.changed"}},
	{Entry{Action: "user.delete", TargetType: "user", TargetID: "u1"}, []string{"user.deleted"}},
	{Entry{Action: "user.erased", TargetType: "user", TargetID: "u1", Changes: Changes{"reason": {After: "request"}}}, []string{"user.erased"}},
	{Entry{Action: "consent.granted", TargetType: "user", TargetID: "u1", Changes: Changes{"purpose": {After: "newsletter"}}}, []string{"consent.granted"}},
	{Entry{Action: "consent.withdrawn", TargetType: "user", TargetID: "u1", Changes: Changes{"purpose": {Before: "newsletter"}}}, []string{"consent.withdrawn"}},
	{Entry{Action: "preferences.changed", TargetType: "user", TargetID: "u1", Changes: Changes{"language": {Before: "en", After: "de"}}}, []string{"preferences.changed"}},
	{Entry{Action: "login.risk", TargetType: "user", TargetID: "u1", Changes: Changes{"score": {After: 80}}}, []string{"login.risk"}},
	{Entry{Action: "consent.revoke", TargetType: "user", TargetID: "u1", Changes: Changes{"consent.c1": {Before: []string{"openid"}}}}, []string{"consent.withdrawn"}},
	{Entry{Action: "mfa.factor.add", TargetType: "user", TargetID: "u1", Changes: Changes{"factor": {After: map[string]any{"id": "f", "kind": "totp", "name": "phone"}}}}, []string{"mfa.enrolled"}},
	{Entry{Action: "mfa.factor.remove", TargetType: "user", TargetID: "u1", Changes: Changes{"factor": {Before: map[string]any{"id": "f", "kind": "totp", "name": "phone"}}}}, []string{"mfa.removed"}},
	{Entry{Action: "mfa.reset", TargetType: "user", TargetID: "u1", Changes: Changes{"factors": {Before: 2, After: 0}}}, []string{"mfa.removed"}},
	{Entry{Action: "mfa.reset", TargetType: "user", TargetID: "u1", Changes: Changes{"factors": {Before: 0, After: 0}}}, nil},
	{Entry{Action: "connection.login_failed", TargetType: "connection", TargetID: "c1", Changes: Changes{"error": {After: "state mismatch"}}}, []string{"login.failed"}},
	{Entry{Action: "role.assign", TargetType: "role", TargetID: "r1", Changes: Changes{"assignment": {After: map[string]any{"id": "a1", "role": "admin", "privileged": true, "user_id": "u1"}}}}, []string{"role.assigned"}},
	{Entry{Action: "role.unassign", TargetType: "role", TargetID: "r1", Changes: Changes{"assignment": {Before: map[string]any{"id": "a1", "role": "admin", "privileged": false, "group_id": "g1"}}}}, []string{"role.revoked"}},
	{Entry{Action: "elevation.approve", TargetType: "elevation", TargetID: "e1", Changes: Diff(
		map[string]any{"role": "db", "role_id": "r1", "user_id": "u1", "status": "pending"},
		map[string]any{"role": "db", "role_id": "r1", "user_id": "u1", "status": "approved", "expires_at": "2026-01-01T00:00:00Z"})}, []string{"elevation.granted"}},
	{Entry{Action: "elevation.self_activate", TargetType: "elevation", TargetID: "e1", Changes: Diff(nil,
		map[string]any{"role": "db", "role_id": "r1", "user_id": "u1", "status": "approved", "reason": "incident"})}, []string{"elevation.granted"}},
	{Entry{Action: "elevation.revoke", TargetType: "elevation", TargetID: "e1", Changes: Diff(
		map[string]any{"role": "db", "user_id": "u1", "status": "approved"}, map[string]any{"role": "db", "user_id": "u1", "status": "revoked"})}, []string{"elevation.ended"}},
	{Entry{Action: "elevation.request", TargetType: "elevation", TargetID: "e1"}, nil},
	{Entry{Action: "usage.threshold", TargetType: "plan", TargetID: "free", Changes: Changes{"limit": {After: "mau"}, "percent": {After: 80},
		"used": {After: int64(80)}, "max": {After: int64(100)}, "month": {After: "2026-12"}}}, []string{"usage.threshold"}},
	{Entry{Action: "group.member.add", TargetType: "group", TargetID: "g1", Changes: Changes{"member": {After: map[string]string{"type": "user", "id": "u1"}}}}, []string{"group.member.added"}},
	{Entry{Action: "group.member.remove", TargetType: "group", TargetID: "g1", Changes: Changes{"member": {After: map[string]string{"type": "group", "id": "g2"}}}}, []string{"group.member.removed"}},
}

func init() {
	// Every managed object's actions.
	for action, o := range objectActions {
		tt := strings.SplitN(action, ".", 2)[0]
		auditCases = append(auditCases, struct {
			e    Entry
			want []string
		}{Entry{Action: action, TargetType: tt, TargetID: "x1", Changes: Changes{"name": {Before: "a", After: "b"}}}, []string{o.typ}})
	}
}

// emittedDirectly are the types the session service writes with Emit.
var emittedDirectly = []string{"login.succeeded", "session.created", "session.ended"}

// TestAuditActionsBecomeCatalogueEvents: each audited action becomes the
// catalogue events it stands for, each valid against its schema, and
// every catalogue type has a source.
func TestAuditActionsBecomeCatalogueEvents(t *testing.T) {
	produced := map[string]bool{}
	for _, c := range auditCases {
		c.e.Tenant = "t1"
		ds := fromAudit(c.e)
		var got []string
		for _, d := range ds {
			got = append(got, d.typ)
			produced[d.typ] = true
			raw, err := json.Marshal(d.data)
			if err != nil {
				t.Fatal(err)
			}
			if err := Validate(d.typ, raw); err != nil {
				t.Errorf("%s -> %s: %v (%s)", c.e.Action, d.typ, err, raw)
			}
			if c.e.TargetType == "user" && d.userID != "u1" {
				t.Errorf("%s -> %s: user %q, want u1", c.e.Action, d.typ, d.userID)
			}
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%s %v -> %v, want %v", c.e.Action, c.e.Changes, got, c.want)
		}
	}
	for _, typ := range emittedDirectly {
		produced[typ] = true
	}
	for _, k := range Catalogue() {
		if !produced[k.Type] {
			t.Errorf("catalogue type %s comes from no audited action or Emit", k.Type)
		}
	}
	// Tenant management is audited on the platform and belongs to the tenant.
	d := fromAudit(Entry{Tenant: store.PlatformTenant, Action: "tenant.suspend", TargetType: "tenant", TargetID: "t9"})
	if len(d) != 1 || d[0].tenant != "t9" || d[0].typ != "tenant.suspended" {
		t.Fatalf("tenant.suspend -> %+v", d)
	}
	// A role given to a user is in that user's order.
	d = fromAudit(auditCases[18].e)
	if d[0].userID != "u1" || d[0].data["user_id"] != "u1" || d[0].data["assignment_id"] != "a1" {
		t.Fatalf("role.assign -> %+v", d)
	}
	// A user's membership is in that user's order; a group's in none.
	if d = fromAudit(auditCases[len(auditCases)-2-len(objectActions)].e); d[0].userID != "u1" || d[0].data["member_id"] != "u1" {
		t.Fatalf("group.member.add -> %+v", d)
	}
	if d = fromAudit(auditCases[len(auditCases)-1-len(objectActions)].e); d[0].userID != "" || d[0].data["member_id"] != "g2" {
		t.Fatalf("group.member.remove -> %+v", d)
	}
}

// TestSchemas: every kind has a well-formed schema that requires what it
// says, refuses what it does not know (unless open) and is documented.
func TestSchemas(t *testing.T) {
	seen := map[string]bool{}
	for _, k := range Catalogue() {
		if seen[k.Type] {
			t.Errorf("%s twice in the catalogue", k.Type)
		}
		seen[k.Type] = true
		var s map[string]any
		if err := json.Unmarshal(k.Schema(), &s); err != nil || s["title"] != k.Type || s["type"] != "object" {
			t.Errorf("%s: schema %s: %v", k.Type, k.Schema(), err)
		}
		if err := Validate(k.Type, []byte(`[]`)); err == nil {
			t.Errorf("%s: an array validates", k.Type)
		}
		if err := Validate(k.Type, []byte(`{"user_id":"u","session_id":"s","role_id":"r","elevation_id":"e","plan":"p","limit":"l","percent":80,"client_id":"c","connection_id":"c","tenant_id":"t","zzz_unknown":1}`)); (err == nil) != k.Open {
			t.Errorf("%s: unknown property accepted = %v, open = %v", k.Type, err == nil, k.Open)
		}
	}
	if err := Validate("user.created", []byte(`{"email":"a@example.com"}`)); err == nil {
		t.Error("user.created without user_id validates")
	}
	if err := Validate("user.created", []byte(`{"user_id":"u","email_verified":"yes"}`)); err == nil {
		t.Error("a string email_verified validates")
	}
	if err := Validate("no.such", []byte(`{}`)); err == nil {
		t.Error("an unknown type validates")
	}
	doc, err := os.ReadFile("../../docs/events.md")
	if err != nil {
		t.Fatal(err)
	}
	want := schemaSection()
	if *update {
		doc = replaceSection(doc, want)
		if err := os.WriteFile("../../docs/events.md", doc, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if !strings.Contains(string(doc), want) {
		t.Fatal("docs/events.md does not carry the catalogue's schemas; run go test ./internal/events -run TestSchemas -update")
	}
}

const (
	sectionStart = "<!-- schemas: generated by go test ./internal/events -run TestSchemas -update -->\n"
	sectionEnd   = "<!-- end of schemas -->\n"
)

// schemaSection is the documentation of every kind with its schema.
func schemaSection() string {
	var b strings.Builder
	b.WriteString(sectionStart)
	for _, k := range Catalogue() {
		b.WriteString("\n### " + k.Type + "\n\n" + k.Doc + "\n\n")
		for _, f := range k.Fields {
			line := "- `" + f.Name + "` (" + f.Type
			if f.Required {
				line += ", required"
			}
			line += ")"
			if f.Doc != "" {
				line += ": " + f.Doc
			}
			b.WriteString(line + "\n")
		}
		if k.Open {
			b.WriteString("- and the fields of the audited change, each with its new value\n")
		}
		b.WriteString("\n<details><summary>JSON Schema</summary>\n\n```json\n" + string(k.Schema()) + "\n```\n\n</details>\n")
	}
	b.WriteString("\n" + sectionEnd)
	return b.String()
}

func replaceSection(doc []byte, section string) []byte {
	s := string(doc)
	i, j := strings.Index(s, sectionStart), strings.Index(s, sectionEnd)
	if i < 0 || j < i {
		return []byte(s + "\n" + section)
	}
	return []byte(s[:i] + section + s[j+len(sectionEnd):])
}

// TestMatches: subscription patterns.
func TestMatches(t *testing.T) {
	for _, c := range []struct {
		p, typ string
		want   bool
	}{
		{"user.created", "user.created", true}, {"user.*", "user.email.verified", true}, {"*", "tenant.created", true},
		{"user.*", "users.x", false}, {"user.created", "user.updated", false}, {"user", "user.created", false},
	} {
		if Matches(c.p, c.typ) != c.want {
			t.Errorf("Matches(%q, %q) = %v", c.p, c.typ, !c.want)
		}
	}
	for p, want := range map[string]bool{"client.*": true, "user.email.*": true, "*": true, "nope.*": false, "user.": false, "": false} {
		if ValidPattern(p) != want {
			t.Errorf("ValidPattern(%q) = %v", p, !want)
		}
	}
}

// TestBackoff: the first retry comes within 5 seconds whatever the
// jitter, later ones grow up to an hour, and retries stop after 3 days.
func TestBackoff(t *testing.T) {
	for _, j := range []float64{0, 0.5, 0.999} {
		d := &Dispatcher{Jitter: func() float64 { return j }}
		if b := d.backoff(1); b > 5*time.Second || b < 2*time.Second {
			t.Errorf("first retry after %v with jitter %v", b, j)
		}
		prev, total, n := time.Duration(0), time.Duration(0), 0
		for a := 1; total < 72*time.Hour; a++ {
			b := d.backoff(a)
			if j == 0 && b < prev {
				t.Fatalf("attempt %d waits %v, less than %v before", a, b, prev)
			}
			if b > time.Hour {
				t.Fatalf("attempt %d waits %v", a, b)
			}
			prev, total, n = b, total+b, n+1
		}
		if n < 60 || n > 160 {
			t.Errorf("%d attempts in 3 days with jitter %v", n, j)
		}
	}
	d := &Dispatcher{}
	seen := map[time.Duration]bool{}
	for range 20 {
		seen[d.backoff(5)] = true
	}
	if len(seen) < 2 {
		t.Error("no jitter: 20 retries of attempt 5 all wait the same")
	}
}
