package flow

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
)

// ErrPasskeyNudge: the login is done but the tenant offers passkey
// enrolment first; the page /passkey-offer renders the offer and, skipped
// or not, calls Complete to go on.
var ErrPasskeyNudge = errors.New("flow: passkey enrolment offered")

// passkeyNudge offers passkey enrolment after a password login (the
// password alone, in this login, for a request of an application) to a
// user without a passkey, when the tenant's mfa.passkey_nudge_days is set
// and the user was not offered one in that many days. The offer is
// recorded when it is made, so skipping it is simply going on.
type passkeyNudge struct{ s *Service }

func (passkeyNudge) Name() string { return "passkey_nudge" }

func (n passkeyNudge) Needed(ctx context.Context, st *State) (bool, error) {
	if !st.Fresh || st.Request == nil || !slices.Equal(st.AMR, []string{"pwd"}) {
		return false, nil
	}
	t, err := n.s.Store.Tenants().GetTenant(ctx, st.Tenant)
	if err != nil {
		return false, err
	}
	set, _ := tenancy.ParseSettings(t.Settings)
	days := set.MFA.PasskeyNudgeDays
	if days <= 0 {
		return false, nil
	}
	fs, err := n.s.Store.MFA().Factors().ListFactors(ctx, st.Tenant, st.User.ID)
	if err != nil {
		return false, err
	}
	if slices.ContainsFunc(fs, func(f store.Factor) bool { return f.Kind == store.FactorWebAuthn && f.Confirmed }) {
		return false, nil
	}
	last, err := n.s.Store.SelfService().NoticePrefs().LastNudge(ctx, st.Tenant, st.User.ID)
	if err != nil {
		return false, err
	}
	return last == nil || n.s.Now().Sub(*last) >= time.Duration(days)*24*time.Hour, nil
}

func (n passkeyNudge) Handle(ctx context.Context, st *State) error {
	if err := n.s.Store.SelfService().NoticePrefs().MarkNudged(ctx, st.Tenant, st.User.ID, n.s.Now()); err != nil {
		return err
	}
	return ErrPasskeyNudge
}
