package server

import (
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/elimity-com/scim"
	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/elimity-com/scim/optional"
	"github.com/elimity-com/scim/schema"
	filter "github.com/scim2/filter-parser/v2"
)

// memSCIM is an independent SCIM 2.0 service provider for the test:
// github.com/elimity-com/scim (which parses, validates and answers the
// protocol) over resources kept in memory, behind a bearer token.
type memSCIM struct {
	srv   *httptest.Server
	token atomic.Value // string
	users *memResources
	grps  *memResources
}

// memResources is one resource type's store; unique names the attribute
// that must be unique (userName, displayName).
type memResources struct {
	mu     sync.Mutex
	unique string
	next   int
	items  map[string]scim.ResourceAttributes
}

func newMemSCIM(t *testing.T, token string) *memSCIM {
	t.Helper()
	m := &memSCIM{users: &memResources{unique: "userName", items: map[string]scim.ResourceAttributes{}},
		grps: &memResources{unique: "displayName", items: map[string]scim.ResourceAttributes{}}}
	s, err := scim.NewServer(&scim.ServerArgs{
		ServiceProviderConfig: &scim.ServiceProviderConfig{SupportFiltering: true, SupportPatch: true},
		ResourceTypes: []scim.ResourceType{
			{ID: optional.NewString("User"), Name: "User", Endpoint: "/Users", Schema: schema.CoreUserSchema(), Handler: m.users},
			{ID: optional.NewString("Group"), Name: "Group", Endpoint: "/Groups", Schema: schema.CoreGroupSchema(), Handler: m.grps},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	m.token.Store(token)
	m.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+m.token.Load().(string) {
			w.Header().Set("Content-Type", "application/scim+json")
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"401","detail":"bad token"}`)
			return
		}
		http.StripPrefix("/scim", s).ServeHTTP(w, r)
	}))
	t.Cleanup(m.srv.Close)
	return m
}

func (s *memResources) resource(id string, a scim.ResourceAttributes) scim.Resource {
	a = maps.Clone(a)
	ext := optional.String{}
	if v, ok := a["externalId"].(string); ok {
		ext = optional.NewString(v)
		delete(a, "externalId")
	}
	now := time.Now()
	return scim.Resource{ID: id, ExternalID: ext, Attributes: a, Meta: scim.Meta{Created: &now, LastModified: &now}}
}

func (s *memResources) taken(a scim.ResourceAttributes, except string) bool {
	for id, b := range s.items {
		if id != except && b[s.unique] == a[s.unique] {
			return true
		}
	}
	return false
}

func (s *memResources) Create(_ *http.Request, a scim.ResourceAttributes) (scim.Resource, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.taken(a, "") {
		return scim.Resource{}, scimerrors.ScimErrorUniqueness
	}
	s.next++
	id := fmt.Sprintf("m%d", s.next)
	s.items[id] = maps.Clone(a)
	return s.resource(id, a), nil
}

func (s *memResources) Get(_ *http.Request, id string) (scim.Resource, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.items[id]
	if !ok {
		return scim.Resource{}, scimerrors.ScimErrorResourceNotFound(id)
	}
	return s.resource(id, a), nil
}

func (s *memResources) GetAll(_ *http.Request, p scim.ListRequestParams) (scim.Page, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out scim.Page
	for _, id := range slices.Sorted(maps.Keys(s.items)) {
		a := maps.Clone(s.items[id])
		a["id"] = id
		if p.FilterValidator != nil && p.FilterValidator.PassesFilter(a) != nil {
			continue
		}
		out.TotalResults++
		out.Resources = append(out.Resources, s.resource(id, s.items[id]))
	}
	return out, nil
}

func (s *memResources) Replace(_ *http.Request, id string, a scim.ResourceAttributes) (scim.Resource, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.items[id]
	if !ok {
		return scim.Resource{}, scimerrors.ScimErrorResourceNotFound(id)
	}
	if s.taken(a, id) {
		return scim.Resource{}, scimerrors.ScimErrorUniqueness
	}
	if m, ok := old["members"]; ok {
		if _, set := a["members"]; !set {
			a["members"] = m
		}
	}
	s.items[id] = maps.Clone(a)
	return s.resource(id, a), nil
}

func (s *memResources) Delete(_ *http.Request, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.items[id]; !ok {
		return scimerrors.ScimErrorResourceNotFound(id)
	}
	delete(s.items, id)
	return nil
}

// Patch applies what the provisioning pushes: replace without a path,
// add members, remove members[value eq "..."].
func (s *memResources) Patch(_ *http.Request, id string, ops []scim.PatchOperation) (scim.Resource, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.items[id]
	if !ok {
		return scim.Resource{}, scimerrors.ScimErrorResourceNotFound(id)
	}
	for _, op := range ops {
		switch {
		case op.Path == nil && op.Op != scim.PatchOperationRemove:
			v, _ := op.Value.(map[string]interface{})
			maps.Copy(a, v)
		case op.Path != nil && op.Path.AttributePath.AttributeName == "members" && op.Op == scim.PatchOperationAdd:
			have, _ := a["members"].([]interface{})
			vals, _ := op.Value.([]interface{})
			for _, v := range vals {
				if !slices.ContainsFunc(have, func(h interface{}) bool { return memberValue(h) == memberValue(v) }) {
					have = append(have, v)
				}
			}
			a["members"] = have
		case op.Path != nil && op.Path.AttributePath.AttributeName == "members" && op.Op == scim.PatchOperationRemove:
			ex, _ := op.Path.ValueExpression.(*filter.AttributeExpression)
			if ex == nil {
				return scim.Resource{}, scimerrors.ScimErrorBadRequest("remove members needs a filter")
			}
			have, _ := a["members"].([]interface{})
			a["members"] = slices.DeleteFunc(slices.Clone(have), func(h interface{}) bool { return memberValue(h) == ex.CompareValue })
		default:
			return scim.Resource{}, scimerrors.ScimErrorBadRequest("unsupported operation " + op.Op)
		}
	}
	return s.resource(id, a), nil
}

func memberValue(v interface{}) interface{} {
	m, _ := v.(map[string]interface{})
	return m["value"]
}

// find answers the resource whose attr is value, and its id.
func (s *memResources) find(attr string, value any) (string, scim.ResourceAttributes) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, a := range s.items {
		if a[attr] == value {
			return id, maps.Clone(a)
		}
	}
	return "", nil
}

func (s *memResources) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.items)
}

// TestProvisioningToIndependentSCIM: the same pushes reach a SCIM server
// Gatehouse did not write (github.com/elimity-com/scim): a user's
// creation, update, group membership and disabling; a wrong token is
// listed as an error and recovers; a full sync adopts a user the server
// already had and duplicates nothing.
func TestProvisioningToIndependentSCIM(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ta := newTestApp(t, be)
		a := ta.tenant("acme")
		admin := ta.key(a.ID, "admin")
		m := newMemSCIM(t, "s3cret-token")
		d := ta.quickDispatcher()
		api := "/api/v1/tenants/" + a.Slug

		// Already on the target, under the same userName: adopted by the sync.
		if _, err := m.users.Create(nil, scim.ResourceAttributes{"userName": "carol@example.com", "active": true}); err != nil {
			t.Fatal(err)
		}
		carol := ta.user(a.ID, "carol@example.com")
		until(t, d, "carol's event", func() bool {
			evs, err := ta.DB.Events().Outbox().ListUndispatched(t.Context(), 10)
			return err == nil && len(evs) == 0
		})
		d.RunOnce(t.Context())

		tgt := ta.mustAPI("POST", api+"/provisioning-targets", admin, map[string]any{"name": "Independent",
			"base_url": m.srv.URL + "/scim/v2", "bearer_token": "s3cret-token"})
		id := tgt["id"].(string)

		ada := ta.mustAPI("POST", api+"/users", admin, map[string]any{"email": "ada@example.com", "given_name": "Ada"})
		adaID := ada["id"].(string)
		until(t, d, "ada on the server", func() bool { r, _ := m.users.find("userName", "ada@example.com"); return r != "" })
		remote, attrs := m.users.find("userName", "ada@example.com")
		if name, _ := attrs["name"].(map[string]interface{}); name["givenName"] != "Ada" || attrs["active"] != true {
			t.Fatalf("ada on the server: %v", attrs)
		}
		ta.mustAPI("PATCH", api+"/users/"+adaID, admin, map[string]any{"given_name": "Augusta"})
		until(t, d, "ada renamed", func() bool {
			_, a := m.users.find("userName", "ada@example.com")
			name, _ := a["name"].(map[string]interface{})
			return name["givenName"] == "Augusta"
		})
		g := ta.mustAPI("POST", api+"/groups", admin, map[string]any{"name": "Engineering"})
		ta.mustAPI("POST", api+"/groups/"+g["id"].(string)+"/members", admin, map[string]any{"user_id": adaID})
		until(t, d, "ada in Engineering", func() bool {
			_, grp := m.grps.find("displayName", "Engineering")
			ms, _ := grp["members"].([]interface{})
			return len(ms) == 1 && memberValue(ms[0]) == remote
		})
		ta.mustAPI("PATCH", api+"/users/"+adaID, admin, map[string]any{"status": "disabled"})
		until(t, d, "ada deactivated", func() bool { _, a := m.users.find("userName", "ada@example.com"); return a["active"] == false })

		// Wrong token: listed, then recovered.
		m.token.Store("rotated-token")
		ta.mustAPI("POST", api+"/users", admin, map[string]any{"email": "bob@example.com"})
		until(t, d, "an error listed", func() bool {
			return len(anyList(ta.mustAPI("GET", api+"/provisioning-targets/"+id+"/errors", admin, nil)["items"])) > 0
		})
		ta.mustAPI("PATCH", api+"/provisioning-targets/"+id, admin, map[string]any{"bearer_token": "rotated-token"})
		until(t, d, "bob on the server", func() bool { r, _ := m.users.find("userName", "bob@example.com"); return r != "" })

		// Full sync: carol adopted (not doubled), everything counted once.
		before := m.users.len()
		if res := ta.do(request{method: "POST", path: api + "/provisioning-targets/" + id + "/sync", auth: "Bearer " + admin}); res.status != 202 {
			t.Fatalf("sync: %s", res)
		}
		deadline := time.Now().Add(20 * time.Second)
		for {
			s, _ := ta.mustAPI("GET", api+"/provisioning-targets/"+id, admin, nil)["sync"].(map[string]any)
			if s["state"] == "done" {
				break
			}
			if s["state"] != "running" || time.Now().After(deadline) {
				t.Fatalf("sync = %v; errors %v", s, ta.mustAPI("GET", api+"/provisioning-targets/"+id+"/errors", admin, nil))
			}
			time.Sleep(20 * time.Millisecond)
		}
		if n := m.users.len(); n != before {
			t.Fatalf("the server has %d users after the sync, want %d", n, before)
		}
		if _, c := m.users.find("userName", "carol@example.com"); c["externalId"] != carol.ID {
			t.Fatalf("carol after the sync: %v (want externalId %s)", c, carol.ID)
		}
	})
}
