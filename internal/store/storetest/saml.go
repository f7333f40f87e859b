package storetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

var samlTests = []test{
	{"SAML/SP/CRUD", testSAMLSPCRUD},
	{"SAML/Request/ReplayAndConsume", testSAMLRequests},
	{"SAML/Request/ConsumeConcurrent", testSAMLConsumeConcurrent},
	{"SAML/Participants", testSAMLParticipants},
	{"SAML/TenantIsolation", testSAMLIsolation},
	{"SAML/Consents", testSAMLConsents},
}

func mkSP(t *testing.T, s store.Repos, tn store.TenantID, entity string) *store.SAMLServiceProvider {
	t.Helper()
	sp := &store.SAMLServiceProvider{ID: newID(), Tenant: tn, Name: "SP " + entity, EntityID: entity,
		ACS:    []store.SAMLEndpoint{{Binding: "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST", Location: entity + "/acs", Index: 1, Default: true}},
		SLOURL: entity + "/slo", SLOBinding: "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect",
		NameIDFormat:     "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
		AttributeMapping: map[string]string{"mail": "email"}, SignAssertion: true, SignResponse: true,
		DefaultRelayState: "/start", ConsentRequired: true}
	noErr(t, "CreateSP", s.SAML().ServiceProviders().CreateSP(ctx(t), sp))
	return sp
}

func mkSAMLRequest(t *testing.T, s store.Repos, tn store.TenantID, spID, requestID string) *store.SAMLRequest {
	t.Helper()
	x := &store.SAMLRequest{ID: newID(), Tenant: tn, SPID: spID, RequestID: requestID, ACSURL: "https://sp.example/acs",
		ACSBinding: "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST", RelayState: "rs", ForceAuthn: true,
		AuthnContext:           []string{"urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"},
		AuthnContextComparison: "exact", ExpiresAt: later()}
	noErr(t, "CreateRequest", s.SAML().Requests().CreateRequest(ctx(t), x))
	return x
}

func testSAMLSPCRUD(t *testing.T, s store.Store) {
	tn := mkTenant(t, s)
	sps := s.SAML().ServiceProviders()
	sp := mkSP(t, s, tn, "https://sp.example")
	if sp.Version != 1 || sp.CreatedAt.IsZero() {
		t.Fatalf("CreateSP filled Version %d CreatedAt %v", sp.Version, sp.CreatedAt)
	}
	got, err := sps.GetSP(ctx(t), tn, sp.ID)
	noErr(t, "GetSP", err)
	same(t, "GetSP", got, sp)
	got, err = sps.GetSPByEntityID(ctx(t), tn, "https://sp.example")
	noErr(t, "GetSPByEntityID", err)
	same(t, "GetSPByEntityID", got, sp)
	_, err = sps.GetSPByEntityID(ctx(t), tn, "https://other.example")
	wantErr(t, "GetSPByEntityID(unknown)", err, store.ErrNotFound)
	dup := &store.SAMLServiceProvider{ID: newID(), Tenant: tn, EntityID: "https://sp.example"}
	wantErr(t, "CreateSP(entity taken)", sps.CreateSP(ctx(t), dup), store.ErrConflict)
	wantErr(t, "CreateSP(no tenant)", sps.CreateSP(ctx(t), &store.SAMLServiceProvider{ID: newID(), Tenant: store.TenantID(newID()), EntityID: "x"}), store.ErrNotFound)

	other := mkSP(t, s, tn, "https://b.example")
	up, err := sps.UpdateSP(ctx(t), tn, sp.ID, func(x *store.SAMLServiceProvider) error {
		x.Name, x.EncryptAssertion, x.AttributeMapping = "Renamed", true, map[string]string{"groups": "groups"}
		x.DefaultRelayState = "https://sp.example/home"
		x.ACS = append(x.ACS, store.SAMLEndpoint{Binding: "b", Location: "https://sp.example/acs2", Index: 2})
		return nil
	})
	noErr(t, "UpdateSP", err)
	if up.Version != 2 || up.Name != "Renamed" || !up.EncryptAssertion || len(up.ACS) != 2 || up.DefaultRelayState != "https://sp.example/home" {
		t.Errorf("UpdateSP = %+v", up)
	}
	got, _ = sps.GetSP(ctx(t), tn, sp.ID)
	same(t, "GetSP after update", got, up)
	_, err = sps.UpdateSP(ctx(t), tn, sp.ID, func(x *store.SAMLServiceProvider) error { x.EntityID = other.EntityID; return nil })
	wantErr(t, "UpdateSP(entity taken)", err, store.ErrConflict)
	boom := errors.New("boom")
	_, err = sps.UpdateSP(ctx(t), tn, sp.ID, func(*store.SAMLServiceProvider) error { return boom })
	wantErr(t, "UpdateSP(closure error)", err, boom)

	list, err := sps.ListSPs(ctx(t), tn, store.Page{})
	noErr(t, "ListSPs", err)
	if len(list) != 2 || list[0].ID != sp.ID || list[1].ID != other.ID {
		t.Errorf("ListSPs = %d records", len(list))
	}
	list, _ = sps.ListSPs(ctx(t), tn, store.Page{After: sp.ID})
	if len(list) != 1 || list[0].ID != other.ID {
		t.Errorf("ListSPs(after) = %d records", len(list))
	}

	// Deleting a provider takes its requests and participations along.
	u := mkUser(t, s, tn, "ann")
	ss := mkSession(t, s, tn, u.ID, "tok-"+newID())
	req := mkSAMLRequest(t, s, tn, sp.ID, "id-1")
	noErr(t, "AddParticipant", s.SAML().Participants().AddParticipant(ctx(t), &store.SAMLParticipant{Tenant: tn, SessionID: ss.ID, SPID: sp.ID, NameID: "n"}))
	noErr(t, "DeleteSP", sps.DeleteSP(ctx(t), tn, sp.ID))
	wantErr(t, "DeleteSP again", sps.DeleteSP(ctx(t), tn, sp.ID), store.ErrNotFound)
	_, err = s.SAML().Requests().GetRequest(ctx(t), tn, req.ID)
	wantErr(t, "GetRequest after DeleteSP", err, store.ErrNotFound)
	ps, err := s.SAML().Participants().ListParticipants(ctx(t), tn, ss.ID)
	if err != nil || len(ps) != 0 {
		t.Errorf("participants after DeleteSP = %d, %v", len(ps), err)
	}
}

