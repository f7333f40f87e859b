package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/notice"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
)

// TestAnnouncementToOneGroup: an announcement to one group is mailed to
// its members (in their language) and no one else, shown on the account
// page to members only, and on the login page (before sign-in) not at
// all; an announcement to everyone is shown there. Delivery counts follow
// the queue.
func TestAnnouncementToOneGroup(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		f := newAccountFixture(t, be)
		ctx := context.Background()
		staff := f.ta.group(f.tn.ID, "staff")
		if err := f.ta.Directory.AddMember(ctx, testActor, f.tn.ID, staff.ID, store.Member{Type: store.MemberUser, ID: f.ada.ID}); err != nil {
			t.Fatal(err)
		}
		carol := f.ta.userWithPassword(f.tn.ID, "carol@example.com", bobPW)
		if err := f.ta.Directory.AddMember(ctx, testActor, f.tn.ID, staff.ID, store.Member{Type: store.MemberUser, ID: carol.ID}); err != nil {
			t.Fatal(err)
		}
		if err := f.ta.DB.SelfService().NoticePrefs().SetNoticesMuted(ctx, f.tn.ID, carol.ID, true); err != nil {
			t.Fatal(err)
		}
		f.ta.clearMails()
		an := &store.Announcement{Tenant: f.tn.ID, Title: map[string]string{"en": "New login page"},
			Body: map[string]string{"en": "It moves on Monday."}, Groups: []string{"staff"},
			Channels: []string{notice.ChannelLogin, notice.ChannelAccount, notice.ChannelEmail}}
		n, err := f.ta.Announcer.Publish(ctx, an)
		if err != nil || n != 1 {
			t.Fatalf("publish: %d %v", n, err)
		}
		if m := f.ta.mailTo("ada@example.com"); m.Subject != "New login page" {
			t.Errorf("mail to the member: %v", m)
		}
		for _, who := range []string{"bob@example.com", "carol@example.com"} {
			if got := f.ta.subjectsTo(who); len(got) != 0 {
				t.Errorf("%s (not in the group, or muted) got %q", who, got)
			}
		}
		c, err := f.ta.DB.SelfService().Announcements().CountDeliveries(ctx, f.tn.ID, an.ID)
		if err != nil || c.Recipients != 2 || c.Sent != 1 || c.Skipped != 1 {
			t.Errorf("counts %+v %v", c, err)
		}
		shown := func(channel, userID string) int {
			t.Helper()
			s, err := f.ta.Announcer.Shown(ctx, f.tn, channel, userID, "en")
			if err != nil {
				t.Fatal(err)
			}
			return len(s)
		}
		if shown(notice.ChannelAccount, f.ada.ID) != 1 || shown(notice.ChannelAccount, f.bob.ID) != 0 ||
			shown(notice.ChannelLogin, "") != 0 {
			t.Errorf("group announcement shown: ada %d bob %d anonymous %d", shown(notice.ChannelAccount, f.ada.ID),
				shown(notice.ChannelAccount, f.bob.ID), shown(notice.ChannelLogin, ""))
		}
		// The same through the pages: the member's account page shows it,
		// bob's does not, nor the login page before sign-in.
		ada, bob, anon := f.ta.browser(), f.ta.browser(), f.ta.browser()
		ada.signIn("acme", "ada@example.com", adaPW)
		bob.signIn("acme", "bob@example.com", bobPW)
		if p := ada.get("/t/acme/account"); !strings.Contains(p.body, "It moves on Monday.") {
			t.Errorf("member's account page lacks the announcement: %d", p.status)
		}
		if p := bob.get("/t/acme/account"); strings.Contains(p.body, "It moves on Monday.") {
			t.Error("bob's account page shows the group's announcement")
		}
		if p := anon.get("/t/acme/account/login"); p.status != http.StatusOK || strings.Contains(p.body, "It moves on Monday.") {
			t.Errorf("login page before sign-in: %d, shows the group's announcement: %v", p.status, strings.Contains(p.body, "It moves on Monday."))
		}
		// Dismissed in this browser, it is gone from its page.
		tok := ada.csrf("/t/acme/account")
		if p := ada.post("/t/acme/announcements/dismiss", form("csrf", tok, "id", an.ID, "back", "//evil.example/x")); p.status != http.StatusSeeOther || p.location() != "/t/acme/account" {
			t.Errorf("dismiss: %d %q", p.status, p.location())
		}
		if p := ada.get("/t/acme/account"); strings.Contains(p.body, "It moves on Monday.") {
			t.Error("a dismissed announcement is still shown")
		}
		all := &store.Announcement{Tenant: f.tn.ID, Title: map[string]string{"en": "Passkeys"}, Body: map[string]string{"en": "Try them."},
			Channels: []string{notice.ChannelLogin}}
		if _, err := f.ta.Announcer.Publish(ctx, all); err != nil {
			t.Fatal(err)
		}
		if shown(notice.ChannelLogin, "") != 1 {
			t.Error("announcement to everyone not shown on the login page")
		}
		if p := anon.get("/t/acme/account/login"); !strings.Contains(p.body, "Try them.") {
			t.Error("login page lacks the announcement to everyone")
		}
	})
}

