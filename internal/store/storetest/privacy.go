package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

var privacyTests = []test{
	{"Privacy/UserKeys", testPrivacyUserKeys},
	{"Privacy/Holds", testPrivacyHolds},
	{"Privacy/EraseUser", testPrivacyEraseUser},
	{"Privacy/Requests", testPrivacyRequests},
	{"Privacy/Retention", testPrivacyRetention},
	{"Privacy/RechainAudit", testPrivacyRechain},
}

func testPrivacyUserKeys(t *testing.T, s store.Store) {
	tn, other := mkTenant(t, s), mkTenant(t, s)
	alice := mkUser(t, s, tn, "alice")
	p := s.Privacy()
	_, err := p.UserKey(ctx(t), tn, alice.ID)
	wantErr(t, "UserKey before", err, store.ErrNotFound)
	got, err := p.PutUserKey(ctx(t), tn, alice.ID, []byte("sealed-1"))
	if err != nil || string(got) != "sealed-1" {
		t.Fatalf("PutUserKey = %q %v", got, err)
	}
	// A second writer gets the first key, not its own.
	if got, err := p.PutUserKey(ctx(t), tn, alice.ID, []byte("sealed-2")); err != nil || string(got) != "sealed-1" {
		t.Fatalf("PutUserKey again = %q %v", got, err)
	}
	if got, err := p.UserKey(ctx(t), tn, alice.ID); err != nil || string(got) != "sealed-1" {
		t.Fatalf("UserKey = %q %v", got, err)
	}
	_, err = p.UserKey(ctx(t), other, alice.ID)
	wantErr(t, "UserKey in another tenant", err, store.ErrNotFound)
	if erased, err := p.ErasedUser(ctx(t), tn, alice.ID); err != nil || erased {
		t.Fatalf("ErasedUser before = %v %v", erased, err)
	}
	if _, err := p.EraseUser(ctx(t), tn, alice.ID, nil); err != nil {
		t.Fatal(err)
	}
	_, err = p.UserKey(ctx(t), tn, alice.ID)
	wantErr(t, "UserKey after erasure", err, store.ErrNotFound)
	if erased, err := p.ErasedUser(ctx(t), tn, alice.ID); err != nil || !erased {
		t.Fatalf("ErasedUser after = %v %v", erased, err)
	}
	// An erased id never gets a key again.
	_, err = p.PutUserKey(ctx(t), tn, alice.ID, []byte("sealed-3"))
	wantErr(t, "PutUserKey after erasure", err, store.ErrNotFound)
}

func testPrivacyHolds(t *testing.T, s store.Store) {
	tn, other := mkTenant(t, s), mkTenant(t, s)
	alice := mkUser(t, s, tn, "alice")
	p := s.Privacy()
	_, err := p.Hold(ctx(t), tn, alice.ID)
	wantErr(t, "Hold before", err, store.ErrNotFound)
	at := time.Now().UTC().Truncate(time.Microsecond)
	noErr(t, "SetHold", p.SetHold(ctx(t), &store.LegalHold{Tenant: tn, UserID: alice.ID, Reason: "case 17", SetBy: "apikey:k", SetAt: at}))
	noErr(t, "SetHold again", p.SetHold(ctx(t), &store.LegalHold{Tenant: tn, UserID: alice.ID, Reason: "case 18", SetBy: "apikey:k", SetAt: at}))
	h, err := p.Hold(ctx(t), tn, alice.ID)
	if err != nil || h.Reason != "case 18" || !h.SetAt.Equal(at) || h.SetBy != "apikey:k" {
		t.Fatalf("Hold = %+v %v", h, err)
	}
	_, err = p.Hold(ctx(t), other, alice.ID)
	wantErr(t, "Hold in another tenant", err, store.ErrNotFound)
	wantErr(t, "SetHold of an unknown user", p.SetHold(ctx(t), &store.LegalHold{Tenant: other, UserID: alice.ID}), store.ErrNotFound)
	wantErr(t, "LiftHold in another tenant", p.LiftHold(ctx(t), other, alice.ID), store.ErrNotFound)
	noErr(t, "LiftHold", p.LiftHold(ctx(t), tn, alice.ID))
	wantErr(t, "LiftHold twice", p.LiftHold(ctx(t), tn, alice.ID), store.ErrNotFound)
}