func testSAMLRequests(t *testing.T, s store.Store) {
	tn := mkTenant(t, s)
	sp := mkSP(t, s, tn, "https://sp.example")
	sp2 := mkSP(t, s, tn, "https://sp2.example")
	rq := s.SAML().Requests()
	x := mkSAMLRequest(t, s, tn, sp.ID, "id-1")
	got, err := rq.GetRequest(ctx(t), tn, x.ID)
	noErr(t, "GetRequest", err)
	same(t, "GetRequest", got, x)

	// The same request ID from the same provider is a replay, even after use.
	dup := &store.SAMLRequest{ID: newID(), Tenant: tn, SPID: sp.ID, RequestID: "id-1", ACSURL: "a", ACSBinding: "b", ExpiresAt: later()}
	wantErr(t, "CreateRequest(replayed id)", rq.CreateRequest(ctx(t), dup), store.ErrConflict)
	// Another provider may use the same ID; IdP-initiated requests have none.
	mkSAMLRequest(t, s, tn, sp2.ID, "id-1")
	mkSAMLRequest(t, s, tn, sp.ID, "")
	mkSAMLRequest(t, s, tn, sp.ID, "")
	wantErr(t, "CreateRequest(unknown sp)", rq.CreateRequest(ctx(t), &store.SAMLRequest{ID: newID(), Tenant: tn, SPID: newID(),
		ACSURL: "a", ACSBinding: "b", ExpiresAt: later()}), store.ErrNotFound)

	c, err := rq.ConsumeRequest(ctx(t), tn, x.ID)
	noErr(t, "ConsumeRequest", err)
	if !c.Used || c.RequestID != "id-1" || c.RelayState != "rs" {
		t.Errorf("ConsumeRequest = %+v", c)
	}
	_, err = rq.ConsumeRequest(ctx(t), tn, x.ID)
	wantErr(t, "ConsumeRequest(again)", err, store.ErrConflict)
	_, err = rq.ConsumeRequest(ctx(t), tn, newID())
	wantErr(t, "ConsumeRequest(unknown)", err, store.ErrNotFound)
	wantErr(t, "CreateRequest(replayed after use)", rq.CreateRequest(ctx(t), &store.SAMLRequest{ID: newID(), Tenant: tn, SPID: sp.ID,
		RequestID: "id-1", ACSURL: "a", ACSBinding: "b", ExpiresAt: later()}), store.ErrConflict)

	old := &store.SAMLRequest{ID: newID(), Tenant: tn, SPID: sp.ID, RequestID: "id-old", ACSURL: "a", ACSBinding: "b", ExpiresAt: earlier()}
	noErr(t, "CreateRequest(expired)", rq.CreateRequest(ctx(t), old))
	_, err = rq.GetRequest(ctx(t), tn, old.ID)
	wantErr(t, "GetRequest(expired)", err, store.ErrNotFound)
	_, err = rq.ConsumeRequest(ctx(t), tn, old.ID)
	wantErr(t, "ConsumeRequest(expired)", err, store.ErrNotFound)

	n, err := rq.DeleteExpired(ctx(t), time.Now())
	if err != nil || n != 1 {
		t.Errorf("DeleteExpired = %d, %v; want 1", n, err)
	}
	if _, err := rq.GetRequest(ctx(t), tn, x.ID); err != nil {
		t.Errorf("live request gone after DeleteExpired: %v", err)
	}
	noErr(t, "CreateRequest(expired id again)", rq.CreateRequest(ctx(t), &store.SAMLRequest{ID: newID(), Tenant: tn, SPID: sp.ID,
		RequestID: "id-old", ACSURL: "a", ACSBinding: "b", ExpiresAt: later()}))
}

