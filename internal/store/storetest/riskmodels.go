package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

var riskModelTests = []test{
	{"RiskModels/Observations", testRiskObservations},
	{"RiskModels/Versions", testRiskModelVersions},
}

func testRiskObservations(t *testing.T, s store.Store) {
	tn, other := mkTenant(t, s), mkTenant(t, s)
	alice, bob := mkUser(t, s, tn, "alice"), mkUser(t, s, tn, "bob")
	rep := s.RiskModels()
	now := time.Now().Truncate(time.Second)
	add := func(user string, at time.Time, decision, outcome string) string {
		t.Helper()
		id := newID()
		noErr(t, "AddObservation", rep.AddObservation(ctx(t), &store.RiskObservation{Tenant: tn, ID: id, UserID: user,
			At: at, Data: `{"v":[1,0]}`, Score: 40, Decision: decision, Outcome: outcome}))
		return id
	}
	old := add(alice.ID, now.Add(-3*time.Hour), "step_up", "")
	add(alice.ID, now.Add(-2*time.Hour), "allow", "")
	newest := add(alice.ID, now.Add(-time.Minute), "allow", "")
	add(bob.ID, now, "block", "blocked")
	// The newest pending one of the user, since the given time.
	ok, err := rep.SetNewestOutcome(ctx(t), tn, alice.ID, now.Add(-30*time.Minute), "completed")
	noErr(t, "SetNewestOutcome", err)
	if !ok {
		t.Fatal("SetNewestOutcome found nothing")
	}
	if ok, _ := rep.SetNewestOutcome(ctx(t), tn, alice.ID, now.Add(-30*time.Minute), "completed"); ok {
		t.Fatal("SetNewestOutcome labelled an observation twice")
	}
	if ok, _ := rep.SetNewestOutcome(ctx(t), other, alice.ID, now.Add(-time.Hour), "completed"); ok {
		t.Fatal("SetNewestOutcome crossed tenants")
	}
	got, err := rep.ListLabelled(ctx(t), tn, 10)
	noErr(t, "ListLabelled", err)
	if len(got) != 2 || got[0].UserID != bob.ID || got[1].ID != newest || got[1].Outcome != "completed" ||
		got[1].Data != `{"v":[1,0]}` || got[1].Score != 40 || !got[1].At.Equal(now.Add(-time.Minute)) || got[1].Decision != "allow" {
		t.Fatalf("ListLabelled = %+v", got)
	}
	// Settle: pending step-ups older than the horizon are abandoned;
	// pending allows are another decision.
	n, err := rep.Settle(ctx(t), tn, now.Add(-time.Hour), "step_up", "abandoned")
	noErr(t, "Settle", err)
	if n != 1 {
		t.Fatalf("Settle = %d, want 1", n)
	}
	if n, _ := rep.Settle(ctx(t), other, now, "allow", "incomplete"); n != 0 {
		t.Fatalf("Settle crossed tenants: %d", n)
	}
	// A report relabels the user's completed sign-ins since a time, at
	// or above a score.
	if n, _ := rep.Relabel(ctx(t), tn, alice.ID, "completed", "reported", now.Add(-time.Hour), 41); n != 0 {
		t.Fatalf("Relabel ignored the minimum score: %d", n)
	}
	n, err = rep.Relabel(ctx(t), tn, alice.ID, "completed", "reported", now.Add(-time.Hour), 40)
	noErr(t, "Relabel", err)
	if n != 1 {
		t.Fatalf("Relabel = %d, want 1", n)
	}
	mine, err := rep.ListUserObservations(ctx(t), tn, alice.ID)
	noErr(t, "ListUserObservations", err)
	outcomes := ""
	for _, o := range mine {
		outcomes += o.Outcome + ","
	}
	if len(mine) != 3 || mine[2].ID != old || outcomes != "reported,,abandoned," {
		t.Fatalf("ListUserObservations outcomes = %q (%d)", outcomes, len(mine))
	}
	if l, _ := rep.ListLabelled(ctx(t), other, 10); len(l) != 0 {
		t.Fatalf("other tenant sees %d observations", len(l))
	}
	// Training is due for a tenant with enough labels and no model.
	due, err := rep.TrainingDue(ctx(t), now, 3, 1000)
	noErr(t, "TrainingDue", err)
	if !containsTenant(due, tn) || containsTenant(due, other) {
		t.Fatalf("TrainingDue = %v", due)
	}
	if due, _ := rep.TrainingDue(ctx(t), now, 4, 1000); containsTenant(due, tn) {
		t.Fatal("TrainingDue ignores the minimum")
	}
	noErr(t, "PutModel", rep.PutModel(ctx(t), &store.RiskModel{Tenant: tn, CreatedAt: now, Doc: "{}"}))
	if due, _ := rep.TrainingDue(ctx(t), now, 3, 1000); containsTenant(due, tn) {
		t.Fatal("TrainingDue lists a tenant with a fresh model")
	}
	if due, _ := rep.TrainingDue(ctx(t), now.Add(time.Second), 3, 1000); !containsTenant(due, tn) {
		t.Fatal("TrainingDue skips a tenant whose model is older than the horizon")
	}
	// Prune by age, erase by user.
	n, err = rep.Prune(ctx(t), tn, now.Add(-150*time.Minute))
	noErr(t, "Prune", err)
	if n != 1 {
		t.Fatalf("Prune = %d, want 1", n)
	}
	noErr(t, "DeleteUserObservations", rep.DeleteUserObservations(ctx(t), tn, alice.ID))
	if l, _ := rep.ListUserObservations(ctx(t), tn, alice.ID); len(l) != 0 {
		t.Fatalf("after DeleteUserObservations: %d", len(l))
	}
	if l, _ := rep.ListUserObservations(ctx(t), tn, bob.ID); len(l) != 1 {
		t.Fatalf("DeleteUserObservations touched another user: %d", len(l))
	}
	// An observation of a user of another tenant is refused.
	if err := rep.AddObservation(ctx(t), &store.RiskObservation{Tenant: other, ID: newID(), UserID: bob.ID, At: now,
		Data: "{}", Decision: "allow"}); err == nil {
		t.Fatal("AddObservation accepted a user of another tenant")
	}
}

