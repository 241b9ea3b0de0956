package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"runtime"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/quartermaster/qm/sqlstore"
)

// database is one SQLite file, opened the way SQLite likes to be used by a
// server: WAL, foreign keys on, a busy timeout, one writer connection (writes
// queue in Go rather than fail with SQLITE_BUSY) beside a pool of read-only
// readers.
type database struct {
	path       string
	writer     *sql.DB
	reader     *sql.DB
	writeStmts *stmtCache
	readStmts  *stmtCache
}

func dsn(path string, readOnly bool) string {
	q := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "foreign_keys(ON)", "busy_timeout(10000)", "synchronous(NORMAL)"} {
		q.Add("_pragma", p)
	}
	if readOnly {
		q.Add("_pragma", "query_only(ON)")
	} else {
		// A checkpoint copies every page changed since the last one back
		// into the file, in the commit that crosses the threshold. Group
		// commits of many devices change a page of points per device each
		// time; checkpointing every 10,000 pages (40 MiB of log) rather
		// than SQLite's 1,000 copies each such page once for many
		// transactions, not once for each.
		q.Add("_pragma", "wal_autocheckpoint(10000)")
		// The pages one group commit changes (a page of points and one of
		// states per device: about 2,000 for 1,000 devices) fit in the
		// writer's cache (16 MiB, not SQLite's 2 MiB), so it does not spill
		// them to the log mid-transaction; the journal of each statement
		// (a multi-row insert has one) stays in memory, not a temporary
		// file.
		q.Add("_pragma", "cache_size(-16384)")
		q.Add("_pragma", "temp_store(MEMORY)")
		// BEGIN IMMEDIATE takes the write lock up front, so a transaction
		// never fails half way when upgrading from a read.
		q.Set("_txlock", "immediate")
		// A statement of many rows keeps its journal in memory rather
		// than in a temporary file once past 64 KiB; and a large
		// transaction (an import) keeps its pages in memory rather than
		// write them to the WAL, and again, as it goes.
		q.Add("_pragma", "temp_store(MEMORY)")
		q.Add("_pragma", "cache_size(-65536)")
	}
	return "file:" + path + "?" + q.Encode()
}

// openDatabase opens (creating if needed) the SQLite file at path.
func openDatabase(path string, readers int) (*database, error) {
	writer, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	writer.SetMaxOpenConns(1)
	writer.SetMaxIdleConns(1)
	writer.SetConnMaxLifetime(0)
	// The first connection creates the file and switches it to WAL before
	// any reader opens it.
	if err := writer.PingContext(context.Background()); err != nil {
		writer.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	reader, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		writer.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if readers <= 0 {
		readers = max(4, runtime.NumCPU())
	}
	reader.SetMaxOpenConns(readers)
	reader.SetMaxIdleConns(readers)
	return &database{path: path, writer: writer, reader: reader, writeStmts: newStmtCache(), readStmts: newStmtCache()}, nil
}

// Close closes both pools.
func (d *database) Close() error {
	d.readStmts.close()
	d.writeStmts.close()
	return errors.Join(d.reader.Close(), d.writer.Close())
}

// read and write are the queriers of the two pools.
func (d *database) read() querier  { return querier{db: d.reader, stmts: d.readStmts} }
func (d *database) write() querier { return querier{db: d.writer, stmts: d.writeStmts} }

// querier sends writes to the writer and reads to the readers.
func (d *database) querier() sqlstore.Querier {
	return splitQuerier{w: d.write(), r: d.read()}
}

// inTx runs fn in a transaction on the writer connection.
func (d *database) inTx(ctx context.Context, fn func(sqlstore.Querier) error) error {
	tx, err := d.writer.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	q := d.write()
	q.tx, q.txStmts = tx, map[string]*sql.Stmt{}
	err = fn(q)
	if err == nil {
		if err = tx.Commit(); err != nil {
			err = fmt.Errorf("commit: %w", mapError(err))
		}
	}
	tx.Rollback() // a no-op after Commit
	// A statement first prepared inside a transaction is prepared on the
	// pool now that the connection is free, so the next transaction does
	// not parse it again.
	for query := range q.txStmts {
		d.writeStmts.keep(context.WithoutCancel(ctx), d.writer, query)
	}
	return err
}

// splitQuerier runs Exec on w and queries on r.
type splitQuerier struct{ w, r querier }

func (q splitQuerier) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	return q.w.Exec(ctx, query, args...)
}

func (q splitQuerier) Query(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	return q.r.Query(ctx, query, args...)
}

func (q splitQuerier) QueryRow(ctx context.Context, query string, args ...any) sqlstore.Row {
	return q.r.QueryRow(ctx, query, args...)
}
