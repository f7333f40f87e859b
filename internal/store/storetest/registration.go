package storetest

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

var registrationTests = []test{
	{"OAuth/Registration/TokenUsesCounted", testRegistrationTokenUses},
	{"OAuth/Registration/TokenConcurrentUses", testRegistrationTokenConcurrent},
	{"OAuth/Registration/ClientRecord", testClientRegistration},
	{"OAuth/Registration/TokenExchangePolicy", testTokenExchangePolicy},
	{"OAuth/Registration/AuthRequestDPoPJKT", testAuthRequestDPoPJKT},
}

func mkRegToken(t *testing.T, s store.Store, tn store.TenantID, label string, maxUses int, exp time.Time) *store.RegistrationToken {
	t.Helper()
	rt := &store.RegistrationToken{ID: newID(), Tenant: tn, Hash: h(label), MaxUses: maxUses, ExpiresAt: exp}
	noErr(t, "CreateRegistrationToken", s.OAuth().Registrations().CreateRegistrationToken(ctx(t), rt))
	return rt
}

// testRegistrationTokenUses: uses are counted up to max_uses; an expired,
// spent, unknown or other tenant's token is ErrNotFound.
func testRegistrationTokenUses(t *testing.T, s store.Store) {
	tn, other := mkTenant(t, s), mkTenant(t, s)
	regs := s.OAuth().Registrations()
	mkRegToken(t, s, tn, "two", 2, later())
	mkRegToken(t, s, tn, "old", 5, time.Now().Add(time.Second))
	for i := 1; i <= 2; i++ {
		got, err := regs.UseRegistrationToken(ctx(t), tn, h("two"), time.Now())
		noErr(t, "UseRegistrationToken", err)
		if got.Uses != i || got.MaxUses != 2 {
			t.Errorf("use %d: uses %d of %d", i, got.Uses, got.MaxUses)
		}
	}
	for name, c := range map[string]struct {
		tn    store.TenantID
		label string
		at    time.Time
	}{
		"spent":        {tn, "two", time.Now()},
		"expired":      {tn, "old", time.Now().Add(time.Minute)},
		"unknown":      {tn, "nope", time.Now()},
		"other tenant": {other, "old", time.Now()},
	} {
		if _, err := regs.UseRegistrationToken(ctx(t), c.tn, h(c.label), c.at); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: UseRegistrationToken = %v, want ErrNotFound", name, err)
		}
	}
	dup := &store.RegistrationToken{ID: newID(), Tenant: tn, Hash: h("two"), MaxUses: 1, ExpiresAt: later()}
	if err := regs.CreateRegistrationToken(ctx(t), dup); !errors.Is(err, store.ErrConflict) {
		t.Errorf("CreateRegistrationToken(same hash) = %v, want ErrConflict", err)
	}
}

// testRegistrationTokenConcurrent: of 8 concurrent uses of a token good
// for 3, exactly 3 succeed.
func testRegistrationTokenConcurrent(t *testing.T, s store.Store) {
	tn := mkTenant(t, s)
	mkRegToken(t, s, tn, "three", 3, later())
	var ok atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for {
				_, err := s.OAuth().Registrations().UseRegistrationToken(ctx(t), tn, h("three"), time.Now())
				if errors.Is(err, store.ErrBusy) {
					continue
				}
				if err == nil {
					ok.Add(1)
				} else if !errors.Is(err, store.ErrNotFound) {
					t.Errorf("UseRegistrationToken: %v", err)
				}
				return
			}
		})
	}
	wg.Wait()
	if ok.Load() != 3 {
		t.Errorf("%d concurrent uses succeeded, want 3", ok.Load())
	}
}

