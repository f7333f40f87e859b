package directory_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// Passwords that pass the default policy for the users below.
const (
	pw1 = "plum-Kettle-93-orbit"
	pw2 = "violet Anchor 4711 drift"
)

func TestNormalizeEmail(t *testing.T) {
	tests := []struct{ in, want string }{
		{"alice@example.com", "alice@example.com"},
		{"Alice@Example.COM", "alice@example.com"},
		{"  bob@example.com\t", "bob@example.com"},
		{"Carol+Tag@Mail.Example.org", "carol+tag@mail.example.org"},
		{"ｕｓｅｒ@ｅｘａｍｐｌｅ.com", "user@example.com"},                                 // fullwidth (NFKC)
		{"mu\u0308ller@bu\u0308cher.example", "m\u00fcller@b\u00fccher.example"}, // decomposed -> composed
		{"M\u00dcLLER@B\u00dcCHER.EXAMPLE", "m\u00fcller@b\u00fccher.example"},
		{"\u212Aate@example.com", "kate@example.com"}, // Kelvin sign
	}
	for _, tc := range tests {
		got := directory.NormalizeEmail(tc.in)
		if got != tc.want {
			t.Errorf("NormalizeEmail(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if again := directory.NormalizeEmail(got); again != got {
			t.Errorf("NormalizeEmail is not idempotent on %q: %q", got, again)
		}
	}
}

// TestEmailValidation runs addresses through CreateUser: the valid ones are
// stored and found by their normalised form, the others refused on "email".
func TestEmailValidation(t *testing.T) {
	e := newEnv(t, sqltest.OpenSQLite(t))
	tn := e.tenant(t, "acme")
	local64 := strings.Repeat("a", 64)
	domain := func(tail int) string { // 128 + tail characters
		return strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", tail-4) + ".com"
	}
	tests := []struct {
		email string
		code  string // "" when valid
	}{
		{"alice@example.com", ""},
		{"alice+newsletter@example.com", ""},
		{"first.last@mail.sub.example.co.uk", ""},
		{"o'brien@example.ie", ""},
		{"m\u00fcller@b\u00fccher.example", ""},
		{"\u7528\u6237@\u4f8b\u5b50.\u5e7f\u544a", ""},
		{local64 + "@example.com", ""},
		{local64 + "@" + domain(61), ""}, // 254 characters
		{"", "required"},
		{"alice.example.com", "invalid"},
		{"alice@localhost", "invalid"},
		{"@example.com", "invalid"},
		{"alice@", "invalid"},
		{"alice@@example.com", "invalid"},
		{"a@b@example.com", "invalid"},
		{"Alice <alice@example.com>", "invalid"},
		{"<alice@example.com>", "invalid"},
		{`"alice smith"@example.com`, "invalid"},
		{"alice smith@example.com", "invalid"},
		{" alice@example.com", "invalid"},
		{"alice@example.com ", "invalid"},
		{"alice@example.com\n", "invalid"},
		{"alice.@example.com", "invalid"},
		{"al..ice@example.com", "invalid"},
		{"a" + local64 + "@example.com", "invalid"},
		{local64 + "@" + domain(62), "too_long"}, // 255 characters
	}
	for _, tc := range tests {
		t.Run(tc.email, func(t *testing.T) {
			u, err := e.dir.CreateUser(t.Context(), admin, tn, directory.NewUser{Email: tc.email})
			if tc.code == "" {
				if err != nil {
					t.Fatalf("CreateUser(%q): %v", tc.email, err)
				}
				got, err := e.s.Users().GetUserByEmail(t.Context(), tn, directory.NormalizeEmail(tc.email))
				if err != nil || got.ID != u.ID || got.Email != tc.email {
					t.Errorf("lookup by normalised email: %+v, %v", got, err)
				}
				return
			}
			var ve *valid.Error
			if !errors.As(err, &ve) || len(ve.Fields) != 1 || ve.Fields[0].Field != "email" || ve.Fields[0].Code != tc.code {
				t.Fatalf("CreateUser(%q) = %v, want email %s", tc.email, err, tc.code)
			}
		})
	}
}

func TestCreateUserUniqueness(t *testing.T) {
	sqltest.ForEachStore(t, func(t *testing.T, s store.Store) {
		e := newEnv(t, s)
		acme, other := e.tenant(t, "acme"), e.tenant(t, "other")
		u := e.user(t, acme, directory.NewUser{Email: "Alice@Example.COM", Username: "Alice"})
		if u.Email != "Alice@Example.COM" || u.EmailNorm != "alice@example.com" || u.Username != "Alice" || u.UsernameNorm != "alice" {
			t.Errorf("user %+v: display forms must be kept, lookup forms normalised", u)
		}
		got, err := e.s.Users().GetUserByEmail(t.Context(), acme, directory.NormalizeEmail("alice@example.com"))
		if err != nil || got.ID != u.ID || got.Email != "Alice@Example.COM" {
			t.Fatalf("GetUserByEmail = %+v, %v", got, err)
		}

		for _, email := range []string{"alice@example.com", "ALICE@EXAMPLE.COM", "ａlice@example.com"} {
			_, err := e.dir.CreateUser(t.Context(), admin, acme, directory.NewUser{Email: email})
			wantConflict(t, err, "email")
		}
		for _, name := range []string{"alice", "ALICE", "ａｌｉｃｅ"} {
			_, err := e.dir.CreateUser(t.Context(), admin, acme, directory.NewUser{Email: "x-" + name + "@example.com", Username: name})
			wantConflict(t, err, "username")
		}
		// Usernames are optional: many users may have none.
		e.user(t, acme, directory.NewUser{Email: "n1@example.com"})
		e.user(t, acme, directory.NewUser{Email: "n2@example.com"})
		// Another tenant has its own namespace.
		if v, err := e.dir.CreateUser(t.Context(), admin, other, directory.NewUser{Email: "alice@example.com", Username: "alice"}); err != nil || v.ID == u.ID {
			t.Errorf("same email in another tenant: %+v, %v", v, err)
		}
		// Changing an email onto a taken one conflicts too; onto its own
		// differently cased form does not.
		bob := e.user(t, acme, directory.NewUser{Email: "bob@example.com", Username: "bob"})
		_, err = e.dir.UpdateUser(t.Context(), admin, acme, bob.ID, 0, directory.UserPatch{Email: ptr("alice@EXAMPLE.com")})
		wantConflict(t, err, "email")
		_, err = e.dir.UpdateUser(t.Context(), admin, acme, bob.ID, 0, directory.UserPatch{Username: ptr("ALICE")})
		wantConflict(t, err, "username")
		if _, err := e.dir.UpdateUser(t.Context(), admin, acme, bob.ID, 0, directory.UserPatch{Email: ptr("Bob@Example.com")}); err != nil {
			t.Errorf("recasing one's own email: %v", err)
		}
		if n, err := e.s.Users().CountUsers(t.Context(), acme); err != nil || n != 4 {
			t.Errorf("%d users in acme (%v), want 4", n, err)
		}
		if _, err := e.dir.CreateUser(t.Context(), admin, "01900000-0000-7000-8000-000000000000",
			directory.NewUser{Email: "z@example.com"}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("user of an unknown tenant: %v, want store.ErrNotFound", err)
		}
	})
}

func TestPasswordPolicyIsTenants(t *testing.T) {
	sqltest.ForEachStore(t, func(t *testing.T, s store.Store) {
		e := newEnv(t, s)
		strict, lax := e.tenant(t, "strict"), e.tenant(t, "lax")
		tn, err := e.tenants.Resolve(t.Context(), "strict")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.tenants.UpdateTenant(t.Context(), admin, strict, tn.Version,
			tenancy.TenantPatch{Settings: json.RawMessage(`{"password_policy":{"min_length":12}}`)}); err != nil {
			t.Fatal(err)
		}
		const ten = "Vk7pq2Lmzr" // 10 characters, otherwise fine
		_, err = e.dir.CreateUser(t.Context(), admin, strict, directory.NewUser{Email: "a@example.com", Password: ptr(ten)})
		wantField(t, err, "password")
		if _, err := e.s.Users().GetUserByEmail(t.Context(), strict, "a@example.com"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("refused user stored: %v", err)
		}
		if _, err := e.dir.CreateUser(t.Context(), admin, lax, directory.NewUser{Email: "a@example.com", Password: ptr(ten)}); err != nil {
			t.Errorf("10 characters under the default policy: %v", err)
		}
		if _, err := e.dir.CreateUser(t.Context(), admin, strict, directory.NewUser{Email: "a@example.com", Password: ptr(ten + "x4")}); err != nil {
			t.Errorf("12 characters under min_length 12: %v", err)
		}
		// The same policy on a password change, which then changes nothing.
		u := e.user(t, strict, directory.NewUser{Email: "b@example.com", Password: ptr(pw1)})
		_, err = e.dir.UpdateUser(t.Context(), admin, strict, u.ID, 0, directory.UserPatch{Password: ptr(ten), GivenName: ptr("Bea")})
		wantField(t, err, "password")
		after, err := e.dir.GetUser(t.Context(), strict, u.ID)
		if err != nil || after.Version != u.Version || after.PasswordHash != u.PasswordHash || after.GivenName != "" {
			t.Errorf("refused password change altered the user: %+v (%v)", after, err)
		}
		// Other policy reasons name the field too.
		for _, bad := range []string{"password123", "b@example.com-secret", "aaaaaaaaaaaaaaaa", ""} {
			_, err := e.dir.CreateUser(t.Context(), admin, lax, directory.NewUser{Email: "b@example.com", Password: ptr(bad)})
			wantField(t, err, "password")
		}
	})
}

func TestPasswordStoredAsArgon2id(t *testing.T) {
	sqltest.ForEachStore(t, func(t *testing.T, s store.Store) {
		e := newEnv(t, s)
		tn := e.tenant(t, "acme")
		u := e.user(t, tn, directory.NewUser{Email: "a@example.com", Password: ptr(pw1)})
		got, err := e.dir.GetUser(t.Context(), tn, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(got.PasswordHash, "$argon2id$v=19$m=1024,t=1,p=1$") || strings.Contains(got.PasswordHash, pw1) {
			t.Fatalf("stored hash %q", got.PasswordHash)
		}
		if ok, _, err := e.dir.Hasher.Verify(got.PasswordHash, pw1); !ok || err != nil {
			t.Errorf("stored hash does not verify: %v", err)
		}
		noPw := e.user(t, tn, directory.NewUser{Email: "b@example.com"})
		if noPw.PasswordHash != "" {
			t.Errorf("user without password has hash %q", noPw.PasswordHash)
		}
		// The audit entry says a password exists and nothing more.
		es := e.audit(t, tn)
		raw, _ := json.Marshal(es)
		if bytes.Contains(raw, []byte(pw1)) || bytes.Contains(raw, []byte("argon2")) || bytes.Contains(raw, []byte(got.PasswordHash[30:])) {
			t.Errorf("audit holds the password or its hash: %s", raw)
		}
		var ch map[string]map[string]any
		if err := json.Unmarshal(es[0].Changes, &ch); err != nil || ch["has_password"]["after"] != true {
			t.Errorf("create audit %s (%v), want has_password true", es[0].Changes, err)
		}
	})
}

func TestUpdateUserVersionAndAudit(t *testing.T) {
	sqltest.ForEachStore(t, func(t *testing.T, s store.Store) {
		e := newEnv(t, s)
		tn := e.tenant(t, "acme")
		u := e.user(t, tn, directory.NewUser{Email: "a@example.com", Password: ptr(pw1)})

		up, err := e.dir.UpdateUser(t.Context(), admin, tn, u.ID, u.Version, directory.UserPatch{GivenName: ptr("Ann")})
		if err != nil || up.Version != u.Version+1 || up.GivenName != "Ann" {
			t.Fatalf("UpdateUser = %+v, %v", up, err)
		}
		_, err = e.dir.UpdateUser(t.Context(), admin, tn, u.ID, u.Version, directory.UserPatch{GivenName: ptr("Eve")})
		if !errors.Is(err, store.ErrPrecondition) {
			t.Errorf("stale version: %v, want store.ErrPrecondition", err)
		}
		if got, _ := e.dir.GetUser(t.Context(), tn, u.ID); got.GivenName != "Ann" || got.Version != up.Version {
			t.Errorf("stale update applied: %+v", got)
		}
		if _, err := e.dir.UpdateUser(t.Context(), admin, "01900000-0000-7000-8000-000000000000", u.ID, 0,
			directory.UserPatch{GivenName: ptr("X")}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("user via another tenant: %v, want store.ErrNotFound", err)
		}

		pw, err := e.dir.UpdateUser(t.Context(), admin, tn, u.ID, 0, directory.UserPatch{Password: ptr(pw2)})
		if err != nil {
			t.Fatal(err)
		}
		if pw.PasswordHash == u.PasswordHash || pw.PasswordHash == "" {
			t.Fatal("password not changed")
		}
		es := e.audit(t, tn)
		last := es[len(es)-1]
		if last.Action != "user.update" || last.TargetID != u.ID {
			t.Fatalf("last audit entry %+v", last)
		}
		var ch map[string]map[string]any
		if err := json.Unmarshal(last.Changes, &ch); err != nil {
			t.Fatal(err)
		}
		if ch["password"]["after"] != "(changed)" {
			t.Errorf("password change recorded as %s, want (changed)", last.Changes)
		}
		raw, _ := json.Marshal(es)
		for _, leak := range []string{pw1, pw2, "$argon2id", u.PasswordHash[30:], pw.PasswordHash[30:]} {
			if bytes.Contains(raw, []byte(leak)) {
				t.Errorf("audit entries contain %q", leak)
			}
		}
		if _, err := e.dir.Authenticate(t.Context(), tn, "a@example.com", pw2); err != nil {
			t.Errorf("new password: %v", err)
		}
		// Removing the password.
		if nopw, err := e.dir.UpdateUser(t.Context(), admin, tn, u.ID, 0, directory.UserPatch{Password: ptr("")}); err != nil || nopw.PasswordHash != "" {
			t.Errorf("removing the password: %v", err)
		}
		if res, err := events.Verify(t.Context(), s.Audit(), tn); err != nil || !res.Intact {
			t.Errorf("tenant chain %+v, %v", res, err)
		}
	})
}

func sameJSON(t *testing.T, got json.RawMessage, want string) bool {
	t.Helper()
	dec := func(raw []byte) any {
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		var v any
		if err := d.Decode(&v); err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		return v
	}
	return reflect.DeepEqual(dec(got), dec([]byte(want)))
}

func TestUpdateUserAttributes(t *testing.T) {
	const start = `{"a":1,"keep":"k","nested":{"x":1,"y":2},"list":[1,2],"big":12345678901234567890,"id":9007199254740993}`
	deep := func(n int) string { return strings.Repeat(`{"a":`, n) + "1" + strings.Repeat("}", n) }
	tests := []struct {
		name, patch string
		want        string // "" when the patch must be refused
	}{
		{"add key", `{"b":"two"}`,
			`{"a":1,"b":"two","keep":"k","nested":{"x":1,"y":2},"list":[1,2],"big":12345678901234567890,"id":9007199254740993}`},
		{"null removes", `{"a":null}`,
			`{"keep":"k","nested":{"x":1,"y":2},"list":[1,2],"big":12345678901234567890,"id":9007199254740993}`},
		{"null for a missing key", `{"zzz":null}`, start},
		{"nested merge", `{"nested":{"y":null,"z":{"deep":true}}}`,
			`{"a":1,"keep":"k","nested":{"x":1,"z":{"deep":true}},"list":[1,2],"big":12345678901234567890,"id":9007199254740993}`},
		{"array replaced", `{"list":[3]}`,
			`{"a":1,"keep":"k","nested":{"x":1,"y":2},"list":[3],"big":12345678901234567890,"id":9007199254740993}`},
		{"object replaced by value", `{"nested":"flat"}`,
			`{"a":1,"keep":"k","nested":"flat","list":[1,2],"big":12345678901234567890,"id":9007199254740993}`},
		{"empty patch", `{}`, start},
		{"seven levels deep", `{"n":` + deep(7) + `}`, ""}, // 8 levels with "n"
		{"six levels deep", `{"n":` + deep(6) + `}`,
			`{"a":1,"keep":"k","nested":{"x":1,"y":2},"list":[1,2],"big":12345678901234567890,"id":9007199254740993,"n":` + deep(6) + `}`},
		{"not an object", `[1,2]`, ""},
		{"a string", `"x"`, ""},
		{"null", `null`, ""},
		{"malformed", `{"a":`, ""},
		{"trailing data", `{"a":2} {"b":3}`, ""},
		{"empty key", `{"":1}`, ""},
		{"key too long", `{"` + strings.Repeat("k", 65) + `":1}`, ""},
		{"merged too large", `{"pad2":"` + strings.Repeat("y", 9000) + `"}`, ""},
	}
	sqltest.ForEachStore(t, func(t *testing.T, s store.Store) {
		e := newEnv(t, s)
		tn := e.tenant(t, "acme")
		for i, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				in := json.RawMessage(start)
				if tc.name == "merged too large" {
					in = json.RawMessage(`{"pad1":"` + strings.Repeat("x", 9000) + `"}`)
				}
				u := e.user(t, tn, directory.NewUser{Email: "u" + strings.Repeat("x", i) + "@example.com", Attributes: in})
				before, err := e.dir.GetUser(t.Context(), tn, u.ID)
				if err != nil {
					t.Fatal(err)
				}
				up, err := e.dir.UpdateUser(t.Context(), admin, tn, u.ID, u.Version, directory.UserPatch{Attributes: json.RawMessage(tc.patch)})
				after, gerr := e.dir.GetUser(t.Context(), tn, u.ID)
				if gerr != nil {
					t.Fatal(gerr)
				}
				if tc.want == "" {
					wantField(t, err, "attributes")
					if after.Version != before.Version || !bytes.Equal(after.Attributes, before.Attributes) {
						t.Errorf("refused patch changed the user: version %d -> %d, %s -> %s",
							before.Version, after.Version, before.Attributes, after.Attributes)
					}
					return
				}
				if err != nil {
					t.Fatalf("UpdateUser: %v", err)
				}
				if !sameJSON(t, up.Attributes, tc.want) || !sameJSON(t, after.Attributes, tc.want) {
					t.Errorf("attributes %s (stored %s), want %s", up.Attributes, after.Attributes, tc.want)
				}
			})
		}
	})
}

