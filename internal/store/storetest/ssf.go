package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

var ssfTests = []test{
	{"SSFStreams", testSSFStreams},
	{"SSFSubjects", testSSFSubjects},
	{"SSFSets", testSSFSets},
}

func mkSSFStream(t *testing.T, s store.Repos, tn store.TenantID, method string) *store.SSFStream {
	t.Helper()
	st := &store.SSFStream{Tenant: tn, ID: newID(), Audience: "https://rx.example/" + newID(), Method: method,
		EventsRequested: []string{"urn:a", "urn:b"}, EventsDelivered: []string{"urn:a"}, Status: store.SSFEnabled}
	if method == store.SSFPush {
		st.EndpointURL, st.SealedAuth = "https://rx.example/events", []byte("sealed")
	}
	noErr(t, "CreateSSFStream", s.SSF().CreateSSFStream(ctx(t), st))
	return st
}

// testSSFStreams: create, read, list, update under a closure, delete;
// invalid rows refused; another tenant sees nothing.
func testSSFStreams(t *testing.T, s store.Store) {
	tn, other := mkTenant(t, s), mkTenant(t, s)
	r := s.SSF()
	push := mkSSFStream(t, s, tn, store.SSFPush)
	poll := mkSSFStream(t, s, tn, store.SSFPoll)
	if push.Version != 1 || push.CreatedAt.IsZero() {
		t.Errorf("created stream %+v", push)
	}
	got, err := r.GetSSFStream(ctx(t), tn, push.ID)
	noErr(t, "GetSSFStream", err)
	if got.EndpointURL != push.EndpointURL || string(got.SealedAuth) != "sealed" || !slices.Equal(got.EventsRequested, []string{"urn:a", "urn:b"}) ||
		!slices.Equal(got.EventsDelivered, []string{"urn:a"}) || got.Method != store.SSFPush || got.Audience != push.Audience {
		t.Errorf("GetSSFStream = %+v", got)
	}
	if err := r.CreateSSFStream(ctx(t), &store.SSFStream{Tenant: tn, ID: newID(), Audience: "a", Method: "x", Status: store.SSFEnabled}); err == nil {
		t.Error("CreateSSFStream accepted an unknown method")
	}
	wantErr(t, "CreateSSFStream(unknown tenant)", r.CreateSSFStream(ctx(t), &store.SSFStream{Tenant: store.TenantID(newID()), ID: newID(),
		Audience: "a", Method: store.SSFPoll, Status: store.SSFEnabled}), store.ErrNotFound)

	list, err := r.ListSSFStreams(ctx(t), tn, 10)
	noErr(t, "ListSSFStreams", err)
	if len(list) != 2 || list[0].ID != push.ID || list[1].ID != poll.ID {
		t.Errorf("ListSSFStreams = %d streams", len(list))
	}
	_, err = r.GetSSFStream(ctx(t), other, push.ID)
	wantErr(t, "GetSSFStream(other tenant)", err, store.ErrNotFound)
	if l, _ := r.ListSSFStreams(ctx(t), other, 10); len(l) != 0 {
		t.Errorf("another tenant lists %d streams", len(l))
	}
	_, err = r.UpdateSSFStream(ctx(t), other, push.ID, func(*store.SSFStream) error { return nil })
	wantErr(t, "UpdateSSFStream(other tenant)", err, store.ErrNotFound)
	wantErr(t, "DeleteSSFStream(other tenant)", r.DeleteSSFStream(ctx(t), other, push.ID), store.ErrNotFound)

	up, err := r.UpdateSSFStream(ctx(t), tn, push.ID, func(x *store.SSFStream) error {
		x.Status, x.StatusReason, x.SealedAuth = store.SSFPaused, "maintenance", nil
		return nil
	})
	noErr(t, "UpdateSSFStream", err)
	again, _ := r.GetSSFStream(ctx(t), tn, push.ID)
	if up.Version != 2 || again.Version != 2 || again.Status != store.SSFPaused || again.StatusReason != "maintenance" || again.SealedAuth != nil {
		t.Errorf("updated stream %+v", again)
	}
	_, err = r.UpdateSSFStream(ctx(t), tn, push.ID, func(x *store.SSFStream) error { x.Status = "sleeping"; return nil })
	if err == nil {
		t.Error("UpdateSSFStream accepted an unknown status")
	}
	noErr(t, "DeleteSSFStream", r.DeleteSSFStream(ctx(t), tn, push.ID))
	wantErr(t, "DeleteSSFStream(again)", r.DeleteSSFStream(ctx(t), tn, push.ID), store.ErrNotFound)
}

