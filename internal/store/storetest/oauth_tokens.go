package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

func testRefreshTokens(t *testing.T, s store.Store) {
	f := mkFixture(t, s)
	tk := s.OAuth().Tokens()
	r0 := mkRefresh(t, s, f, "F", "r0")
	got, err := tk.GetRefreshToken(ctx(t), f.tn, h("r0"))
	noErr(t, "GetRefreshToken", err)
	same(t, "GetRefreshToken", got, r0)

	dup := nextRefresh(f, "F", "r0")
	wantErr(t, "CreateRefreshToken(hash taken)", tk.CreateRefreshToken(ctx(t), dup), store.ErrConflict)
	x := nextRefresh(f, "F", "rx")
	x.UserID = newID()
	wantErr(t, "CreateRefreshToken(unknown user)", tk.CreateRefreshToken(ctx(t), x), store.ErrNotFound)
	x = nextRefresh(f, "F", "rx")
	x.ClientID = "nope"
	wantErr(t, "CreateRefreshToken(unknown client)", tk.CreateRefreshToken(ctx(t), x), store.ErrNotFound)

	a0 := mkAccess(t, s, f, "F")
	// Family G shares the session and client; F's revocation leaves it be.
	mkRefresh(t, s, f, "G", "rG")
	aG := mkAccess(t, s, f, "G")

	n1 := nextRefresh(f, "F", "r1")
	out, err := tk.RotateRefreshToken(ctx(t), f.tn, h("r0"), n1)
	noErr(t, "RotateRefreshToken", err)
	same(t, "RotateRefreshToken answer", out, n1)
	got, err = tk.GetRefreshToken(ctx(t), f.tn, h("r1"))
	noErr(t, "GetRefreshToken(successor)", err)
	same(t, "stored successor", got, n1)
	got, err = tk.GetRefreshToken(ctx(t), f.tn, h("r0"))
	noErr(t, "GetRefreshToken(rotated)", err)
	if got.RotatedAt == nil || got.RevokedAt != nil {
		t.Errorf("rotated token: RotatedAt %v RevokedAt %v; want set, nil", got.RotatedAt, got.RevokedAt)
	}

	// The successor must stay in the family, with the client and tenant;
	// a refused rotation writes nothing.
	c2 := mkClient(t, s, f.tn, "c2")
	for name, edit := range map[string]func(*store.RefreshToken){
		"other family": func(r *store.RefreshToken) { r.FamilyID = "other" },
		"other client": func(r *store.RefreshToken) { r.ClientID = c2.ID },
		"other tenant": func(r *store.RefreshToken) { r.Tenant = store.TenantID(newID()) },
	} {
		bad := nextRefresh(f, "F", "r2")
		edit(bad)
		_, err := tk.RotateRefreshToken(ctx(t), f.tn, h("r1"), bad)
		if err == nil || errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
			t.Errorf("RotateRefreshToken(successor of %s) = %v, want a plain error", name, err)
		}
	}
	got, _ = tk.GetRefreshToken(ctx(t), f.tn, h("r1"))
	if got == nil || got.RotatedAt != nil || got.RevokedAt != nil {
		t.Errorf("a refused rotation changed the old token: %+v", got)
	}
	_, err = tk.GetRefreshToken(ctx(t), f.tn, h("r2"))
	wantErr(t, "GetRefreshToken(refused successor)", err, store.ErrNotFound)

	// Reuse of r0: conflict, the old token back, the family revoked.
	got, err = tk.RotateRefreshToken(ctx(t), f.tn, h("r0"), nextRefresh(f, "F", "r2"))
	wantErr(t, "RotateRefreshToken(reuse)", err, store.ErrConflict)
	if got == nil || got.ID != r0.ID || got.RevokedAt == nil {
		t.Errorf("RotateRefreshToken(reuse) answered %+v, want the old token, revoked", got)
	}
	_, err = tk.GetRefreshToken(ctx(t), f.tn, h("r2"))
	wantErr(t, "GetRefreshToken(successor of a reuse)", err, store.ErrNotFound)
	refreshRevoked(t, s, f.tn, "reused token", h("r0"), true)
	refreshRevoked(t, s, f.tn, "its successor", h("r1"), true)
	accessRevoked(t, s, f.tn, "family access token", a0.ID, true)
	refreshRevoked(t, s, f.tn, "other family", h("rG"), false)
	accessRevoked(t, s, f.tn, "other family", aG.ID, false)
	// A revoked successor cannot be rotated either.
	_, err = tk.RotateRefreshToken(ctx(t), f.tn, h("r1"), nextRefresh(f, "F", "r3"))
	wantErr(t, "RotateRefreshToken(revoked)", err, store.ErrConflict)

	// A token revoked without being rotated revokes its family too.
	mkRefresh(t, s, f, "H", "rH0", func(r *store.RefreshToken) { now := time.Now(); r.RevokedAt = &now })
	mkRefresh(t, s, f, "H", "rH1")
	aH := mkAccess(t, s, f, "H")
	_, err = tk.RotateRefreshToken(ctx(t), f.tn, h("rH0"), nextRefresh(f, "H", "rH2"))
	wantErr(t, "RotateRefreshToken(revoked, unrotated)", err, store.ErrConflict)
	refreshRevoked(t, s, f.tn, "family member of a revoked token", h("rH1"), true)
	accessRevoked(t, s, f.tn, "family member of a revoked token", aH.ID, true)

	// Expired, rotated or not: unknown, and its family is left alone.
	mkRefresh(t, s, f, "E", "rE0", func(r *store.RefreshToken) { r.ExpiresAt = earlier() })
	mkRefresh(t, s, f, "E", "rE1", func(r *store.RefreshToken) { now := earlier(); r.ExpiresAt, r.RotatedAt = earlier(), &now })
	aE := mkAccess(t, s, f, "E")
	for _, tok := range []string{"rE0", "rE1"} {
		_, err = tk.GetRefreshToken(ctx(t), f.tn, h(tok))
		wantErr(t, "GetRefreshToken(expired "+tok+")", err, store.ErrNotFound)
		_, err = tk.RotateRefreshToken(ctx(t), f.tn, h(tok), nextRefresh(f, "E", tok+"-next"))
		wantErr(t, "RotateRefreshToken(expired "+tok+")", err, store.ErrNotFound)
	}
	accessRevoked(t, s, f.tn, "family of an expired token", aE.ID, false)
	_, err = tk.RotateRefreshToken(ctx(t), f.tn, h("unknown"), nextRefresh(f, "F", "r4"))
	wantErr(t, "RotateRefreshToken(unknown)", err, store.ErrNotFound)
}

