package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

var proxyTests = []test{
	{"ProxyAppCRUD", testProxyAppCRUD},
	{"ProxyCodeConsumeOnce", testProxyCodeConsumeOnce},
	{"ProxySessions", testProxySessions},
	{"ProxyTenantIsolation", testProxyTenantIsolation},
}

func mkProxyApp(t *testing.T, s store.Repos, tn store.TenantID, name string, domains ...string) *store.ProxyApp {
	t.Helper()
	a := &store.ProxyApp{ID: newID(), Tenant: tn, Name: name, Domains: domains, SessionLifetime: 8 * time.Hour}
	noErr(t, "CreateApp("+name+")", s.Proxy().CreateApp(ctx(t), a))
	return a
}

func testProxyAppCRUD(t *testing.T, s store.Store) {
	tn := mkTenant(t, s)
	pr := s.Proxy()
	a := &store.ProxyApp{ID: newID(), Tenant: tn, Name: "Wiki", Domains: []string{"wiki.acme.test", "w.acme.test"},
		AllowedGroups: []string{"staff"}, AllowedRoles: []string{"editor"}, Headers: map[string]string{"user": "Remote-User"},
		SessionLifetime: 8 * time.Hour, MFA: "required"}
	noErr(t, "CreateApp", pr.CreateApp(ctx(t), a))
	if a.Version != 1 || a.CreatedAt.IsZero() {
		t.Errorf("CreateApp filled %+v", a)
	}
	got, err := pr.GetApp(ctx(t), tn, a.ID)
	noErr(t, "GetApp", err)
	same(t, "GetApp", got, a)
	got, err = pr.AppByDomain(ctx(t), tn, "w.acme.test")
	noErr(t, "AppByDomain", err)
	same(t, "AppByDomain", got, a)
	_, err = pr.AppByDomain(ctx(t), tn, "other.acme.test")
	wantErr(t, "AppByDomain(unknown)", err, store.ErrNotFound)

	// A name or a domain is one application's.
	wantErr(t, "CreateApp(name taken)", pr.CreateApp(ctx(t), &store.ProxyApp{ID: newID(), Tenant: tn, Name: "Wiki",
		Domains: []string{"x.acme.test"}, SessionLifetime: time.Hour}), store.ErrConflict)
	wantErr(t, "CreateApp(domain taken)", pr.CreateApp(ctx(t), &store.ProxyApp{ID: newID(), Tenant: tn, Name: "Other",
		Domains: []string{"w.acme.test"}, SessionLifetime: time.Hour}), store.ErrConflict)
	other := mkProxyApp(t, s, tn, "Other", "other.acme.test")

	up, err := pr.UpdateApp(ctx(t), tn, a.ID, func(x *store.ProxyApp) error {
		x.Domains, x.Headers["email"] = []string{"wiki.acme.test", "new.acme.test"}, "Remote-Email"
		return nil
	})
	noErr(t, "UpdateApp", err)
	if up.Version != 2 || len(up.Headers) != 2 {
		t.Errorf("UpdateApp = %+v", up)
	}
	_, err = pr.AppByDomain(ctx(t), tn, "w.acme.test")
	wantErr(t, "AppByDomain(dropped domain)", err, store.ErrNotFound)
	got, err = pr.AppByDomain(ctx(t), tn, "new.acme.test")
	noErr(t, "AppByDomain(new domain)", err)
	same(t, "AppByDomain(new domain)", got, up)
	_, err = pr.UpdateApp(ctx(t), tn, a.ID, func(x *store.ProxyApp) error {
		x.Domains = []string{"other.acme.test"}
		return nil
	})
	wantErr(t, "UpdateApp(domain of another)", err, store.ErrConflict)
	_, err = pr.UpdateApp(ctx(t), tn, a.ID, func(*store.ProxyApp) error { return errClosure })
	if err != errClosure {
		t.Errorf("UpdateApp: closure error came back as %v", err)
	}
	list, err := pr.ListApps(ctx(t), tn, store.Page{})
	noErr(t, "ListApps", err)
	if len(list) != 2 || list[0].ID != a.ID || list[1].ID != other.ID {
		t.Errorf("ListApps = %+v", list)
	}
	noErr(t, "DeleteApp", pr.DeleteApp(ctx(t), tn, a.ID))
	wantErr(t, "DeleteApp(again)", pr.DeleteApp(ctx(t), tn, a.ID), store.ErrNotFound)
	_, err = pr.AppByDomain(ctx(t), tn, "wiki.acme.test")
	wantErr(t, "AppByDomain(deleted app)", err, store.ErrNotFound)
	// Its domain is free again.
	mkProxyApp(t, s, tn, "Wiki 2", "wiki.acme.test")
}

