package storetest

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

var auditTests = []test{
	{"Audit/Chain", testAuditChain},
	{"Audit/ConcurrentAppends", testAuditConcurrent},
	{"Audit/TenantsIndependent", testAuditTenants},
	{"Audit/List", testAuditList},
	{"Audit/ScanMany", testAuditScanMany},
}

// scan collects a chain and checks it links up: seq 1..n, each PrevHash the
// hash before it, each Hash the entry's own.
func scan(t *testing.T, s store.Store, tn store.TenantID) []store.AuditEntry {
	t.Helper()
	var es []store.AuditEntry
	noErr(t, "ScanAudit", s.Audit().ScanAudit(ctx(t), tn, func(e store.AuditEntry) error {
		es = append(es, e)
		return nil
	}))
	prev := ""
	for i, e := range es {
		if e.Seq != int64(i+1) || e.Tenant != tn || e.PrevHash != prev || e.Hash != e.ComputeHash() {
			t.Fatalf("chain broken at entry %d: %+v (want seq %d, prev %q, hash %q)", i, e, i+1, prev, e.ComputeHash())
		}
		prev = e.Hash
	}
	return es
}

func testAuditChain(t *testing.T, s store.Store) {
	tn := mkTenant(t, s)
	at := time.Date(2025, 3, 4, 5, 6, 7, 891234567, time.FixedZone("Y", -3600))
	// Changes keep their exact bytes (the hash covers them).
	changes := json.RawMessage(`{"email": {"before":"a@x.io",  "after":"b@x.io"}}`)
	var appended []store.AuditEntry
	for i := range 3 {
		e := &store.AuditEntry{Tenant: tn, Time: at, ActorType: "apikey", ActorID: "k1", Action: "user.update",
			TargetType: "user", TargetID: fmt.Sprint(i), ClientIP: "192.0.2.1", RequestID: "r", Changes: changes}
		if i == 2 {
			e.ID, e.Time, e.Changes = "", time.Time{}, nil // the store fills ID and Time
		}
		noErr(t, "AppendAudit", s.Audit().AppendAudit(ctx(t), e))
		if e.Seq != int64(i+1) || e.Hash != e.ComputeHash() || e.ID == "" || e.Time.IsZero() {
			t.Errorf("append %d filled %+v", i, e)
		}
		if i > 0 && e.PrevHash != appended[i-1].Hash {
			t.Errorf("append %d: PrevHash %q, want %q", i, e.PrevHash, appended[i-1].Hash)
		}
		appended = append(appended, *e)
	}
	if appended[0].PrevHash != "" {
		t.Errorf("first entry PrevHash = %q, want empty", appended[0].PrevHash)
	}
	got := scan(t, s, tn)
	if len(got) != 3 {
		t.Fatalf("ScanAudit found %d entries, want 3", len(got))
	}
	for i := range got {
		g, w := got[i], appended[i]
		sameTime(t, "Time", g.Time, w.Time)
		g.Time, w.Time = time.Time{}, time.Time{}
		if string(g.Changes) != string(w.Changes) {
			t.Errorf("entry %d changes %q, want the exact bytes %q", i, g.Changes, w.Changes)
		}
		g.Changes, w.Changes = nil, nil
		if !reflect.DeepEqual(g, w) {
			t.Errorf("entry %d read back as %+v, want %+v", i, g, w)
		}
	}
	sameTime(t, "entry time at microseconds", got[0].Time, time.Date(2025, 3, 4, 6, 6, 7, 891234000, time.UTC))

	// The head names the newest entry; a chain with none has the zero head.
	head, err := s.Audit().AuditHead(ctx(t), tn)
	noErr(t, "AuditHead", err)
	if head != (store.AuditChainHead{Seq: 3, Hash: appended[2].Hash}) {
		t.Errorf("AuditHead = %+v, want seq 3 and the newest hash %s", head, appended[2].Hash)
	}
	if head, err := s.Audit().AuditHead(ctx(t), mkTenant(t, s)); err != nil || head != (store.AuditChainHead{}) {
		t.Errorf("AuditHead of an empty chain = %+v, %v; want the zero head", head, err)
	}

	// ScanAudit stops at fn's error and returns it.
	n := 0
	err = s.Audit().ScanAudit(ctx(t), tn, func(store.AuditEntry) error { n++; return errClosure })
	if err != errClosure || n != 1 {
		t.Errorf("ScanAudit with a failing fn: err %v after %d calls", err, n)
	}
	if err := s.Audit().AppendAudit(ctx(t), &store.AuditEntry{Tenant: tn, Changes: json.RawMessage(`{"a":`)}); err == nil {
		t.Error("AppendAudit accepted changes that are not JSON")
	}
	if len(scan(t, s, tn)) != 3 {
		t.Error("a refused append was written")
	}
}

// testAuditConcurrent: concurrent appends to one chain take turns.
func testAuditConcurrent(t *testing.T, s store.Store) {
	tn := mkTenant(t, s)
	const n = 20
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if err := s.Audit().AppendAudit(ctx(t), &store.AuditEntry{Tenant: tn, Action: "x", TargetID: fmt.Sprint(i)}); err != nil {
				t.Errorf("AppendAudit: %v", err)
			}
		})
	}
	wg.Wait()
	es := scan(t, s, tn)
	if len(es) != n {
		t.Fatalf("chain has %d entries, want %d", len(es), n)
	}
	var targets []string
	for _, e := range es {
		targets = append(targets, e.TargetID)
	}
	slices.Sort(targets)
	if len(slices.Compact(targets)) != n {
		t.Errorf("entries lost or doubled: %v", targets)
	}
}

func testAuditTenants(t *testing.T, s store.Store) {
	a, b := mkTenant(t, s), mkTenant(t, s)
	for i := range 3 {
		noErr(t, "AppendAudit(A)", s.Audit().AppendAudit(ctx(t), &store.AuditEntry{Tenant: a, Action: "a"}))
		if i < 2 {
			noErr(t, "AppendAudit(B)", s.Audit().AppendAudit(ctx(t), &store.AuditEntry{Tenant: b, Action: "b"}))
		}
	}
	noErr(t, "AppendAudit(platform)", s.Audit().AppendAudit(ctx(t), &store.AuditEntry{Tenant: store.PlatformTenant, Action: "tenant.create"}))
	if n := len(scan(t, s, a)); n != 3 {
		t.Errorf("A's chain has %d entries, want 3", n)
	}
	if n := len(scan(t, s, b)); n != 2 {
		t.Errorf("B's chain has %d entries, want 2", n)
	}
	if n := len(scan(t, s, store.PlatformTenant)); n != 1 {
		t.Errorf("platform chain has %d entries, want 1", n)
	}
	list, err := s.Audit().ListAudit(ctx(t), b, store.AuditQuery{})
	noErr(t, "ListAudit(B)", err)
	for _, e := range list {
		if e.Tenant != b || e.Action != "b" {
			t.Errorf("ListAudit under B answered %+v", e)
		}
	}
}

func testAuditList(t *testing.T, s store.Store) {
	tn := mkTenant(t, s)
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	type row struct{ action, actor, ttype, tid string }
	rows := []row{
		{"user.create", "k1", "user", "u1"},
		{"user.update", "k1", "user", "u1"},
		{"group.create", "k2", "group", "g1"},
		{"user.update", "k2", "user", "u2"},
		{"user.delete", "k1", "user", "u1"},
	}
	for i, r := range rows {
		noErr(t, "AppendAudit", s.Audit().AppendAudit(ctx(t), &store.AuditEntry{Tenant: tn, Time: t0.Add(time.Duration(i) * time.Hour),
			ActorType: "apikey", ActorID: r.actor, Action: r.action, TargetType: r.ttype, TargetID: r.tid}))
	}
	seqs := func(q store.AuditQuery) []int64 {
		es, err := s.Audit().ListAudit(ctx(t), tn, q)
		noErr(t, "ListAudit", err)
		out := []int64{}
		for _, e := range es {
			out = append(out, e.Seq)
		}
		return out
	}
	for _, c := range []struct {
		q    store.AuditQuery
		want []int64
	}{
		{store.AuditQuery{}, []int64{5, 4, 3, 2, 1}},
		{store.AuditQuery{Action: "user.update"}, []int64{4, 2}},
		{store.AuditQuery{ActorID: "k2"}, []int64{4, 3}},
		{store.AuditQuery{TargetType: "user", TargetID: "u1"}, []int64{5, 2, 1}},
		{store.AuditQuery{TargetType: "group"}, []int64{3}},
		{store.AuditQuery{Since: t0.Add(time.Hour), Until: t0.Add(3 * time.Hour)}, []int64{3, 2}}, // [Since, Until)
		{store.AuditQuery{Since: t0.Add(4 * time.Hour)}, []int64{5}},
		{store.AuditQuery{BeforeSeq: 4}, []int64{3, 2, 1}},
		{store.AuditQuery{Limit: 2}, []int64{5, 4}},
		{store.AuditQuery{BeforeSeq: 4, Limit: 2}, []int64{3, 2}},
		{store.AuditQuery{Action: "user.update", ActorID: "k1"}, []int64{2}},
		{store.AuditQuery{Action: "nope"}, []int64{}},
	} {
		if got := seqs(c.q); !slices.Equal(got, c.want) {
			t.Errorf("ListAudit(%+v) = %v, want %v", c.q, got, c.want)
		}
	}
}

// testAuditScanMany: a chain longer than any single read batch is walked
// whole and in order.
func testAuditScanMany(t *testing.T, s store.Store) {
	tn := mkTenant(t, s)
	const n = 1001 // two full read batches of 500 and one more; more than ListAudit's 1000 cap
	noErr(t, "InTx", s.InTx(ctx(t), func(tx store.Repos) error {
		for i := range n {
			if err := tx.Audit().AppendAudit(ctx(t), &store.AuditEntry{Tenant: tn, Action: "bulk", TargetID: fmt.Sprint(i)}); err != nil {
				return err
			}
		}
		return nil
	}))
	es := scan(t, s, tn)
	if len(es) != n {
		t.Errorf("ScanAudit visited %d entries, want %d", len(es), n)
	}
	list, err := s.Audit().ListAudit(ctx(t), tn, store.AuditQuery{Limit: 5000})
	noErr(t, "ListAudit", err)
	if len(list) != 1000 || list[0].Seq != n {
		t.Errorf("ListAudit(Limit 5000) answered %d entries from seq %d, want 1000 from %d", len(list), list[0].Seq, n)
	}
}
