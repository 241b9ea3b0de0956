// Package schema brings a database's schema to the newest version: the
// versioned migrations each engine embeds (their .sql files stay in
// sqlite/migrations and postgres/migrations), the table that records the
// version a schema is at, and the runner that migrates every place tenant
// data lives (RunMigrations).
package schema

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore"
)

// Migration is one versioned step of a schema, read from a file named
// NNNN_description.sql.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// LoadMigrations reads every *.sql file in dir of fsys. Versions must run
// 1, 2, 3, … without gaps or repeats, so a typo cannot skip a step.
func LoadMigrations(fsys fs.FS, dir string) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("load migrations: %w", err)
	}
	var ms []Migration
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("load migrations: %s: name must start with a positive version number and '_'", e.Name())
		}
		body, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("load migrations: %w", err)
		}
		ms = append(ms, Migration{Version: v, Name: strings.TrimSuffix(e.Name(), ".sql"), SQL: string(body)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	for i, m := range ms {
		if m.Version != i+1 {
			return nil, fmt.Errorf("load migrations: %s: expected version %d", m.Name, i+1)
		}
	}
	return ms, nil
}

// LoadEngineMigrations reads an engine's two migration sets from fsys:
// migrations/catalog and migrations/tenant.
func LoadEngineMigrations(fsys fs.FS) (catalog, tenant []Migration, err error) {
	if catalog, err = LoadMigrations(fsys, "migrations/catalog"); err != nil {
		return nil, nil, err
	}
	tenant, err = LoadMigrations(fsys, "migrations/tenant")
	return catalog, tenant, err
}

// Latest returns the newest version in ms, 0 for none.
func Latest(ms []Migration) int {
	if len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].Version
}

// TxFunc runs fn in one transaction of the database being migrated,
// committing when fn returns nil. Engines set up the transaction (a search
// path, say) before calling fn.
type TxFunc func(ctx context.Context, fn func(sqlstore.Querier) error) error

// The version table is not a tenant table: it describes the schema it sits
// in, whatever tenants that schema holds.
const (
	createVersionTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version INTEGER PRIMARY KEY,
	name TEXT NOT NULL
)`
	// SelectVersion reads the version a schema is at, for those that know
	// the version table is there (the catalog's readiness check).
	SelectVersion = `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`
	insertVersion = `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`
)

// Version returns the version recorded in the database inTx reaches, 0 for
// a database never migrated.
func Version(ctx context.Context, inTx TxFunc) (int, error) {
	var v int
	err := inTx(ctx, func(q sqlstore.Querier) error {
		if _, err := q.Exec(ctx, createVersionTable); err != nil {
			return err
		}
		return q.QueryRow(ctx, SelectVersion).Scan(&v)
	})
	if err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return v, nil
}

// Migrate brings the database inTx reaches to the newest of ms, each step in
// its own transaction together with the record of its version, so an
// interrupted run leaves the database at a known version and a second run
// carries on from there. It returns the version reached. A database at a
// newer version than ms knows is an ETenantNewer error and is left alone.
func Migrate(ctx context.Context, inTx TxFunc, ms []Migration) (int, error) {
	v, err := Version(ctx, inTx)
	if err != nil {
		return 0, err
	}
	if latest := Latest(ms); v > latest {
		return v, qm.Errorf(qm.ETenantNewer, "data is at schema version %d, newer than this build knows (%d): run a newer quartermaster", v, latest)
	}
	for _, m := range ms[v:] {
		err := inTx(ctx, func(q sqlstore.Querier) error {
			if _, err := q.Exec(ctx, m.SQL); err != nil {
				return err
			}
			_, err := q.Exec(ctx, insertVersion, m.Version, m.Name)
			return err
		})
		if err != nil {
			return v, fmt.Errorf("migration %s: %w", m.Name, err)
		}
		v = m.Version
	}
	return v, nil
}

// Append returns a copy of ms with one more step running sql.
func Append(ms []Migration, name, sql string) []Migration {
	return append(append([]Migration{}, ms...), Migration{Version: Latest(ms) + 1, Name: name, SQL: sql})
}
