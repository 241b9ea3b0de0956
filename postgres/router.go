package postgres

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore"
	"github.com/quartermaster/qm/sqlstore/schema"
)

// scopeStatements returns the statements that bind the current transaction to
// tenant id and its schema: the tenant for row-level security, and the
// search path. Both are SET LOCAL, transaction-local, so a pooled
// connection can never carry one tenant's scope into another's request;
// and SET LOCAL is what Citus carries to the workers that run the policies
// of a distributed table (with citus.propagate_set_commands, which every
// connection sets: see Open), where set_config never arrives. SET takes no
// parameters, so the id goes into the statement's text, and only once
// sqlstore.ValidID finds it a uuid in canonical form, which no quote or
// backslash passes.
func scopeStatements(id, schema string) ([]string, error) {
	tenant, err := setTenantSQL(id)
	if err != nil {
		return nil, err
	}
	return []string{tenant, `SET LOCAL search_path = ` + pgx.Identifier{schema}.Sanitize()}, nil
}

// setTenantSQL is the statement that sets the tenant of the transaction
// for row-level security to id.
func setTenantSQL(id string) (string, error) {
	if !sqlstore.ValidID(id) {
		return "", fmt.Errorf("scope transaction: tenant id %q is not a uuid", id)
	}
	return `SET LOCAL qm.tenant_id = '` + id + `'`, nil
}

// setScope binds the transaction q runs in to tenant id and its schema, in
// one round trip: a statement without arguments goes out in the simple
// protocol, which takes several.
func setScope(ctx context.Context, q sqlstore.Querier, id, schema string) error {
	stmts, err := scopeStatements(id, schema)
	if err != nil {
		return err
	}
	if _, err := q.Exec(ctx, strings.Join(stmts, "; ")); err != nil {
		return fmt.Errorf("scope transaction: %w", err)
	}
	return nil
}

// located is where one tenant's data is, found for a piece of work: the
// pool and schema it is in, from which version of its data the engine
// keeps its search text (keepsSearchFrom), and release, which gives back
// what finding them took.
type located struct {
	t               *qm.Tenant
	pool            *pgxpool.Pool
	schema          string
	keepsSearchFrom int
	release         func()
}

// view runs fn with a connection for reading. Each statement goes out in
// one batch with its transaction: BEGIN READ ONLY, the scope statements,
// the statement, COMMIT, so the scope holds for exactly that statement
// and costs no extra round trip. A statement that fails leaves its
// transaction aborted, and pgxpool closes a connection given back in a
// transaction rather than reuse it.
func (l located) view(ctx context.Context, fn func(sqlstore.Conn) error) error {
	stmts, err := scopeStatements(l.t.ID, l.schema)
	if err != nil {
		return err
	}
	return fn(viewConn{pool: l.pool, Binding: sqlstore.Bind(ctx, l.t), scope: stmts})
}

// update runs fn inside one transaction, scoped to the tenant.
func (l located) update(ctx context.Context, fn func(sqlstore.Conn) error) error {
	return inTx(ctx, l.pool, func(q sqlstore.Querier) error {
		if err := setScope(ctx, q, l.t.ID, l.schema); err != nil {
			return err
		}
		return fn(l.txConn(ctx, q))
	})
}

// updateEach runs fn for the tenant of each of scopes, found by locate
// (for its index), in one transaction. Each tenant's part runs behind its
// own scope statement, so row security and the search path hold for
// exactly that tenant's statements.
func updateEach(ctx context.Context, scopes []context.Context, locate func(i int) (located, error), fn func(context.Context, sqlstore.Conn) error) error {
	ls := make([]located, 0, len(scopes))
	defer func() {
		for _, l := range ls {
			l.release()
		}
	}()
	for i := range scopes {
		l, err := locate(i)
		if err != nil {
			return err
		}
		if len(ls) > 0 && l.pool != ls[0].pool {
			l.release()
			return fmt.Errorf("tenants %s and %s do not share a database", ls[0].t.Slug, l.t.Slug)
		}
		ls = append(ls, l)
	}
	if len(ls) == 0 {
		return nil
	}
	return inTx(ctx, ls[0].pool, func(q sqlstore.Querier) error {
		for i, scope := range scopes {
			if err := setScope(ctx, q, ls[i].t.ID, ls[i].schema); err != nil {
				return err
			}
			if err := fn(scope, ls[i].txConn(scope, q)); err != nil {
				return err
			}
		}
		return nil
	})
}