func testPrivacyEraseUser(t *testing.T, s store.Store) {
	tn, other := mkTenant(t, s), mkTenant(t, s)
	alice, bob := mkUser(t, s, tn, "alice"), mkUser(t, s, tn, "bob")
	twin := mkUser(t, s, other, "alice") // same address, another tenant
	now := time.Now()
	mail := func(tenant store.TenantID, to string) string {
		m := &store.Mail{ID: newID(), Tenant: tenant, To: to, Kind: "k", Sealed: []byte("x")}
		noErr(t, "EnqueueMail", s.SelfService().MailQueue().EnqueueMail(ctx(t), m))
		return m.ID
	}
	aliceMail, bobMail, twinMail := mail(tn, alice.Email), mail(tn, bob.Email), mail(other, twin.Email)
	noErr(t, "SetNoticesMuted", s.SelfService().NoticePrefs().SetNoticesMuted(ctx(t), tn, alice.ID, true))
	noErr(t, "SetHold", s.Privacy().SetHold(ctx(t), &store.LegalHold{Tenant: tn, UserID: alice.ID}))
	th := s.OAuth().Throttle()
	for _, k := range []string{"acct:" + alice.ID, "acct:" + bob.ID} {
		if _, err := th.Fail(ctx(t), tn, k, now, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Privacy().PutUserKey(ctx(t), other, twin.ID, []byte("k")); err != nil {
		t.Fatal(err)
	}

	c, err := s.Privacy().EraseUser(ctx(t), tn, alice.ID, []string{strings.ToLower(alice.Email)})
	if err != nil {
		t.Fatal(err)
	}
	if c.Users != 1 || c.MailQueued != 1 || c.Throttle != 1 || c.Keys != 1 || c.Other < 2 {
		t.Errorf("counts = %+v", c)
	}
	_, err = s.Users().GetUser(ctx(t), tn, alice.ID)
	wantErr(t, "GetUser after erasure", err, store.ErrNotFound)
	_, err = s.SelfService().MailQueue().GetMail(ctx(t), aliceMail)
	wantErr(t, "the erased user's mail", err, store.ErrNotFound)
	for _, id := range []string{bobMail, twinMail} {
		if _, err := s.SelfService().MailQueue().GetMail(ctx(t), id); err != nil {
			t.Errorf("another person's mail was removed: %v", err)
		}
	}
	if n, _, _ := th.Failures(ctx(t), tn, "acct:"+bob.ID, now, time.Hour); n != 1 {
		t.Errorf("Bob's throttle count = %d", n)
	}
	if n, _, _ := th.Failures(ctx(t), tn, "acct:"+alice.ID, now, time.Hour); n != 0 {
		t.Errorf("Alice's throttle count = %d", n)
	}
	if _, err := s.Users().GetUser(ctx(t), other, twin.ID); err != nil {
		t.Errorf("the other tenant's user: %v", err)
	}
	if _, err := s.Privacy().UserKey(ctx(t), other, twin.ID); err != nil {
		t.Errorf("the other tenant's key: %v", err)
	}
	_, err = s.Privacy().EraseUser(ctx(t), tn, alice.ID, nil)
	wantErr(t, "EraseUser twice", err, store.ErrNotFound)
	for _, want := range []string{"users", "mail_queue", "throttle", "notice_optouts", "privacy_holds"} {
		if !slices.Contains(c.Tables, want) {
			t.Errorf("touched tables %v lack %s", c.Tables, want)
		}
	}
	noErr(t, "Reclaim", s.Privacy().Reclaim(ctx(t), c.Tables))
	if err := s.Privacy().Reclaim(ctx(t), []string{"users; DROP TABLE users"}); err == nil && s.Dialect() == "postgres" {
		t.Error("Reclaim took a table name that is not one")
	}
	err = s.InTx(ctx(t), func(tx store.Repos) error { return tx.Privacy().Reclaim(ctx(t), c.Tables) })
	if err == nil {
		t.Error("Reclaim inside a transaction succeeded")
	}
}

func testPrivacyRequests(t *testing.T, s store.Store) {
	tn, other := mkTenant(t, s), mkTenant(t, s)
	p := s.Privacy()
	now := time.Now().UTC().Truncate(time.Microsecond)
	var ids []string
	for i := range 3 {
		r := &store.PrivacyRequest{ID: newID(), Tenant: tn, Type: "access", UserID: newID(), Regime: "gdpr", Status: "open",
			CreatedAt: now, DueAt: now.Add(time.Duration(i+1) * 24 * time.Hour)}
		noErr(t, "CreateRequest", p.CreateRequest(ctx(t), r))
		ids = append(ids, r.ID)
	}
	wantErr(t, "CreateRequest twice", p.CreateRequest(ctx(t), &store.PrivacyRequest{ID: ids[0], Tenant: tn, Type: "access",
		Regime: "gdpr", Status: "open", DueAt: now}), store.ErrConflict)
	got, err := p.GetRequest(ctx(t), tn, ids[1])
	if err != nil || !got.DueAt.Equal(now.Add(48*time.Hour)) || got.ClosedAt != nil || got.Status != "open" {
		t.Fatalf("GetRequest = %+v %v", got, err)
	}
	_, err = p.GetRequest(ctx(t), other, ids[1])
	wantErr(t, "GetRequest in another tenant", err, store.ErrNotFound)
	page, err := p.ListRequests(ctx(t), tn, "", store.Page{Limit: 2})
	if err != nil || len(page) != 2 || page[0].ID != ids[0] {
		t.Fatalf("ListRequests = %v %v", page, err)
	}
	rest, _ := p.ListRequests(ctx(t), tn, "", store.Page{After: page[1].ID})
	if len(rest) != 1 || rest[0].ID != ids[2] {
		t.Fatalf("second page = %v", rest)
	}
	boom := errors.New("boom")
	if _, err := p.UpdateRequest(ctx(t), tn, ids[0], func(r *store.PrivacyRequest) error { r.Status = "rejected"; return boom }); !errors.Is(err, boom) {
		t.Fatalf("UpdateRequest error = %v", err)
	}
	closed := now.Add(time.Hour)
	u, err := p.UpdateRequest(ctx(t), tn, ids[0], func(r *store.PrivacyRequest) error {
		r.Status, r.Note, r.ClosedAt = "completed", "done", &closed
		return nil
	})
	if err != nil || u.Status != "completed" || u.ClosedAt == nil {
		t.Fatalf("UpdateRequest = %+v %v", u, err)
	}
	_, err = p.UpdateRequest(ctx(t), other, ids[0], func(*store.PrivacyRequest) error { return nil })
	wantErr(t, "UpdateRequest in another tenant", err, store.ErrNotFound)
	open, _ := p.ListRequests(ctx(t), tn, "open", store.Page{})
	done, _ := p.ListRequests(ctx(t), tn, "completed", store.Page{})
	if len(open) != 2 || len(done) != 1 || done[0].Note != "done" || !done[0].ClosedAt.Equal(closed) {
		t.Errorf("by status: open %d, completed %v", len(open), done)
	}
	if l, _ := p.ListRequests(ctx(t), other, "", store.Page{}); len(l) != 0 {
		t.Errorf("another tenant lists %d requests", len(l))
	}
}

func testPrivacyRetention(t *testing.T, s store.Store) {
	tn, other := mkTenant(t, s), mkTenant(t, s)
	alice, bob := mkUser(t, s, tn, "alice"), mkUser(t, s, tn, "bob")
	mkUser(t, s, other, "carol")
	p := s.Privacy()
	// Bob signed in an hour from now: he is active past a cutoff of now.
	noErr(t, "RecordLogin", s.Users().RecordLogin(ctx(t), tn, bob.ID, time.Now().Add(time.Hour), "", ""))
	cutoff := time.Now().Add(time.Minute)
	us, err := p.InactiveUsers(ctx(t), tn, cutoff, 10)
	if err != nil || len(us) != 1 || us[0].ID != alice.ID {
		t.Fatalf("InactiveUsers = %v %v", us, err)
	}
	if us, _ := p.InactiveUsers(ctx(t), tn, time.Now().Add(-time.Hour), 10); len(us) != 0 {
		t.Errorf("InactiveUsers before creation = %v", us)
	}
	_, err = p.RetentionNotice(ctx(t), tn, alice.ID)
	wantErr(t, "RetentionNotice before", err, store.ErrNotFound)
	at := time.Now().UTC().Truncate(time.Microsecond)
	put := func(what string, at, staleBefore time.Time, want bool) {
		t.Helper()
		if ok, err := p.PutRetentionNotice(ctx(t), tn, alice.ID, at, staleBefore); err != nil || ok != want {
			t.Fatalf("%s: PutRetentionNotice = %v %v, want %v", what, ok, err, want)
		}
	}
	put("first", at, at.Add(-time.Hour), true)
	// A notice newer than the last activity stands: a second node loses.
	put("concurrent", at.Add(time.Second), at.Add(-time.Hour), false)
	if got, err := p.RetentionNotice(ctx(t), tn, alice.ID); err != nil || !got.Equal(at) {
		t.Fatalf("RetentionNotice = %v %v", got, err)
	}
	// A notice older than the last activity is stale and replaced.
	put("stale", at.Add(2*time.Second), at.Add(time.Millisecond), true)
	if got, err := p.RetentionNotice(ctx(t), tn, alice.ID); err != nil || !got.Equal(at.Add(2*time.Second)) {
		t.Fatalf("RetentionNotice after a stale one = %v %v", got, err)
	}
	_, err = p.RetentionNotice(ctx(t), other, alice.ID)
	wantErr(t, "RetentionNotice in another tenant", err, store.ErrNotFound)
	noErr(t, "ClearRetentionNotice", p.ClearRetentionNotice(ctx(t), tn, alice.ID))
	noErr(t, "ClearRetentionNotice twice", p.ClearRetentionNotice(ctx(t), tn, alice.ID))
	_, err = p.RetentionNotice(ctx(t), tn, alice.ID)
	wantErr(t, "RetentionNotice after clearing", err, store.ErrNotFound)
}

func testPrivacyRechain(t *testing.T, s store.Store) {
	tn, other := mkTenant(t, s), mkTenant(t, s)
	for i := range 5 {
		for _, x := range []store.TenantID{tn, other} {
			noErr(t, "AppendAudit", s.Audit().AppendAudit(ctx(t), &store.AuditEntry{Tenant: x, Action: "user.update",
				TargetType: "user", TargetID: "u", ClientIP: "192.0.2.1", Changes: []byte(fmt.Sprintf(`{"n":{"after":%d}}`, i))}))
		}
	}
	otherHead, _ := s.Audit().AuditHead(ctx(t), other)
	// A tenant made now is marked with its creation: its chain is sealed
	// from the first entry, and the start-up conversion never lists it.
	if done, err := s.Privacy().AuditSealed(ctx(t), tn); err != nil || !done {
		t.Fatalf("AuditSealed of a new tenant = %v %v", done, err)
	}
	for p := (store.Page{Limit: 1000}); ; {
		ts, err := s.Privacy().UnsealedAuditTenants(ctx(t), p)
		noErr(t, "UnsealedAuditTenants", err)
		if slices.Contains(ts, tn) || slices.Contains(ts, other) {
			t.Fatalf("UnsealedAuditTenants lists a new tenant: %v", ts)
		}
		if len(ts) < p.Limit {
			break
		}
		p.After = string(ts[len(ts)-1])
	}
	var n int64
	err := s.InTx(ctx(t), func(tx store.Repos) error {
		var err error
		n, err = tx.Privacy().RechainAudit(ctx(t), tn, func(e *store.AuditEntry) error {
			e.ClientIP = "sealed"
			e.Changes = bytes.ReplaceAll(e.Changes, []byte(`"after"`), []byte(`"now"`))
			e.Seq = 99 // ignored
			return nil
		})
		if err != nil {
			return err
		}
		return tx.Privacy().MarkAuditSealed(ctx(t), tn, time.Now())
	})
	if err != nil || n != 5 {
		t.Fatalf("RechainAudit = %d %v", n, err)
	}
	if done, err := s.Privacy().AuditSealed(ctx(t), tn); err != nil || !done {
		t.Fatalf("AuditSealed after = %v %v", done, err)
	}
	head, _ := s.Audit().AuditHead(ctx(t), tn)
	prev, seq := "", int64(0)
	noErr(t, "ScanAudit", s.Audit().ScanAudit(ctx(t), tn, func(e store.AuditEntry) error {
		seq++
		if e.Seq != seq || e.PrevHash != prev || e.ComputeHash() != e.Hash || e.ClientIP != "sealed" || !bytes.Contains(e.Changes, []byte(`"now"`)) {
			t.Errorf("entry %d after rechaining: %+v", e.Seq, e)
		}
		prev = e.Hash
		return nil
	}))
	if head.Seq != 5 || head.Hash != prev {
		t.Errorf("head %+v, last hash %s", head, prev)
	}
	if h, _ := s.Audit().AuditHead(ctx(t), other); h != otherHead {
		t.Error("another tenant's chain changed")
	}
	// A failing fn changes nothing.
	boom := errors.New("boom")
	err = s.InTx(ctx(t), func(tx store.Repos) error {
		_, err := tx.Privacy().RechainAudit(ctx(t), tn, func(e *store.AuditEntry) error {
			if e.Seq == 3 {
				return boom
			}
			e.ClientIP = "changed"
			return nil
		})
		return err
	})
	if !errors.Is(err, boom) {
		t.Fatalf("RechainAudit with a failing fn = %v", err)
	}
	if h, _ := s.Audit().AuditHead(ctx(t), tn); h != head {
		t.Error("a failed rechaining changed the head")
	}
	if n, err := s.Privacy().RechainAudit(ctx(t), mkTenant(t, s), func(*store.AuditEntry) error { return nil }); err != nil || n != 0 {
		t.Errorf("RechainAudit of an empty chain = %d %v", n, err)
	}
}
