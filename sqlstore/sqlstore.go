// Package sqlstore is the engine-independent half of Quartermaster's SQL
// storage, in packages whose folders show its parts:
//
//   - sqlstore (this package): the connection and placement router the
//     engines implement (Querier, Conn, Router, BatchRouter, Binding), and
//     what every store shares: placeholders (Args), row sets, errors
//     (ErrNoRows, ConstraintError), ids and timestamps, the department
//     scope (scope.go), limit caps (Room), the audit writer (Audit), the
//     tenant's fleet settings, and the cache of open per-tenant databases.
//   - schema: migrations, the version table and the migration runner.
//   - catalog: the control plane: tenants, plans, usage, identity
//     (accounts, sessions, tokens, roles, invitations) and the device
//     inventory.
//   - dataplane: the stores of a tenant's own data and of its people.
//   - telemetry: points, the point writer, retention and the fleet.
//   - engines: what the engines share above the router (Options, Engine)
//     and the domain's Services built on one.
//
// Dependencies point one way: schema builds on this package, catalog on
// schema, dataplane on catalog, telemetry on dataplane, engines on all of
// them. A helper two of them need lives in the lowest package both import,
// so each has one home.
//
// Engine packages (sqlite, postgres) provide a Router that turns the tenant
// scope in a context into a Conn bound to that tenant's placement; the
// stores run their queries on that Conn and name the tenant in every query
// through Conn.TenantID. One set of queries serves every engine and tier,
// but for the text index each engine keeps, and reads through
// Conn.AssetsMatching: the engine keeps it current as assets and models
// are written through its Conn, so no store does.
package sqlstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/quartermaster/qm"
)

// Querier runs SQL. Queries use $1, $2, … placeholders on every engine.
type Querier interface {
	// Exec runs a statement and returns the number of rows it changed.
	Exec(ctx context.Context, query string, args ...any) (int64, error)
	// Query runs a query; the caller must Close the rows.
	Query(ctx context.Context, query string, args ...any) (Rows, error)
	// QueryRow runs a query expected to return at most one row. Its Scan
	// returns ErrNoRows when there is none.
	QueryRow(ctx context.Context, query string, args ...any) Row
}

// Conn is a Querier bound to one tenant's storage.
type Conn interface {
	Querier
	// TenantID is the tenant the connection is bound to. Every query on
	// tenant tables names it, in every tier, so one set of queries serves
	// all of them.
	TenantID() string
	// Department is the department whose subtree the principal the
	// connection serves is confined to, "" for none. Every query of
	// department-bound data applies it (scope.go), as every query names
	// TenantID. Engines embed a Binding for both.
	Department() string
	// AssetsMatching narrows a text search of the tenant's assets through
	// the engine's text index, the one part of a query each engine writes
	// its own way. It returns what to read instead of table assets: a FROM
	// clause whose rows have the columns of assets under their own names,
	// and are assets of the tenant, at least every one whose tag, name,
	// serial, notes or model name contains text, ignoring case; and the one
	// argument it takes. It names the tenant as $1 and its argument as
	// %[1]s, for the caller to fill with fmt and the argument's placeholder
	// (see Args); the caller still applies
	// the exact match. ok is false when the index cannot narrow a search
	// for text (too few characters): the caller reads table assets. It
	// may query the index first.
	AssetsMatching(ctx context.Context, text string) (from string, arg any, ok bool, err error)
	// InsertRows adds rows to rows.Table for the tenant the connection is
	// bound to: tenant_id is that tenant's, the other columns are
	// rows.Columns. conflict, when not empty, is an ON CONFLICT clause for
	// every row. An engine that pays a round trip for each statement sends
	// every row at once. It returns the number of rows added or changed.
	InsertRows(ctx context.Context, rows RowSet, conflict string) (int64, error)
	// InsertRowsReturning is InsertRows that says which rows it added or
	// changed: it calls fn with the values of the columns returning lists
	// (comma-separated) of each, in no particular order, and not for a row
	// the conflict clause skipped. It costs an engine with round trips no
	// more of them than InsertRows.
	InsertRowsReturning(ctx context.Context, rows RowSet, conflict, returning string, fn func(Row) error) error
	// QueryRows runs query once for each of rows, as a lateral join would,
	// and calls fn with each row it returns. query names the row's values
	// %[1]s, %[2]s, … in the order of rows.Columns, and leaves the
	// parameters after args to them.
	QueryRows(ctx context.Context, query string, rows RowSet, fn func(Row) error, args ...any) error
}