// testSSFSubjects: adding twice keeps one, removing is idempotent, a
// match answers each stream's first key, tenants and streams are apart,
// and subjects go with their stream.
func testSSFSubjects(t *testing.T, s store.Store) {
	tn, other := mkTenant(t, s), mkTenant(t, s)
	r := s.SSF()
	a, b := mkSSFStream(t, s, tn, store.SSFPoll), mkSSFStream(t, s, tn, store.SSFPush)
	o := mkSSFStream(t, s, other, store.SSFPoll)
	now := time.Now()
	noErr(t, "AddSSFSubject", r.AddSSFSubject(ctx(t), tn, a.ID, "email:ann@example.com", []byte(`{"format":"email"}`), now))
	noErr(t, "AddSSFSubject(again)", r.AddSSFSubject(ctx(t), tn, a.ID, "email:ann@example.com", []byte(`{"format":"email"}`), now))
	noErr(t, "AddSSFSubject(b)", r.AddSSFSubject(ctx(t), tn, b.ID, "iss_sub:u1", []byte(`{}`), now))
	noErr(t, "AddSSFSubject(b email)", r.AddSSFSubject(ctx(t), tn, b.ID, "email:ann@example.com", []byte(`{}`), now))
	noErr(t, "AddSSFSubject(other)", r.AddSSFSubject(ctx(t), other, o.ID, "iss_sub:u1", []byte(`{}`), now))
	wantErr(t, "AddSSFSubject(unknown stream)", r.AddSSFSubject(ctx(t), tn, newID(), "iss_sub:u1", []byte(`{}`), now), store.ErrNotFound)
	wantErr(t, "AddSSFSubject(stream of another tenant)", r.AddSSFSubject(ctx(t), tn, o.ID, "iss_sub:u2", []byte(`{}`), now), store.ErrNotFound)
	if n, err := r.CountSSFSubjects(ctx(t), tn, a.ID); err != nil || n != 1 {
		t.Errorf("CountSSFSubjects = %d, %v; want 1", n, err)
	}
	m, err := r.MatchSSFSubjects(ctx(t), tn, []string{"iss_sub:u1", "email:ann@example.com"})
	noErr(t, "MatchSSFSubjects", err)
	if len(m) != 2 || m[a.ID] != "email:ann@example.com" || m[b.ID] != "iss_sub:u1" {
		t.Errorf("MatchSSFSubjects = %v", m)
	}
	if m, _ := r.MatchSSFSubjects(ctx(t), tn, []string{"iss_sub:nobody"}); len(m) != 0 {
		t.Errorf("MatchSSFSubjects(nobody) = %v", m)
	}
	noErr(t, "RemoveSSFSubject", r.RemoveSSFSubject(ctx(t), tn, a.ID, "email:ann@example.com"))
	noErr(t, "RemoveSSFSubject(again)", r.RemoveSSFSubject(ctx(t), tn, a.ID, "email:ann@example.com"))
	noErr(t, "RemoveSSFSubject(other tenant)", r.RemoveSSFSubject(ctx(t), tn, o.ID, "iss_sub:u1"))
	if m, _ := r.MatchSSFSubjects(ctx(t), other, []string{"iss_sub:u1"}); len(m) != 1 {
		t.Errorf("another tenant's removal reached: %v", m)
	}
	if m, _ := r.MatchSSFSubjects(ctx(t), tn, []string{"email:ann@example.com"}); len(m) != 1 || m[b.ID] == "" {
		t.Errorf("after removal MatchSSFSubjects = %v", m)
	}
	noErr(t, "DeleteSSFStream", r.DeleteSSFStream(ctx(t), tn, b.ID))
	if m, _ := r.MatchSSFSubjects(ctx(t), tn, []string{"iss_sub:u1", "email:ann@example.com"}); len(m) != 0 {
		t.Errorf("subjects outlived their stream: %v", m)
	}
}