// TestCreateUserAttributes: attributes are one JSON object, refused as a
// validation error (not a storage failure) otherwise.
func TestCreateUserAttributes(t *testing.T) {
	sqltest.ForEachStore(t, func(t *testing.T, s store.Store) {
		e := newEnv(t, s)
		tn := e.tenant(t, "acme")
		for i, bad := range []string{`[1]`, `"x"`, `{"a":1} {"b":2}`, `{"a":1}]`, `{"":1}`, `{"a":` + strings.Repeat("[", 9) + strings.Repeat("]", 9) + `}`} {
			_, err := e.dir.CreateUser(t.Context(), admin, tn, directory.NewUser{Email: "u" + strings.Repeat("x", i) + "@example.com",
				Attributes: json.RawMessage(bad)})
			wantField(t, err, "attributes")
		}
		u := e.user(t, tn, directory.NewUser{Email: "ok@example.com", Attributes: json.RawMessage(`{"n":12345678901234567890}`)})
		got, err := e.dir.GetUser(t.Context(), tn, u.ID)
		if err != nil || !sameJSON(t, got.Attributes, `{"n":12345678901234567890}`) {
			t.Errorf("stored attributes %s (%v)", got.Attributes, err)
		}
		none := e.user(t, tn, directory.NewUser{Email: "none@example.com"})
		if string(none.Attributes) != "{}" {
			t.Errorf("default attributes %s, want {}", none.Attributes)
		}
	})
}

func TestDeleteUser(t *testing.T) {
	sqltest.ForEachStore(t, func(t *testing.T, s store.Store) {
		e := newEnv(t, s)
		tn := e.tenant(t, "acme")
		u := e.user(t, tn, directory.NewUser{Email: "a@example.com", Password: ptr(pw1)})
		if err := e.dir.DeleteUser(t.Context(), admin, "01900000-0000-7000-8000-000000000000", u.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("delete via another tenant: %v, want store.ErrNotFound", err)
		}
		if err := e.dir.DeleteUser(t.Context(), admin, tn, u.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := e.dir.GetUser(t.Context(), tn, u.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetUser after delete: %v", err)
		}
		if err := e.dir.DeleteUser(t.Context(), admin, tn, u.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("second delete: %v", err)
		}
		es := e.audit(t, tn)
		if last := es[len(es)-1]; last.Action != "user.delete" || last.TargetID != u.ID {
			t.Errorf("last audit entry %+v", last)
		}
	})
}
