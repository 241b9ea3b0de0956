package postgres

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/quartermaster/qm/sqlstore"
)

// The pool on Citus. On a coordinator with the citus extension, Setup
// (so migrate and serve) distributes every table of schema pool that has
// a tenant_id by it, all in one colocation group, so that a tenant's rows
// of every table live on one worker and every statement naming the
// tenant runs there. Each is distributed after the tables it references
// (Citus distributes a table whose foreign keys reach only tables
// distributed already, colocated); the tables are read from PostgreSQL's
// own catalog, not from a list kept in code. Tables without a tenant_id
// (the schema's version) and the catalog's tables stay on the
// coordinator, as local tables: no statement joins them with the pool's.
// Distributing is idempotent: a table Citus has already is left as it is.
// Bridge schemas and silo databases are not distributed; a silo on a
// Citus server is one tenant's anyway.

// CitusTable is a table of the pool as Citus has it: distributed by
// Column in colocation group Colocation, or not (local).
type CitusTable struct {
	Name        string
	Distributed bool
	Column      string
	Colocation  int
}

// citusInstalled says whether the main database has the citus extension.
func (db *DB) citusInstalled(ctx context.Context) (bool, error) {
	var ok bool
	err := db.admin.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_extension WHERE extname = 'citus')`).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("look for citus: %w", err)
	}
	return ok, nil
}

// poolDistribution lists the pool's tables that have a tenant_id, each
// after the tables it references.
func (db *DB) poolDistribution(ctx context.Context) ([]string, error) {
	q := querier{db.admin}
	tenant, err := sqlstore.QueryIDs(ctx, q, `SELECT c.relname FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace
		JOIN pg_attribute a ON a.attrelid = c.oid
		WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND a.attname = 'tenant_id' AND NOT a.attisdropped`, poolSchema)
	if err != nil {
		return nil, fmt.Errorf("tables of the pool: %w", err)
	}
	refs := map[string][]string{}
	err = sqlstore.Each(ctx, q, func(r sqlstore.Row) error {
		var from, to string
		if err := r.Scan(&from, &to); err != nil {
			return err
		}
		refs[from] = append(refs[from], to)
		return nil
	}, `SELECT f.relname, t.relname FROM pg_constraint k
		JOIN pg_class f ON f.oid = k.conrelid JOIN pg_class t ON t.oid = k.confrelid
		JOIN pg_namespace n ON n.oid = f.relnamespace
		WHERE k.contype = 'f' AND n.nspname = $1 AND f.oid <> t.oid`, poolSchema)
	if err != nil {
		return nil, fmt.Errorf("foreign keys of the pool: %w", err)
	}
	var order []string
	placed, visiting := map[string]bool{}, map[string]bool{}
	var place func(name string) error
	place = func(name string) error {
		if placed[name] {
			return nil
		}
		if visiting[name] {
			return fmt.Errorf("the pool's foreign keys go round through %s", name)
		}
		visiting[name] = true
		for _, to := range slices.Sorted(slices.Values(refs[name])) {
			if !tenant[to] {
				return fmt.Errorf("pool table %s references %s, which has no tenant_id: Citus cannot colocate them", name, to)
			}
			if err := place(to); err != nil {
				return err
			}
		}
		placed[name] = true
		order = append(order, name)
		return nil
	}
	for _, name := range slices.Sorted(maps.Keys(tenant)) {
		if err := place(name); err != nil {
			return nil, err
		}
	}
	return order, nil
}

// CitusStatus lists the pool's tables as Citus has them; installed is
// false, and the list empty, on a server without Citus.
func (db *DB) CitusStatus(ctx context.Context) (tables []CitusTable, installed bool, err error) {
	if installed, err = db.citusInstalled(ctx); err != nil || !installed {
		return nil, installed, err
	}
	order, err := db.poolDistribution(ctx)
	if err != nil {
		return nil, true, err
	}
	for _, name := range order {
		t := CitusTable{Name: name}
		err := db.admin.QueryRow(ctx, `SELECT column_to_column_name(logicalrelid, partkey), colocationid FROM pg_dist_partition
			WHERE logicalrelid = to_regclass($1) AND partmethod = 'h'`, poolSchema+"."+name).Scan(&t.Column, &t.Colocation)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
		case err != nil:
			return nil, true, fmt.Errorf("citus status of %s: %w", name, err)
		default:
			t.Distributed = true
		}
		tables = append(tables, t)
	}
	return tables, true, nil
}

// distributePool distributes the pool's tables on Citus, as the comment
// above says; nothing on a server without it.
func (db *DB) distributePool(ctx context.Context) error {
	tables, installed, err := db.CitusStatus(ctx)
	if err != nil || !installed {
		return err
	}
	anchor := ""
	for _, t := range tables {
		name := pgx.Identifier{poolSchema, t.Name}.Sanitize()
		if t.Distributed {
			anchor = name
			continue
		}
		colocate := "default"
		if anchor != "" {
			colocate = anchor
		}
		if _, err := db.admin.Exec(ctx, `SELECT create_distributed_table($1::text::regclass, 'tenant_id', colocate_with => $2::text)`, name, colocate); err != nil {
			return fmt.Errorf("distribute %s on citus: %w", name, err)
		}
		anchor = name
	}
	return nil
}
