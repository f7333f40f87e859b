package sqlstore

import (
	"context"
	"database/sql"

	"go.opentelemetry.io/otel/attribute"

	"github.com/gatehouse-id/gatehouse/internal/tracing"
)

// tracedQ opens a span per statement, named by its verb and first table
// (tracing.StatementName), never with its arguments. With no tracer
// provider set it only passes the call on.
type tracedQ struct{ q querier }

func traced(q querier) querier { return tracedQ{q} }

var dbSystem = attribute.String("db.system", "sql")

func (t tracedQ) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if !tracing.Enabled() {
		return t.q.ExecContext(ctx, query, args...)
	}
	ctx, span := tracing.Start(ctx, "db "+tracing.StatementName(query), dbSystem)
	res, err := t.q.ExecContext(ctx, query, args...)
	tracing.End(span, err)
	return res, err
}

func (t tracedQ) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if !tracing.Enabled() {
		return t.q.QueryContext(ctx, query, args...)
	}
	ctx, span := tracing.Start(ctx, "db "+tracing.StatementName(query), dbSystem)
	rows, err := t.q.QueryContext(ctx, query, args...)
	tracing.End(span, err)
	return rows, err
}

func (t tracedQ) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if !tracing.Enabled() {
		return t.q.QueryRowContext(ctx, query, args...)
	}
	ctx, span := tracing.Start(ctx, "db "+tracing.StatementName(query), dbSystem)
	row := t.q.QueryRowContext(ctx, query, args...)
	tracing.End(span, row.Err())
	return row
}

func (t tracedQ) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	return t.q.PrepareContext(ctx, query)
}
