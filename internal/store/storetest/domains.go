package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

var domainTests = []test{
	{"CustomDomains", testCustomDomains},
	{"TLSStorage", testTLSStorage},
	{"QueueStats", testQueueStats},
}

// testCustomDomains: a host is one tenant's in the whole deployment,
// invisible to another tenant's calls, and found by ByHost.
func testCustomDomains(t *testing.T, s store.Store) {
	a, b := mkTenant(t, s), mkTenant(t, s)
	host := "login." + newID() + ".test"
	d := &store.CustomDomain{Host: host, Tenant: a, Status: store.DomainPending, Token: "tok-1"}
	noErr(t, "Create", s.Domains().Create(ctx(t), d))
	wantErr(t, "Create(taken by another tenant)", s.Domains().Create(ctx(t),
		&store.CustomDomain{Host: host, Tenant: b, Status: store.DomainPending, Token: "tok-2"}), store.ErrConflict)
	got, err := s.Domains().Get(ctx(t), a, host)
	noErr(t, "Get", err)
	same(t, "Get", got, d)
	_, err = s.Domains().Get(ctx(t), b, host)
	wantErr(t, "Get(other tenant)", err, store.ErrNotFound)
	got, err = s.Domains().ByHost(ctx(t), host)
	noErr(t, "ByHost", err)
	same(t, "ByHost", got, d)

	when := time.Now().UTC().Truncate(time.Second)
	_, err = s.Domains().Update(ctx(t), b, host, func(*store.CustomDomain) error { return nil })
	wantErr(t, "Update(other tenant)", err, store.ErrNotFound)
	up, err := s.Domains().Update(ctx(t), a, host, func(d *store.CustomDomain) error {
		d.Status, d.VerifiedAt = store.DomainVerified, when
		d.CertPEM, d.KeySealed, d.CertNotAfter = "PEM", []byte{1, 2, 3}, when.Add(time.Hour)
		d.Tenant = b // ignored: a domain cannot change tenant
		return nil
	})
	noErr(t, "Update", err)
	got, err = s.Domains().Get(ctx(t), a, host)
	noErr(t, "Get(after update)", err)
	same(t, "Update", got, up)
	if got.Status != store.DomainVerified || !got.VerifiedAt.Equal(when) || got.Tenant != a || string(got.KeySealed) != "\x01\x02\x03" {
		t.Errorf("after update %+v", got)
	}
	list, err := s.Domains().List(ctx(t), a)
	noErr(t, "List", err)
	if len(list) != 1 || list[0].Host != host {
		t.Errorf("List = %+v", list)
	}
	list, err = s.Domains().List(ctx(t), b)
	noErr(t, "List(b)", err)
	if len(list) != 0 {
		t.Errorf("List(b) = %+v", list)
	}
	wantErr(t, "Delete(other tenant)", s.Domains().Delete(ctx(t), b, host), store.ErrNotFound)
	noErr(t, "Delete", s.Domains().Delete(ctx(t), a, host))
	_, err = s.Domains().ByHost(ctx(t), host)
	wantErr(t, "ByHost(deleted)", err, store.ErrNotFound)
}

// testTLSStorage: keys, listing by prefix, deletion of a subtree, and
// locks that expire.
func testTLSStorage(t *testing.T, s store.Store) {
	st := s.TLS()
	p := "t" + newID()
	for _, k := range []string{p + "/certs/a/a.crt", p + "/certs/a/a.key", p + "/certs/b_%/b.crt", p + "/acct.json"} {
		noErr(t, "Put "+k, st.Put(ctx(t), k, []byte("v:"+k)))
	}
	noErr(t, "Put(replace)", st.Put(ctx(t), p+"/acct.json", []byte("v2")))
	v, mod, err := st.Get(ctx(t), p+"/acct.json")
	noErr(t, "Get", err)
	if string(v) != "v2" || mod.IsZero() {
		t.Errorf("Get = %q %v", v, mod)
	}
	_, _, err = st.Get(ctx(t), p+"/nope")
	wantErr(t, "Get(absent)", err, store.ErrNotFound)
	keys, err := st.Keys(ctx(t), p, false)
	noErr(t, "Keys", err)
	if !slices.Equal(keys, []string{p + "/acct.json", p + "/certs"}) {
		t.Errorf("Keys(non-recursive) = %v", keys)
	}
	keys, err = st.Keys(ctx(t), p+"/certs", true)
	noErr(t, "Keys(recursive)", err)
	if len(keys) != 3 {
		t.Errorf("Keys(recursive) = %v", keys)
	}
	// A LIKE wildcard in a key is literal.
	keys, err = st.Keys(ctx(t), p+"/certs/b_%", true)
	noErr(t, "Keys(wildcards)", err)
	if !slices.Equal(keys, []string{p + "/certs/b_%/b.crt"}) {
		t.Errorf("Keys(wildcards) = %v", keys)
	}
	noErr(t, "Delete(subtree)", st.Delete(ctx(t), p+"/certs/a"))
	wantErr(t, "Delete(absent)", st.Delete(ctx(t), p+"/certs/a"), store.ErrNotFound)
	keys, _ = st.Keys(ctx(t), p, true)
	if len(keys) != 2 {
		t.Errorf("after Delete: %v", keys)
	}

	now := time.Now()
	ok, err := st.TryLock(ctx(t), p, now, now.Add(time.Minute))
	noErr(t, "TryLock", err)
	if !ok {
		t.Fatal("TryLock on a free lock failed")
	}
	if ok, _ := st.TryLock(ctx(t), p, now, now.Add(time.Minute)); ok {
		t.Error("TryLock took a held lock")
	}
	if ok, _ := st.TryLock(ctx(t), p, now.Add(2*time.Minute), now.Add(3*time.Minute)); !ok {
		t.Error("TryLock did not take an expired lock")
	}
	noErr(t, "Unlock", st.Unlock(ctx(t), p))
	if ok, _ := st.TryLock(ctx(t), p, now, now.Add(time.Minute)); !ok {
		t.Error("TryLock after Unlock failed")
	}
}

// testQueueStats: the backlogs answer without error on an empty store and
// count an enqueued mail.
func testQueueStats(t *testing.T, s store.Store) {
	b, err := s.Queues().Events(ctx(t))
	noErr(t, "Events", err)
	if b.Depth < 0 {
		t.Errorf("Events = %+v", b)
	}
	before, err := s.Queues().Mail(ctx(t))
	noErr(t, "Mail", err)
	tn := mkTenant(t, s)
	at := time.Now().UTC().Add(-time.Minute).Truncate(time.Second)
	noErr(t, "EnqueueMail", s.SelfService().MailQueue().EnqueueMail(ctx(t), &store.Mail{ID: newID(), Tenant: tn,
		To: "a@example.com", Kind: "test", Sealed: []byte{1}, CreatedAt: at, NextAttemptAt: at}))
	after, err := s.Queues().Mail(ctx(t))
	noErr(t, "Mail", err)
	if after.Depth != before.Depth+1 || after.Oldest.IsZero() || after.Oldest.After(at) {
		t.Errorf("Mail backlog %+v after one enqueued at %v (before %+v)", after, at, before)
	}
}
