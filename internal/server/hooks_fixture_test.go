package server

import (
	"context"
	"errors"

	"github.com/gatehouse-id/gatehouse/internal/hooks"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// hookFixture prepares tenant's hooks for the authorization matrix: the
// post_login hook the {id} routes act on (made once, shared by every
// fixture of the tenant), and no pre_registration hook, so that each
// allowed POST of one (its body) creates it anew. The post_login hook
// points at a closed port on loopback and fails open, so the logins of the
// tests that share this fixture go on (after a failed, audited call) and
// nothing leaves the machine.
func (ta *testApp) hookFixture(tenant store.TenantID) string {
	ta.t.Helper()
	ctx := context.Background()
	if h, err := ta.DB.Hooks().HookFor(ctx, tenant, store.HookPreRegistration); err == nil {
		if err := ta.Hooks.Delete(ctx, testActor, tenant, h.ID); err != nil {
			ta.t.Fatal(err)
		}
	}
	h, err := ta.DB.Hooks().HookFor(ctx, tenant, store.HookPostLogin)
	if err == nil {
		return h.ID
	}
	if !errors.Is(err, store.ErrNotFound) {
		ta.t.Fatal(err)
	}
	h, _, err = ta.Hooks.Create(ctx, testActor, tenant, hooks.NewHook{Trigger: store.HookPostLogin,
		URL: "https://127.0.0.1:1/post-login", OnFailure: store.HookFailAllow})
	if err != nil {
		ta.t.Fatal(err)
	}
	return h.ID
}
