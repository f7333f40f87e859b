package directory_test

import (
	"errors"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// wantLookalike fails unless err is a look-alike *valid.Conflict on field.
func wantLookalike(t *testing.T, err error, field string) {
	t.Helper()
	wantConflict(t, err, field)
	var ce *valid.Conflict
	if errors.As(err, &ce) && !ce.Lookalike {
		t.Errorf("conflict on %s is not marked as a look-alike", field)
	}
}

// wantCode fails unless err is a *valid.Error whose only field is field
// with code.
func wantCode(t *testing.T, err error, field, code string) {
	t.Helper()
	var ve *valid.Error
	if !errors.As(err, &ve) || len(ve.Fields) != 1 || ve.Fields[0].Field != field || ve.Fields[0].Code != code {
		t.Fatalf("error %v, want %s %s", err, field, code)
	}
}

// TestLookalikeIdentifiers: an address or username that differs from an
// existing one only by invisible characters, mixed scripts or confusable
// letters is refused; internationalised ones that look like no one's are
// accepted; a look-alike stored before these rules can still be edited.
func TestLookalikeIdentifiers(t *testing.T) {
	sqltest.ForEachStore(t, func(t *testing.T, s store.Store) {
		e := newEnv(t, s)
		acme, other := e.tenant(t, "acme"), e.tenant(t, "other")
		carol := e.user(t, acme, directory.NewUser{Email: "carol@example.com", Username: "carol"})
		e.user(t, acme, directory.NewUser{Email: "ceo@example.com", Username: "ceo"})
		create := func(email, username string) error {
			_, err := e.dir.CreateUser(t.Context(), admin, acme, directory.NewUser{Email: email, Username: username})
			return err
		}

		wantCode(t, create("carol\u200b@example.com", ""), "email", "invalid") // zero-width space
		wantCode(t, create("car\u202eol@example.com", ""), "email", "invalid") // bidi override
		wantCode(t, create("саrol@example.com", ""), "email", "mixed_script")  // Cyrillic с, а among Latin
		wantCode(t, create("carol@exаmple.com", ""), "email", "mixed_script")  // Cyrillic а in the domain
		wantLookalike(t, create("сео@example.com", ""), "email")               // all Cyrillic: one script, the same look
		wantLookalike(t, create("caro1@example.com", ""), "email")             // digit one for l
		wantCode(t, create("y@example.com", "car\u200bol"), "username", "invalid")
		wantCode(t, create("y@example.com", "cаrol"), "username", "mixed_script")
		wantLookalike(t, create("y@example.com", "caro1"), "username")
		wantLookalike(t, create("y@example.com", "сео"), "username")

		// Not look-alikes of anyone: internationalised addresses work.
		for _, email := range []string{"josé@example.com", "用户@example.com", "анна@example.com", "ελένη@example.com"} {
			if err := create(email, ""); err != nil {
				t.Errorf("CreateUser(%q): %v", email, err)
			}
		}
		// The same address in another tenant is no look-alike there.
		if _, err := e.dir.CreateUser(t.Context(), admin, other, directory.NewUser{Email: "caro1@example.com"}); err != nil {
			t.Errorf("look-alike in another tenant: %v", err)
		}
		// Changing onto a look-alike is refused; onto one's own look-alike
		// is not.
		dave := e.user(t, acme, directory.NewUser{Email: "dave@example.com"})
		_, err := e.dir.UpdateUser(t.Context(), admin, acme, dave.ID, 0, directory.UserPatch{Email: ptr("caro1@example.com")})
		wantLookalike(t, err, "email")
		if _, err := e.dir.UpdateUser(t.Context(), admin, acme, carol.ID, 0, directory.UserPatch{Email: ptr("caro1@example.com")}); err != nil {
			t.Errorf("changing to a look-alike of one's own address: %v", err)
		}
		// UserForEmail finds the owner of a look-alike.
		if u, err := e.dir.UserForEmail(t.Context(), acme, "саrol@example.com"); err != nil || u.ID != carol.ID {
			t.Errorf("UserForEmail(look-alike) = %v, %v", u, err)
		}
		if _, err := e.dir.UserForEmail(t.Context(), acme, "nobody@example.com"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("UserForEmail(nobody) = %v, want ErrNotFound", err)
		}
	})
}

// TestUsernamePRECIS: usernames are enforced and compared by the PRECIS
// UsernameCaseMapped profile (RFC 8265).
func TestUsernamePRECIS(t *testing.T) {
	for in, want := range map[string]string{"Alice": "alice", "ＡＬＩＣＥ": "alice", "Zoë": "zoë", "Zoe\u0308": "zoë"} {
		if got := directory.NormalizeUsername(in); got != want {
			t.Errorf("NormalizeUsername(%q) = %q, want %q", in, got, want)
		}
	}
}
