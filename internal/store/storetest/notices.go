package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

var noticeTests = []test{
	{"Notices/Prefs", testNoticePrefs},
	{"Notices/Announcements", testAnnouncements},
	{"Notices/Audience", testAudience},
	{"Notices/PasskeyNudges", testPasskeyNudges},
}

func testPasskeyNudges(t *testing.T, s store.Store) {
	tn, other := mkTenant(t, s), mkTenant(t, s)
	alice, bob := mkUser(t, s, tn, "alice"), mkUser(t, s, tn, "bob")
	p := s.SelfService().NoticePrefs()
	if last, err := p.LastNudge(ctx(t), tn, alice.ID); err != nil || last != nil {
		t.Fatalf("LastNudge before = %v %v", last, err)
	}
	noErr(t, "NudgeUptake without an offer", p.NudgeUptake(ctx(t), tn, bob.ID, time.Now()))
	at := time.Now().Add(-time.Hour).Truncate(time.Second)
	noErr(t, "MarkNudged", p.MarkNudged(ctx(t), tn, alice.ID, at))
	noErr(t, "MarkNudged again", p.MarkNudged(ctx(t), tn, alice.ID, at.Add(time.Minute)))
	if last, err := p.LastNudge(ctx(t), tn, alice.ID); err != nil || last == nil || !last.Equal(at.Add(time.Minute)) {
		t.Fatalf("LastNudge = %v %v", last, err)
	}
	if last, _ := p.LastNudge(ctx(t), other, alice.ID); last != nil {
		t.Error("LastNudge in another tenant")
	}
	noErr(t, "NudgeUptake", p.NudgeUptake(ctx(t), tn, alice.ID, time.Now()))
	noErr(t, "factor", s.MFA().Factors().CreateFactor(ctx(t), &store.Factor{Tenant: tn, ID: newID(), UserID: bob.ID,
		Kind: store.FactorWebAuthn, CredentialID: []byte("cred"), Confirmed: true, CreatedAt: time.Now()}))
	a, err := p.Adoption(ctx(t), tn)
	noErr(t, "Adoption", err)
	if a != (store.Adoption{Users: 2, MFAUsers: 1, PasskeyUsers: 1, NudgesShown: 1, NudgesEnrolled: 1}) {
		t.Errorf("Adoption = %+v", a)
	}
	if a, _ := p.Adoption(ctx(t), other); a != (store.Adoption{}) {
		t.Errorf("Adoption(other tenant) = %+v", a)
	}
}

func testNoticePrefs(t *testing.T, s store.Store) {
	tn, other := mkTenant(t, s), mkTenant(t, s)
	alice := mkUser(t, s, tn, "alice")
	p := s.SelfService().NoticePrefs()
	if m, err := p.NoticesMuted(ctx(t), tn, alice.ID); err != nil || m {
		t.Fatalf("NoticesMuted before = %v %v", m, err)
	}
	noErr(t, "mute", p.SetNoticesMuted(ctx(t), tn, alice.ID, true))
	noErr(t, "mute twice", p.SetNoticesMuted(ctx(t), tn, alice.ID, true))
	if m, err := p.NoticesMuted(ctx(t), tn, alice.ID); err != nil || !m {
		t.Fatalf("NoticesMuted after = %v %v", m, err)
	}
	if m, _ := p.NoticesMuted(ctx(t), other, alice.ID); m {
		t.Error("muted in another tenant")
	}
	wantErr(t, "mute in another tenant", p.SetNoticesMuted(ctx(t), other, alice.ID, true), store.ErrNotFound)
	noErr(t, "unmute", p.SetNoticesMuted(ctx(t), tn, alice.ID, false))
	if m, _ := p.NoticesMuted(ctx(t), tn, alice.ID); m {
		t.Error("still muted")
	}
}

func testAnnouncements(t *testing.T, s store.Store) {
	tn, other := mkTenant(t, s), mkTenant(t, s)
	alice, bob := mkUser(t, s, tn, "alice"), mkUser(t, s, tn, "bob")
	r := s.SelfService().Announcements()
	a := &store.Announcement{Tenant: tn, ID: newID(), Title: map[string]string{"en": "T"}, Body: map[string]string{"de": "B"},
		Groups: []string{"staff"}, Channels: []string{"email"}}
	noErr(t, "CreateAnnouncement", r.CreateAnnouncement(ctx(t), a))
	got, err := r.GetAnnouncement(ctx(t), tn, a.ID)
	noErr(t, "GetAnnouncement", err)
	if got.Title["en"] != "T" || got.Body["de"] != "B" || !slices.Equal(got.Groups, []string{"staff"}) || got.CreatedAt.IsZero() {
		t.Fatalf("GetAnnouncement = %+v", got)
	}
	_, err = r.GetAnnouncement(ctx(t), other, a.ID)
	wantErr(t, "GetAnnouncement(other tenant)", err, store.ErrNotFound)
	if l, _ := r.ListAnnouncements(ctx(t), other); len(l) != 0 {
		t.Errorf("ListAnnouncements(other tenant) = %d", len(l))
	}
	noErr(t, "AddDeliveries", r.AddDeliveries(ctx(t), tn, a.ID, []store.Delivery{{UserID: alice.ID, MailID: "m-none"}, {UserID: bob.ID}}))
	wantErr(t, "AddDeliveries(again)", r.AddDeliveries(ctx(t), tn, a.ID, []store.Delivery{{UserID: bob.ID}}), store.ErrConflict)
	c, err := r.CountDeliveries(ctx(t), tn, a.ID)
	noErr(t, "CountDeliveries", err)
	if c != (store.DeliveryCounts{Recipients: 2, Skipped: 1, Purged: 1}) {
		t.Errorf("CountDeliveries = %+v", c)
	}
	if c, _ := r.CountDeliveries(ctx(t), other, a.ID); c.Recipients != 0 {
		t.Errorf("CountDeliveries(other tenant) = %+v", c)
	}
	wantErr(t, "DeleteAnnouncement(other tenant)", r.DeleteAnnouncement(ctx(t), other, a.ID), store.ErrNotFound)
	noErr(t, "DeleteAnnouncement", r.DeleteAnnouncement(ctx(t), tn, a.ID))
	wantErr(t, "DeleteAnnouncement(again)", r.DeleteAnnouncement(ctx(t), tn, a.ID), store.ErrNotFound)
}