func containsTenant(ts []store.TenantID, t store.TenantID) bool {
	for _, x := range ts {
		if x == t {
			return true
		}
	}
	return false
}

func testRiskModelVersions(t *testing.T, s store.Store) {
	tn, other := mkTenant(t, s), mkTenant(t, s)
	rep := s.RiskModels()
	if _, err := rep.LatestModel(ctx(t), tn); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("LatestModel of none = %v, want ErrNotFound", err)
	}
	now := time.Now().Truncate(time.Second)
	for i := range store.MaxRiskModelVersions + 2 {
		m := &store.RiskModel{Tenant: tn, CreatedAt: now.Add(time.Duration(i) * time.Minute), Doc: fmt.Sprintf(`{"n":%d}`, i)}
		noErr(t, "PutModel", rep.PutModel(ctx(t), m))
		if m.Version != i+1 {
			t.Fatalf("PutModel version = %d, want %d", m.Version, i+1)
		}
	}
	m, err := rep.LatestModel(ctx(t), tn)
	noErr(t, "LatestModel", err)
	if m.Version != store.MaxRiskModelVersions+2 || m.Doc != fmt.Sprintf(`{"n":%d}`, store.MaxRiskModelVersions+1) ||
		!m.CreatedAt.Equal(now.Add(time.Duration(store.MaxRiskModelVersions+1)*time.Minute)) {
		t.Fatalf("LatestModel = %+v", m)
	}
	if _, err := rep.LatestModel(ctx(t), other); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("other tenant's LatestModel = %v", err)
	}
	noErr(t, "PutModel other", rep.PutModel(ctx(t), &store.RiskModel{Tenant: other, CreatedAt: now, Doc: "{}"}))
	if m, _ := rep.LatestModel(ctx(t), other); m == nil || m.Version != 1 {
		t.Fatalf("versions are per tenant: %+v", m)
	}
}
