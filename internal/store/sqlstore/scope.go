package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// querier is what statements run on: the pool or one transaction.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	PrepareContext(ctx context.Context, query string) (*sql.Stmt, error)
}

// scope binds the repos to where their statements run. The DB's scope runs
// on the pool and gives every write its own transaction; the scope handed
// to InTx's fn runs everything on that one transaction.
type scope struct {
	db *DB
	q  querier
	tx *sql.Tx // set inside InTx
	// pending collects, inside InTx, the changes to tell this node's
	// caches of once the transaction commits (changes.go).
	pending *[]store.Change
}

var _ store.Repos = (*scope)(nil)

func (s *scope) Tenants() store.Tenants         { return tenantRepo{s} }
func (s *scope) Users() store.Users             { return userRepo{s} }
func (s *scope) Groups() store.Groups           { return groupRepo{s} }
func (s *scope) APIKeys() store.APIKeys         { return apiKeyRepo{s} }
func (s *scope) Audit() store.AuditLog          { return auditRepo{s} }
func (s *scope) SigningKeys() store.SigningKeys { return signingKeyRepo{s} }
func (s *scope) Directory() store.DirSearch     { return dirSearchRepo{s} }
func (s *scope) TenantData() store.TenantData   { return tenantDataRepo{s} }

// write runs fn atomically. Outside InTx it opens a transaction. Inside
// InTx it reuses the caller's transaction under a savepoint, so a failed
// call leaves nothing behind and does not poison the caller's transaction
// (PostgreSQL refuses every statement after an error until a rollback);
// the caller may handle, say, an ErrConflict and carry on.
func (s *scope) write(ctx context.Context, fn func(q querier) error) error {
	if s.tx == nil {
		var changes []store.Change
		err := s.db.runTx(ctx, func(tx *sql.Tx) error {
			changes = changes[:0]
			return fn(writeQ{traced(s.db.wrap(tx, tx)), s.db, func(c store.Change) { changes = append(changes, c) }})
		})
		if err == nil {
			for _, c := range changes {
				s.db.publish(c)
			}
		}
		return err
	}
	// Repos never nest write calls, so one savepoint name suffices.
	if _, err := s.tx.ExecContext(ctx, "SAVEPOINT gh_sp"); err != nil {
		return wrapErr("savepoint", err)
	}
	done := false
	defer func() {
		if !done { // fn panicked; InTx rolls the whole transaction back
			_, _ = s.tx.ExecContext(context.WithoutCancel(ctx), "ROLLBACK TO SAVEPOINT gh_sp")
		}
	}()
	// The write's changes reach the caller's only if its savepoint holds.
	var changes []store.Change
	err := fn(writeQ{s.q, s.db, func(c store.Change) { changes = append(changes, c) }}) // the transaction, through the statement cache
	done = true
	if err != nil {
		if _, rerr := s.tx.ExecContext(context.WithoutCancel(ctx), "ROLLBACK TO SAVEPOINT gh_sp"); rerr != nil {
			return errors.Join(err, wrapErr("rollback to savepoint", rerr))
		}
		return err // unchanged: update closures' errors pass through
	}
	if _, err := s.tx.ExecContext(ctx, "RELEASE SAVEPOINT gh_sp"); err != nil {
		return wrapErr("release savepoint", err)
	}
	for _, c := range changes {
		s.committed(c)
	}
	return nil
}

// single runs a one-statement write: directly on the pool (a statement is
// atomic by itself), or under a savepoint inside InTx so a constraint
// violation does not poison the caller's transaction.
func (s *scope) single(ctx context.Context, fn func(q querier) error) error {
	if s.tx == nil {
		return fn(writeQ{s.q, s.db, nil}) // each statement commits as it returns
	}
	return s.write(ctx, fn)
}

// writeQ is the querier of a write: besides the statements, it takes the
// changes the write makes to what nodes keep in memory (a revocation,
// revmemory.go), NOTIFYs them on PostgreSQL with the write, and hands
// them to committed, which tells this node's memory once the write has
// committed.
type writeQ struct {
	querier
	db        *DB
	committed func(store.Change)
}

// changed records c in the write (see writeQ). Outside a transaction
// (single's statements commit one by one) it refuses: the change's NOTIFY
// would commit apart from the write it announces, and a failure between
// the two would leave the write unannounced for good.
func (w writeQ) changed(ctx context.Context, c store.Change) error {
	if w.committed == nil {
		return errors.New("sqlstore: a change to announce needs a transaction (scope.write)")
	}
	if w.db.feed.channel != "" {
		_, err := w.ExecContext(ctx, `SELECT pg_notify($1, $2)`, w.db.feed.channel, c.Kind+"\t"+string(c.Tenant)+"\t"+c.ID)
		if err != nil {
			return wrapErr("notify "+c.Kind, err)
		}
	}
	w.committed(c)
	return nil
}

// forUpdate is appended to a SELECT of a row the transaction will rewrite.
func (s *scope) forUpdate() string { return s.db.d.forUpdate }