// testRotateConcurrent: of N concurrent rotations of one token exactly one
// succeeds; the others get ErrConflict and leave the whole family revoked,
// the winner's successor included.
func testRotateConcurrent(t *testing.T, s store.Store) {
	f := mkFixture(t, s)
	tk := s.OAuth().Tokens()
	const rounds, n = 3, 12
	warmPool(t, s, n)
	for round := range rounds {
		fam := fmt.Sprint("F", round)
		mkRefresh(t, s, f, fam, fam+"-r0")
		a0 := mkAccess(t, s, f, fam)
		mkRefresh(t, s, f, "bystander"+fam, fam+"-bystander")
		var (
			mu              sync.Mutex
			winner          = -1
			wins, conflicts int
		)
		race(n, func(i int) {
			next := nextRefresh(f, fam, fmt.Sprint(fam, "-next-", i))
			got, err := tk.RotateRefreshToken(ctx(t), f.tn, h(fam+"-r0"), next)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil && got != nil && string(got.Hash) == string(next.Hash):
				wins++
				winner = i
			case isErr(err, store.ErrConflict):
				conflicts++
			default:
				t.Errorf("round %d: RotateRefreshToken = %+v, %v", round, got, err)
			}
		})
		if wins != 1 || conflicts != n-1 {
			t.Fatalf("round %d: %d rotations won and %d conflicted; want 1 and %d", round, wins, conflicts, n-1)
		}
		refreshRevoked(t, s, f.tn, "rotated token", h(fam+"-r0"), true)
		refreshRevoked(t, s, f.tn, "the winner's successor", h(fmt.Sprint(fam, "-next-", winner)), true)
		accessRevoked(t, s, f.tn, "the family's access token", a0.ID, true)
		for i := range n {
			if i != winner {
				_, err := tk.GetRefreshToken(ctx(t), f.tn, h(fmt.Sprint(fam, "-next-", i)))
				wantErr(t, "GetRefreshToken(a loser's successor)", err, store.ErrNotFound)
			}
		}
		refreshRevoked(t, s, f.tn, "another family", h(fam+"-bystander"), false)
	}
}

// testRevokeDuringRotation: a client keeps rotating its token while the
// family (or the session's tokens) is revoked. Once the revocation has
// returned, no token of the chain may be left unrevoked, in particular not
// one a rotation inserted while the revocation ran, and the chain ends
// with ErrConflict.
func testRevokeDuringRotation(t *testing.T, s store.Store) {
	base := mkFixture(t, s)
	tk := s.OAuth().Tokens()
	const chains, maxSteps = 8, 20000
	type chain struct {
		f         oauthFixture
		fam       string
		bySession bool
		issued    []string
		lastErr   error
		revoked   chan struct{} // closed once the revocation returned
	}
	cs := make([]*chain, chains)
	for i := range cs {
		f := base
		f.session = mkSession(t, s, f.tn, f.user.ID, fmt.Sprint("chain-session-", i))
		c := &chain{f: f, fam: fmt.Sprint("chain-", i), bySession: i%2 == 1, revoked: make(chan struct{})}
		mkRefresh(t, s, f, c.fam, c.fam+"-0")
		c.issued = []string{c.fam + "-0"}
		cs[i] = c
	}
	var wg sync.WaitGroup
	for _, c := range cs {
		var once sync.Once
		started := make(chan struct{})
		wg.Go(func() { // the client: rotates until refused
			defer once.Do(func() { close(started) })
			cur := c.issued[0]
			for i := 1; i <= maxSteps; i++ {
				after := false
				select {
				case <-c.revoked:
					after = true
				default:
				}
				next := fmt.Sprint(c.fam, "-", i)
				if _, err := tk.RotateRefreshToken(ctx(t), c.f.tn, h(cur), nextRefresh(c.f, c.fam, next)); err != nil {
					c.lastErr = err
					return
				}
				c.issued = append(c.issued, next)
				cur = next
				if after {
					c.lastErr = errors.New("a rotation begun after the revocation returned succeeded")
					return
				}
				if i == 3 {
					once.Do(func() { close(started) })
				}
			}
			c.lastErr = errors.New("the revocation did not get its turn")
		})
		wg.Go(func() { // the revoker, once the chain is under way
			defer close(c.revoked)
			<-started
			var err error
			if c.bySession {
				err = tk.RevokeSessionTokens(ctx(t), c.f.tn, c.f.session.ID, "")
			} else {
				err = tk.RevokeFamily(ctx(t), c.f.tn, c.fam)
			}
			if err != nil {
				t.Errorf("%s: revoke: %v", c.fam, err)
			}
		})
	}
	wg.Wait()
	for _, c := range cs {
		what := fmt.Sprintf("%s (revoked by session: %v, %d tokens)", c.fam, c.bySession, len(c.issued))
		if !isErr(c.lastErr, store.ErrConflict) {
			t.Errorf("%s: the chain ended with %v, want ErrConflict", what, c.lastErr)
		}
		for _, tok := range c.issued {
			refreshRevoked(t, s, c.f.tn, what+": token "+tok, h(tok), true)
		}
	}
}