func testSAMLConsumeConcurrent(t *testing.T, s store.Store) {
	tn := mkTenant(t, s)
	sp := mkSP(t, s, tn, "https://sp.example")
	x := mkSAMLRequest(t, s, tn, sp.ID, "id-1")
	const n = 8
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins, conflicts := 0, 0
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.SAML().Requests().ConsumeRequest(ctx(t), tn, x.ID)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case errors.Is(err, store.ErrConflict):
				conflicts++
			default:
				t.Errorf("ConsumeRequest: %v", err)
			}
		}()
	}
	wg.Wait()
	if wins != 1 || conflicts != n-1 {
		t.Errorf("wins %d conflicts %d; want 1 and %d", wins, conflicts, n-1)
	}
}

func testSAMLParticipants(t *testing.T, s store.Store) {
	tn := mkTenant(t, s)
	sp := mkSP(t, s, tn, "https://sp.example")
	sp2 := mkSP(t, s, tn, "https://sp2.example")
	u := mkUser(t, s, tn, "ann")
	ss := mkSession(t, s, tn, u.ID, "tok-"+newID())
	ps := s.SAML().Participants()
	p := &store.SAMLParticipant{Tenant: tn, SessionID: ss.ID, SPID: sp.ID, NameID: "n1", NameIDFormat: "f", SessionIndex: "i1"}
	noErr(t, "AddParticipant", ps.AddParticipant(ctx(t), p))
	// A second assertion to the same provider replaces the record.
	p2 := &store.SAMLParticipant{Tenant: tn, SessionID: ss.ID, SPID: sp.ID, NameID: "n2", NameIDFormat: "f", SessionIndex: "i2"}
	noErr(t, "AddParticipant(again)", ps.AddParticipant(ctx(t), p2))
	noErr(t, "AddParticipant(sp2)", ps.AddParticipant(ctx(t), &store.SAMLParticipant{Tenant: tn, SessionID: ss.ID, SPID: sp2.ID, NameID: "n2"}))
	list, err := ps.ListParticipants(ctx(t), tn, ss.ID)
	noErr(t, "ListParticipants", err)
	if len(list) != 2 {
		t.Fatalf("ListParticipants = %d; want 2", len(list))
	}
	for _, x := range list {
		if x.SPID == sp.ID {
			same(t, "participant", &x, p2)
		}
	}
	found, err := ps.FindParticipants(ctx(t), tn, sp.ID, "n2")
	if err != nil || len(found) != 1 || found[0].SessionID != ss.ID {
		t.Errorf("FindParticipants = %v, %v", found, err)
	}
	found, _ = ps.FindParticipants(ctx(t), tn, sp.ID, "n1")
	if len(found) != 0 {
		t.Errorf("FindParticipants(replaced NameID) = %d", len(found))
	}
	wantErr(t, "AddParticipant(unknown session)", ps.AddParticipant(ctx(t), &store.SAMLParticipant{Tenant: tn, SessionID: newID(), SPID: sp.ID, NameID: "n"}), store.ErrNotFound)
	wantErr(t, "AddParticipant(unknown sp)", ps.AddParticipant(ctx(t), &store.SAMLParticipant{Tenant: tn, SessionID: ss.ID, SPID: newID(), NameID: "n"}), store.ErrNotFound)
	// Participations go with the user (and so the session).
	noErr(t, "DeleteUser", s.Users().DeleteUser(ctx(t), tn, u.ID))
	list, _ = ps.ListParticipants(ctx(t), tn, ss.ID)
	if len(list) != 0 {
		t.Errorf("participants after DeleteUser = %d", len(list))
	}
}

