package sqlstore

import (
	"context"
	"slices"
)

// PendingMigration is a migration this binary carries that the database
// has not applied yet.
type PendingMigration struct {
	Version int
	Name    string
}

// SchemaVersion answers the newest migration version this binary carries
// for the dialect ("sqlite" or "postgres"): the schema it expects. A node
// reports it on /readyz so a rolling upgrade shows which nodes run which
// release.
func SchemaVersion(dialect string) int {
	ms, err := migrations(dialect)
	if err != nil || len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].version
}

// Plan opens the database without migrating it and answers the migrations
// Migrate would apply, in order, and the newest version applied (0 on an
// empty database). It changes nothing (`gatehouse migrate --plan`).
func Plan(ctx context.Context, driver, dsn string) ([]PendingMigration, int, error) {
	d, err := openPool(ctx, driver, dsn, Options{MaxOpenConns: 1})
	if err != nil {
		return nil, 0, err
	}
	defer d.sql.Close()
	ms, err := migrations(d.d.name)
	if err != nil {
		return nil, 0, err
	}
	done, err := d.appliedIfAny(ctx)
	if err != nil {
		return nil, 0, err
	}
	var pending []PendingMigration
	for _, m := range ms {
		if !slices.Contains(done, m.version) {
			pending = append(pending, PendingMigration{Version: m.version, Name: m.name})
		}
	}
	current := 0
	if n := len(done); n > 0 {
		current = done[n-1]
	}
	return pending, current, nil
}

// appliedIfAny is AppliedMigrations, answering none when the bookkeeping
// table does not exist yet (a database never migrated).
func (d *DB) appliedIfAny(ctx context.Context) ([]int, error) {
	q := `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`
	if d.d.postgres {
		q = `SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'schema_migrations'`
	}
	var n int
	if err := d.sql.QueryRowContext(ctx, q).Scan(&n); err != nil {
		return nil, wrapErr("migrate: plan", err)
	}
	if n == 0 {
		return nil, nil
	}
	return appliedVersions(ctx, d.sql)
}