func testAccessTokens(t *testing.T, s store.Store) {
	f := mkFixture(t, s)
	tk := s.OAuth().Tokens()
	// client_credentials: no user, session or family.
	cc := &store.AccessToken{ID: newID(), Tenant: f.tn, ClientID: f.client.ID, Scopes: []string{"api"}, ExpiresAt: later()}
	noErr(t, "CreateAccessToken(client_credentials)", tk.CreateAccessToken(ctx(t), cc))
	got, err := tk.GetAccessToken(ctx(t), f.tn, cc.ID)
	noErr(t, "GetAccessToken", err)
	same(t, "GetAccessToken(client_credentials)", got, cc)
	a := mkAccess(t, s, f, "F")
	got, err = tk.GetAccessToken(ctx(t), f.tn, a.ID)
	noErr(t, "GetAccessToken", err)
	same(t, "GetAccessToken", got, a)

	wantErr(t, "CreateAccessToken(id taken)", tk.CreateAccessToken(ctx(t), &store.AccessToken{ID: a.ID, Tenant: f.tn, ClientID: f.client.ID, ExpiresAt: later()}), store.ErrConflict)
	wantErr(t, "CreateAccessToken(unknown user)", tk.CreateAccessToken(ctx(t), &store.AccessToken{ID: newID(), Tenant: f.tn, ClientID: f.client.ID, UserID: newID(), ExpiresAt: later()}), store.ErrNotFound)
	wantErr(t, "CreateAccessToken(unknown client)", tk.CreateAccessToken(ctx(t), &store.AccessToken{ID: newID(), Tenant: f.tn, ClientID: "nope", ExpiresAt: later()}), store.ErrNotFound)
	old := mkAccess(t, s, f, "F", func(x *store.AccessToken) { x.ExpiresAt = earlier() })
	_, err = tk.GetAccessToken(ctx(t), f.tn, old.ID)
	wantErr(t, "GetAccessToken(expired)", err, store.ErrNotFound)

	noErr(t, "RevokeAccessToken", tk.RevokeAccessToken(ctx(t), f.tn, a.ID))
	first, err := tk.GetAccessToken(ctx(t), f.tn, a.ID)
	noErr(t, "GetAccessToken(revoked)", err)
	if first.RevokedAt == nil {
		t.Fatal("RevokeAccessToken did not revoke")
	}
	time.Sleep(2 * time.Millisecond)
	noErr(t, "RevokeAccessToken(again)", tk.RevokeAccessToken(ctx(t), f.tn, a.ID))
	again, _ := tk.GetAccessToken(ctx(t), f.tn, a.ID)
	sameTimePtr(t, "RevokedAt after a second revocation", again.RevokedAt, first.RevokedAt)
	wantErr(t, "RevokeAccessToken(unknown)", tk.RevokeAccessToken(ctx(t), f.tn, newID()), store.ErrNotFound)

	b := mkAccess(t, s, f, "F2")
	noErr(t, "RevokeFamily", tk.RevokeFamily(ctx(t), f.tn, "F2"))
	accessRevoked(t, s, f.tn, "family member", b.ID, true)
	accessRevoked(t, s, f.tn, "client_credentials token", cc.ID, false)
	noErr(t, "RevokeFamily(unknown)", tk.RevokeFamily(ctx(t), f.tn, "nope"))
	if err := tk.RevokeFamily(ctx(t), f.tn, ""); err == nil {
		t.Error("RevokeFamily accepted an empty family (it would revoke every family-less token)")
	}
	if err := tk.RevokeSessionTokens(ctx(t), f.tn, "", ""); err == nil {
		t.Error("RevokeSessionTokens accepted an empty session")
	}
	accessRevoked(t, s, f.tn, "client_credentials token after refused revocations", cc.ID, false)
}

