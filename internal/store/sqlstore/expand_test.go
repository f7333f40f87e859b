package sqlstore

import (
	"regexp"
	"strings"
	"testing"
)

// contractSteps lists the migrations allowed to remove or rename what an
// earlier release reads or writes: each is a contract step, shipped one
// release after the code stopped using the thing it removes (docs/
// ARCHITECTURE.md, "Upgrades without downtime"). The key is the file name
// (either dialect), the value says what the previous release no longer uses.
var contractSteps = map[string]string{
	// SQLite cannot add an AUTOINCREMENT column in place: the table is
	// copied into a new one with every column, index and name it had, plus
	// seq, in one migration transaction. Nothing the previous release reads
	// or writes goes away, and a SQLite file serves one node, which runs
	// one release at a time.
	"0057_token_revocations_seq.sql": "nothing: the SQLite table is rebuilt with all its columns and indexes, plus seq",
}

// breaking matches the statements that break the previous release's
// queries while both releases run on one database during a rolling
// upgrade: dropping or renaming a table, column, view or type, changing a
// column's type, making an existing column NOT NULL, and adding a NOT NULL
// column without a default (the previous release's INSERTs do not name it).
var breaking = []struct {
	re   *regexp.Regexp
	what string
}{
	{regexp.MustCompile(`(?is)\bDROP\s+(TABLE|COLUMN|VIEW|TYPE|SCHEMA)\b`), "drops a table, column, view or type"},
	{regexp.MustCompile(`(?is)\bALTER\s+TABLE\s+\S+\s+DROP\b`), "drops a column or constraint"},
	{regexp.MustCompile(`(?is)\bRENAME\b`), "renames"},
	{regexp.MustCompile(`(?is)\bALTER\s+COLUMN\s+\S+\s+(SET\s+DATA\s+)?TYPE\b`), "changes a column's type"},
	{regexp.MustCompile(`(?is)\bALTER\s+COLUMN\s+\S+\s+SET\s+NOT\s+NULL\b`), "makes an existing column NOT NULL"},
}

// addNotNull finds ADD COLUMN clauses; one that is NOT NULL must carry a
// DEFAULT, or an INSERT of the previous release fails.
var addNotNull = regexp.MustCompile(`(?is)\bADD\s+COLUMN\s+[^,;]*`)

// sqlComments strips -- comments so a comment naming DROP does not count.
var sqlComments = regexp.MustCompile(`--[^\n]*`)

// TestMigrationsExpandOnly: every migration of both dialects only expands
// the schema unless it is a listed contract step, so release N and N+1 run
// side by side on one database during a rolling upgrade.
func TestMigrationsExpandOnly(t *testing.T) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		ms, err := migrations(dialect)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			if _, ok := contractSteps[m.name]; ok {
				continue
			}
			for _, problem := range expandProblems(m.sql) {
				t.Errorf("%s/%s %s: a rolling upgrade breaks the previous release; make it a contract step of a later release (contractSteps)", dialect, m.name, problem)
			}
		}
	}
}

// expandProblems answers what in body breaks the previous release.
func expandProblems(body string) []string {
	body = sqlComments.ReplaceAllString(body, "")
	var out []string
	for _, b := range breaking {
		if b.re.MatchString(body) {
			out = append(out, b.what)
		}
	}
	for _, add := range addNotNull.FindAllString(body, -1) {
		u := strings.ToUpper(add)
		if strings.Contains(u, "NOT NULL") && !strings.Contains(u, "DEFAULT") && !strings.Contains(u, "GENERATED") {
			out = append(out, "adds a NOT NULL column without a default")
		}
	}
	return out
}

// TestExpandProblems: the check itself tells additive from breaking SQL.
func TestExpandProblems(t *testing.T) {
	for sql, want := range map[string]int{
		`CREATE TABLE x (id TEXT PRIMARY KEY); CREATE INDEX x_i ON x (id);`: 0,
		`ALTER TABLE users ADD COLUMN region TEXT NOT NULL DEFAULT '';`:     0,
		`ALTER TABLE users ADD COLUMN nick TEXT;`:                           0,
		"-- we never DROP TABLE here\nCREATE TABLE y (a INT);":              0,
		`DROP TABLE users;`:                                                           1,
		`ALTER TABLE users DROP COLUMN email;`:                                        2,
		`ALTER TABLE users RENAME COLUMN email TO mail;`:                              1,
		`ALTER TABLE users RENAME TO people;`:                                         1,
		`ALTER TABLE users ALTER COLUMN email TYPE BYTEA;`:                            1,
		`ALTER TABLE users ALTER COLUMN nick SET NOT NULL;`:                           1,
		`ALTER TABLE users ADD COLUMN region TEXT NOT NULL;`:                          1,
		`ALTER TABLE users ADD COLUMN a INT, ADD COLUMN b TEXT NOT NULL DEFAULT 'x';`: 0,
	} {
		if got := expandProblems(sql); len(got) != want {
			t.Errorf("%q: %d problems %q, want %d", sql, len(got), got, want)
		}
	}
}
