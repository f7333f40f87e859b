package flow

import (
	"context"

	"github.com/gatehouse-id/gatehouse/internal/hooks"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// postLoginHook is the tenant's post_login hook (internal/hooks) as a
// step: it runs after authentication (the second factor included) and
// before the session, so a refusal (*hooks.DeniedError, which the pages
// show with the hook's message) ends the login with no session made.
type postLoginHook struct{ s *Service }

func (postLoginHook) Name() string { return "post_login_hook" }

// Needed: always when hooks are wired; Run answers at once when the
// tenant has no post_login hook.
func (h postLoginHook) Needed(context.Context, *State) (bool, error) { return h.s.Hooks != nil, nil }

func (h postLoginHook) Handle(ctx context.Context, st *State) error {
	c := hooks.Call{Tenant: st.Tenant, User: st.User, AMR: st.AMR, IP: st.IP, UserAgent: st.UserAgent}
	if r := st.Request; r != nil {
		c.ClientID = r.ClientID
		if len(r.UILocales) > 0 {
			c.Lang = r.UILocales[0]
		}
	}
	_, err := h.s.Hooks.Run(ctx, store.HookPostLogin, c)
	return err
}
