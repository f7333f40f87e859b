package storetest

import (
	"bytes"
	"crypto/sha256"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

var selfServiceTests = []test{
	{"OneTimeTokenConsumeOnce", testTokenConsumeOnce},
	{"OneTimeTokenCodeAttempts", testTokenCodeAttempts},
	{"OneTimeTokenIsolationAndExpiry", testTokenIsolation},
	{"MailQueueClaimLease", testMailClaimLease},
	{"Acceptances", testAcceptances},
}

func sum(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }

func mkToken(t *testing.T, s store.Repos, tenant store.TenantID, user, purpose, secret string, ttl time.Duration) *store.OneTimeToken {
	t.Helper()
	tok := &store.OneTimeToken{ID: newID(), Tenant: tenant, Purpose: purpose, UserID: user, Hash: sum(secret),
		CodeHash: sum("code-" + secret), MaxAttempts: 3, Data: "req-1", ExpiresAt: time.Now().Add(ttl)}
	noErr(t, "CreateToken", s.SelfService().OneTimeTokens().CreateToken(ctx(t), tok))
	return tok
}

// Of many concurrent uses of one token exactly one wins; later ones and
// another purpose find nothing.
func testTokenConsumeOnce(t *testing.T, s store.Store) {
	tn := mkTenant(t, s)
	u := mkUser(t, s, tn, "ada")
	tok := mkToken(t, s, tn, u.ID, store.PurposeResetPassword, "secret-1", time.Hour)
	ots := s.SelfService().OneTimeTokens()
	if p, err := ots.PeekToken(ctx(t), tn, store.PurposeResetPassword, sum("secret-1")); err != nil || p.ID != tok.ID || p.UsedAt != nil {
		t.Fatalf("PeekToken = %+v, %v", p, err)
	}
	_, err := ots.PeekToken(ctx(t), tn, store.PurposeMagicLink, sum("secret-1"))
	wantErr(t, "PeekToken(wrong purpose)", err, store.ErrNotFound)
	_, err = ots.ConsumeToken(ctx(t), tn, store.PurposeVerifyEmail, sum("secret-1"))
	wantErr(t, "ConsumeToken(wrong purpose)", err, store.ErrNotFound)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		wins int
	)
	for range 8 {
		wg.Go(func() {
			got, err := ots.ConsumeToken(ctx(t), tn, store.PurposeResetPassword, sum("secret-1"))
			if err == nil {
				mu.Lock()
				wins++
				mu.Unlock()
				if got.ID != tok.ID || got.UserID != u.ID || got.Data != "req-1" || got.UsedAt == nil {
					t.Errorf("ConsumeToken answered %+v", got)
				}
			} else if !isErr(err, store.ErrNotFound) {
				t.Errorf("ConsumeToken: %v", err)
			}
		})
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d concurrent uses won, want 1", wins)
	}
	_, err = ots.ConsumeToken(ctx(t), tn, store.PurposeResetPassword, sum("secret-1"))
	wantErr(t, "ConsumeToken(again)", err, store.ErrNotFound)
	_, err = ots.PeekToken(ctx(t), tn, store.PurposeResetPassword, sum("secret-1"))
	wantErr(t, "PeekToken(used)", err, store.ErrNotFound)
	// A token whose user is missing is refused.
	err = ots.CreateToken(ctx(t), &store.OneTimeToken{ID: newID(), Tenant: tn, Purpose: store.PurposeMagicLink,
		UserID: newID(), Hash: sum("x"), ExpiresAt: time.Now().Add(time.Hour)})
	wantErr(t, "CreateToken(no user)", err, store.ErrNotFound)
	// Revoking spends live tokens of the purpose only.
	tok2 := mkToken(t, s, tn, u.ID, store.PurposeResetPassword, "secret-2", time.Hour)
	mkToken(t, s, tn, u.ID, store.PurposeMagicLink, "secret-3", time.Hour)
	noErr(t, "RevokeUserTokens", ots.RevokeUserTokens(ctx(t), tn, u.ID, store.PurposeResetPassword))
	_, err = ots.ConsumeToken(ctx(t), tn, store.PurposeResetPassword, tok2.Hash)
	wantErr(t, "ConsumeToken(revoked)", err, store.ErrNotFound)
	if _, err := ots.ConsumeToken(ctx(t), tn, store.PurposeMagicLink, sum("secret-3")); err != nil {
		t.Fatalf("ConsumeToken(other purpose after revoke): %v", err)
	}
	// Deleting the user takes its tokens.
	mkToken(t, s, tn, u.ID, store.PurposeVerifyEmail, "secret-4", time.Hour)
	noErr(t, "DeleteUser", s.Users().DeleteUser(ctx(t), tn, u.ID))
	_, err = ots.ConsumeToken(ctx(t), tn, store.PurposeVerifyEmail, sum("secret-4"))
	wantErr(t, "ConsumeToken(user deleted)", err, store.ErrNotFound)
}