func testRevokeSessionTokens(t *testing.T, s store.Store) {
	f := mkFixture(t, s)
	tk := s.OAuth().Tokens()
	g := f // same session, second client
	g.client = mkClient(t, s, f.tn, "c2")
	o := f // same client, another session
	o.session = mkSession(t, s, f.tn, f.user.ID, "other")

	mkRefresh(t, s, f, "Ff", "f")
	af := mkAccess(t, s, f, "Ff")
	mkRefresh(t, s, g, "Fg", "g")
	ag := mkAccess(t, s, g, "Fg")
	mkRefresh(t, s, o, "Fo", "o")
	ao := mkAccess(t, s, o, "Fo")

	noErr(t, "RevokeSessionTokens(one client)", tk.RevokeSessionTokens(ctx(t), f.tn, f.session.ID, f.client.ID))
	refreshRevoked(t, s, f.tn, "session+client refresh", h("f"), true)
	accessRevoked(t, s, f.tn, "session+client access", af.ID, true)
	refreshRevoked(t, s, f.tn, "session, other client refresh", h("g"), false)
	accessRevoked(t, s, f.tn, "session, other client access", ag.ID, false)

	noErr(t, "RevokeSessionTokens(all clients)", tk.RevokeSessionTokens(ctx(t), f.tn, f.session.ID, ""))
	refreshRevoked(t, s, f.tn, "session, other client refresh", h("g"), true)
	accessRevoked(t, s, f.tn, "session, other client access", ag.ID, true)
	refreshRevoked(t, s, f.tn, "other session refresh", h("o"), false)
	accessRevoked(t, s, f.tn, "other session access", ao.ID, false)
	noErr(t, "RevokeSessionTokens(unknown)", tk.RevokeSessionTokens(ctx(t), f.tn, newID(), ""))
}

// testDeleteExpired: expired requests, tokens, device codes and ended
// sessions go, in every tenant; live ones stay.
func testDeleteExpired(t *testing.T, s store.Store) {
	f := mkFixture(t, s)
	g := mkFixture(t, s)
	o := s.OAuth()
	exp := func(x *store.AuthRequest) { x.ExpiresAt = earlier() }
	expR := func(x *store.RefreshToken) { x.ExpiresAt = earlier() }
	expA := func(x *store.AccessToken) { x.ExpiresAt = earlier() }
	expD := func(x *store.DeviceCode) { x.ExpiresAt = earlier() }
	mkAuthRequest(t, s, f.tn, f.client.ID, "", exp)
	expiredReq := mkAuthRequest(t, s, f.tn, f.client.ID, "used", exp)
	mkRefresh(t, s, f, "F", "e1", expR)
	mkRefresh(t, s, f, "F", "e2", expR, func(x *store.RefreshToken) { now := earlier(); x.RotatedAt = &now })
	mkRefresh(t, s, g, "G", "e3", expR)
	expiredAT := mkAccess(t, s, f, "F", expA)
	mkDeviceCode(t, s, f.tn, f.client.ID, "d1", "EXP1", expD)
	mkDeviceCode(t, s, g.tn, g.client.ID, "d2", "EXP2", expD)
	mkSession(t, s, f.tn, f.user.ID, "old", func(x *store.Session) { x.ExpiresAt = earlier() })
	_, err := o.Throttle().Fail(ctx(t), f.tn, "acct:idle", time.Now().Add(-48*time.Hour), time.Minute)
	noErr(t, "Fail(idle)", err)
	_, err = o.Throttle().Fail(ctx(t), f.tn, "acct:fresh", time.Now(), time.Hour)
	noErr(t, "Fail(fresh)", err)
	const expired = 10

	liveReq := mkAuthRequest(t, s, f.tn, f.client.ID, "live")
	mkRefresh(t, s, f, "F", "live")
	liveAT := mkAccess(t, s, f, "F")
	mkDeviceCode(t, s, f.tn, f.client.ID, "dlive", "LIVE")
	liveSession := mkSession(t, s, f.tn, f.user.ID, "live-session")

	n, err := o.Tokens().DeleteExpired(ctx(t), time.Now())
	noErr(t, "DeleteExpired", err)
	if c, _, err := o.Throttle().Failures(ctx(t), f.tn, "acct:fresh", time.Now(), time.Hour); err != nil || c != 1 {
		t.Errorf("fresh throttle count after DeleteExpired: %d, %v", c, err)
	}
	if n != expired {
		t.Errorf("DeleteExpired removed %d, want %d", n, expired)
	}
	n, err = o.Tokens().DeleteExpired(ctx(t), time.Now())
	if err != nil || n != 0 {
		t.Errorf("DeleteExpired again = %d, %v; want 0", n, err)
	}
	// Really gone: their keys are free again.
	noErr(t, "CreateAuthRequest(id of a deleted one)", o.AuthRequests().CreateAuthRequest(ctx(t), &store.AuthRequest{
		ID: expiredReq.ID, Tenant: f.tn, ClientID: f.client.ID, CodeHash: h("used"), ExpiresAt: later()}))
	noErr(t, "CreateRefreshToken(hash of a deleted one)", o.Tokens().CreateRefreshToken(ctx(t), nextRefresh(f, "F", "e1")))
	noErr(t, "CreateAccessToken(id of a deleted one)", o.Tokens().CreateAccessToken(ctx(t), &store.AccessToken{
		ID: expiredAT.ID, Tenant: f.tn, ClientID: f.client.ID, ExpiresAt: later()}))
	noErr(t, "CreateDeviceCode(hash of a deleted one)", o.DeviceCodes().CreateDeviceCode(ctx(t), &store.DeviceCode{
		Tenant: g.tn, DeviceCodeHash: h("d2"), UserCode: "NEW2", ClientID: g.client.ID, ExpiresAt: later()}))

	_, err = o.AuthRequests().GetAuthRequest(ctx(t), f.tn, liveReq.ID)
	noErr(t, "GetAuthRequest(live)", err)
	_, err = o.Tokens().GetRefreshToken(ctx(t), f.tn, h("live"))
	noErr(t, "GetRefreshToken(live)", err)
	_, err = o.Tokens().GetAccessToken(ctx(t), f.tn, liveAT.ID)
	noErr(t, "GetAccessToken(live)", err)
	_, err = o.DeviceCodes().GetByUserCode(ctx(t), f.tn, "LIVE")
	noErr(t, "GetByUserCode(live)", err)
	_, err = o.Sessions().GetSession(ctx(t), f.tn, liveSession.ID)
	noErr(t, "GetSession(live session, kept)", err)
}