// Row is the result of QueryRow.
type Row interface {
	Scan(dest ...any) error
}

// Rows is the result of Query.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

// Router hands out connections bound to the tenant scoped in a context
// (package tenancy). Both methods return tenancy.ErrNoTenant for a context
// without a tenant, an ETenantNewer error for a tenant whose data is at a
// schema version this build does not know, and ETenantInert for a tenant
// that is not active.
type Router interface {
	// View runs fn with a connection for reading. Each statement sees the
	// tenant's committed data; statements are not one snapshot.
	View(ctx context.Context, fn func(Conn) error) error
	// Update runs fn inside one transaction, committed when fn returns nil
	// and rolled back otherwise.
	Update(ctx context.Context, fn func(Conn) error) error
}

// BatchRouter is a Router that can also write for several tenants in one
// transaction, when their data shares a database: the group-commit writer
// turns many devices' requests into one commit that way.
type BatchRouter interface {
	Router
	// TxDomain names the database holding a tenant's data: tenants with the
	// same name can share a transaction.
	TxDomain(t *qm.Tenant) string
	// UpdateEach runs fn once for the tenant scoped in each of scopes, in
	// order, inside one transaction, each time with a connection bound to
	// that tenant; it commits when every call returns nil. Every tenant
	// must have the same TxDomain. The errors are Update's.
	UpdateEach(ctx context.Context, scopes []context.Context, fn func(scope context.Context, c Conn) error) error
}

// ErrNoRows is returned by Row.Scan when the query returned no row, on every
// engine.
var ErrNoRows = errors.New("no rows")

// ConstraintKind says which kind of constraint a statement violated.
type ConstraintKind int

// Constraint kinds engines report.
const (
	Unique ConstraintKind = iota + 1
	ForeignKey
	Check
)

// ConstraintError is how engines report a violated constraint, so stores can
// turn it into a domain error without knowing the driver.
type ConstraintError struct {
	Kind ConstraintKind
	Err  error // the driver's error
}

// Error implements the error interface.
func (e *ConstraintError) Error() string {
	return fmt.Sprintf("constraint violated: %v", e.Err)
}

// Unwrap returns the driver's error.
func (e *ConstraintError) Unwrap() error { return e.Err }

// IsConstraint reports whether err is a violation of a constraint of kind k.
func IsConstraint(err error, k ConstraintKind) bool {
	var ce *ConstraintError
	return errors.As(err, &ce) && ce.Kind == k
}

// Each runs a query on q and calls fn with each row it returns.
func Each(ctx context.Context, q Querier, fn func(Row) error, query string, args ...any) error {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// QueryAll runs a query and scans every row it returns with scan. It
// returns an empty slice, never nil, for no rows.
func QueryAll[T any](ctx context.Context, q Querier, scan func(Row) (*T, error), query string, args ...any) ([]*T, error) {
	all := []*T{}
	err := Each(ctx, q, func(r Row) error {
		v, err := scan(r)
		all = append(all, v)
		return err
	}, query, args...)
	if err != nil {
		return nil, err
	}
	return all, nil
}

// QueryIDs runs a query that selects one text column (ids, mostly) and
// returns its values as a set.
func QueryIDs(ctx context.Context, q Querier, query string, args ...any) (map[string]bool, error) {
	set := map[string]bool{}
	err := Each(ctx, q, func(r Row) error {
		var id string
		if err := r.Scan(&id); err != nil {
			return err
		}
		set[id] = true
		return nil
	}, query, args...)
	if err != nil {
		return nil, err
	}
	return set, nil
}

// View runs read on a read connection of the tenant in ctx and returns
// what it found.
func View[V any](ctx context.Context, r Router, read func(Conn) (V, error)) (V, error) {
	var v V
	err := r.View(ctx, func(c Conn) (err error) {
		v, err = read(c)
		return err
	})
	return v, err
}
