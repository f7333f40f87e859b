package ldap_test

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/gatehouse-id/gatehouse/internal/credential"
	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
)

func TestBind(t *testing.T) {
	sqltest.ForEachStore(t, func(t *testing.T, s store.Store) {
		e := newEnv(t, s)
		ok := []struct{ name, dn, pw string }{
			{"user by username", "uid=alice,ou=users,dc=acme,dc=gatehouse", pw},
			{"user by email", "uid=bob@example.com,ou=users,dc=acme,dc=gatehouse", pw},
			{"DN in other case and spacing", "UID=Alice, OU=Users, DC=ACME, DC=Gatehouse", pw},
			{"service account", e.readKeyDN, e.readKey},
		}
		for _, c := range ok {
			if err := e.dial(t).Bind(c.dn, c.pw); err != nil {
				t.Errorf("%s: Bind(%s) = %v", c.name, c.dn, err)
			}
		}
		bad := []struct {
			name, dn, pw string
			code         uint16
		}{
			{"wrong password", "uid=alice,ou=users,dc=acme,dc=gatehouse", "wrong password!", goldap.LDAPResultInvalidCredentials},
			{"unknown user", "uid=nobody,ou=users,dc=acme,dc=gatehouse", pw, goldap.LDAPResultInvalidCredentials},
			{"disabled user", "uid=dave,ou=users,dc=acme,dc=gatehouse", pw, goldap.LDAPResultInvalidCredentials},
			{"user without a password", "uid=zoe,ou=users,dc=acme,dc=gatehouse", pw, goldap.LDAPResultInvalidCredentials},
			{"user of another tenant", "uid=mallory,ou=users,dc=acme,dc=gatehouse", pw, goldap.LDAPResultInvalidCredentials},
			{"unknown tenant", "uid=alice,ou=users,dc=nope,dc=gatehouse", pw, goldap.LDAPResultInvalidCredentials},
			{"not our tree", "uid=alice,ou=people,dc=example,dc=com", pw, goldap.LDAPResultInvalidCredentials},
			{"a group DN", "cn=staff,ou=groups,dc=acme,dc=gatehouse", pw, goldap.LDAPResultInvalidCredentials},
			{"key without scope read", e.scimKeyDN, e.scimKey, goldap.LDAPResultInvalidCredentials},
			{"key under another key's DN", e.scimKeyDN, e.readKey, goldap.LDAPResultInvalidCredentials},
			{"key of another tenant", e.readKeyDN, e.otherKey, goldap.LDAPResultInvalidCredentials},
			{"key as a user password", "uid=alice,ou=users,dc=acme,dc=gatehouse", e.readKey, goldap.LDAPResultInvalidCredentials},
			{"huge password", "uid=alice,ou=users,dc=acme,dc=gatehouse", strings.Repeat("x", 5000), goldap.LDAPResultInvalidCredentials},
		}
		for _, c := range bad {
			err := e.dial(t).Bind(c.dn, c.pw)
			if code(err) != c.code {
				t.Errorf("%s: Bind = %v, want code %d", c.name, err, c.code)
			}
			if c.code == goldap.LDAPResultInvalidCredentials && !strings.Contains(err.Error(), "invalid credentials") {
				t.Errorf("%s: message %q differs from the one answer", c.name, err)
			}
		}
		// Anonymous and unauthenticated binds are refused, and searching
		// without a bind is not allowed.
		c := e.dial(t)
		if err := c.UnauthenticatedBind(""); code(err) != goldap.LDAPResultInappropriateAuthentication {
			t.Errorf("anonymous bind = %v, want inappropriateAuthentication", err)
		}
		if err := c.UnauthenticatedBind("uid=alice,ou=users,dc=acme,dc=gatehouse"); code(err) != goldap.LDAPResultUnwillingToPerform {
			t.Errorf("unauthenticated bind = %v, want unwillingToPerform", err)
		}
		_, err := c.Search(goldap.NewSearchRequest("dc=acme,dc=gatehouse", goldap.ScopeWholeSubtree, 0, 0, 0, false, "(objectClass=*)", nil, nil))
		if code(err) != goldap.LDAPResultInsufficientAccessRights {
			t.Errorf("search without bind = %v, want insufficientAccessRights", err)
		}
		// A failed bind drops the identity an earlier bind gave.
		c = e.dial(t)
		must(t, c.Bind("uid=alice,ou=users,dc=acme,dc=gatehouse", pw))
		_ = c.Bind("uid=alice,ou=users,dc=acme,dc=gatehouse", "wrong password!")
		_, err = c.Search(goldap.NewSearchRequest("dc=acme,dc=gatehouse", goldap.ScopeBaseObject, 0, 0, 0, false, "(objectClass=*)", nil, nil))
		if code(err) != goldap.LDAPResultInsufficientAccessRights {
			t.Errorf("search after a failed re-bind = %v, want insufficientAccessRights", err)
		}

		// Every bind is audited with its outcome, never the password.
		results := map[string]int{}
		for _, a := range e.audit(t, e.acme.ID, "ldap.bind") {
			var ch map[string]struct{ After any }
			must(t, json.Unmarshal(a.Changes, &ch))
			results[ch["result"].After.(string)]++
			if strings.Contains(string(a.Changes), pw) || strings.Contains(string(a.Changes), e.readKey) {
				t.Errorf("audit entry holds a secret: %s", a.Changes)
			}
		}
		if results["success"] != 5 || results["invalid_credentials"] < 8 {
			t.Errorf("audited bind results = %v, want 5 successes and the failures", results)
		}
	})
}

