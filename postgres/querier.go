package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/quartermaster/qm/sqlstore"
)

// pgRunner is what pools, connections and transactions have in common.
type pgRunner interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// querier adapts pgx to sqlstore.Querier, and turns PostgreSQL's errors into
// sqlstore's.
type querier struct{ db pgRunner }

var _ sqlstore.Querier = querier{}

func (q querier) Exec(ctx context.Context, sql string, args ...any) (int64, error) {
	tag, err := q.db.Exec(ctx, sql, args...)
	if err != nil {
		return 0, mapError(err)
	}
	return tag.RowsAffected(), nil
}

func (q querier) Query(ctx context.Context, sql string, args ...any) (sqlstore.Rows, error) {
	rows, err := q.db.Query(ctx, sql, args...)
	if err != nil {
		return nil, mapError(err)
	}
	return pgRows{Rows: rows}, nil
}

func (q querier) QueryRow(ctx context.Context, sql string, args ...any) sqlstore.Row {
	return pgRow{q.db.QueryRow(ctx, sql, args...)}
}

type pgRow struct{ pgx.Row }

func (r pgRow) Scan(dest ...any) error {
	return mapError(r.Row.Scan(dest...))
}

// pgRows adapts pgx.Rows; done, when set, runs after the rows are closed.
type pgRows struct {
	pgx.Rows
	done func()
}

func (r pgRows) Close() {
	r.Rows.Close()
	if r.done != nil {
		r.done()
	}
}

func (r pgRows) Scan(dest ...any) error { return mapError(r.Rows.Scan(dest...)) }

func (r pgRows) Err() error { return mapError(r.Rows.Err()) }

// PostgreSQL error codes the stores care about.
const (
	codeUniqueViolation     = "23505"
	codeForeignKeyViolation = "23503"
	codeCheckViolation      = "23514"
	codeNotNullViolation    = "23502"
	codeDuplicateObject     = "42710"
	codeDuplicateSchema     = "42P06"
	codeDuplicateDatabase   = "42P04"
)

func mapError(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return sqlstore.ErrNoRows
	}
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return err
	}
	switch pe.Code {
	case codeUniqueViolation:
		return &sqlstore.ConstraintError{Kind: sqlstore.Unique, Err: err}
	case codeForeignKeyViolation:
		return &sqlstore.ConstraintError{Kind: sqlstore.ForeignKey, Err: err}
	case codeCheckViolation, codeNotNullViolation:
		return &sqlstore.ConstraintError{Kind: sqlstore.Check, Err: err}
	}
	return err
}

// pgCode returns the SQLSTATE of a PostgreSQL error, "" for other errors.
func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}
