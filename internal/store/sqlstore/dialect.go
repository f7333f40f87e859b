package sqlstore

// dialect holds what differs between the backends. Whole statements that
// differ live in the files that use them, one constant per dialect; the
// fragments here are only the row-locking clauses that PostgreSQL needs and
// SQLite has no syntax for (its BEGIN IMMEDIATE already serialises writers).
type dialect struct {
	name     string
	postgres bool
	// forUpdate locks a row read for rewriting until the transaction ends.
	forUpdate string
	// forShare keeps a parent row (a tenant) from being deleted until the
	// transaction ends.
	forShare string
}

var (
	sqliteDialect   = &dialect{name: "sqlite"}
	postgresDialect = &dialect{name: "postgres", postgres: true, forUpdate: " FOR UPDATE", forShare: " FOR SHARE"}
)