// Codes: wrong codes count, MaxAttempts ends the token even for the right
// code, and a right code spends it.
func testTokenCodeAttempts(t *testing.T, s store.Store) {
	tn := mkTenant(t, s)
	u := mkUser(t, s, tn, "bob")
	ots := s.SelfService().OneTimeTokens()
	match := func(code string) func([]byte) bool {
		return func(h []byte) bool { return bytes.Equal(h, sum(code)) }
	}
	tok := mkToken(t, s, tn, u.ID, store.PurposeVerifyEmail, "a", time.Hour)
	wrongTok, err := ots.UseCode(ctx(t), tn, tok.ID, store.PurposeVerifyEmail, "", match("nope"))
	wantErr(t, "UseCode(wrong)", err, store.ErrWrongCode)
	if wrongTok == nil || wrongTok.UserID != u.ID || wrongTok.UsedAt != nil {
		t.Fatalf("UseCode(wrong) answered %+v, want the unspent token of the user", wrongTok)
	}
	// Another user's token answers as none, and counts no attempt.
	_, err = ots.UseCode(ctx(t), tn, tok.ID, store.PurposeVerifyEmail, newID(), match("code-a"))
	wantErr(t, "UseCode(another user)", err, store.ErrNotFound)
	got, err := ots.UseCode(ctx(t), tn, tok.ID, store.PurposeVerifyEmail, u.ID, match("code-a"))
	noErr(t, "UseCode(right)", err)
	if got.Attempts != 2 || got.UsedAt == nil {
		t.Fatalf("UseCode answered attempts %d used %v", got.Attempts, got.UsedAt)
	}
	_, err = ots.UseCode(ctx(t), tn, tok.ID, store.PurposeVerifyEmail, "", match("code-a"))
	wantErr(t, "UseCode(spent)", err, store.ErrNotFound)
	// The link of a token whose code was used is spent too.
	_, err = ots.ConsumeToken(ctx(t), tn, store.PurposeVerifyEmail, sum("a"))
	wantErr(t, "ConsumeToken(code used)", err, store.ErrNotFound)

	tok = mkToken(t, s, tn, u.ID, store.PurposeMagicLink, "b", time.Hour)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		wrong int
	)
	for range 6 {
		wg.Go(func() {
			_, err := ots.UseCode(ctx(t), tn, tok.ID, store.PurposeMagicLink, "", match("guess"))
			mu.Lock()
			defer mu.Unlock()
			if isErr(err, store.ErrWrongCode) {
				wrong++
			} else if !isErr(err, store.ErrNotFound) {
				t.Errorf("UseCode: %v", err)
			}
		})
	}
	wg.Wait()
	if wrong != 3 {
		t.Fatalf("%d wrong guesses counted, want exactly MaxAttempts=3", wrong)
	}
	_, err = ots.UseCode(ctx(t), tn, tok.ID, store.PurposeMagicLink, "", match("code-b"))
	wantErr(t, "UseCode(right, after attempts ran out)", err, store.ErrNotFound)
}

