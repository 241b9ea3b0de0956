package postgres

import (
	"context"
	"fmt"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore"
	"github.com/quartermaster/qm/sqlstore/schema"
)

// The scope statements bind the current transaction to a tenant. Both
// settings are transaction-local (the true in set_config), so a pooled
// connection can never carry one tenant's scope into another's request.
// Reads also make the transaction read-only, as SQLite's readers are.
const (
	scopeSQL     = `SELECT set_config('qm.tenant_id', $1, true), set_config('search_path', $2, true)`
	viewScopeSQL = `SELECT set_config('qm.tenant_id', $1, true), set_config('search_path', $2, true), set_config('transaction_read_only', 'on', true)`
)

// View implements sqlstore.Router. Each statement goes out in one batch
// behind the scope statement: PostgreSQL runs a batch up to its Sync as one
// implicit transaction, so the scope holds for exactly that statement and
// costs no extra round trip.
func (db *DB) View(ctx context.Context, fn func(sqlstore.Conn) error) error {
	t, pool, schema, release, err := db.route(ctx)
	if err != nil {
		return err
	}
	defer release()
	return fn(viewConn{pool: pool, Binding: sqlstore.Bind(ctx, t), schema: schema})
}

// Update implements sqlstore.Router.
func (db *DB) Update(ctx context.Context, fn func(sqlstore.Conn) error) error {
	t, pool, schema, release, err := db.route(ctx)
	if err != nil {
		return err
	}
	defer release()
	return inTx(ctx, pool, func(q sqlstore.Querier) error {
		if _, err := q.Exec(ctx, scopeSQL, t.ID, schema); err != nil {
			return fmt.Errorf("scope transaction: %w", err)
		}
		return fn(txConn{Querier: q, Binding: sqlstore.Bind(ctx, t)})
	})
}

// TxDomain implements sqlstore.BatchRouter: the pool and every bridge
// schema share the main database; each silo is a database of its own.
func (db *DB) TxDomain(t *qm.Tenant) string {
	if t.Tier == qm.TierSilo {
		return siloKey(t.Placement)
	}
	return MainServer
}

// UpdateEach implements sqlstore.BatchRouter. Each tenant's part of the
// transaction runs behind its own scope statement, so row security and the
// search path hold for exactly that tenant's statements.
func (db *DB) UpdateEach(ctx context.Context, scopes []context.Context, fn func(context.Context, sqlstore.Conn) error) error {
	if len(scopes) == 0 {
		return nil
	}
	tenants := make([]*qm.Tenant, len(scopes))
	schemas := make([]string, len(scopes))
	var pool *pgxpool.Pool
	for i, scope := range scopes {
		t, p, schema, release, err := db.route(scope)
		if err != nil {
			return err
		}
		defer release()
		if pool != nil && p != pool {
			return fmt.Errorf("tenants %s and %s do not share a database", tenants[0].Slug, t.Slug)
		}
		tenants[i], schemas[i], pool = t, schema, p
	}
	return inTx(ctx, pool, func(q sqlstore.Querier) error {
		for i, scope := range scopes {
			if _, err := q.Exec(ctx, scopeSQL, tenants[i].ID, schemas[i]); err != nil {
				return fmt.Errorf("scope transaction: %w", err)
			}
			if err := fn(scope, txConn{Querier: q, Binding: sqlstore.Bind(scope, tenants[i])}); err != nil {
				return err
			}
		}
		return nil
	})
}

var _ sqlstore.BatchRouter = (*DB)(nil)

// route finds the pool and schema holding the data of the tenant in ctx,
// and admits the work at the node's gate: release ends both.
func (db *DB) route(ctx context.Context) (*qm.Tenant, *pgxpool.Pool, string, func(), error) {
	t, leave, err := db.tenants.Scoped(ctx, db.LatestVersion(), db.cfg.Logger)
	if err != nil {
		return nil, nil, "", nil, err
	}
	pool, schema, release, err := db.place(t)
	if err != nil {
		leave()
		return nil, nil, "", nil, err
	}
	return t, pool, schema, func() { release(); leave() }, nil
}

// place finds the pool and schema holding tenant t's data.
func (db *DB) place(t *qm.Tenant) (*pgxpool.Pool, string, func(), error) {
	if t.Placement.Engine != qm.EnginePostgres {
		return nil, "", nil, fmt.Errorf("tenant %s is placed on %s, not postgres", t.Slug, t.Placement.Engine)
	}
	switch t.Tier {
	case qm.TierPool, qm.TierBridge:
		return db.serve, t.Placement.Location, noRelease, nil
	case qm.TierSilo:
		pool, release, err := db.silos.Acquire(siloKey(t.Placement))
		if err != nil {
			return nil, "", nil, fmt.Errorf("tenant %s: %w", t.Slug, err)
		}
		return pool.Pool, SiloSchema, release, nil
	}
	return nil, "", nil, fmt.Errorf("tenant %s: unknown tier %s", t.Slug, t.Tier)
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

// assetIndex gives both kinds of connection the text search of migration
// 0011.
type assetIndex struct{}

// AssetsMatching implements sqlstore.Conn with the trigram index on
// asset_search, which the serving role reaches only through the function
// asset_search_ids (see the migration for why). An array of the ids it
// finds makes the planner read just those, by key, whatever its
// statistics. Trigrams need three characters.
func (assetIndex) AssetsMatching(text string) (string, any, bool) {
	if utf8.RuneCountInString(text) < 3 {
		return "", nil, false
	}
	return `(SELECT * FROM assets WHERE id = ANY(ARRAY(SELECT * FROM asset_search_ids($1, %[1]s)))) AS assets`,
		sqlstore.LikePattern(text), true
}

// txConn is a tenant-bound connection inside an Update transaction.
type txConn struct {
	sqlstore.Querier
	assetIndex
	sqlstore.Binding
}

// viewConn is a tenant-bound connection for View: every statement is sent
// in a batch behind the read scope statement.
type viewConn struct {
	assetIndex
	sqlstore.Binding
	pool   *pgxpool.Pool
	schema string
}

// send queues the scope and the statement and reads the scope's result.
func (c viewConn) send(ctx context.Context, sql string, args []any) (pgx.BatchResults, error) {
	b := &pgx.Batch{}
	b.Queue(viewScopeSQL, c.TenantID(), c.schema)
	b.Queue(sql, args...)
	br := c.pool.SendBatch(ctx, b)
	if _, err := br.Exec(); err != nil {
		br.Close()
		return nil, fmt.Errorf("scope statement: %w", err)
	}
	return br, nil
}

func (c viewConn) Exec(ctx context.Context, sql string, args ...any) (int64, error) {
	br, err := c.send(ctx, sql, args)
	if err != nil {
		return 0, err
	}
	defer br.Close()
	tag, err := br.Exec()
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