// testProxyCodeConsumeOnce: a code is taken once, however many callers
// race for it; an expired one never.
func testProxyCodeConsumeOnce(t *testing.T, s store.Store) {
	f := mkFixture(t, s)
	a := mkProxyApp(t, s, f.tn, "Wiki", "wiki.acme.test")
	pr := s.Proxy()
	c := &store.ProxyCode{Tenant: f.tn, Hash: h("code"), AppID: a.ID, SessionID: f.session.ID,
		ReturnURL: "https://wiki.acme.test/x", BrowserHash: h("state"), ExpiresAt: later()}
	noErr(t, "CreateCode", pr.CreateCode(ctx(t), c))
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := 0
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := pr.ConsumeCode(ctx(t), f.tn, h("code"))
			if err == nil {
				mu.Lock()
				won++
				mu.Unlock()
				if got.AppID != a.ID || got.SessionID != f.session.ID || got.ReturnURL != c.ReturnURL ||
					string(got.BrowserHash) != string(h("state")) {
					t.Errorf("ConsumeCode = %+v", got)
				}
			}
		}()
	}
	wg.Wait()
	if won != 1 {
		t.Fatalf("%d callers consumed one code", won)
	}
	old := &store.ProxyCode{Tenant: f.tn, Hash: h("old"), AppID: a.ID, SessionID: f.session.ID, BrowserHash: h("s"),
		ExpiresAt: earlier()}
	noErr(t, "CreateCode(expired)", pr.CreateCode(ctx(t), old))
	_, err := pr.ConsumeCode(ctx(t), f.tn, h("old"))
	wantErr(t, "ConsumeCode(expired)", err, store.ErrNotFound)
	wantErr(t, "CreateCode(unknown session)", pr.CreateCode(ctx(t), &store.ProxyCode{Tenant: f.tn, Hash: h("x"),
		AppID: a.ID, SessionID: newID(), BrowserHash: h("s"), ExpiresAt: later()}), store.ErrNotFound)
}

