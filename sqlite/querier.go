package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/quartermaster/qm/sqlstore"
)

// sqlRunner is what *sql.DB, *sql.Tx and *sql.Stmt's callers need.
type sqlRunner interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// querier adapts database/sql to sqlstore.Querier, and turns SQLite's
// errors into sqlstore's. Statements with arguments are prepared once per
// pool and kept (SQLite spends more time parsing a short query than running
// it); statements without, such as migrations, which may hold several, run
// as they are.
type querier struct {
	db    *sql.DB
	tx    *sql.Tx // set inside a transaction on db
	stmts *stmtCache
	// txStmts are the statements prepared on tx, kept for its length.
	txStmts map[string]*sql.Stmt
}

var _ sqlstore.Querier = querier{}

// prepared returns the statement for query, inside the transaction if any.
// A transaction holds the writer's only connection, so a statement not yet
// cached is prepared on the transaction alone, never on the pool.
func (q querier) prepared(ctx context.Context, query string) (*sql.Stmt, error) {
	if q.tx == nil {
		return q.stmts.get(ctx, q.db, query)
	}
	if st, ok := q.txStmts[query]; ok {
		return st, nil
	}
	var st *sql.Stmt
	if cached, ok := q.stmts.lookup(query); ok {
		st = q.tx.StmtContext(ctx, cached)
	} else {
		var err error
		if st, err = q.tx.PrepareContext(ctx, query); err != nil {
			return nil, err
		}
	}
	if len(q.txStmts) < maxStmts {
		q.txStmts[query] = st // closed with the transaction
	}
	return st, nil
}

func (q querier) runner() sqlRunner {
	if q.tx != nil {
		return q.tx
	}
	return q.db
}

func (q querier) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	var res sql.Result
	var err error
	if len(args) == 0 {
		res, err = q.runner().ExecContext(ctx, query)
	} else {
		var st *sql.Stmt
		if st, err = q.prepared(ctx, query); err == nil {
			res, err = st.ExecContext(ctx, args...)
		}
	}
	if err != nil {
		return 0, mapError(err)
	}
	return res.RowsAffected()
}

func (q querier) Query(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	var rows *sql.Rows
	var err error
	if len(args) == 0 {
		rows, err = q.runner().QueryContext(ctx, query)
	} else {
		var st *sql.Stmt
		if st, err = q.prepared(ctx, query); err == nil {
			rows, err = st.QueryContext(ctx, args...)
		}
	}
	if err != nil {
		return nil, mapError(err)
	}
	return sqlRows{rows}, nil
}

func (q querier) QueryRow(ctx context.Context, query string, args ...any) sqlstore.Row {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return errRow{err}
	}
	return firstRow{rows.(sqlRows).Rows}
}

// firstRow scans the first row of rows and closes them, as *sql.Row does.
type firstRow struct{ rows *sql.Rows }

func (r firstRow) Scan(dest ...any) error {
	defer r.rows.Close()
	if !r.rows.Next() {
		if err := r.rows.Err(); err != nil {
			return mapError(err)
		}
		return sqlstore.ErrNoRows
	}
	if err := r.rows.Scan(dest...); err != nil {
		return mapError(err)
	}
	return mapError(r.rows.Close())
}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// stmtCache keeps the prepared statements of one pool.
type stmtCache struct {
	mu    sync.RWMutex
	stmts map[string]*sql.Stmt
}

// maxStmts bounds the cache: queries come from the code, so a few hundred
// at most; past the bound statements are prepared each time.
const maxStmts = 2000

func newStmtCache() *stmtCache { return &stmtCache{stmts: map[string]*sql.Stmt{}} }

func (c *stmtCache) lookup(query string) (*sql.Stmt, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	st, ok := c.stmts[query]
	return st, ok
}

func (c *stmtCache) get(ctx context.Context, db *sql.DB, query string) (*sql.Stmt, error) {
	if st, ok := c.lookup(query); ok {
		return st, nil
	}
	st, err := db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if prev, ok := c.stmts[query]; ok {
		st.Close()
		return prev, nil
	}
	if len(c.stmts) < maxStmts {
		c.stmts[query] = st
	}
	return st, nil
}

// close closes every statement.
func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for q, st := range c.stmts {
		st.Close()
		delete(c.stmts, q)
	}
}

type sqlRows struct{ *sql.Rows }

func (r sqlRows) Close() { r.Rows.Close() }

// conn is a querier bound to one tenant.
type conn struct {
	sqlstore.Querier
	tenantID string
}

func (c conn) TenantID() string { return c.tenantID }

