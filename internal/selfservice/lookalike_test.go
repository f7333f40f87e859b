package selfservice_test

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/credential"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
)

// TestSignUpLookalike: signing up with an address that looks like an
// existing account's (equal confusable skeletons) goes the way of an
// address in use: a ticket like any other, no account, the owner told,
// in about the time a new sign-up takes. Addresses with invisible
// characters or mixed scripts are refused for their text alone, whoever
// exists.
func TestSignUpLookalike(t *testing.T) {
	sqltest.ForEachStore(t, func(t *testing.T, s store.Store) {
		e := newEnv(t, s, credential.Params{MemoryKiB: 19456, Iterations: 2, Parallelism: 1})
		tn := e.tenant(t, open)
		ctx := t.Context()
		if _, err := signUp(e, t, tn, "carol@example.com"); err != nil {
			t.Fatal(err)
		}
		e.mails(t)
		const rounds = 4
		var newT, alikeT []time.Duration
		for i := range rounds {
			start := time.Now()
			tk, err := signUp(e, t, tn, "fresh"+string(rune('a'+i))+"@example.com")
			newT = append(newT, time.Since(start))
			if err != nil || uuid.Validate(tk) != nil {
				t.Fatalf("new sign-up: %q %v", tk, err)
			}
			start = time.Now()
			tk, err = signUp(e, t, tn, []string{"caro1@example.com", "CARO1@example.com", "carol@examp1e.com", "caroI@example.com"}[i])
			alikeT = append(alikeT, time.Since(start))
			if err != nil || uuid.Validate(tk) != nil {
				t.Fatalf("look-alike sign-up answered %q %v, want a ticket like any other", tk, err)
			}
		}
		for _, m := range e.mails(t) {
			if m.To != "carol@example.com" && m.Kind != "verify" || m.To == "carol@example.com" && m.Kind != "exists" {
				t.Errorf("mail %s to %s", m.Kind, m.To)
			}
		}
		if n, _ := s.Users().CountUsers(ctx, tn.ID); n != 1+rounds {
			t.Errorf("%d users, want %d: a look-alike got an account", n, 1+rounds)
		}
		r := float64(median(newT)) / float64(median(alikeT))
		t.Logf("sign-up: new %v, look-alike %v (ratio %.2f)", median(newT), median(alikeT), r)
		if r > 3 || r < 1.0/3 {
			t.Errorf("sign-up timing new/look-alike = %.2f, want about 1", r)
		}
		for email, code := range map[string]string{"carol\u200b@example.com": "invalid", "саrol@example.com": "mixed_script", "nobody\u200b@example.com": "invalid"} {
			if _, err := signUp(e, t, tn, email); fieldCode(err, "email") != code {
				t.Errorf("SignUp(%q): %v, want email %s", email, err, code)
			}
		}
	})
}