func testTokenIsolation(t *testing.T, s store.Store) {
	a, b := mkTenant(t, s), mkTenant(t, s)
	u := mkUser(t, s, a, "cy")
	ots := s.SelfService().OneTimeTokens()
	tok := mkToken(t, s, a, u.ID, store.PurposeInvitation, "iso", time.Hour)
	_, err := ots.ConsumeToken(ctx(t), b, store.PurposeInvitation, sum("iso"))
	wantErr(t, "ConsumeToken(other tenant)", err, store.ErrNotFound)
	_, err = ots.UseCode(ctx(t), b, tok.ID, store.PurposeInvitation, "", func([]byte) bool { return true })
	wantErr(t, "UseCode(other tenant)", err, store.ErrNotFound)
	expired := mkToken(t, s, a, u.ID, store.PurposeInvitation, "old", -time.Second)
	_, err = ots.ConsumeToken(ctx(t), a, store.PurposeInvitation, sum("old"))
	wantErr(t, "ConsumeToken(expired)", err, store.ErrNotFound)
	_, err = ots.PeekToken(ctx(t), a, store.PurposeInvitation, sum("old"))
	wantErr(t, "PeekToken(expired)", err, store.ErrNotFound)
	_, err = ots.PeekToken(ctx(t), b, store.PurposeInvitation, sum("iso"))
	wantErr(t, "PeekToken(other tenant)", err, store.ErrNotFound)
	_, err = ots.UseCode(ctx(t), a, expired.ID, store.PurposeInvitation, "", func([]byte) bool { return true })
	wantErr(t, "UseCode(expired)", err, store.ErrNotFound)
	n, err := ots.DeleteExpiredTokens(ctx(t), time.Now())
	noErr(t, "DeleteExpiredTokens", err)
	if n < 1 {
		t.Fatalf("DeleteExpiredTokens removed %d rows", n)
	}
	if _, err := ots.ConsumeToken(ctx(t), a, store.PurposeInvitation, sum("iso")); err != nil {
		t.Fatalf("the live token went with the sweep: %v", err)
	}
}