// AssetsMatching implements sqlstore.Conn with the FTS5 trigram index of
// migration 0014: a phrase of text's trigrams, which matches where text is
// a substring of one column. CROSS JOIN keeps SQLite from reading every
// asset in the order of a sort instead, lacking the statistics to know
// better. Trigrams need three characters.
func (c conn) AssetsMatching(text string) (string, any, bool) {
	if utf8.RuneCountInString(text) < 3 {
		return "", nil, false
	}
	phrase := `"` + strings.ReplaceAll(text, `"`, `""`) + `"`
	return `(SELECT r.asset_id FROM asset_search JOIN asset_search_rows r ON r.rowid = asset_search.rowid
			WHERE asset_search MATCH $%[1]d AND r.tenant_id = $1) AS hits
		CROSS JOIN assets ON assets.tenant_id = $1 AND assets.id = hits.asset_id`, phrase, true
}

// InsertRows implements sqlstore.Conn. A statement costs SQLite no round
// trip, and a one-row INSERT … VALUES needs no statement journal, which
// SQLite writes for a statement of several rows: so each row is a
// statement of its own, prepared once. With a conflict clause SQLite
// journals the statement whatever its rows, so then they go upsertRows to
// a statement, which journals a page once for all of them.
func (c conn) InsertRows(ctx context.Context, rows sqlstore.RowSet, conflict string) (int64, error) {
	per := 1
	if conflict != "" {
		per = upsertRows
	}
	var n int64
	err := c.insert(rows, conflict, per, func(query string, args []any) error {
		k, err := c.Exec(ctx, query, args...)
		n += k
		return err
	})
	return n, err
}

// InsertRowsReturning implements sqlstore.Conn, upsertRows to a statement
// as InsertRows does with a conflict clause.
func (c conn) InsertRowsReturning(ctx context.Context, rows sqlstore.RowSet, conflict, returning string, fn func(sqlstore.Row) error) error {
	return c.insert(rows, conflict+" RETURNING "+returning, upsertRows, func(query string, args []any) error {
		return sqlstore.Each(ctx, c, fn, query, args...)
	})
}

// insert runs INSERT statements of per rows each, but for a shorter last
// one, ending in tail, for the tenant the connection is bound to. The
// parameters are anonymous: the driver would look a numbered one's name up
// for every value it binds.
func (c conn) insert(rows sqlstore.RowSet, tail string, per int, run func(query string, args []any) error) error {
	row := "(?" + strings.Repeat(", ?", len(rows.Columns)) + ")"
	statement := func(n int) string {
		return fmt.Sprintf("INSERT INTO %s (tenant_id, %s) VALUES %s%s %s",
			rows.Table, strings.Join(rows.Columns, ", "), row, strings.Repeat(", "+row, n-1), tail)
	}
	full := statement(per)
	args := make([]any, 0, per*(1+len(rows.Columns)))
	for start := 0; start < len(rows.Rows); start += per {
		part := rows.Rows[start:min(start+per, len(rows.Rows))]
		query := full
		if len(part) < per {
			query = statement(len(part))
		}
		args = args[:0]
		for _, values := range part {
			args = append(append(args, c.tenantID), values...)
		}
		if err := run(query, args); err != nil {
			return err
		}
	}
	return nil
}

// upsertRows is how many rows InsertRows puts in a statement with a
// conflict clause.
const upsertRows = 50

// QueryRows implements sqlstore.Conn, running the query once for each row,
// whose values it binds as parameters, as InsertRows does.
func (c conn) QueryRows(ctx context.Context, query string, rows sqlstore.RowSet, fn func(sqlstore.Row) error, args ...any) error {
	params := make([]any, len(rows.Columns))
	for i := range params {
		params[i] = fmt.Sprintf("$%d", len(args)+i+1)
	}
	query = fmt.Sprintf(query, params...)
	all := append(slices.Clip(args), make([]any, len(rows.Columns))...)
	for _, row := range rows.Rows {
		copy(all[len(args):], row)
		if err := sqlstore.Each(ctx, c, fn, query, all...); err != nil {
			return err
		}
	}
	return nil
}

func mapError(err error) error {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return err
	}
	switch se.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return &sqlstore.ConstraintError{Kind: sqlstore.Unique, Err: err}
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return &sqlstore.ConstraintError{Kind: sqlstore.ForeignKey, Err: err}
	case sqlite3.SQLITE_CONSTRAINT_CHECK, sqlite3.SQLITE_CONSTRAINT_NOTNULL:
		return &sqlstore.ConstraintError{Kind: sqlstore.Check, Err: err}
	}
	return err
}