// TestAnnouncementQueuesTenThousand measures queuing an announcement to
// 10,000 recipients (SQLite), and checks that the queue holds them to the
// sending rate.
func TestAnnouncementQueuesTenThousand(t *testing.T) {
	if testing.Short() {
		t.Skip("bulk")
	}
	ta := newTestApp(t, backends[0])
	tn := ta.tenant("acme")
	ctx := context.Background()
	now := time.Now()
	if err := ta.DB.InTx(ctx, func(tx store.Repos) error {
		for i := range 10000 {
			if err := tx.Users().CreateUser(ctx, &store.User{ID: fmt.Sprintf("u%05d", i), Tenant: tn.ID,
				Email: fmt.Sprintf("u%05d@example.com", i), EmailNorm: fmt.Sprintf("u%05d@example.com", i),
				Status: store.UserActive, Attributes: []byte("{}"), CreatedAt: now, UpdatedAt: now}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := ta.Tenants.UpdateTenant(ctx, testActor, tn.ID, 0, tenancy.TenantPatch{Settings: json.RawMessage(
		`{"notices":{"mail_rate":50}}`)}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	n, err := ta.Announcer.Publish(ctx, &store.Announcement{Tenant: tn.ID, Title: map[string]string{"en": "Hello"},
		Body: map[string]string{"en": "All of you."}, Channels: []string{notice.ChannelEmail}})
	took := time.Since(start)
	if err != nil || n != 10000 {
		t.Fatalf("publish: %d %v", n, err)
	}
	t.Logf("10,000 recipients queued in %s", took)
	if took > 10*time.Second {
		t.Errorf("queuing took %s, want under 10s", took)
	}
	// At the tenant's 50 a second (the default is 10), a worker now finds about 50*elapsed mails due,
	// not 10,000.
	due, err := ta.DB.SelfService().MailQueue().ClaimMail(ctx, time.Now(), time.Minute, 100)
	if err != nil {
		t.Fatal(err)
	}
	if hi, lo := int(time.Since(start).Seconds()*50)+2, min(int(took.Seconds()*50*0.9), 100); len(due) > hi || len(due) < lo {
		t.Errorf("%d mails due after %s, want %d to %d at 50/s", len(due), took, lo, hi)
	}
}

// TestAnnouncementsAPI: the API refuses malformed announcements field by
// field and stores nothing; a valid one is answered with its delivery
// counts, listed, and deleted.
func TestAnnouncementsAPI(t *testing.T) {
	ta := newTestApp(t, backends[0])
	tn := ta.tenant("acme")
	staff := ta.group(tn.ID, "staff")
	u := ta.user(tn.ID, "ada@example.com")
	ta.addMember(tn.ID, staff.ID, u.ID)
	admin := "Bearer " + ta.key(tn.ID, "admin")
	base := "/api/v1/tenants/" + string(tn.ID) + "/announcements"
	bad := ta.do(request{method: http.MethodPost, path: base, auth: admin, body: map[string]any{
		"title": map[string]string{"fr": "Bonjour"}, "body": map[string]string{}, "channels": []string{"sms", "email"},
		"starts_at": "2027-01-02T00:00:00Z", "ends_at": "2027-01-01T00:00:00Z"}})
	for _, field := range []string{"title.fr", `"body"`, "channels", "ends_at"} {
		if bad.status != http.StatusBadRequest || !strings.Contains(string(bad.body), field) {
			t.Errorf("malformed announcement: %d, %s not named in %s", bad.status, field, bad.body)
		}
	}
	if r := ta.do(request{method: http.MethodGet, path: base, auth: admin}); !strings.Contains(string(r.body), `"items":[]`) {
		t.Errorf("a refused announcement was stored: %s", r.body)
	}
	r := ta.do(request{method: http.MethodPost, path: base, auth: admin, body: map[string]any{
		"title": map[string]string{"en": "Hello"}, "body": map[string]string{"en": "Staff only."},
		"audience": map[string]any{"groups": []string{"staff"}}, "channels": []string{"email", "account_page"}}})
	var v struct {
		ID         string               `json:"id"`
		Deliveries store.DeliveryCounts `json:"deliveries"`
		Audience   struct{ Groups, Roles []string }
	}
	if r.status != http.StatusCreated || json.Unmarshal(r.body, &v) != nil || v.Deliveries.Recipients != 1 ||
		len(v.Audience.Groups) != 1 || v.Audience.Roles == nil {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	if r := ta.do(request{method: http.MethodGet, path: base + "/" + v.ID, auth: "Bearer " + ta.key(tn.ID, "read")}); r.status != http.StatusOK ||
		!strings.Contains(string(r.body), `"recipients":1`) {
		t.Errorf("get: %d %s", r.status, r.body)
	}
	if r := ta.do(request{method: http.MethodDelete, path: base + "/" + v.ID, auth: admin}); r.status != http.StatusNoContent {
		t.Errorf("delete: %d", r.status)
	}
	if r := ta.do(request{method: http.MethodGet, path: base + "/" + v.ID, auth: admin}); r.status != http.StatusNotFound {
		t.Errorf("get after delete: %d", r.status)
	}
}