// TestBindThrottledPerSource: binds are throttled per account and source
// address, in the store the login page uses: failures from one address
// hold back that address, by bind or by login, and nobody else.
func TestBindThrottledPerSource(t *testing.T) {
	e := newEnv(t, sqlite(t))
	dn := "uid=carol,ou=users,dc=acme,dc=gatehouse"
	for i := range 12 {
		if err := e.dialFrom(t, "127.0.0.2").Bind(dn, "wrong password!"); code(err) != goldap.LDAPResultInvalidCredentials {
			t.Fatalf("failure %d: %v", i, err)
		}
	}
	// The right password from the guessing address is refused, with the
	// same answer ...
	if err := e.dialFrom(t, "127.0.0.2").Bind(dn, pw); code(err) != goldap.LDAPResultInvalidCredentials {
		t.Fatalf("bind from the guessing address = %v, want invalidCredentials", err)
	}
	// ... and so is the login flow's check from there: the count lives in
	// the store.
	_, err := e.flow.CheckPassword(t.Context(), e.acme.ID, "carol", pw, "127.0.0.2")
	var th *flow.ThrottledError
	if !errors.As(err, &th) {
		t.Fatalf("login from the guessing address = %v, want throttled", err)
	}
	// The owner binds from another address, and signs in from a third.
	if err := e.dialFrom(t, "127.0.0.3").Bind(dn, pw); err != nil {
		t.Fatalf("owner's bind from another address = %v, want success", err)
	}
	if _, err := e.flow.CheckPassword(t.Context(), e.acme.ID, "carol", pw, "192.0.2.1"); err != nil {
		t.Fatalf("owner's login from another address = %v", err)
	}
	n, _, err := e.s.OAuth().Throttle().Failures(t.Context(), e.acme.ID, "acct-user:"+e.users["carol"].ID+"@127.0.0.2", time.Now(), time.Hour)
	must(t, err)
	if n < 4 { // then the growing delay held the rest back uncounted
		t.Errorf("per-source count = %d, want at least 4", n)
	}
	throttled := 0
	for _, a := range e.audit(t, e.acme.ID, "ldap.bind") {
		if strings.Contains(string(a.Changes), `"throttled"`) {
			throttled++
		}
	}
	if throttled == 0 {
		t.Error("no audit entry records the throttled bind")
	}
	// Failures of the login page count toward binds from that address.
	for range 4 {
		_, _ = e.flow.CheckPassword(t.Context(), e.acme.ID, "alice", "wrong password!", "127.0.0.4")
	}
	alice := "uid=alice,ou=users,dc=acme,dc=gatehouse"
	if err := e.dialFrom(t, "127.0.0.4").Bind(alice, pw); code(err) != goldap.LDAPResultInvalidCredentials {
		t.Errorf("bind after login failures from its address = %v, want invalidCredentials", err)
	}
	if err := e.dialFrom(t, "127.0.0.5").Bind(alice, pw); err != nil {
		t.Errorf("bind from another address = %v, want success", err)
	}
}