// View implements sqlstore.Router.
func (db *DB) View(ctx context.Context, fn func(sqlstore.Conn) error) error {
	l, err := db.route(ctx)
	if err != nil {
		return err
	}
	defer l.release()
	return l.view(ctx, fn)
}

// Update implements sqlstore.Router.
func (db *DB) Update(ctx context.Context, fn func(sqlstore.Conn) error) error {
	l, err := db.route(ctx)
	if err != nil {
		return err
	}
	defer l.release()
	return l.update(ctx, fn)
}

// TxDomain implements sqlstore.BatchRouter: the pool and every bridge
// schema share the main database; each silo is a database of its own.
func (db *DB) TxDomain(t *qm.Tenant) string {
	if t.Tier == qm.TierSilo {
		return siloKey(t.Placement)
	}
	return MainServer
}

// UpdateEach implements sqlstore.BatchRouter.
func (db *DB) UpdateEach(ctx context.Context, scopes []context.Context, fn func(context.Context, sqlstore.Conn) error) error {
	return updateEach(ctx, scopes, func(i int) (located, error) { return db.route(scopes[i]) }, fn)
}

var _ sqlstore.BatchRouter = (*DB)(nil)

// route finds where the data of the tenant in ctx is, and admits the work
// at the node's gate: release ends both.
func (db *DB) route(ctx context.Context) (located, error) {
	t, leave, err := db.tenants.Scoped(ctx, db.LatestVersion(), db.cfg.Logger)
	if err != nil {
		return located{}, err
	}
	l, err := db.place(t)
	if err != nil {
		leave()
		return located{}, err
	}
	release := l.release
	l.release = func() { release(); leave() }
	return l, nil
}

// place finds where tenant t's data is.
func (db *DB) place(t *qm.Tenant) (located, error) {
	if t.Placement.Engine != qm.EnginePostgres {
		return located{}, fmt.Errorf("tenant %s is placed on %s, not postgres", t.Slug, t.Placement.Engine)
	}
	switch t.Tier {
	case qm.TierPool, qm.TierBridge:
		return located{t: t, pool: db.serve, schema: t.Placement.Location, keepsSearchFrom: db.keepsSearchFrom, release: noRelease}, nil
	case qm.TierSilo:
		return db.silo(t)
	}
	return located{}, fmt.Errorf("tenant %s: unknown tier %s", t.Slug, t.Tier)
}

func noRelease() {}

// beginner is a pool or a connection.
type beginner interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}

// inTx runs fn in a transaction on b.
func inTx(ctx context.Context, b beginner, fn func(sqlstore.Querier) error) error {
	tx, err := b.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if err := fn(querier{tx}); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", mapError(err))
	}
	return nil
}

// schemaTx returns a schema.TxFunc on b whose transactions have the search
// path set to the schema called name.
func schemaTx(b beginner, name string) schema.TxFunc {
	return func(ctx context.Context, fn func(sqlstore.Querier) error) error {
		return inTx(ctx, b, func(q sqlstore.Querier) error {
			if err := setSearchPath(ctx, q, name); err != nil {
				return err
			}
			return fn(q)
		})
	}
}

func setSearchPath(ctx context.Context, q sqlstore.Querier, schema string) error {
	if _, err := q.Exec(ctx, `SELECT set_config('search_path', $1, true)`, schema); err != nil {
		return fmt.Errorf("set search path %s: %w", schema, err)
	}
	return nil
}