func testSessions(t *testing.T, s store.Store) {
	f := mkFixture(t, s)
	ss := s.OAuth().Sessions()
	x := &store.Session{ID: newID(), Tenant: f.tn, UserID: f.user.ID, TokenHash: h("cookie"), AuthTime: time.Now(),
		AMR: []string{"pwd", "otp"}, UserAgent: "Firefox", IP: "192.0.2.7", ExpiresAt: later(), Clients: []string{"app"}}
	noErr(t, "CreateSession", ss.CreateSession(ctx(t), x))
	if x.CreatedAt.IsZero() || !x.LastSeenAt.Equal(x.CreatedAt) {
		t.Errorf("CreateSession filled CreatedAt %v LastSeenAt %v", x.CreatedAt, x.LastSeenAt)
	}
	got, err := ss.GetSessionByToken(ctx(t), f.tn, h("cookie"))
	noErr(t, "GetSessionByToken", err)
	same(t, "GetSessionByToken", got, x)
	got, err = ss.GetSession(ctx(t), f.tn, x.ID)
	noErr(t, "GetSession", err)
	same(t, "GetSession", got, x)
	_, err = ss.GetSessionByToken(ctx(t), f.tn, h("unknown"))
	wantErr(t, "GetSessionByToken(unknown)", err, store.ErrNotFound)
	wantErr(t, "CreateSession(token taken)", ss.CreateSession(ctx(t), &store.Session{ID: newID(), Tenant: f.tn, UserID: f.user.ID,
		TokenHash: h("cookie"), ExpiresAt: later()}), store.ErrConflict)
	wantErr(t, "CreateSession(unknown user)", ss.CreateSession(ctx(t), &store.Session{ID: newID(), Tenant: f.tn, UserID: newID(),
		TokenHash: h("c2"), ExpiresAt: later()}), store.ErrNotFound)

	// Update appends clients and moves LastSeenAt; the user is fixed.
	seen := time.Now().Add(time.Minute)
	for _, c := range []string{"c2", "c3"} {
		_, err := ss.UpdateSession(ctx(t), f.tn, x.ID, func(y *store.Session) error {
			y.Clients = append(y.Clients, c)
			y.LastSeenAt = seen
			return nil
		})
		noErr(t, "UpdateSession", err)
	}
	got, err = ss.GetSessionByToken(ctx(t), f.tn, h("cookie"))
	noErr(t, "GetSessionByToken(updated)", err)
	sameIDs(t, "session clients", got.Clients, []string{"app", "c2", "c3"})
	sameTime(t, "LastSeenAt", got.LastSeenAt, seen.Truncate(time.Microsecond))
	sameTime(t, "CreatedAt after update", got.CreatedAt, x.CreatedAt)
	if _, err := ss.UpdateSession(ctx(t), f.tn, x.ID, func(y *store.Session) error { y.UserID = newID(); return nil }); err == nil {
		t.Error("UpdateSession let the closure change the user")
	}
	_, err = ss.UpdateSession(ctx(t), f.tn, x.ID, func(y *store.Session) error { y.IP = "x"; return errClosure })
	if err != errClosure {
		t.Errorf("UpdateSession: closure error came back as %v", err)
	}
	_, err = ss.UpdateSession(ctx(t), f.tn, newID(), func(*store.Session) error { return nil })
	wantErr(t, "UpdateSession(missing)", err, store.ErrNotFound)

	// Expired and revoked sessions are hidden from the cookie lookup and
	// the user's list, not from GetSession.
	expired := mkSession(t, s, f.tn, f.user.ID, "expired", func(y *store.Session) { y.ExpiresAt = earlier() })
	revoked := mkSession(t, s, f.tn, f.user.ID, "revoked")
	noErr(t, "RevokeSession", ss.RevokeSession(ctx(t), f.tn, revoked.ID))
	for tok, id := range map[string]string{"expired": expired.ID, "revoked": revoked.ID} {
		_, err := ss.GetSessionByToken(ctx(t), f.tn, h(tok))
		wantErr(t, "GetSessionByToken("+tok+")", err, store.ErrNotFound)
		_, err = ss.GetSession(ctx(t), f.tn, id)
		noErr(t, "GetSession("+tok+")", err)
	}
	r1, _ := ss.GetSession(ctx(t), f.tn, revoked.ID)
	time.Sleep(2 * time.Millisecond)
	noErr(t, "RevokeSession(again)", ss.RevokeSession(ctx(t), f.tn, revoked.ID))
	r2, _ := ss.GetSession(ctx(t), f.tn, revoked.ID)
	if r1 == nil || r2 == nil || r1.RevokedAt == nil {
		t.Fatalf("revoked session reads %+v", r1)
	}
	sameTimePtr(t, "RevokedAt after a second revocation", r2.RevokedAt, r1.RevokedAt)
	wantErr(t, "RevokeSession(unknown)", ss.RevokeSession(ctx(t), f.tn, newID()), store.ErrNotFound)

	list, err := ss.ListUserSessions(ctx(t), f.tn, f.user.ID)
	noErr(t, "ListUserSessions", err)
	want := []string{f.session.ID, x.ID}
	if want[0] > want[1] {
		want[0], want[1] = want[1], want[0]
	}
	var ids []string
	for _, y := range list {
		ids = append(ids, y.ID)
	}
	sameIDs(t, "live sessions", ids, want)

	bob := mkUser(t, s, f.tn, "bob")
	bobs := mkSession(t, s, f.tn, bob.ID, "bob")
	noErr(t, "RevokeUserSessions", ss.RevokeUserSessions(ctx(t), f.tn, f.user.ID))
	list, err = ss.ListUserSessions(ctx(t), f.tn, f.user.ID)
	noErr(t, "ListUserSessions", err)
	if len(list) != 0 {
		t.Errorf("after RevokeUserSessions %d sessions are live", len(list))
	}
	_, err = ss.GetSessionByToken(ctx(t), f.tn, h("cookie"))
	wantErr(t, "GetSessionByToken(revoked with the user's)", err, store.ErrNotFound)
	got, err = ss.GetSessionByToken(ctx(t), f.tn, bobs.TokenHash)
	noErr(t, "GetSessionByToken(other user)", err)
	same(t, "other user's session", got, bobs)
}