func TestTenantForbidsUserBinds(t *testing.T) {
	e := newEnv(t, sqlite(t))
	_, err := e.tenants.UpdateTenant(t.Context(), admin, e.acme.ID, 0,
		tenancy.TenantPatch{Settings: json.RawMessage(`{"ldap":{"user_binds":false}}`)})
	must(t, err)
	// The answer is the one every failure gets (an unknown tenant's too),
	// so it tells no tenant slug.
	err = e.dial(t).Bind("uid=alice,ou=users,dc=acme,dc=gatehouse", pw)
	if code(err) != goldap.LDAPResultInvalidCredentials || !strings.Contains(err.Error(), "invalid credentials") {
		t.Errorf("user bind = %v, want invalidCredentials", err)
	}
	err = e.dial(t).Bind("uid=alice,ou=users,dc=nosuchtenant,dc=gatehouse", pw)
	if code(err) != goldap.LDAPResultInvalidCredentials {
		t.Errorf("user bind in an unknown tenant = %v, want invalidCredentials", err)
	}
	if err := e.dial(t).Bind(e.readKeyDN, e.readKey); err != nil {
		t.Errorf("service bind = %v, want success", err)
	}
	// Another tenant keeps the default.
	if err := e.dial(t).Bind("uid=mallory,ou=users,dc=other,dc=gatehouse", pw); err != nil {
		t.Errorf("bind in another tenant = %v", err)
	}
}

// TestBindTiming: an unknown user costs what a wrong password costs.
func TestBindTiming(t *testing.T) {
	e := newEnv(t, sqlite(t), func(o *opts) {
		o.params = credential.Params{MemoryKiB: 32 * 1024, Iterations: 2, Parallelism: 1}
	})
	// At most three failures per account: from the fourth on the throttle
	// answers without hashing, for known and unknown accounts alike. Known
	// and unknown binds alternate, so a change in the machine's load
	// during the test falls on both alike.
	bind := func(name string, i int) time.Duration {
		c := e.dial(t)
		start := time.Now()
		_ = c.Bind("uid="+name+",ou=users,dc=acme,dc=gatehouse", "wrong password "+string(rune('a'+i)))
		return time.Since(start)
	}
	var known, unknown []time.Duration
	for j, pair := range [][2]string{{"alice", "ghost1"}, {"bob@example.com", "ghost2@example.com"}, {"carol", "ghost3"}} {
		for i := range 3 {
			if (i+j)%2 == 0 {
				known = append(known, bind(pair[0], i))
				unknown = append(unknown, bind(pair[1], i))
			} else {
				unknown = append(unknown, bind(pair[1], i))
				known = append(known, bind(pair[0], i))
			}
		}
	}
	median := func(ds []time.Duration) time.Duration {
		slices.Sort(ds)
		return ds[len(ds)/2]
	}
	k, u := median(known), median(unknown)
	if u < k/2 || k < u/2 {
		t.Errorf("median bind time: wrong password %v, unknown user %v: they differ by more than 2x", k, u)
	}
}