// testAudience: members of a group and of groups nested in it, holders of
// a role directly or through a group; privileged roles, disabled users and
// other tenants never count.
func testAudience(t *testing.T, s store.Store) {
	tn, other := mkTenant(t, s), mkTenant(t, s)
	u := map[string]*store.User{}
	for _, n := range []string{"direct", "nested", "roleuser", "rolegroup", "priv", "off", "none"} {
		u[n] = mkUser(t, s, tn, n)
	}
	_, err := s.Users().UpdateUser(ctx(t), tn, u["off"].ID, func(x *store.User) error { x.Status = store.UserDisabled; return nil })
	noErr(t, "disable", err)
	staff, team, rg := mkGroup(t, s, tn, "staff"), mkGroup(t, s, tn, "team"), mkGroup(t, s, tn, "rg")
	addMember(t, s, tn, staff.ID, store.MemberGroup, team.ID)
	addMember(t, s, tn, staff.ID, store.MemberUser, u["direct"].ID)
	addMember(t, s, tn, staff.ID, store.MemberUser, u["off"].ID)
	addMember(t, s, tn, team.ID, store.MemberUser, u["nested"].ID)
	addMember(t, s, tn, rg.ID, store.MemberUser, u["rolegroup"].ID)
	role := mkRole(t, s, tn, "editor")
	priv := mkRole(t, s, tn, "root", func(r *store.Role) { r.Privileged = true })
	for _, a := range []*store.Assignment{{RoleID: role.ID, UserID: u["roleuser"].ID}, {RoleID: role.ID, GroupID: rg.ID},
		{RoleID: priv.ID, UserID: u["priv"].ID}} {
		a.ID, a.Tenant = newID(), tn
		noErr(t, "Assign", s.Authz().Roles().Assign(ctx(t), a))
	}
	r := s.SelfService().Announcements()
	ids := func(rs []store.Recipient) []string {
		var out []string
		for _, x := range rs {
			out = append(out, x.UserID)
		}
		slices.Sort(out)
		return out
	}
	want := func(names ...string) []string {
		var out []string
		for _, n := range names {
			out = append(out, u[n].ID)
		}
		slices.Sort(out)
		return out
	}
	got, err := r.Audience(ctx(t), tn, []string{"staff"}, nil, "", 100)
	noErr(t, "Audience(staff)", err)
	if !slices.Equal(ids(got), want("direct", "nested")) {
		t.Errorf("Audience(staff) = %v", ids(got))
	}
	got, _ = r.Audience(ctx(t), tn, nil, []string{"editor", "root"}, "", 100)
	if !slices.Equal(ids(got), want("roleuser", "rolegroup")) {
		t.Errorf("Audience(roles) = %v", ids(got))
	}
	got, _ = r.Audience(ctx(t), tn, nil, nil, "", 100)
	if len(got) != 6 {
		t.Errorf("Audience(everyone) = %d users, want 6 active", len(got))
	}
	// Keyset paging walks everyone once.
	var all []store.Recipient
	for after, i := "", 0; i < 10; i++ {
		page, err := r.Audience(ctx(t), tn, nil, nil, after, 4)
		noErr(t, "Audience page", err)
		if len(page) == 0 {
			break
		}
		all, after = append(all, page...), page[len(page)-1].UserID
	}
	if len(all) != 6 {
		t.Errorf("paged audience = %d", len(all))
	}
	if in, _ := r.InAudience(ctx(t), tn, []string{"staff"}, nil, u["nested"].ID); !in {
		t.Error("InAudience(nested member) = false")
	}
	if in, _ := r.InAudience(ctx(t), tn, []string{"staff"}, nil, u["none"].ID); in {
		t.Error("InAudience(outsider) = true")
	}
	if got, _ := r.Audience(ctx(t), other, []string{"staff"}, []string{"editor"}, "", 100); len(got) != 0 {
		t.Errorf("Audience(other tenant) = %d", len(got))
	}
}