// testSessionConcurrentUpdates: concurrent appends of clients all land
// (the closure lingers, as in testDeviceCodeConcurrent).
func testSessionConcurrentUpdates(t *testing.T, s store.Store) {
	f := mkFixture(t, s)
	const n = 12
	warmPool(t, s, n)
	race(n, func(i int) {
		_, err := s.OAuth().Sessions().UpdateSession(ctx(t), f.tn, f.session.ID, func(y *store.Session) error {
			time.Sleep(linger)
			y.Clients = append(y.Clients, fmt.Sprintf("c%02d", i))
			return nil
		})
		if err != nil {
			t.Errorf("UpdateSession: %v", err)
		}
	})
	got, err := s.OAuth().Sessions().GetSession(ctx(t), f.tn, f.session.ID)
	noErr(t, "GetSession", err)
	if len(got.Clients) != n {
		t.Errorf("session lists %d clients after %d concurrent appends: %v", len(got.Clients), n, got.Clients)
	}
}

func testThrottleWindow(t *testing.T, s store.Store) {
	tn := mkTenant(t, s)
	th := s.OAuth().Throttle()
	const w = time.Minute
	t0 := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	fail := func(at time.Duration, want int) {
		t.Helper()
		n, err := th.Fail(ctx(t), tn, "acct:ann", t0.Add(at), w)
		noErr(t, "Fail", err)
		if n != want {
			t.Errorf("Fail at +%v = %d, want %d", at, n, want)
		}
	}
	failures := func(at time.Duration, want int, wantLast time.Time) {
		t.Helper()
		n, last, err := th.Failures(ctx(t), tn, "acct:ann", t0.Add(at), w)
		noErr(t, "Failures", err)
		if n != want || !last.Equal(wantLast) {
			t.Errorf("Failures at +%v = %d, %v; want %d, %v", at, n, last, want, wantLast)
		}
	}
	failures(0, 0, time.Time{})
	fail(0, 1)
	fail(30*time.Second, 2)
	// 80 s after the first failure but 50 s after the last: the run goes on
	// (the window slides with the last failure).
	fail(80*time.Second, 3)
	failures(80*time.Second+w-time.Microsecond, 3, t0.Add(80*time.Second))
	failures(80*time.Second+w, 0, time.Time{})
	fail(80*time.Second+w, 1) // the run lapsed: a new one
	fail(80*time.Second+w+time.Second, 2)

	// Keys and tenants count apart; the platform tenant needs no row.
	n, err := th.Fail(ctx(t), tn, "ip:192.0.2.1", t0, w)
	if err != nil || n != 1 {
		t.Errorf("Fail(other key) = %d, %v; want 1", n, err)
	}
	n, err = th.Fail(ctx(t), store.PlatformTenant, "acct:ann", t0, w)
	if err != nil || n != 1 {
		t.Errorf("Fail(platform tenant) = %d, %v; want 1", n, err)
	}
	noErr(t, "Reset", th.Reset(ctx(t), tn, "acct:ann"))
	failures(80*time.Second+w+time.Second, 0, time.Time{})
	fail(80*time.Second+w+2*time.Second, 1)
	noErr(t, "Reset(unknown)", th.Reset(ctx(t), tn, "nope"))
	if _, err := th.Fail(ctx(t), tn, "k", t0, 0); err == nil {
		t.Error("Fail accepted an empty window")
	}
}

// testThrottleConcurrent: failures counted from many connections at once
// each count once, and each caller sees its own position in the run.
func testThrottleConcurrent(t *testing.T, s store.Store) {
	tn := mkTenant(t, s)
	const workers, each = 8, 10
	warmPool(t, s, workers)
	var (
		mu   sync.Mutex
		seen = map[int]bool{}
	)
	race(workers, func(int) {
		for range each {
			n, err := s.OAuth().Throttle().Fail(ctx(t), tn, "ip:198.51.100.1", time.Now(), time.Hour)
			mu.Lock()
			if err != nil {
				t.Errorf("Fail: %v", err)
			} else if seen[n] {
				t.Errorf("two failures were both counted as #%d", n)
			}
			seen[n] = true
			mu.Unlock()
		}
	})
	n, _, err := s.OAuth().Throttle().Failures(ctx(t), tn, "ip:198.51.100.1", time.Now(), time.Hour)
	noErr(t, "Failures", err)
	if n != workers*each || len(seen) != workers*each {
		t.Errorf("Failures = %d with %d distinct answers, want %d", n, len(seen), workers*each)
	}
}

