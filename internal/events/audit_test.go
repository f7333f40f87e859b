package events_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
)

// fixedClock is an injected clock that moves one second per call.
func fixedClock() func() time.Time {
	at := time.Date(2030, 1, 2, 3, 4, 5, 123456789, time.UTC)
	return func() time.Time {
		at = at.Add(time.Second)
		return at
	}
}

// appendN records n entries for tenant (no real tenant row is needed: the
// audit log has no foreign key) and answers them in sequence order.
func appendN(t *testing.T, s store.Store, tenant store.TenantID, n int) []store.AuditEntry {
	t.Helper()
	rec := &events.Recorder{Now: fixedClock()}
	for i := range n {
		err := rec.Record(t.Context(), s, events.Actor{Type: "cli", ID: "tester", ClientIP: "192.0.2.1", RequestID: "req-1"},
			events.Entry{Tenant: tenant, Action: "user.update", TargetType: "user", TargetID: fmt.Sprint("u", i),
				Changes: events.Changes{"given_name": {Before: "A", After: fmt.Sprint("B", i)}}})
		if err != nil {
			t.Fatalf("Record %d: %v", i, err)
		}
	}
	return scanAll(t, s, tenant)
}

func scanAll(t *testing.T, s store.Store, tenant store.TenantID) []store.AuditEntry {
	t.Helper()
	var es []store.AuditEntry
	if err := s.Audit().ScanAudit(t.Context(), tenant, func(e store.AuditEntry) error {
		es = append(es, e)
		return nil
	}); err != nil {
		t.Fatalf("ScanAudit: %v", err)
	}
	return es
}

func verify(t *testing.T, s store.Store, tenant store.TenantID) events.VerifyResult {
	t.Helper()
	res, err := events.Verify(t.Context(), s.Audit(), tenant)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return res
}

func exec(t *testing.T, db *sqlstore.DB, query string, args ...any) {
	t.Helper()
	res, err := db.SQL().ExecContext(t.Context(), query, args...)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		t.Fatalf("%s: %d rows affected (%v), want 1", query, n, err)
	}
}

func TestDiff(t *testing.T) {
	tests := []struct {
		name          string
		before, after map[string]any
		want          events.Changes
	}{
		{"unchanged", map[string]any{"a": "x", "n": 1, "l": []string{"p"}}, map[string]any{"a": "x", "n": 1, "l": []string{"p"}}, events.Changes{}},
		{"added", map[string]any{"a": "x"}, map[string]any{"a": "x", "b": "y"}, events.Changes{"b": {Before: nil, After: "y"}}},
		{"removed", map[string]any{"a": "x", "b": "y"}, map[string]any{"a": "x"}, events.Changes{"b": {Before: "y", After: nil}}},
		{"changed", map[string]any{"a": "x", "b": true}, map[string]any{"a": "z", "b": true}, events.Changes{"a": {Before: "x", After: "z"}}},
		{"changed slice", map[string]any{"l": []string{"p"}}, map[string]any{"l": []string{"p", "q"}}, events.Changes{"l": {Before: []string{"p"}, After: []string{"p", "q"}}}},
		{"created", nil, map[string]any{"a": "x", "b": false}, events.Changes{"a": {After: "x"}, "b": {After: false}}},
		{"deleted", map[string]any{"a": "x"}, nil, events.Changes{"a": {Before: "x"}}},
		{"both nil", nil, nil, events.Changes{}},
		{"mixed", map[string]any{"keep": 1, "chg": "old", "gone": "g"}, map[string]any{"keep": 1, "chg": "new", "new": "n"},
			events.Changes{"chg": {Before: "old", After: "new"}, "gone": {Before: "g"}, "new": {After: "n"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := events.Diff(tc.before, tc.after)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Diff = %#v, want %#v", got, tc.want)
			}
		})
	}
	keys := events.Changes{"b": {}, "a": {}, "c": {}}.SortedKeys()
	if !reflect.DeepEqual(keys, []string{"a", "b", "c"}) {
		t.Errorf("SortedKeys = %v", keys)
	}
}