// assetsMatching narrows a search of the assets of q's tenant with the
// trigram index on asset_search, which the serving role searches only
// through the function asset_search_ids (see migration 0014 for why).
// The function runs in a statement of its own, and its ids are the
// argument of what the caller reads: Citus runs no distributed query (the
// function's) from within one it sent to a shard (the caller's). An array
// of ids makes the planner read just those, by key, whatever its
// statistics. Trigrams need three characters.
func assetsMatching(ctx context.Context, q sqlstore.Querier, tenantID, text string) (string, any, bool, error) {
	if utf8.RuneCountInString(text) < 3 {
		return "", nil, false, nil
	}
	var ids []string
	err := q.QueryRow(ctx, `SELECT coalesce(array_agg(id::text), '{}') FROM asset_search_ids($1, $2) AS id`, tenantID, sqlstore.LikePattern(text)).Scan(&ids)
	if err != nil {
		return "", nil, false, fmt.Errorf("search assets: %w", err)
	}
	return `(SELECT * FROM assets WHERE tenant_id = $1 AND id = ANY(%[1]s::uuid[])) AS assets`, ids, true, nil
}

// AssetsMatching implements sqlstore.Conn (assetsMatching).
func (c txConn) AssetsMatching(ctx context.Context, text string) (string, any, bool, error) {
	return assetsMatching(ctx, c, c.TenantID(), text)
}

// AssetsMatching implements sqlstore.Conn (assetsMatching).
func (c viewConn) AssetsMatching(ctx context.Context, text string) (string, any, bool, error) {
	return assetsMatching(ctx, c, c.TenantID(), text)
}

// txConn is a tenant-bound connection inside an Update transaction.
type txConn struct {
	sqlstore.Querier
	sqlstore.Binding
	keepsSearch bool // see search.go
}

// viewConn is a tenant-bound connection for View: every statement is sent
// in a batch of its own read-only transaction, behind the scope statement.
type viewConn struct {
	sqlstore.Binding
	pool  *pgxpool.Pool
	scope []string
}

// send queues the statement in its transaction and reads the results
// before the statement's. Closing the batch reads the commit's. The batch
// goes out in the extended protocol, where pgx prepares each statement
// once a connection, in a cache of 512 it empties least recently used
// first: the tenant's SET LOCAL, whose text names it, costs a connection
// a prepared statement for each tenant it serves.
func (c viewConn) send(ctx context.Context, sql string, args []any) (pgx.BatchResults, error) {
	b := &pgx.Batch{}
	b.Queue(`BEGIN READ ONLY`)
	for _, stmt := range c.scope {
		b.Queue(stmt)
	}
	b.Queue(sql, args...)
	b.Queue(`COMMIT`)
	br := c.pool.SendBatch(ctx, b)
	for range 1 + len(c.scope) {
		if _, err := br.Exec(); err != nil {
			br.Close()
			return nil, fmt.Errorf("scope statement: %w", err)
		}
	}
	return br, nil
}

func (c viewConn) Exec(ctx context.Context, sql string, args ...any) (int64, error) {
	br, err := c.send(ctx, sql, args)
	if err != nil {
		return 0, err
	}
	tag, err := br.Exec()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, mapError(err)
	}
	return tag.RowsAffected(), nil
}

func (c viewConn) Query(ctx context.Context, sql string, args ...any) (sqlstore.Rows, error) {
	br, err := c.send(ctx, sql, args)
	if err != nil {
		return nil, err
	}
	rows, err := br.Query()
	if err != nil {
		br.Close()
		return nil, mapError(err)
	}
	return pgRows{Rows: rows, done: func() { br.Close() }}, nil
}

func (c viewConn) QueryRow(ctx context.Context, sql string, args ...any) sqlstore.Row {
	br, err := c.send(ctx, sql, args)
	if err != nil {
		return errRow{err}
	}
	return batchRow{row: br.QueryRow(), br: br}
}

// batchRow closes its batch once scanned.
type batchRow struct {
	row pgx.Row
	br  pgx.BatchResults
}

func (r batchRow) Scan(dest ...any) error {
	err := mapError(r.row.Scan(dest...))
	if cerr := r.br.Close(); err == nil && cerr != nil {
		err = mapError(cerr)
	}
	return err
}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }
