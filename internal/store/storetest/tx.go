package storetest

import (
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

var txTests = []test{
	{"Tx/Commit", testTxCommit},
	{"Tx/Rollback", testTxRollback},
	{"Tx/Panic", testTxPanic},
	{"Tx/FailedCallDoesNotPoison", testTxFailedCall},
	{"Tx/Ping", testPing},
}

// testTxCommit: a change and its audit entry commit together, and calls in
// the transaction see its earlier writes.
func testTxCommit(t *testing.T, s store.Store) {
	tn := mkTenant(t, s)
	var u *store.User
	noErr(t, "InTx", s.InTx(ctx(t), func(tx store.Repos) error {
		u = mkUser(t, tx, tn, "txu")
		g := mkGroup(t, tx, tn, "txg")
		addMember(t, tx, tn, g.ID, store.MemberUser, u.ID)
		if _, err := tx.Users().UpdateUser(ctx(t), tn, u.ID, func(x *store.User) error { x.GivenName = "In Tx"; return nil }); err != nil {
			return err
		}
		return tx.Audit().AppendAudit(ctx(t), &store.AuditEntry{Tenant: tn, Action: "user.create", TargetID: u.ID})
	}))
	got, err := s.Users().GetUser(ctx(t), tn, u.ID)
	noErr(t, "GetUser after commit", err)
	if got.GivenName != "In Tx" || got.Version != 2 {
		t.Errorf("committed user = %+v", got)
	}
	groups, err := s.Groups().UserGroups(ctx(t), tn, u.ID, false)
	noErr(t, "UserGroups", err)
	if len(groups) != 1 {
		t.Errorf("committed membership missing: %v", groupIDs(groups))
	}
	if es := scan(t, s, tn); len(es) != 1 || es[0].TargetID != u.ID {
		t.Errorf("committed audit = %+v", es)
	}
}

// testTxRollback: when fn fails nothing it did stays, and its error comes
// back unchanged.
func testTxRollback(t *testing.T, s store.Store) {
	tn := mkTenant(t, s)
	keep := mkUser(t, s, tn, "keep")
	var ghost *store.User
	err := s.InTx(ctx(t), func(tx store.Repos) error {
		ghost = mkUser(t, tx, tn, "ghost")
		if _, err := tx.Users().UpdateUser(ctx(t), tn, keep.ID, func(x *store.User) error { x.GivenName = "changed"; return nil }); err != nil {
			return err
		}
		if err := tx.Audit().AppendAudit(ctx(t), &store.AuditEntry{Tenant: tn, Action: "user.create"}); err != nil {
			return err
		}
		return errClosure
	})
	if err != errClosure {
		t.Fatalf("InTx: got %v, want fn's error unchanged", err)
	}
	_, err = s.Users().GetUser(ctx(t), tn, ghost.ID)
	wantErr(t, "GetUser(rolled back)", err, store.ErrNotFound)
	got, err := s.Users().GetUser(ctx(t), tn, keep.ID)
	noErr(t, "GetUser", err)
	sameUser(t, "user updated in a rolled back tx", got, keep)
	// The chain did not advance: the next entry is still the first.
	e := &store.AuditEntry{Tenant: tn, Action: "after"}
	noErr(t, "AppendAudit", s.Audit().AppendAudit(ctx(t), e))
	if e.Seq != 1 || e.PrevHash != "" {
		t.Errorf("after a rolled back append, next entry is seq %d prev %q", e.Seq, e.PrevHash)
	}
}

func testTxPanic(t *testing.T, s store.Store) {
	tn := mkTenant(t, s)
	var ghost *store.User
	func() {
		defer func() {
			if r := recover(); r != "boom" {
				t.Errorf("InTx: recovered %v, want the panic to propagate", r)
			}
		}()
		_ = s.InTx(ctx(t), func(tx store.Repos) error {
			ghost = mkUser(t, tx, tn, "ghost")
			panic("boom")
		})
	}()
	_, err := s.Users().GetUser(ctx(t), tn, ghost.ID)
	wantErr(t, "GetUser after a panicking tx", err, store.ErrNotFound)
	// The store still works (the connection was released).
	mkUser(t, s, tn, "after")
}

// testTxFailedCall: a call that fails inside InTx (a conflict) leaves the
// transaction usable, so fn may handle the error and go on.
func testTxFailedCall(t *testing.T, s store.Store) {
	tn := mkTenant(t, s)
	mkUser(t, s, tn, "taken")
	var fresh *store.User
	noErr(t, "InTx", s.InTx(ctx(t), func(tx store.Repos) error {
		err := tx.Users().CreateUser(ctx(t), &store.User{ID: newID(), Tenant: tn, Email: "taken@example.com", EmailNorm: "taken@example.com"})
		wantErr(t, "CreateUser(taken) in tx", err, store.ErrConflict)
		_, err = tx.Users().UpdateUser(ctx(t), tn, newID(), func(*store.User) error { return nil })
		wantErr(t, "UpdateUser(missing) in tx", err, store.ErrNotFound)
		fresh = mkUser(t, tx, tn, "fresh")
		return nil
	}))
	_, err := s.Users().GetUser(ctx(t), tn, fresh.ID)
	noErr(t, "GetUser(created after a failed call)", err)
	n, err := s.Users().CountUsers(ctx(t), tn)
	noErr(t, "CountUsers", err)
	if n != 2 {
		t.Errorf("CountUsers = %d, want 2", n)
	}
}

func testPing(t *testing.T, s store.Store) {
	noErr(t, "Ping", s.Ping(ctx(t)))
	if d := s.Dialect(); d != "sqlite" && d != "postgres" {
		t.Errorf("Dialect() = %q", d)
	}
}