func testConsents(t *testing.T, s store.Store) {
	f := mkFixture(t, s)
	cs := s.OAuth().Consents()
	c := &store.Consent{Tenant: f.tn, UserID: f.user.ID, ClientID: f.client.ID, Scopes: []string{"openid", "email"}}
	noErr(t, "PutConsent", cs.PutConsent(ctx(t), c))
	if c.CreatedAt.IsZero() || !c.UpdatedAt.Equal(c.CreatedAt) {
		t.Errorf("PutConsent filled %+v", c)
	}
	got, err := cs.GetConsent(ctx(t), f.tn, f.user.ID, f.client.ID)
	noErr(t, "GetConsent", err)
	same(t, "GetConsent", got, c)

	time.Sleep(2 * time.Millisecond)
	c2 := &store.Consent{Tenant: f.tn, UserID: f.user.ID, ClientID: f.client.ID, Scopes: []string{"openid"}}
	noErr(t, "PutConsent(replace)", cs.PutConsent(ctx(t), c2))
	got, err = cs.GetConsent(ctx(t), f.tn, f.user.ID, f.client.ID)
	noErr(t, "GetConsent(replaced)", err)
	same(t, "replaced consent", got, c2)
	sameTime(t, "CreatedAt of a replaced consent", got.CreatedAt, c.CreatedAt)
	if !got.UpdatedAt.After(c.UpdatedAt) || len(got.Scopes) != 1 {
		t.Errorf("replaced consent = %+v", got)
	}

	wantErr(t, "PutConsent(unknown user)", cs.PutConsent(ctx(t), &store.Consent{Tenant: f.tn, UserID: newID(), ClientID: f.client.ID}), store.ErrNotFound)
	wantErr(t, "PutConsent(unknown client)", cs.PutConsent(ctx(t), &store.Consent{Tenant: f.tn, UserID: f.user.ID, ClientID: "nope"}), store.ErrNotFound)
	zz := mkClient(t, s, f.tn, "zz")
	aa := mkClient(t, s, f.tn, "aa")
	for _, cl := range []*store.Client{zz, aa} {
		noErr(t, "PutConsent", cs.PutConsent(ctx(t), &store.Consent{Tenant: f.tn, UserID: f.user.ID, ClientID: cl.ID}))
	}
	bob := mkUser(t, s, f.tn, "bob")
	noErr(t, "PutConsent(bob)", cs.PutConsent(ctx(t), &store.Consent{Tenant: f.tn, UserID: bob.ID, ClientID: aa.ID}))
	list, err := cs.ListConsents(ctx(t), f.tn, f.user.ID)
	noErr(t, "ListConsents", err)
	var ids []string
	for _, x := range list {
		ids = append(ids, x.ClientID)
	}
	sameIDs(t, "consented clients", ids, []string{"aa", "app", "zz"})

	noErr(t, "DeleteConsent", cs.DeleteConsent(ctx(t), f.tn, f.user.ID, "zz"))
	_, err = cs.GetConsent(ctx(t), f.tn, f.user.ID, "zz")
	wantErr(t, "GetConsent(deleted)", err, store.ErrNotFound)
	wantErr(t, "DeleteConsent(again)", cs.DeleteConsent(ctx(t), f.tn, f.user.ID, "zz"), store.ErrNotFound)
	_, err = cs.GetConsent(ctx(t), f.tn, bob.ID, aa.ID)
	noErr(t, "GetConsent(bob)", err)
}

