package userimport

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/credential"
	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/seal"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
)

var actor = events.Actor{Type: "test", ID: "test"}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

func mkTenant(t *testing.T, s store.Store) store.TenantID {
	t.Helper()
	id := newID()
	if err := s.Tenants().CreateTenant(t.Context(), &store.Tenant{ID: store.TenantID(id), Slug: "t-" + id, Name: "T"}); err != nil {
		t.Fatal(err)
	}
	return store.TenantID(id)
}

func newImporter(t *testing.T, s store.Store) *Importer {
	t.Helper()
	key, err := seal.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := seal.New(key, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &Importer{Store: s, Audit: &events.Recorder{Now: time.Now}, MFA: &mfa.Service{Store: s, Sealer: sealer, Now: nowFunc}}
}

var nowFunc = time.Now

// csvUsers answers a CSV of n users; every third is in group g1 and has
// role editor.
func csvUsers(n int) string {
	var sb strings.Builder
	sb.WriteString("external_id,email,email_verified,given_name,password_hash,groups,roles,created_at\n")
	for i := range n {
		groups, roles := "", ""
		if i%3 == 0 {
			groups, roles = "g1;g2", "editor"
		}
		fmt.Fprintf(&sb, "ext-%d,user%d@example.com,true,User %d,$2b$04$/07y/Eo4BSuNnA/K0VCzbuI0wn/Lhm1tArxLUFMtY.445Pjf6.6KK,%s,%s,2020-01-02T03:04:05Z\n",
			i, i, i, groups, roles)
	}
	return sb.String()
}

func mkRole(t *testing.T, s store.Store, tn store.TenantID, name string) {
	t.Helper()
	if err := s.Authz().Roles().CreateRole(t.Context(), &store.Role{ID: newID(), Tenant: tn, Name: name}); err != nil {
		t.Fatal(err)
	}
}

func source(t *testing.T, format, data string) Source {
	t.Helper()
	src, err := NewSource(format, strings.NewReader(data), Options{})
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// cancelAfter cancels its context once n records have been read.
type cancelAfter struct {
	Source
	n      int
	cancel func()
}

func (c *cancelAfter) Next() (Record, error) {
	if c.n--; c.n == 0 {
		c.cancel()
	}
	return c.Source.Next()
}

type tenantCounts struct{ users, members, assignments int64 }

func count(t *testing.T, s store.Store, tn store.TenantID) tenantCounts {
	t.Helper()
	n, err := s.Users().CountUsers(t.Context(), tn)
	if err != nil {
		t.Fatal(err)
	}
	c := tenantCounts{users: n}
	gs, err := s.Groups().ListGroups(t.Context(), tn, store.Page{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range gs {
		ms, err := s.Groups().ListMembers(t.Context(), tn, g.ID, store.Page{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		c.members += int64(len(ms))
	}
	as, err := s.Authz().Roles().ListAssignments(t.Context(), tn, store.AssignmentQuery{Page: store.Page{Limit: 1000}})
	if err != nil {
		t.Fatal(err)
	}
	c.assignments = int64(len(as))
	return c
}

// TestImportResumeAndIdempotence: an import cancelled half-way stops
// after a committed batch, --resume ends with exactly the right count,
// and a second run of the same file changes nothing.
func TestImportResumeAndIdempotence(t *testing.T) {
	sqltest.ForEachStore(t, func(t *testing.T, s store.Store) {
		tn := mkTenant(t, s)
		mkRole(t, s, tn, "editor")
		im := newImporter(t, s)
		im.Batch = 500
		data := csvUsers(1700)
		spec := Spec{Tenant: tn, Format: "csv", Digest: "d1"}

		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		job, err := im.Run(ctx, actor, spec, &cancelAfter{Source: source(t, "csv", data), n: 700, cancel: cancel}, nil)
		if !errors.Is(err, ErrInterrupted) {
			t.Fatalf("Run = %v, want ErrInterrupted", err)
		}
		// The batch in progress (records 501-1000) is committed.
		if job.Checkpoint != 1000 || job.Created != 1000 || job.Status != store.ImportStopped {
			t.Fatalf("interrupted job = %+v", job)
		}
		if c := count(t, s, tn); c.users != 1000 {
			t.Fatalf("users after interruption = %d, want 1000", c.users)
		}

		spec.Resume = true
		job, err = im.Run(t.Context(), actor, spec, source(t, "csv", data), nil)
		if err != nil || job.Created != 1700 || job.Checkpoint != 1700 || job.Status != store.ImportFinished || job.Failed != 0 {
			t.Fatalf("resumed = %+v, %v", job, err)
		}
		want := tenantCounts{users: 1700, members: 2 * 567, assignments: 567}
		if c := count(t, s, tn); c != want {
			t.Fatalf("after resume %+v, want %+v", c, want)
		}
		if _, err := im.Run(t.Context(), actor, spec, source(t, "csv", data), nil); !errors.Is(err, ErrNothingToResume) {
			t.Fatalf("resume of a finished import = %v", err)
		}

		u, err := s.Users().GetUserByEmail(t.Context(), tn, "user3@example.com")
		if err != nil {
			t.Fatal(err)
		}
		spec.Resume = false
		job, err = im.Run(t.Context(), actor, spec, source(t, "csv", data), nil)
		if err != nil || job.Created != 0 || job.Updated != 0 || job.Skipped != 1700 {
			t.Fatalf("second run = %+v, %v", job, err)
		}
		if c := count(t, s, tn); c != want {
			t.Fatalf("after a second run %+v, want %+v", c, want)
		}
		u2, err := s.Users().GetUserByEmail(t.Context(), tn, "user3@example.com")
		if err != nil || u2.Version != u.Version || u2.UpdatedAt != u.UpdatedAt {
			t.Fatalf("second run changed a user: %+v -> %+v", u, u2)
		}
		if u.GivenName != "User 3" || !u.EmailVerified || u.CreatedAt.Year() != 2020 || credential.Scheme(u.PasswordHash) != "bcrypt" {
			t.Errorf("imported user = %+v", u)
		}
		// update rewrites what changed and nothing else.
		changed := strings.Replace(data, "User 3,", "Renamed,", 1)
		spec.OnConflict = OnConflictUpdate
		job, err = im.Run(t.Context(), actor, spec, source(t, "csv", changed), nil)
		if err != nil || job.Updated != 1 || job.Skipped != 1699 {
			t.Fatalf("update run = %+v, %v", job, err)
		}
		spec.OnConflict = OnConflictFail
		if job, err = im.Run(t.Context(), actor, spec, source(t, "csv", data), nil); err == nil || job.Status != store.ImportFailed {
			t.Fatalf("fail run = %+v, %v", job, err)
		}
	})
}

// TestImportRejectsWithLines: bad records are reported with their line
// and the rest is imported.
func TestImportRejectsWithLines(t *testing.T) {
	sqltest.ForEachStore(t, func(t *testing.T, s store.Store) {
		tn := mkTenant(t, s)
		im := newImporter(t, s)
		data := "email,password_hash,roles,external_id\n" +
			"ok1@example.com,,,a\n" +
			"not-an-email,,,b\n" +
			"ok2@example.com,$6$rounds=999999999$s$x,,c\n" +
			"ok3@example.com,,nosuchrole,d\n" +
			"\"ok4@example.com\",plain,,e\n" +
			"ok5@example.com,,,f\n" +
			"OK5@example.com,,,g\n" +
			"ok6@example.com,,\n"
		job, err := im.Run(t.Context(), actor, Spec{Tenant: tn, Format: "csv", Digest: "x"}, source(t, "csv", data), nil)
		if err != nil {
			t.Fatal(err)
		}
		if job.Created != 2 || job.Failed != 6 {
			t.Fatalf("job = %+v", job)
		}
		var lines []int64
		for _, e := range job.Errors {
			lines = append(lines, e.Line)
		}
		if fmt.Sprint(lines) != "[9 3 4 5 6 8]" {
			t.Errorf("rejected lines %v (%+v)", lines, job.Errors)
		}
		got, err := s.Imports().GetImportJob(t.Context(), tn, job.ID)
		if err != nil || len(got.Errors) != 6 || got.Status != store.ImportFinished {
			t.Fatalf("stored job = %+v, %v", got, err)
		}
		// A dry run writes nothing.
		job, err = im.Run(t.Context(), actor, Spec{Tenant: tn, Format: "csv", Digest: "y", DryRun: true},
			source(t, "csv", "email\nnew@example.com\n"), nil)
		if err != nil || job.Created != 1 {
			t.Fatalf("dry run = %+v, %v", job, err)
		}
		if n, _ := s.Users().CountUsers(t.Context(), tn); n != 2 {
			t.Fatalf("dry run wrote: %d users", n)
		}
	})
}

func readFixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestVendorFixtures imports export files shaped as Auth0, Keycloak,
// Firebase and Cognito document them, and checks the fields that land.
func TestVendorFixtures(t *testing.T) {
	sqltest.ForEachStore(t, func(t *testing.T, s store.Store) {
		ctx := t.Context()
		tn := mkTenant(t, s)
		mkRole(t, s, tn, "editor")
		for _, name := range []string{"google-oauth2", "google", "google.com"} {
			if err := s.Connections().Connections().CreateConnection(ctx, &store.Connection{ID: newID(), Tenant: tn, Name: name, Type: "oidc"}); err != nil {
				t.Fatal(err)
			}
		}
		im := newImporter(t, s)
		run := func(format, file string, o Options) *store.ImportJob {
			t.Helper()
			src, err := NewSource(format, strings.NewReader(readFixture(t, file)), o)
			if err != nil {
				t.Fatal(err)
			}
			job, err := im.Run(ctx, actor, Spec{Tenant: tn, Format: format, Digest: file}, src, nil)
			if err != nil {
				t.Fatal(err)
			}
			return job
		}
		user := func(email string) *store.User {
			t.Helper()
			u, err := s.Users().GetUserByEmail(ctx, tn, email)
			if err != nil {
				t.Fatalf("%s: %v", email, err)
			}
			return u
		}
		idents := func(u *store.User) []string {
			t.Helper()
			is, err := s.Connections().Identities().ListUserIdentities(ctx, tn, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, i := range is {
				out = append(out, i.Subject)
			}
			return out
		}
		roles := func(u *store.User) int {
			as, err := s.Authz().Roles().ListAssignments(ctx, tn, store.AssignmentQuery{UserID: u.ID, Page: store.Page{Limit: 10}})
			if err != nil {
				t.Fatal(err)
			}
			return len(as)
		}

		if j := run("auth0", "auth0.ndjson", Options{}); j.Created != 3 || j.Failed != 0 {
			t.Fatalf("auth0 job %+v", j)
		}
		ann := user("ann@example.com")
		if ann.GivenName != "Ann" || !ann.EmailVerified || ann.LastLoginAt == nil || ann.LastLoginAt.Year() != 2023 ||
			ann.CreatedAt.Year() != 2020 || roles(ann) != 1 || !strings.Contains(strings.ReplaceAll(string(ann.Attributes), " ", ""), `"plan":"gold"`) {
			t.Errorf("auth0 ann = %+v", ann)
		}
		if bob := user("bob@example.com"); credential.Scheme(bob.PasswordHash) != "bcrypt" || bob.EmailVerified {
			t.Errorf("auth0 bob = %+v", bob)
		}
		if got := idents(user("cat@example.com")); fmt.Sprint(got) != "[109876543210]" {
			t.Errorf("auth0 cat identities %v", got)
		}

		if j := run("keycloak", "keycloak-realm.json", Options{}); j.Created != 2 || j.Failed != 0 {
			t.Fatalf("keycloak job %+v", j)
		}
		kate := user("kate@example.com")
		if kate.Username != "kate" || kate.FamilyName != "Keycloak" || credential.Scheme(kate.PasswordHash) != "pbkdf2-sha256" ||
			kate.CreatedAt.Year() != 2020 || roles(kate) != 1 || fmt.Sprint(idents(kate)) != "[g-777]" {
			t.Errorf("keycloak kate = %+v", kate)
		}
		h := newHasher(t)
		if ok, _, err := h.Verify(kate.PasswordHash, "kc-password-1"); !ok || err != nil {
			t.Errorf("kate's Keycloak hash does not verify: %v", err)
		}
		ken := user("ken@example.com")
		if ok, _, err := h.Verify(ken.PasswordHash, "kc-password-2"); !ok || err != nil || ken.Status != store.UserDisabled {
			t.Errorf("ken = %+v (verify %v)", ken, err)
		}
		fs, err := s.MFA().Factors().ListFactors(ctx, tn, kate.ID)
		if err != nil || len(fs) != 1 || fs[0].Kind != store.FactorTOTP || !fs[0].Confirmed ||
			strings.Contains(string(fs[0].Secret), "L0ngS3cret") {
			t.Errorf("kate's factors %+v, %v", fs, err)
		}
		gs, err := s.Groups().UserGroups(ctx, tn, kate.ID, false)
		if err != nil || len(gs) != 1 || gs[0].Name != "admins" {
			t.Errorf("kate's groups %+v, %v", gs, err)
		}

		fb := Options{Firebase: FirebaseParams{SignerKey: "jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA==",
			SaltSeparator: "Bw==", Rounds: 8, MemCost: 14}}
		if j := run("firebase", "firebase.json", fb); j.Created != 2 || j.Failed != 0 {
			t.Fatalf("firebase job %+v", j)
		}
		u1 := user("user1@example.com")
		if ok, _, err := h.Verify(u1.PasswordHash, "user1password"); !ok || err != nil {
			t.Errorf("firebase user1 hash %q: %v", u1.PasswordHash, err)
		}
		if u1.Phone != "+15555550100" || !u1.EmailVerified || u1.LastLoginAt == nil || u1.CreatedAt.Year() != 2020 ||
			fmt.Sprint(idents(u1)) != "[1098765]" || !strings.Contains(string(u1.Attributes), "User One") {
			t.Errorf("firebase user1 = %+v", u1)
		}
		if u2 := user("user2@example.com"); u2.Status != store.UserDisabled || u2.PasswordHash != "" {
			t.Errorf("firebase user2 = %+v", u2)
		}

		j := run("cognito", "cognito.csv", Options{})
		if j.Created != 1 || j.Failed != 1 || j.Errors[0].Line != 3 {
			t.Fatalf("cognito job %+v", j)
		}
		dana := user("dana@example.com")
		if dana.Username != "dana" || dana.Locale != "en-GB" || dana.PasswordHash != "" || !strings.Contains(string(dana.Attributes), "1990-01-02") {
			t.Errorf("cognito dana = %+v", dana)
		}
	})
}

func newHasher(t *testing.T) *credential.Hasher {
	h, err := credential.NewHasher(credential.Params{MemoryKiB: 1024, Iterations: 1, Parallelism: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestExportRoundTrip: what export writes, import takes back unchanged.
func TestExportRoundTrip(t *testing.T) {
	sqltest.ForEachStore(t, func(t *testing.T, s store.Store) {
		tn := mkTenant(t, s)
		mkRole(t, s, tn, "editor")
		im := newImporter(t, s)
		if _, err := im.Run(t.Context(), actor, Spec{Tenant: tn, Format: "csv", Digest: "a"}, source(t, "csv", csvUsers(30)), nil); err != nil {
			t.Fatal(err)
		}
		ex := &Exporter{Store: s, Audit: &events.Recorder{Now: time.Now}}
		for _, format := range []string{"jsonl", "csv"} {
			var sb strings.Builder
			n, err := ex.Export(t.Context(), actor, tn, format, true, &sb)
			if err != nil || n != 30 {
				t.Fatalf("export %s: %d, %v", format, n, err)
			}
			if !strings.Contains(sb.String(), "$2b$04$") || !strings.Contains(sb.String(), "ext-29") {
				t.Fatalf("export %s lacks hashes or external ids:\n%.400s", format, sb.String())
			}
			tn2 := mkTenant(t, s)
			mkRole(t, s, tn2, "editor")
			job, err := im.Run(t.Context(), actor, Spec{Tenant: tn2, Format: format, Digest: "b"}, source(t, format, sb.String()), nil)
			if err != nil || job.Created != 30 || job.Failed != 0 {
				t.Fatalf("re-import %s = %+v, %v", format, job, err)
			}
			if a, b := count(t, s, tn), count(t, s, tn2); a != b {
				t.Errorf("%s round trip: %+v vs %+v", format, a, b)
			}
			sb.Reset()
			if _, err := ex.Export(t.Context(), actor, tn, format, false, &sb); err != nil || strings.Contains(sb.String(), "$2b$") {
				t.Errorf("export without --include-hashes wrote hashes (%v)", err)
			}
		}
		var line map[string]any
		var sb strings.Builder
		if _, err := ex.Export(t.Context(), actor, tn, "jsonl", false, &sb); err != nil {
			t.Fatal(err)
		}
		first, _, _ := strings.Cut(sb.String(), "\n")
		if err := json.Unmarshal([]byte(first), &line); err != nil || line["email"] == nil {
			t.Errorf("jsonl line %q: %v", first, err)
		}
	})
}

var _ = io.EOF
