package privacy_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/privacy"
	"github.com/gatehouse-id/gatehouse/internal/seal"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
	"github.com/google/uuid"
)

func newShredder(t *testing.T) *privacy.Shredder {
	t.Helper()
	key, err := seal.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	m, err := seal.New(key, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &privacy.Shredder{Master: m}
}

func setup(t *testing.T) (store.Store, store.TenantID, *store.User) {
	t.Helper()
	s := sqltest.OpenSQLite(t)
	tn := &store.Tenant{ID: store.TenantID(uuid.Must(uuid.NewV7()).String()), Slug: "acme", Name: "Acme"}
	if err := s.Tenants().CreateTenant(t.Context(), tn); err != nil {
		t.Fatal(err)
	}
	u := &store.User{ID: uuid.Must(uuid.NewV7()).String(), Tenant: tn.ID, Email: "ann@example.com", EmailNorm: "ann@example.com",
		Status: store.UserActive}
	if err := s.Users().CreateUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	return s, tn.ID, u
}

func TestSealOpenErase(t *testing.T) {
	s, tn, u := setup(t)
	sh := newShredder(t)
	rec := &events.Recorder{Now: time.Now, Sealer: sh}
	ctx := t.Context()
	actor := events.Actor{Type: "apikey", ID: "k1", ClientIP: "203.0.113.9"}
	for _, e := range []events.Entry{
		{Tenant: tn, Action: "user.update", TargetType: "user", TargetID: u.ID,
			Changes: events.Changes{"email": {Before: "ann@example.com", After: "ann@new.example"}, "phone": {Before: nil, After: "+15550100"}}},
		{Tenant: tn, Action: "client.create", TargetType: "client", TargetID: "c1", Changes: events.Changes{"name": {After: "Photo app"}}},
	} {
		if err := rec.Record(ctx, s, actor, e); err != nil {
			t.Fatal(err)
		}
	}
	es, err := s.Audit().ListAudit(ctx, tn, store.AuditQuery{})
	if err != nil || len(es) != 2 {
		t.Fatalf("ListAudit = %d %v", len(es), err)
	}
	client, person := es[0], es[1]
	raw := string(person.Changes) + person.ClientIP
	for _, clear := range []string{"ann@", "+15550100", "203.0.113.9"} {
		if strings.Contains(raw, clear) {
			t.Errorf("stored entry holds %q: %s", clear, raw)
		}
	}
	if !strings.Contains(string(person.Changes), `"before":null`) {
		t.Errorf("a null is sealed too: %s", person.Changes)
	}
	if client.ClientIP != "203.0.113.9" || !strings.Contains(string(client.Changes), "Photo app") {
		t.Errorf("an entry about no one was sealed: %+v", client)
	}

	opened := []store.AuditEntry{person, client}
	if err := sh.Open(ctx, s, opened); err != nil {
		t.Fatal(err)
	}
	var ch events.Changes
	if err := json.Unmarshal(opened[0].Changes, &ch); err != nil {
		t.Fatal(err)
	}
	if ch["email"].Before != "ann@example.com" || ch["email"].After != "ann@new.example" || ch["phone"].After != "+15550100" ||
		opened[0].ClientIP != "203.0.113.9" {
		t.Errorf("opened: %+v %s", ch, opened[0].ClientIP)
	}
	if opened[0].ComputeHash() == person.Hash {
		t.Error("the hash covers the opened form: it must cover the ciphertext")
	}

	// A sealed value moved to another entry does not open there.
	moved := client
	moved.ClientIP = person.ClientIP
	ms := []store.AuditEntry{moved}
	if err := sh.Open(ctx, s, ms); err != nil {
		t.Fatal(err)
	}
	if ms[0].ClientIP != privacy.Unreadable {
		t.Errorf("moved value opened as %q", ms[0].ClientIP)
	}
	// Another master key opens nothing.
	if err := newShredder(t).Open(ctx, s, []store.AuditEntry{person}); err == nil {
		t.Error("another master key opened the data key")
	}

	// Erasure destroys the key: the entry stays, verifies, reads [erased].
	if _, err := s.Privacy().EraseUser(ctx, tn, u.ID, []string{u.EmailNorm}); err != nil {
		t.Fatal(err)
	}
	es, _ = s.Audit().ListAudit(ctx, tn, store.AuditQuery{TargetID: u.ID})
	if len(es) != 1 || es[0].Hash != person.Hash {
		t.Fatalf("after erasure: %+v", es)
	}
	if err := sh.Open(ctx, s, es); err != nil {
		t.Fatal(err)
	}
	if es[0].ClientIP != privacy.Erased || strings.Count(string(es[0].Changes), `"[erased]"`) != 3 {
		t.Errorf("after erasure: %s %s", es[0].ClientIP, es[0].Changes)
	}
	if vr, err := events.Verify(ctx, s.Audit(), tn); err != nil || !vr.Intact {
		t.Errorf("Verify = %+v %v", vr, err)
	}
	// Entries about the erased id afterwards carry no personal data and
	// are left as written.
	if err := rec.Record(ctx, s, actor, events.Entry{Tenant: tn, Action: "user.erased", TargetType: "user", TargetID: u.ID,
		Changes: events.Changes{"rows": {After: 3}}}); err != nil {
		t.Fatal(err)
	}
	if erased, _ := s.Privacy().ErasedUser(ctx, tn, u.ID); !erased {
		t.Error("no tombstone")
	}
}

func TestSubject(t *testing.T) {
	for _, c := range []struct {
		e    store.AuditEntry
		want string
	}{
		{store.AuditEntry{TargetType: "user", TargetID: "u1", ActorType: "user", ActorID: "u2"}, "u1"},
		{store.AuditEntry{TargetType: "session", TargetID: "s1", ActorType: "user", ActorID: "u2"}, "u2"},
		{store.AuditEntry{TargetType: "client", TargetID: "c1", ActorType: "apikey", ActorID: "k"}, ""},
	} {
		if got := privacy.Subject(&c.e); got != c.want {
			t.Errorf("Subject(%+v) = %q, want %q", c.e, got, c.want)
		}
	}
}