// testClientRegistration: the record round-trips, is replaced by a second
// put, needs its client, and goes with the client.
func testClientRegistration(t *testing.T, s store.Store) {
	f := mkFixture(t, s)
	regs := s.OAuth().Registrations()
	if err := regs.PutClientRegistration(ctx(t), &store.ClientRegistration{Tenant: f.tn, ClientID: "missing",
		TokenHash: h("x")}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("PutClientRegistration(missing client) = %v, want ErrNotFound", err)
	}
	reg := &store.ClientRegistration{Tenant: f.tn, ClientID: f.client.ID, TokenHash: h("rat1"),
		Metadata: []byte(`{"backchannel_token_delivery_mode":"poll"}`)}
	noErr(t, "PutClientRegistration", regs.PutClientRegistration(ctx(t), reg))
	got, err := regs.GetClientRegistration(ctx(t), f.tn, f.client.ID)
	noErr(t, "GetClientRegistration", err)
	same(t, "client registration", got, reg)
	reg.TokenHash = h("rat2")
	noErr(t, "PutClientRegistration(again)", regs.PutClientRegistration(ctx(t), reg))
	got, err = regs.GetClientRegistration(ctx(t), f.tn, f.client.ID)
	noErr(t, "GetClientRegistration(again)", err)
	sameBytes(t, "replaced token hash", got.TokenHash, h("rat2"))
	if _, err := regs.GetClientRegistration(ctx(t), mkTenant(t, s), f.client.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetClientRegistration(other tenant) = %v, want ErrNotFound", err)
	}
	noErr(t, "DeleteClient", s.OAuth().Clients().DeleteClient(ctx(t), f.tn, f.client.ID))
	if _, err := regs.GetClientRegistration(ctx(t), f.tn, f.client.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetClientRegistration(deleted client) = %v, want ErrNotFound", err)
	}
}

// testTokenExchangePolicy: a client's token exchange policy round-trips
// through create and update.
func testTokenExchangePolicy(t *testing.T, s store.Store) {
	tn := mkTenant(t, s)
	cs := s.OAuth().Clients()
	c := &store.Client{ID: "tx", Tenant: tn, Name: "TX", AuthMethod: "client_secret_basic", SecretHash: h("s"),
		GrantTypes:    []string{"client_credentials"},
		TokenExchange: store.TokenExchangePolicy{Audiences: []string{"https://api.example"}, Actors: []string{"a1"}}}
	noErr(t, "CreateClient", cs.CreateClient(ctx(t), c))
	got, err := cs.GetClient(ctx(t), tn, "tx")
	noErr(t, "GetClient", err)
	same(t, "client with a token exchange policy", got, c)
	up, err := cs.UpdateClient(ctx(t), tn, "tx", func(x *store.Client) error {
		x.TokenExchange = store.TokenExchangePolicy{Actors: []string{"a2", "a3"}}
		return nil
	})
	noErr(t, "UpdateClient", err)
	got, err = cs.GetClient(ctx(t), tn, "tx")
	noErr(t, "GetClient(updated)", err)
	if got.TokenExchange.Audiences != nil || len(got.TokenExchange.Actors) != 2 || len(up.TokenExchange.Actors) != 2 {
		t.Errorf("updated policy: stored %+v, answered %+v", got.TokenExchange, up.TokenExchange)
	}
}

// testAuthRequestDPoPJKT: dpop_jkt is stored at creation, kept by updates
// and answered by ConsumeCode.
func testAuthRequestDPoPJKT(t *testing.T, s store.Store) {
	f := mkFixture(t, s)
	ar := s.OAuth().AuthRequests()
	r := &store.AuthRequest{ID: newID(), Tenant: f.tn, ClientID: f.client.ID, RedirectURI: "https://app.example/cb",
		ExpiresAt: later(), DPoPJKT: "thumbprint"}
	noErr(t, "CreateAuthRequest", ar.CreateAuthRequest(ctx(t), r))
	_, err := ar.UpdateAuthRequest(ctx(t), f.tn, r.ID, func(x *store.AuthRequest) error {
		x.CodeHash, x.UserID, x.Done = h("code"), f.user.ID, true
		return nil
	})
	noErr(t, "UpdateAuthRequest", err)
	got, err := ar.ConsumeCode(ctx(t), f.tn, h("code"))
	noErr(t, "ConsumeCode", err)
	if got.DPoPJKT != "thumbprint" {
		t.Errorf("DPoPJKT after update and consume = %q", got.DPoPJKT)
	}
}