func TestRecordWritesEntry(t *testing.T) {
	sqltest.ForEachDB(t, func(t *testing.T, db *sqlstore.DB) {
		const tenant = store.TenantID("tenant-r")
		es := appendN(t, db, tenant, 1)
		if len(es) != 1 {
			t.Fatalf("%d entries, want 1", len(es))
		}
		e := es[0]
		if e.Seq != 1 || e.PrevHash != "" || e.Hash != e.ComputeHash() || e.ID == "" {
			t.Errorf("first entry not linked: %+v", e)
		}
		if e.ActorType != "cli" || e.ActorID != "tester" || e.ClientIP != "192.0.2.1" || e.RequestID != "req-1" ||
			e.Action != "user.update" || e.TargetType != "user" || e.TargetID != "u0" {
			t.Errorf("fields not recorded: %+v", e)
		}
		if want := time.Date(2030, 1, 2, 3, 4, 6, 123456000, time.UTC); !e.Time.Equal(want) {
			t.Errorf("Time = %v, want the injected clock truncated to µs, %v", e.Time, want)
		}
		var ch map[string]events.Change
		if err := json.Unmarshal(e.Changes, &ch); err != nil || ch["given_name"].After != "B0" {
			t.Errorf("Changes = %s (%v)", e.Changes, err)
		}
		// No changes is recorded as an empty object, which the hash covers.
		if err := (&events.Recorder{Now: time.Now}).Record(t.Context(), db, events.Actor{Type: "system"},
			events.Entry{Tenant: tenant, Action: "noop"}); err != nil {
			t.Fatal(err)
		}
		if es := scanAll(t, db, tenant); string(es[1].Changes) != "{}" {
			t.Errorf("empty Changes stored as %q, want {}", es[1].Changes)
		}
	})
}