// A claimed mail is not claimed again while its lease holds, is after it
// runs out (its worker died), and retries wait for their time.
func testMailClaimLease(t *testing.T, s store.Store) {
	tn := mkTenant(t, s)
	q := s.SelfService().MailQueue()
	now := time.Now()
	m := &store.Mail{ID: newID(), Tenant: tn, To: "ada@example.com", Kind: "verify", Sealed: []byte("sealed")}
	noErr(t, "EnqueueMail", q.EnqueueMail(ctx(t), m))
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		claims int
	)
	for range 4 {
		wg.Go(func() {
			got, err := q.ClaimMail(ctx(t), now.Add(time.Second), time.Minute, 10)
			if err != nil {
				t.Errorf("ClaimMail: %v", err)
			}
			mu.Lock()
			claims += len(got)
			mu.Unlock()
		})
	}
	wg.Wait()
	if claims != 1 {
		t.Fatalf("the mail was claimed %d times concurrently, want 1", claims)
	}
	got, err := q.ClaimMail(ctx(t), now.Add(2*time.Minute), time.Minute, 10)
	noErr(t, "ClaimMail(lease over)", err)
	if len(got) != 1 || got[0].Attempts != 2 || !bytes.Equal(got[0].Sealed, []byte("sealed")) || got[0].Status != store.MailSending {
		t.Fatalf("ClaimMail after the lease = %+v", got)
	}
	noErr(t, "MarkRetry", q.MarkRetry(ctx(t), m.ID, now.Add(10*time.Minute), "dial: refused", false))
	if got, _ := q.ClaimMail(ctx(t), now.Add(5*time.Minute), time.Minute, 10); len(got) != 0 {
		t.Fatalf("claimed a mail before its retry time: %+v", got)
	}
	got, err = q.ClaimMail(ctx(t), now.Add(11*time.Minute), time.Minute, 10)
	noErr(t, "ClaimMail(retry due)", err)
	if len(got) != 1 || got[0].LastError != "dial: refused" {
		t.Fatalf("ClaimMail(retry due) = %+v", got)
	}
	noErr(t, "MarkSent", q.MarkSent(ctx(t), m.ID, now))
	sent, err := q.GetMail(ctx(t), m.ID)
	noErr(t, "GetMail", err)
	if sent.Status != store.MailSent || sent.Sealed != nil || sent.SentAt == nil {
		t.Fatalf("sent mail = %+v (content must be cleared)", sent)
	}
	if got, _ := q.ClaimMail(ctx(t), now.Add(time.Hour), time.Minute, 10); len(got) != 0 {
		t.Fatalf("claimed a sent mail: %+v", got)
	}
	// Final failure clears the content too.
	f := &store.Mail{ID: newID(), Tenant: tn, To: "b@example.com", Kind: "reset", Sealed: []byte("x")}
	noErr(t, "EnqueueMail", q.EnqueueMail(ctx(t), f))
	if _, err := q.ClaimMail(ctx(t), now.Add(time.Second), time.Minute, 10); err != nil {
		t.Fatal(err)
	}
	noErr(t, "MarkRetry(final)", q.MarkRetry(ctx(t), f.ID, now, "gave up", true))
	if g, _ := q.GetMail(ctx(t), f.ID); g.Status != store.MailFailed || g.Sealed != nil {
		t.Fatalf("failed mail = %+v", g)
	}
	// Purging takes finished mails only.
	pending := &store.Mail{ID: newID(), Tenant: tn, To: "c@example.com", Kind: "k", Sealed: []byte("y")}
	noErr(t, "EnqueueMail", q.EnqueueMail(ctx(t), pending))
	n, err := q.PurgeMail(ctx(t), time.Now().Add(time.Minute))
	noErr(t, "PurgeMail", err)
	if n != 2 {
		t.Fatalf("PurgeMail removed %d, want the sent and the failed one", n)
	}
	if _, err := q.GetMail(ctx(t), pending.ID); err != nil {
		t.Fatalf("a pending mail was purged: %v", err)
	}
	_, err = q.GetMail(ctx(t), m.ID)
	wantErr(t, "GetMail(purged)", err, store.ErrNotFound)
	err = q.EnqueueMail(ctx(t), &store.Mail{ID: newID(), Tenant: store.TenantID(newID()), To: "x@example.com", Kind: "k"})
	wantErr(t, "EnqueueMail(no tenant)", err, store.ErrNotFound)
}

func testAcceptances(t *testing.T, s store.Store) {
	a, b := mkTenant(t, s), mkTenant(t, s)
	u := mkUser(t, s, a, "dee")
	acc := s.SelfService().Acceptances()
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	noErr(t, "RecordAcceptance", acc.RecordAcceptance(ctx(t), &store.Acceptance{Tenant: a, UserID: u.ID,
		Document: "terms", Version: "2026-01", AcceptedAt: at, IP: "192.0.2.1"}))
	noErr(t, "RecordAcceptance(again)", acc.RecordAcceptance(ctx(t), &store.Acceptance{Tenant: a, UserID: u.ID,
		Document: "terms", Version: "2026-01", AcceptedAt: at.Add(time.Hour), IP: "192.0.2.9"}))
	list, err := acc.ListAcceptances(ctx(t), a, u.ID)
	noErr(t, "ListAcceptances", err)
	if len(list) != 1 || !list[0].AcceptedAt.Equal(at) || list[0].IP != "192.0.2.1" || list[0].Version != "2026-01" {
		t.Fatalf("ListAcceptances = %+v", list)
	}
	if l, _ := acc.ListAcceptances(ctx(t), b, u.ID); len(l) != 0 {
		t.Fatalf("another tenant sees acceptances: %+v", l)
	}
	err = acc.RecordAcceptance(ctx(t), &store.Acceptance{Tenant: b, UserID: u.ID, Document: "terms", Version: "1"})
	wantErr(t, "RecordAcceptance(user of another tenant)", err, store.ErrNotFound)
}