// testSSFSets: one SET per stream and event, pending oldest first,
// finished once (token cleared), attempts counted, purged by age, gone
// with the stream, invisible to another tenant.
func testSSFSets(t *testing.T, s store.Store) {
	tn, other := mkTenant(t, s), mkTenant(t, s)
	r := s.SSF()
	st := mkSSFStream(t, s, tn, store.SSFPoll)
	base := time.Now().Add(-time.Hour).Truncate(time.Microsecond)
	put := func(jti, event string, at time.Time) *store.SSFSet {
		t.Helper()
		got, err := r.PutSSFSet(ctx(t), &store.SSFSet{Tenant: tn, StreamID: st.ID, JTI: jti, EventID: event, Token: "tok-" + jti, CreatedAt: at})
		noErr(t, "PutSSFSet", err)
		return got
	}
	first := put("j1", "e1", base)
	if first.JTI != "j1" || first.State != store.SETPending || first.Token != "tok-j1" || !first.CreatedAt.Equal(base) {
		t.Errorf("PutSSFSet = %+v", first)
	}
	if again := put("j1-bis", "e1", base.Add(time.Minute)); again.JTI != "j1" || again.Token != "tok-j1" {
		t.Errorf("PutSSFSet(same event) = %+v, want the first SET", again)
	}
	put("j2", "e2", base.Add(2*time.Second))
	put("j0", "e0", base.Add(-time.Second))
	_, err := r.PutSSFSet(ctx(t), &store.SSFSet{Tenant: tn, StreamID: newID(), JTI: "x", EventID: "x", Token: "x"})
	wantErr(t, "PutSSFSet(unknown stream)", err, store.ErrNotFound)
	_, err = r.PutSSFSet(ctx(t), &store.SSFSet{Tenant: other, StreamID: st.ID, JTI: "x", EventID: "x", Token: "x"})
	wantErr(t, "PutSSFSet(stream of another tenant)", err, store.ErrNotFound)

	pend, err := r.PendingSSFSets(ctx(t), tn, st.ID, 10)
	noErr(t, "PendingSSFSets", err)
	var jtis []string
	for _, p := range pend {
		jtis = append(jtis, p.JTI)
	}
	if !slices.Equal(jtis, []string{"j0", "j1", "j2"}) {
		t.Errorf("pending = %v, want j0 j1 j2", jtis)
	}
	if p, _ := r.PendingSSFSets(ctx(t), other, st.ID, 10); len(p) != 0 {
		t.Errorf("another tenant sees %d pending SETs", len(p))
	}
	noErr(t, "FailedSSFAttempt", r.FailedSSFAttempt(ctx(t), tn, st.ID, "j0", "503"))
	if p, _ := r.PendingSSFSets(ctx(t), tn, st.ID, 1); len(p) != 1 || p[0].Attempts != 1 || p[0].LastError != "503" {
		t.Errorf("after a failed attempt: %+v", p)
	}
	if n, err := r.FinishSSFSets(ctx(t), other, st.ID, []string{"j0"}, store.SETDelivered, "", time.Now()); err != nil || n != 0 {
		t.Errorf("FinishSSFSets(other tenant) = %d, %v", n, err)
	}
	n, err := r.FinishSSFSets(ctx(t), tn, st.ID, []string{"j0", "j1", "nope"}, store.SETDelivered, "", time.Now())
	if err != nil || n != 2 {
		t.Errorf("FinishSSFSets = %d, %v; want 2", n, err)
	}
	if n, _ := r.FinishSSFSets(ctx(t), tn, st.ID, []string{"j0"}, store.SETFailed, "late", time.Now()); n != 0 {
		t.Errorf("a finished SET finished again: %d", n)
	}
	if done := put("j1-ter", "e1", time.Now()); done.State != store.SETDelivered || done.Token != "" || done.DeliveredAt == nil {
		t.Errorf("delivered SET = %+v, want its token cleared", done)
	}
	if p, _ := r.PendingSSFSets(ctx(t), tn, st.ID, 10); len(p) != 1 || p[0].JTI != "j2" {
		t.Errorf("pending after finishing = %+v", p)
	}
	// Finished ones older than before go; pending ones only past pendingBefore.
	gone, err := r.PurgeSSFSets(ctx(t), base.Add(time.Second), base)
	noErr(t, "PurgeSSFSets", err)
	if gone < 1 {
		t.Errorf("PurgeSSFSets removed %d", gone)
	}
	if p, _ := r.PendingSSFSets(ctx(t), tn, st.ID, 10); len(p) != 1 {
		t.Errorf("a pending SET was purged early: %+v", p)
	}
	noErr(t, "DeleteSSFStream", r.DeleteSSFStream(ctx(t), tn, st.ID))
	if p, _ := r.PendingSSFSets(ctx(t), tn, st.ID, 10); len(p) != 0 {
		t.Errorf("SETs outlived their stream: %+v", p)
	}
}