func TestRecordInFailedTxWritesNothing(t *testing.T) {
	sqltest.ForEachDB(t, func(t *testing.T, db *sqlstore.DB) {
		const tenant = store.TenantID("tenant-tx")
		appendN(t, db, tenant, 1)
		rec := &events.Recorder{Now: time.Now}
		boom := errors.New("boom")
		err := db.InTx(t.Context(), func(tx store.Repos) error {
			if err := rec.Record(t.Context(), tx, events.Actor{Type: "cli"}, events.Entry{Tenant: tenant, Action: "a"}); err != nil {
				return err
			}
			if err := rec.Record(t.Context(), tx, events.Actor{Type: "cli"}, events.Entry{Tenant: "other", Action: "b"}); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("InTx = %v, want boom", err)
		}
		if es := scanAll(t, db, tenant); len(es) != 1 {
			t.Errorf("%d entries after a failed transaction, want 1", len(es))
		}
		if es := scanAll(t, db, "other"); len(es) != 0 {
			t.Errorf("%d entries in the other chain, want 0", len(es))
		}
		// The chain head was rolled back too: the next entry follows seq 1.
		appendN(t, db, tenant, 1)
		if res := verify(t, db, tenant); !res.Intact || res.Entries != 2 {
			t.Errorf("after rollback and append: %+v, want intact with 2", res)
		}
	})
}

func TestVerifyIntact(t *testing.T) {
	sqltest.ForEachDB(t, func(t *testing.T, db *sqlstore.DB) {
		appendN(t, db, "tenant-a", 5)
		appendN(t, db, "tenant-b", 2)
		for tenant, want := range map[store.TenantID]int64{"tenant-a": 5, "tenant-b": 2, "empty": 0} {
			res := verify(t, db, tenant)
			if want := (events.VerifyResult{Entries: want, Intact: true, HeadEntries: want, HeadHash: res.HeadHash}); res != want || (want.Entries > 0) != (res.HeadHash != "") {
				t.Errorf("%s: Verify = %+v, want %+v", tenant, res, want)
			}
		}
	})
}

// TestVerifyDetectsTampering alters a five-entry chain behind the store's
// back and checks Verify names the first entry that does not check out.
func TestVerifyDetectsTampering(t *testing.T) {
	const tenant = store.TenantID("tenant-t")
	tests := []struct {
		name string
		// tamper alters the chain es; it answers the index in es of the entry
		// Verify must name.
		tamper      func(t *testing.T, db *sqlstore.DB, es []store.AuditEntry) int
		wantEntries int64
	}{
		{"altered action", func(t *testing.T, db *sqlstore.DB, es []store.AuditEntry) int {
			exec(t, db, `UPDATE audit_entries SET action = 'user.delete' WHERE tenant_id = $1 AND seq = 3`, string(tenant))
			return 2
		}, 2},
		{"altered changes", func(t *testing.T, db *sqlstore.DB, es []store.AuditEntry) int {
			exec(t, db, `UPDATE audit_entries SET changes = '{}' WHERE tenant_id = $1 AND seq = 1`, string(tenant))
			return 0
		}, 0},
		{"altered time", func(t *testing.T, db *sqlstore.DB, es []store.AuditEntry) int {
			exec(t, db, `UPDATE audit_entries SET time = time + 1 WHERE tenant_id = $1 AND seq = 5`, string(tenant))
			return 4
		}, 4},
		{"deleted middle entry", func(t *testing.T, db *sqlstore.DB, es []store.AuditEntry) int {
			exec(t, db, `DELETE FROM audit_entries WHERE tenant_id = $1 AND seq = 3`, string(tenant))
			return 3 // seq 4 follows 2
		}, 2},
		{"deleted first entry", func(t *testing.T, db *sqlstore.DB, es []store.AuditEntry) int {
			exec(t, db, `DELETE FROM audit_entries WHERE tenant_id = $1 AND seq = 1`, string(tenant))
			return 1
		}, 0},
		{"rewritten prev_hash", func(t *testing.T, db *sqlstore.DB, es []store.AuditEntry) int {
			exec(t, db, `UPDATE audit_entries SET prev_hash = $1 WHERE tenant_id = $2 AND seq = 4`, es[0].Hash, string(tenant))
			return 3
		}, 3},
		{"altered and rehashed", func(t *testing.T, db *sqlstore.DB, es []store.AuditEntry) int {
			// The forger recomputes entry 2's hash, so entry 2 checks out on
			// its own; entry 3 still links to the old hash.
			e := es[1]
			e.Action = "user.delete"
			exec(t, db, `UPDATE audit_entries SET action = $1, hash = $2 WHERE tenant_id = $3 AND seq = 2`,
				e.Action, e.ComputeHash(), string(tenant))
			return 2
		}, 2},
		{"last entry renumbered to 0", func(t *testing.T, db *sqlstore.DB, es []store.AuditEntry) int {
			exec(t, db, `UPDATE audit_entries SET seq = 0 WHERE tenant_id = $1 AND seq = 5`, string(tenant))
			return -1
		}, 0},
		{"first entry renumbered to 0", func(t *testing.T, db *sqlstore.DB, es []store.AuditEntry) int {
			exec(t, db, `UPDATE audit_entries SET seq = 0 WHERE tenant_id = $1 AND seq = 1`, string(tenant))
			return -1
		}, 0},
		{"entry renumbered negative", func(t *testing.T, db *sqlstore.DB, es []store.AuditEntry) int {
			exec(t, db, `UPDATE audit_entries SET seq = -3 WHERE tenant_id = $1 AND seq = 3`, string(tenant))
			return -1
		}, 0},
		{"entries swapped", func(t *testing.T, db *sqlstore.DB, es []store.AuditEntry) int {
			exec(t, db, `UPDATE audit_entries SET seq = 100 WHERE tenant_id = $1 AND seq = 2`, string(tenant))
			exec(t, db, `UPDATE audit_entries SET seq = 2 WHERE tenant_id = $1 AND seq = 3`, string(tenant))
			exec(t, db, `UPDATE audit_entries SET seq = 3 WHERE tenant_id = $1 AND seq = 100`, string(tenant))
			return 2 // es[2] now sits at seq 2 and links to the wrong hash
		}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sqltest.ForEachDB(t, func(t *testing.T, db *sqlstore.DB) {
				es := appendN(t, db, tenant, 5)
				appendN(t, db, "bystander", 2)
				i := tc.tamper(t, db, es)
				res := verify(t, db, tenant)
				if res.Intact {
					t.Fatalf("Verify = %+v: tampering not detected", res)
				}
				// Read back what is stored now to learn the seq of the named entry.
				var wantSeq int64
				var wantID string
				if i >= 0 {
					wantID = es[i].ID
					if err := db.SQL().QueryRowContext(t.Context(), `SELECT seq FROM audit_entries WHERE tenant_id = $1 AND id = $2`,
						string(tenant), wantID).Scan(&wantSeq); err != nil {
						t.Fatal(err)
					}
				} else { // the renumbered entry, whatever its id
					if err := db.SQL().QueryRowContext(t.Context(), `SELECT seq, id FROM audit_entries WHERE tenant_id = $1 AND seq < 1`,
						string(tenant)).Scan(&wantSeq, &wantID); err != nil {
						t.Fatal(err)
					}
				}
				if res.BrokenSeq != wantSeq || res.BrokenID != wantID || res.Reason == "" {
					t.Errorf("Verify = %+v, want broken at seq %d id %s with a reason", res, wantSeq, wantID)
				}
				if res.Entries != tc.wantEntries {
					t.Errorf("Entries = %d, want %d verified before the break", res.Entries, tc.wantEntries)
				}
				if other := verify(t, db, "bystander"); !other.Intact || other.Entries != 2 {
					t.Errorf("another tenant's chain: %+v, want intact with 2", other)
				}
			})
		})
	}
}

