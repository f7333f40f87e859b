package server

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/provision"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// provisioningFixture registers a target of tn on a closed loopback port
// (nothing answers; no test talks beyond 127.0.0.1): the target of the
// provisioning routes in the authorization matrix.
func (ta *testApp) provisioningFixture(tn *store.Tenant, n int) string {
	ta.t.Helper()
	name, url, token := fmt.Sprintf("app-%d", n), "http://127.0.0.1:1/scim/v2", "t"
	v, err := ta.Provisioning.Create(context.Background(), testActor, tn.ID, provision.Input{Name: &name, BaseURL: &url, BearerToken: &token})
	if err != nil {
		ta.t.Fatal(err)
	}
	return v.ID
}

// until runs the dispatcher until cond holds (bounded), as Serve's
// dispatcher would.
func until(t *testing.T, d *events.Dispatcher, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		if _, err := d.RunOnce(context.Background()); err != nil {
			t.Fatalf("dispatcher: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// remoteUser answers tenant's user with email, nil when there is none.
func (ta *testApp) remoteUser(tenant store.TenantID, email string) *store.User {
	ta.t.Helper()
	u, err := ta.DB.Users().GetUserByEmail(context.Background(), tenant, strings.ToLower(email))
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		ta.t.Fatalf("GetUserByEmail: %v", err)
	}
	return u
}

// remoteGroups answers the names of the groups u is a direct member of.
func (ta *testApp) remoteGroups(tenant store.TenantID, userID string) []string {
	ta.t.Helper()
	gs, err := ta.DB.Groups().UserGroups(context.Background(), tenant, userID, false)
	if err != nil {
		ta.t.Fatalf("UserGroups: %v", err)
	}
	var out []string
	for _, g := range gs {
		out = append(out, g.Name)
	}
	return out
}

func (ta *testApp) countUsers(tenant store.TenantID) int64 {
	ta.t.Helper()
	n, err := ta.DB.Users().CountUsers(context.Background(), tenant)
	if err != nil {
		ta.t.Fatal(err)
	}
	return n
}

// TestProvisioningToOwnSCIM: tenant A provisions to tenant B's SCIM
// server on the same test server. Creating, updating, disabling a user
// and adding them to a group in A appear in B; bad targets are refused and
// change nothing; the token is never answered; a wrong token records
// errors and the pushes recover after the fix; a full sync pushes
// pre-existing users, adopts one B already has, and a second sync
// duplicates nothing.
func TestProvisioningToOwnSCIM(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ta := newTestApp(t, be)
		a, b := ta.tenant("acme"), ta.tenant("crmapp")
		admin := ta.key(a.ID, "admin")
		scimToken := ta.key(b.ID, "admin", "scim")
		base := "/api/v1/tenants/" + a.Slug + "/provisioning-targets"
		scimURL := ta.srv.URL + "/t/" + b.Slug + "/scim/v2"
		d := ta.quickDispatcher()

		// Users who exist before the target: the full sync's business.
		early := ta.user(a.ID, "early@example.com")
		carolA := ta.user(a.ID, "carol@example.com")
		ta.mustAPI("PATCH", "/api/v1/tenants/"+a.Slug+"/users/"+carolA.ID, admin, map[string]any{"given_name": "Carol"})
		carolB := ta.user(b.ID, "carol@example.com") // already on the target
		until(t, d, "the early events", func() bool {
			evs, err := ta.DB.Events().Outbox().ListUndispatched(context.Background(), 10)
			return err == nil && len(evs) == 0
		})
		d.RunOnce(context.Background())

		grp := ta.group(a.ID, "Scope")
		for _, bad := range []map[string]any{
			{"name": "App", "base_url": scimURL},                                            // no token
			{"name": "App", "base_url": "ftp://127.0.0.1/scim", "bearer_token": "x"},        // scheme
			{"name": "App", "base_url": "http://app.example.com/scim", "bearer_token": "x"}, // http off loopback
			{"name": "App", "base_url": scimURL, "bearer_token": "a\nb"},                    // header injection
			{"name": "", "base_url": scimURL, "bearer_token": "x"},                          // no name
			{"name": "App", "base_url": scimURL, "bearer_token": "x", "groups": []string{"0190a4f6-0000-7000-8000-000000000000"}},
			{"name": "App", "base_url": scimURL, "bearer_token": "x", "attribute_mapping": map[string]string{"active": "email"}},
			{"name": "App", "base_url": scimURL, "bearer_token": "x", "attribute_mapping": map[string]string{"title": "password_hash"}},
			{"name": "App", "base_url": scimURL, "bearer_token": "x", "surprise": true},
		} {
			if res := ta.do(request{method: "POST", path: base, auth: "Bearer " + admin, body: bad}); res.status != 400 {
				t.Errorf("POST provisioning-targets %v: %s", bad, res)
			}
		}
		if res := ta.do(request{method: "POST", path: base, auth: "Bearer " + ta.key(a.ID, "read"),
			body: map[string]any{"name": "App", "base_url": scimURL, "bearer_token": "x"}}); res.status != 403 {
			t.Errorf("POST with a read key: %s", res)
		}
		if l := ta.mustAPI("GET", base, admin, nil); len(anyList(l["items"])) != 0 {
			t.Fatalf("targets after refused creates: %v", l)
		}

		tgt := ta.mustAPI("POST", base, admin, map[string]any{"name": "App", "base_url": scimURL + "/",
			"bearer_token": scimToken, "attribute_mapping": map[string]string{"displayName": "display_name"}})
		id, _ := tgt["id"].(string)
		if id == "" || tgt["base_url"] != scimURL || tgt["enabled"] != true {
			t.Fatalf("create answered %v", tgt)
		}
		if res := ta.get(base+"/"+id, admin); res.status != 200 || strings.Contains(string(res.body), scimToken) {
			t.Fatalf("GET target: %s", res)
		}
		if n := ta.auditCount(a.ID, "provisioning_target.create"); n != 1 {
			t.Errorf("provisioning_target.create audited %d times", n)
		}

		// Create, update, group membership, disable: each appears in B.
		ada := ta.mustAPI("POST", "/api/v1/tenants/"+a.Slug+"/users", admin, map[string]any{"email": "ada@example.com",
			"given_name": "Ada", "family_name": "Lovelace"})
		adaID := ada["id"].(string)
		until(t, d, "ada in B", func() bool { return ta.remoteUser(b.ID, "ada@example.com") != nil })
		adaB := ta.remoteUser(b.ID, "ada@example.com")
		if adaB.GivenName != "Ada" || adaB.FamilyName != "Lovelace" || adaB.Status != store.UserActive {
			t.Fatalf("ada in B = %+v", adaB)
		}
		if res := ta.get("/t/"+b.Slug+"/scim/v2/Users/"+adaB.ID, scimToken); !strings.Contains(string(res.body), `"externalId":"`+adaID+`"`) ||
			!strings.Contains(string(res.body), `"displayName":"Ada Lovelace"`) {
			t.Fatalf("ada's SCIM record in B: %s", res)
		}
		ta.mustAPI("PATCH", "/api/v1/tenants/"+a.Slug+"/users/"+adaID, admin, map[string]any{"given_name": "Augusta"})
		until(t, d, "ada's new name in B", func() bool { return ta.remoteUser(b.ID, "ada@example.com").GivenName == "Augusta" })

		eng := ta.mustAPI("POST", "/api/v1/tenants/"+a.Slug+"/groups", admin, map[string]any{"name": "Engineering"})
		ta.mustAPI("POST", "/api/v1/tenants/"+a.Slug+"/groups/"+eng["id"].(string)+"/members", admin,
			map[string]any{"user_id": adaID})
		until(t, d, "ada in Engineering in B", func() bool {
			gs := ta.remoteGroups(b.ID, adaB.ID)
			return len(gs) == 1 && gs[0] == "Engineering"
		})
		ta.mustAPI("PATCH", "/api/v1/tenants/"+a.Slug+"/users/"+adaID, admin, map[string]any{"status": "disabled"})
		until(t, d, "ada disabled in B", func() bool { return ta.remoteUser(b.ID, "ada@example.com").Status == store.UserDisabled })
		if ta.remoteUser(b.ID, "ada@example.com").ID != adaB.ID {
			t.Fatal("ada was created again in B rather than updated")
		}

		// A wrong token: the push fails, is listed, and recovers after the fix.
		ta.mustAPI("PATCH", base+"/"+id, admin, map[string]any{"bearer_token": "gh_wrong"})
		ta.mustAPI("POST", "/api/v1/tenants/"+a.Slug+"/users", admin, map[string]any{"email": "bob@example.com"})
		var errs []any
		until(t, d, "an error listed", func() bool {
			errs = anyList(ta.mustAPI("GET", base+"/"+id+"/errors", admin, nil)["items"])
			return len(errs) > 0
		})
		e0, _ := errs[0].(map[string]any)
		if e0["status_code"] != float64(401) || e0["object_type"] != "user" || e0["event_id"] == "" {
			t.Fatalf("error entry = %v", e0)
		}
		if ta.remoteUser(b.ID, "bob@example.com") != nil {
			t.Fatal("bob reached B with a wrong token")
		}
		ta.mustAPI("PATCH", base+"/"+id, admin, map[string]any{"bearer_token": scimToken})
		until(t, d, "bob in B after the fix", func() bool { return ta.remoteUser(b.ID, "bob@example.com") != nil })

		// Full sync: the early users appear, carol is adopted, not doubled.
		if ta.remoteUser(b.ID, "early@example.com") != nil {
			t.Fatal("early user in B before the sync")
		}
		before := ta.countUsers(b.ID)
		sync := func() map[string]any {
			t.Helper()
			res := ta.do(request{method: "POST", path: base + "/" + id + "/sync", auth: "Bearer " + admin})
			if res.status != 202 {
				t.Fatalf("sync: %s", res)
			}
			deadline := time.Now().Add(20 * time.Second)
			for {
				v := ta.mustAPI("GET", base+"/"+id, admin, nil)
				s, _ := v["sync"].(map[string]any)
				if s["state"] != "running" {
					return s
				}
				if time.Now().After(deadline) {
					t.Fatalf("sync still running: %v", v)
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
		s := sync()
		if s["state"] != "done" {
			t.Fatalf("sync = %v", s)
		}
		if got := ta.remoteUser(b.ID, "early@example.com"); got == nil || got.ID == early.ID {
			t.Fatalf("early user in B after the sync: %+v", got)
		}
		if got := ta.remoteUser(b.ID, "carol@example.com"); got.ID != carolB.ID || got.GivenName != "Carol" {
			t.Fatalf("carol in B = %+v, want %s adopted and named Carol", got, carolB.ID)
		}
		// early is new in B; carol was adopted.
		if n := ta.countUsers(b.ID); n != before+1 {
			t.Fatalf("B has %d users after the sync, want %d", n, before+1)
		}
		if gs := ta.remoteGroups(b.ID, adaB.ID); len(gs) != 1 {
			t.Fatalf("ada's groups in B after the sync: %v", gs)
		}
		if s2 := sync(); s2["state"] != "done" || s2["count"] != s["count"] || ta.countUsers(b.ID) != before+1 {
			t.Fatalf("second sync = %v, users %d", s2, ta.countUsers(b.ID))
		}

		// Deleting the user in A deactivates them in B.
		ta.mustAPI("DELETE", "/api/v1/tenants/"+a.Slug+"/users/"+early.ID, admin, nil)
		until(t, d, "early deactivated in B", func() bool {
			return ta.remoteUser(b.ID, "early@example.com").Status == store.UserDisabled
		})
		if res := ta.do(request{method: "DELETE", path: base + "/" + id, auth: "Bearer " + admin}); res.status != 204 {
			t.Fatalf("DELETE target: %s", res)
		}
		if res := ta.get(base+"/"+id+"/errors", admin); res.status != 404 {
			t.Fatalf("errors of a deleted target: %s", res)
		}

		// A target scoped to a group: only its members arrive, and a
		// member who leaves it is deactivated there.
		c := ta.tenant("wiki")
		ta.mustAPI("POST", base, admin, map[string]any{"name": "Wiki", "base_url": ta.srv.URL + "/t/" + c.Slug + "/scim/v2",
			"bearer_token": ta.key(c.ID, "scim"), "groups": []string{grp.ID}})
		dan := ta.mustAPI("POST", "/api/v1/tenants/"+a.Slug+"/users", admin, map[string]any{"email": "dan@example.com"})
		danID := dan["id"].(string)
		ta.mustAPI("POST", "/api/v1/tenants/"+a.Slug+"/groups/"+grp.ID+"/members", admin, map[string]any{"user_id": danID})
		until(t, d, "dan in Scope in the scoped target", func() bool {
			u := ta.remoteUser(c.ID, "dan@example.com")
			return u != nil && slices.Equal(ta.remoteGroups(c.ID, u.ID), []string{"Scope"})
		})
		ta.mustAPI("PATCH", "/api/v1/tenants/"+a.Slug+"/users/"+adaID, admin, map[string]any{"given_name": "Ada"})
		ta.mustAPI("DELETE", "/api/v1/tenants/"+a.Slug+"/groups/"+grp.ID+"/members/"+danID, admin, nil)
		until(t, d, "dan deactivated in the scoped target", func() bool {
			return ta.remoteUser(c.ID, "dan@example.com").Status == store.UserDisabled
		})
		if ta.remoteUser(c.ID, "ada@example.com") != nil || ta.countUsers(c.ID) != 1 {
			t.Fatalf("the scoped target has %d users", ta.countUsers(c.ID))
		}
	})
}