func testProxySessions(t *testing.T, s store.Store) {
	f := mkFixture(t, s)
	a := mkProxyApp(t, s, f.tn, "Wiki", "wiki.acme.test")
	pr := s.Proxy()
	ps := &store.ProxySession{Tenant: f.tn, Hash: h("cookie"), AppID: a.ID, SessionID: f.session.ID, ExpiresAt: later()}
	noErr(t, "CreateSession", pr.CreateSession(ctx(t), ps))
	got, err := pr.GetSession(ctx(t), f.tn, h("cookie"))
	noErr(t, "GetSession", err)
	same(t, "GetSession", got, ps)
	noErr(t, "CreateSession(expired)", pr.CreateSession(ctx(t), &store.ProxySession{Tenant: f.tn, Hash: h("old"),
		AppID: a.ID, SessionID: f.session.ID, ExpiresAt: earlier()}))
	_, err = pr.GetSession(ctx(t), f.tn, h("old"))
	wantErr(t, "GetSession(expired)", err, store.ErrNotFound)
	noErr(t, "CreateCode(expired)", pr.CreateCode(ctx(t), &store.ProxyCode{Tenant: f.tn, Hash: h("old code"),
		AppID: a.ID, SessionID: f.session.ID, BrowserHash: h("s"), ExpiresAt: earlier()}))
	noErr(t, "CreateCode", pr.CreateCode(ctx(t), &store.ProxyCode{Tenant: f.tn, Hash: h("live code"),
		AppID: a.ID, SessionID: f.session.ID, BrowserHash: h("s"), ExpiresAt: later()}))
	// The two expired rows go, the live ones stay.
	n, err := pr.DeleteExpired(ctx(t), time.Now())
	noErr(t, "DeleteExpired", err)
	if n != 2 {
		t.Errorf("DeleteExpired removed %d rows, want 2", n)
	}
	wantErr(t, "DeleteSession(swept)", pr.DeleteSession(ctx(t), f.tn, h("old")), store.ErrNotFound)
	if _, err := pr.GetSession(ctx(t), f.tn, h("cookie")); err != nil {
		t.Errorf("DeleteExpired took a live session: %v", err)
	}
	if _, err := pr.ConsumeCode(ctx(t), f.tn, h("live code")); err != nil {
		t.Errorf("DeleteExpired took a live code: %v", err)
	}
	noErr(t, "DeleteSession", pr.DeleteSession(ctx(t), f.tn, h("cookie")))
	wantErr(t, "DeleteSession(again)", pr.DeleteSession(ctx(t), f.tn, h("cookie")), store.ErrNotFound)
	// Deleting the application ends its sessions.
	noErr(t, "CreateSession", pr.CreateSession(ctx(t), &store.ProxySession{Tenant: f.tn, Hash: h("c2"), AppID: a.ID,
		SessionID: f.session.ID, ExpiresAt: later()}))
	noErr(t, "DeleteApp", pr.DeleteApp(ctx(t), f.tn, a.ID))
	_, err = pr.GetSession(ctx(t), f.tn, h("c2"))
	wantErr(t, "GetSession(app deleted)", err, store.ErrNotFound)
}

// testProxyTenantIsolation: what one tenant registered is invisible under
// another, the same domain included.
func testProxyTenantIsolation(t *testing.T, s store.Store) {
	f := mkFixture(t, s)
	other := mkTenant(t, s)
	a := mkProxyApp(t, s, f.tn, "Wiki", "wiki.acme.test")
	pr := s.Proxy()
	_, err := pr.GetApp(ctx(t), other, a.ID)
	wantErr(t, "GetApp(other tenant)", err, store.ErrNotFound)
	_, err = pr.AppByDomain(ctx(t), other, "wiki.acme.test")
	wantErr(t, "AppByDomain(other tenant)", err, store.ErrNotFound)
	if l, err := pr.ListApps(ctx(t), other, store.Page{}); err != nil || len(l) != 0 {
		t.Errorf("ListApps(other tenant) = %v, %v", l, err)
	}
	_, err = pr.UpdateApp(ctx(t), other, a.ID, func(*store.ProxyApp) error { return nil })
	wantErr(t, "UpdateApp(other tenant)", err, store.ErrNotFound)
	wantErr(t, "DeleteApp(other tenant)", pr.DeleteApp(ctx(t), other, a.ID), store.ErrNotFound)
	mkProxyApp(t, s, other, "Wiki", "wiki.acme.test") // the same name and domain in another tenant
	noErr(t, "CreateCode", pr.CreateCode(ctx(t), &store.ProxyCode{Tenant: f.tn, Hash: h("code"), AppID: a.ID,
		SessionID: f.session.ID, BrowserHash: h("s"), ExpiresAt: later()}))
	_, err = pr.ConsumeCode(ctx(t), other, h("code"))
	wantErr(t, "ConsumeCode(other tenant)", err, store.ErrNotFound)
	noErr(t, "CreateSession", pr.CreateSession(ctx(t), &store.ProxySession{Tenant: f.tn, Hash: h("cookie"), AppID: a.ID,
		SessionID: f.session.ID, ExpiresAt: later()}))
	_, err = pr.GetSession(ctx(t), other, h("cookie"))
	wantErr(t, "GetSession(other tenant)", err, store.ErrNotFound)
	wantErr(t, "CreateSession(app of another tenant)", pr.CreateSession(ctx(t), &store.ProxySession{Tenant: other,
		Hash: h("x"), AppID: a.ID, SessionID: f.session.ID, ExpiresAt: later()}), store.ErrNotFound)
}