// TestVerifySingleEntryRenumbered: a one-entry chain whose only entry was
// moved to seq 0 must not pass as an intact empty chain.
func TestVerifySingleEntryRenumbered(t *testing.T) {
	sqltest.ForEachDB(t, func(t *testing.T, db *sqlstore.DB) {
		es := appendN(t, db, "solo", 1)
		exec(t, db, `UPDATE audit_entries SET seq = 0 WHERE tenant_id = 'solo' AND seq = 1`)
		res := verify(t, db, "solo")
		if res.Intact || res.BrokenID != es[0].ID || res.BrokenSeq != 0 || res.Entries != 0 {
			t.Errorf("Verify = %+v, want broken at the renumbered entry %s", res, es[0].ID)
		}
	})
}

// errLog is an AuditLog whose reads fail.
type errLog struct{ store.AuditLog }

var errRead = errors.New("read failed")

func (errLog) ScanAudit(context.Context, store.TenantID, func(store.AuditEntry) error) error {
	return errRead
}

func (errLog) ListAudit(context.Context, store.TenantID, store.AuditQuery) ([]store.AuditEntry, error) {
	return nil, errRead
}

func (errLog) AuditHead(context.Context, store.TenantID) (store.AuditChainHead, error) {
	return store.AuditChainHead{}, errRead
}

func TestVerifyReadError(t *testing.T) {
	res, err := events.Verify(t.Context(), errLog{}, "x")
	if !errors.Is(err, errRead) || res.Intact {
		t.Errorf("Verify = %+v, %v; want the read error and not intact", res, err)
	}
}

// TestVerifyNoticesNewestDeleted: removing the newest entries leaves a
// chain that links up; Verify compares it with the stored head and says
// how many are missing, and that a replaced newest entry does not match.
func TestVerifyNoticesNewestDeleted(t *testing.T) {
	sqltest.ForEachDB(t, func(t *testing.T, db *sqlstore.DB) {
		es := appendN(t, db, "tenant-d", 7)
		appendN(t, db, "bystander", 2)
		res, err := db.SQL().ExecContext(t.Context(), `DELETE FROM audit_entries WHERE tenant_id = 'tenant-d' AND seq > 4`)
		if n, _ := res.RowsAffected(); err != nil || n != 3 {
			t.Fatalf("delete the newest 3: %d rows (%v)", n, err)
		}
		got := verify(t, db, "tenant-d")
		want := fmt.Sprintf("chain head says 7 entries ending in hash %s; found 4: the newest 3 entries are missing", es[6].Hash)
		if got.Intact || got.Reason != want || got.Missing != 3 || got.BrokenSeq != 5 || got.Entries != 4 || got.HeadEntries != 7 || got.HeadHash != es[6].Hash {
			t.Errorf("Verify = %+v\nwant the reason %q", got, want)
		}
		if other := verify(t, db, "bystander"); !other.Intact || other.Entries != 2 || other.HeadEntries != 2 {
			t.Errorf("another tenant's chain: %+v, want intact with 2", other)
		}

		// The newest entry replaced by a self-consistent forgery: it links
		// to the one before and hashes right, but the head names another.
		f := es[3]
		f.Action = "user.delete"
		f.Hash = f.ComputeHash()
		exec(t, db, `UPDATE audit_entries SET action = $1, hash = $2 WHERE tenant_id = 'tenant-d' AND seq = 4`, f.Action, f.Hash)
		exec(t, db, `UPDATE audit_heads SET seq = 4, hash = $1 WHERE tenant_id = 'tenant-d'`, es[3].Hash)
		got = verify(t, db, "tenant-d")
		if got.Intact || got.BrokenSeq != 4 || got.BrokenID != f.ID || got.Missing != 0 {
			t.Errorf("replaced newest entry: Verify = %+v", got)
		}
		// An entry past the head that no append wrote.
		exec(t, db, `UPDATE audit_heads SET seq = 3, hash = $1 WHERE tenant_id = 'tenant-d'`, es[2].Hash)
		exec(t, db, `UPDATE audit_entries SET action = $1, hash = $2 WHERE tenant_id = 'tenant-d' AND seq = 4`, es[3].Action, es[3].Hash)
		got = verify(t, db, "tenant-d")
		if got.Intact || got.BrokenSeq != 4 || got.Entries != 4 || got.HeadEntries != 3 {
			t.Errorf("entry past the head: Verify = %+v", got)
		}
	})
}