func testDeviceCodes(t *testing.T, s store.Store) {
	f := mkFixture(t, s)
	dc := s.OAuth().DeviceCodes()
	d := &store.DeviceCode{Tenant: f.tn, DeviceCodeHash: h("dev"), UserCode: "WDJBMJHT", ClientID: f.client.ID,
		Scopes: []string{"openid", "offline_access"}, ExpiresAt: later()}
	noErr(t, "CreateDeviceCode", dc.CreateDeviceCode(ctx(t), d))
	if d.State != "pending" {
		t.Errorf("CreateDeviceCode: State %q, want pending", d.State)
	}
	got, err := dc.GetByDeviceCode(ctx(t), f.tn, h("dev"))
	noErr(t, "GetByDeviceCode", err)
	same(t, "GetByDeviceCode", got, d)
	got, err = dc.GetByUserCode(ctx(t), f.tn, "WDJBMJHT")
	noErr(t, "GetByUserCode", err)
	same(t, "GetByUserCode", got, d)

	wantErr(t, "CreateDeviceCode(user code taken)", dc.CreateDeviceCode(ctx(t), &store.DeviceCode{Tenant: f.tn,
		DeviceCodeHash: h("dev2"), UserCode: "WDJBMJHT", ClientID: f.client.ID, ExpiresAt: later()}), store.ErrConflict)
	wantErr(t, "CreateDeviceCode(device code taken)", dc.CreateDeviceCode(ctx(t), &store.DeviceCode{Tenant: f.tn,
		DeviceCodeHash: h("dev"), UserCode: "OTHER", ClientID: f.client.ID, ExpiresAt: later()}), store.ErrConflict)
	wantErr(t, "CreateDeviceCode(unknown client)", dc.CreateDeviceCode(ctx(t), &store.DeviceCode{Tenant: f.tn,
		DeviceCodeHash: h("dev3"), UserCode: "OTHER", ClientID: "nope", ExpiresAt: later()}), store.ErrNotFound)
	if err := dc.CreateDeviceCode(ctx(t), &store.DeviceCode{Tenant: f.tn, DeviceCodeHash: h("dev4"), UserCode: "X",
		ClientID: f.client.ID, ExpiresAt: later(), State: "maybe"}); err == nil {
		t.Error("CreateDeviceCode accepted an unknown state")
	}

	poll := time.Now()
	authAt := time.Now().Add(-time.Second)
	up, err := dc.UpdateDeviceCode(ctx(t), f.tn, h("dev"), func(x *store.DeviceCode) error {
		x.State, x.UserID, x.SessionID, x.AuthTime, x.AMR, x.LastPoll = "approved", f.user.ID, f.session.ID, authAt, []string{"pwd"}, &poll
		return nil
	})
	noErr(t, "UpdateDeviceCode", err)
	got, err = dc.GetByUserCode(ctx(t), f.tn, "WDJBMJHT")
	noErr(t, "GetByUserCode(updated)", err)
	same(t, "updated device code", got, up)
	if got.State != "approved" || got.UserID != f.user.ID || got.LastPoll == nil {
		t.Errorf("updated device code = %+v", got)
	}
	_, err = dc.UpdateDeviceCode(ctx(t), f.tn, h("dev"), func(x *store.DeviceCode) error { x.UserID = newID(); return nil })
	wantErr(t, "UpdateDeviceCode(unknown user)", err, store.ErrNotFound)
	_, err = dc.UpdateDeviceCode(ctx(t), f.tn, h("dev"), func(x *store.DeviceCode) error { x.Done = true; return errClosure })
	if err != errClosure {
		t.Errorf("UpdateDeviceCode: closure error came back as %v", err)
	}
	if _, err := dc.UpdateDeviceCode(ctx(t), f.tn, h("dev"), func(x *store.DeviceCode) error { x.DeviceCodeHash = h("x"); return nil }); err == nil {
		t.Error("UpdateDeviceCode let the closure change the device code")
	}
	if _, err := dc.UpdateDeviceCode(ctx(t), f.tn, h("dev"), func(x *store.DeviceCode) error { x.State = "maybe"; return nil }); err == nil {
		t.Error("UpdateDeviceCode accepted an unknown state")
	}
	_, err = dc.UpdateDeviceCode(ctx(t), f.tn, h("nope"), func(*store.DeviceCode) error { return nil })
	wantErr(t, "UpdateDeviceCode(unknown)", err, store.ErrNotFound)

	// Expired: hidden everywhere, and its user code is free again.
	mkDeviceCode(t, s, f.tn, f.client.ID, "old", "OLDCODE", func(x *store.DeviceCode) { x.ExpiresAt = earlier() })
	_, err = dc.GetByDeviceCode(ctx(t), f.tn, h("old"))
	wantErr(t, "GetByDeviceCode(expired)", err, store.ErrNotFound)
	_, err = dc.GetByUserCode(ctx(t), f.tn, "OLDCODE")
	wantErr(t, "GetByUserCode(expired)", err, store.ErrNotFound)
	_, err = dc.UpdateDeviceCode(ctx(t), f.tn, h("old"), func(*store.DeviceCode) error { t.Error("closure called for an expired code"); return nil })
	wantErr(t, "UpdateDeviceCode(expired)", err, store.ErrNotFound)
	fresh := mkDeviceCode(t, s, f.tn, f.client.ID, "new", "OLDCODE")
	got, err = dc.GetByUserCode(ctx(t), f.tn, "OLDCODE")
	noErr(t, "GetByUserCode(reused code)", err)
	same(t, "device code reusing an expired user code", got, fresh)
}

// testDeviceCodeConcurrent: of concurrent polls of an approved code, the
// closure lets exactly one see it not yet done. The closure lingers so the
// polls overlap for sure: without the row held, several would read the
// code before the first one's write commits.
func testDeviceCodeConcurrent(t *testing.T, s store.Store) {
	f := mkFixture(t, s)
	mkDeviceCode(t, s, f.tn, f.client.ID, "dev", "POLLME", func(x *store.DeviceCode) { x.State, x.UserID = "approved", f.user.ID })
	var (
		mu   sync.Mutex
		wins int
	)
	warmPool(t, s, 12)
	race(12, func(int) {
		_, err := s.OAuth().DeviceCodes().UpdateDeviceCode(ctx(t), f.tn, h("dev"), func(x *store.DeviceCode) error {
			time.Sleep(linger)
			now := time.Now()
			x.LastPoll = &now
			if x.State == "approved" && !x.Done {
				x.Done = true
				mu.Lock()
				wins++
				mu.Unlock()
			}
			return nil
		})
		if err != nil {
			t.Errorf("UpdateDeviceCode: %v", err)
		}
	})
	if wins != 1 {
		t.Errorf("%d polls saw the approved code not done, want 1", wins)
	}
}