func testSAMLIsolation(t *testing.T, s store.Store) {
	a, b := mkTenant(t, s), mkTenant(t, s)
	sp := mkSP(t, s, a, "https://sp.example")
	// The same entity ID may be registered in another tenant.
	spB := mkSP(t, s, b, "https://sp.example")
	req := mkSAMLRequest(t, s, a, sp.ID, "id-1")
	mkSAMLRequest(t, s, b, spB.ID, "id-1")
	u := mkUser(t, s, a, "ann")
	ss := mkSession(t, s, a, u.ID, "tok-"+newID())
	noErr(t, "AddParticipant", s.SAML().Participants().AddParticipant(ctx(t), &store.SAMLParticipant{Tenant: a, SessionID: ss.ID, SPID: sp.ID, NameID: "n"}))

	_, err := s.SAML().ServiceProviders().GetSP(ctx(t), b, sp.ID)
	wantErr(t, "GetSP(other tenant)", err, store.ErrNotFound)
	got, err := s.SAML().ServiceProviders().GetSPByEntityID(ctx(t), b, "https://sp.example")
	if err != nil || got.ID != spB.ID {
		t.Errorf("GetSPByEntityID(b) = %v, %v", got, err)
	}
	list, _ := s.SAML().ServiceProviders().ListSPs(ctx(t), b, store.Page{})
	if len(list) != 1 || list[0].ID != spB.ID {
		t.Errorf("ListSPs(b) = %d records", len(list))
	}
	_, err = s.SAML().ServiceProviders().UpdateSP(ctx(t), b, sp.ID, func(x *store.SAMLServiceProvider) error { x.Name = "x"; return nil })
	wantErr(t, "UpdateSP(other tenant)", err, store.ErrNotFound)
	wantErr(t, "DeleteSP(other tenant)", s.SAML().ServiceProviders().DeleteSP(ctx(t), b, sp.ID), store.ErrNotFound)
	_, err = s.SAML().Requests().GetRequest(ctx(t), b, req.ID)
	wantErr(t, "GetRequest(other tenant)", err, store.ErrNotFound)
	_, err = s.SAML().Requests().ConsumeRequest(ctx(t), b, req.ID)
	wantErr(t, "ConsumeRequest(other tenant)", err, store.ErrNotFound)
	wantErr(t, "CreateRequest(sp of other tenant)", s.SAML().Requests().CreateRequest(ctx(t), &store.SAMLRequest{ID: newID(), Tenant: b,
		SPID: sp.ID, ACSURL: "a", ACSBinding: "b", ExpiresAt: later()}), store.ErrNotFound)
	ps, _ := s.SAML().Participants().ListParticipants(ctx(t), b, ss.ID)
	found, _ := s.SAML().Participants().FindParticipants(ctx(t), b, sp.ID, "n")
	if len(ps)+len(found) != 0 {
		t.Errorf("participants visible from tenant b: %d, %d", len(ps), len(found))
	}
	// Deleting tenant a leaves b's records.
	noErr(t, "DeleteTenant", s.Tenants().DeleteTenant(ctx(t), a))
	if _, err := s.SAML().ServiceProviders().GetSP(ctx(t), b, spB.ID); err != nil {
		t.Errorf("GetSP(b) after deleting a: %v", err)
	}
}
