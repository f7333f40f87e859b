package tracing

import "testing"

// TestStatementName: a span names the verb and first table, never a value.
func TestStatementName(t *testing.T) {
	for q, want := range map[string]string{
		"SELECT a, b FROM users WHERE email = 'x@y.z'":           "SELECT users",
		"INSERT INTO audit_entries (a) VALUES ($1)":              "INSERT audit_entries",
		"UPDATE custom_domains SET status = 'verified'":          "UPDATE custom_domains",
		"DELETE FROM tls_storage WHERE key LIKE $1":              "DELETE tls_storage",
		"  select x from (SELECT 1) sub":                         "SELECT ?",
		"SAVEPOINT gh_sp":                                        "SAVEPOINT",
		"":                                                       "sql",
		"SELECT 'secret@example.com'":                            "SELECT",
		"INSERT INTO tls_locks(name, expires_at) VALUES ($1,$2)": "INSERT tls_locks",
	} {
		if got := StatementName(q); got != want {
			t.Errorf("StatementName(%q) = %q, want %q", q, got, want)
		}
	}
}