// TestBindRefusedWhenMFARequired: a bind checks only a password, so it is
// refused, with the one failure answer, when the user's MFA policy asks
// for a second factor (else binds are a password oracle that skips MFA).
func TestBindRefusedWhenMFARequired(t *testing.T) {
	e := newEnv(t, sqlite(t))
	ctx := t.Context()
	setMFA := func(m string) {
		t.Helper()
		set := tenancy.DefaultSettings()
		set.MFA.Policy = m
		raw, err := json.Marshal(map[string]any{"mfa": set.MFA})
		must(t, err)
		_, err = e.tenants.UpdateTenant(ctx, admin, e.acme.ID, 0, tenancy.TenantPatch{Settings: raw})
		must(t, err)
	}
	alice, bob := "uid=alice,ou=users,dc=acme,dc=gatehouse", "uid=bob@example.com,ou=users,dc=acme,dc=gatehouse"
	// Alice has a confirmed second factor.
	must(t, e.s.MFA().Factors().CreateFactor(ctx, &store.Factor{ID: "0193a000-0000-7000-8000-000000000001", Tenant: e.acme.ID,
		UserID: e.users["alice"].ID, Kind: store.FactorTOTP, Name: "phone", Confirmed: true, CreatedAt: time.Now()}))
	setMFA(tenancy.MFAOptional)
	if err := e.dial(t).Bind(alice, pw); code(err) != goldap.LDAPResultInvalidCredentials || !strings.Contains(err.Error(), "invalid credentials") {
		t.Errorf("bind of a user with a factor under optional = %v, want invalidCredentials", err)
	}
	// ... counted as a wrong password: the throttle is not reset, so it
	// tells a right password no more than the answer does.
	if n, _, err := e.s.OAuth().Throttle().Failures(ctx, e.acme.ID, "acct-user:"+e.users["alice"].ID, time.Now(), time.Hour); err != nil || n != 1 {
		t.Errorf("throttle count after a refused right password = %d %v, want 1", n, err)
	}
	if err := e.dial(t).Bind(bob, pw); err != nil {
		t.Errorf("bind of a user without a factor under optional = %v, want success", err)
	}
	setMFA(tenancy.MFARequired)
	if err := e.dial(t).Bind(bob, pw); code(err) != goldap.LDAPResultInvalidCredentials {
		t.Errorf("bind under required (no grace, no factor) = %v, want invalidCredentials", err)
	}
	if err := e.dial(t).Bind(e.readKeyDN, e.readKey); err != nil {
		t.Errorf("service bind under required = %v, want success", err)
	}
	n := 0
	for _, a := range e.audit(t, e.acme.ID, "ldap.bind") {
		if strings.Contains(string(a.Changes), `"mfa_required"`) {
			n++
		}
	}
	if n != 2 {
		t.Errorf("audited mfa_required binds = %d, want 2", n)
	}
	setMFA(tenancy.MFAOff)
	if err := e.dial(t).Bind(alice, pw); err != nil {
		t.Errorf("bind with the policy off = %v, want success", err)
	}
}

// TestLockoutSharedByEmailAndUsername: failures by username and by email
// of one account from one address land in one bucket (the user's id).
func TestLockoutSharedByEmailAndUsername(t *testing.T) {
	e := newEnv(t, sqlite(t))
	ctx := t.Context()
	for _, id := range []string{"alice", "alice", "alice", "Alice@Example.com"} {
		if _, err := e.flow.CheckPassword(ctx, e.acme.ID, id, "wrong password!", "192.0.2.1"); !errors.Is(err, flow.ErrInvalidCredentials) {
			t.Fatalf("CheckPassword(%s, wrong) = %v, want invalid credentials", id, err)
		}
	}
	// Four failures on one account: the next attempt waits, whichever
	// identifier it types.
	_, err := e.flow.CheckPassword(ctx, e.acme.ID, "alice@example.com", pw, "192.0.2.1")
	var th *flow.ThrottledError
	if !errors.As(err, &th) {
		t.Fatalf("right password by email after failures by username = %v, want throttled", err)
	}
	// From another address the owner gets in.
	if _, err := e.flow.CheckPassword(ctx, e.acme.ID, "alice@example.com", pw, "192.0.2.2"); err != nil {
		t.Fatalf("right password from another address = %v", err)
	}
	// An unknown identifier still has a bucket of its own.
	for range 4 {
		_, _ = e.flow.CheckPassword(ctx, e.acme.ID, "ghost", "wrong password!", "192.0.2.3")
	}
	if _, err := e.flow.CheckPassword(ctx, e.acme.ID, "ghost", "wrong password!", "192.0.2.3"); !errors.As(err, &th) {
		t.Errorf("unknown identifier after failures = %v, want throttled", err)
	}
	// Carol is untouched by Alice's failures.
	if _, err := e.flow.CheckPassword(ctx, e.acme.ID, "carol@example.com", pw, "192.0.2.4"); err != nil {
		t.Errorf("other account = %v", err)
	}
}
