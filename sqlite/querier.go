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

// keep prepares query on db and caches it, unless it is cached or the cache
// is full. A failure to prepare is left for the query's next use to report.
func (c *stmtCache) keep(ctx context.Context, db *sql.DB, query string) {
	c.mu.RLock()
	_, ok := c.stmts[query]
	full := len(c.stmts) >= maxStmts
	c.mu.RUnlock()
	if ok || full {
		return
	}
	st, err := db.PrepareContext(ctx, query)
	if err != nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.stmts[query]; ok || len(c.stmts) >= maxStmts {
		st.Close()
		return
	}
	c.stmts[query] = st
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
	sqlstore.Binding
}

// AssetsMatching implements sqlstore.Conn with the FTS5 trigram index of
// migration 0014: a phrase of text's trigrams, which matches where text is
// a substring of one column. CROSS JOIN keeps SQLite from reading every
// asset in the order of a sort instead, lacking the statistics to know
// better. Trigrams need three characters.
func (c conn) AssetsMatching(_ context.Context, text string) (string, any, bool, error) {
	if utf8.RuneCountInString(text) < 3 {
		return "", nil, false, nil
	}
	phrase := `"` + strings.ReplaceAll(text, `"`, `""`) + `"`
	return `(SELECT r.asset_id FROM asset_search JOIN asset_search_rows r ON r.rowid = asset_search.rowid
			WHERE asset_search MATCH %[1]s AND r.tenant_id = $1) AS hits
		CROSS JOIN assets ON assets.tenant_id = $1 AND assets.id = hits.asset_id`, phrase, true, nil
}

// InsertRows implements sqlstore.Conn: rowsPerInsert rows to a statement
// (rowsPerUpsert with a conflict clause), prepared once. A statement costs
// SQLite no round trip, but running one costs more than a row does; and a
// statement that fires the asset search triggers makes FTS5 write its
// pending entries out as a new segment, to be merged later, at its end: a
// row a statement made that cost for each asset imported. The statement
// journal a statement of several rows needs is kept in memory (the
// writer's temp_store).
func (c conn) InsertRows(ctx context.Context, rows sqlstore.RowSet, conflict string) (int64, error) {
	per := rowsPerInsert
	if conflict != "" {
		per = rowsPerUpsert
	}
	var n int64
	err := c.insert(rows, conflict, per, func(query string, args []any) error {
		k, err := c.Exec(ctx, query, args...)
		n += k
		return err
	})
	return n, err
}

// InsertRowsReturning implements sqlstore.Conn, rowsPerUpsert to a statement
// as InsertRows does with a conflict clause.
func (c conn) InsertRowsReturning(ctx context.Context, rows sqlstore.RowSet, conflict, returning string, fn func(sqlstore.Row) error) error {
	return c.insert(rows, conflict+" RETURNING "+returning, rowsPerUpsert, func(query string, args []any) error {
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
			args = append(append(args, c.TenantID()), values...)
		}
		if err := run(query, args); err != nil {
			return err
		}
	}
	return nil
}

// rowsPerInsert and rowsPerUpsert are how many rows InsertRows puts in a
// statement without a conflict clause and with one. More would pass
// SQLite's bound on a statement's parameters (32,766) for a wide table.
const (
	rowsPerInsert = 200
	rowsPerUpsert = 50
)

// QueryRows implements sqlstore.Conn: the query once for each row, bound to
// the row's values, queryRows rows to a statement joined by UNION ALL. A
// lookup by key costs SQLite a few microseconds; database/sql and the
// driver cost more than that for each statement, so one statement per row
// cost a group commit of 1,000 devices more than storing their points.
func (c conn) QueryRows(ctx context.Context, query string, rows sqlstore.RowSet, fn func(sqlstore.Row) error, args ...any) error {
	width := len(rows.Columns)
	statement := func(n int) string {
		terms := make([]string, n)
		params := make([]any, width)
		for j := range terms {
			for i := range params {
				params[i] = fmt.Sprintf("$%d", len(args)+j*width+i+1)
			}
			terms[j] = "SELECT * FROM (" + fmt.Sprintf(query, params...) + ")"
		}
		return strings.Join(terms, " UNION ALL ")
	}
	full := statement(queryRows)
	all := append(slices.Clip(args), make([]any, 0, queryRows*width)...)
	for start := 0; start < len(rows.Rows); start += queryRows {
		part := rows.Rows[start:min(start+queryRows, len(rows.Rows))]
		q := full
		if len(part) < queryRows {
			q = statement(len(part))
		}
		all = all[:len(args)]
		for _, row := range part {
			all = append(all, row...)
		}
		if err := sqlstore.Each(ctx, c, fn, q, all...); err != nil {
			return err
		}
	}
	return nil
}

// queryRows is how many rows QueryRows puts in a statement (the import
// looks tags up 100 at a time).
const queryRows = 100

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
