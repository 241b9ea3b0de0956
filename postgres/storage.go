package postgres

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore"
	"github.com/quartermaster/qm/sqlstore/catalog"
	"github.com/quartermaster/qm/sqlstore/schema"
)

// storage is the engine's catalog.Storage.
type storage struct{ db *DB }

var _ catalog.Storage = storage{}

// Place implements catalog.Storage.
func (s storage) Place(id string, n qm.NewTenant) (qm.Placement, error) {
	server := MainServer
	if n.Server != "" {
		server = n.Server
	}
	if n.Tier == qm.TierSilo {
		return s.db.siloPlacement(id, server)
	}
	if _, ok := s.db.configs[server]; !ok {
		return qm.Placement{}, unknownServer(server)
	}
	if server != MainServer {
		return qm.Placement{}, &qm.Error{Code: qm.EInvalid, Message: fmt.Sprintf("tier %s lives on the main database: only a silo tenant is placed on server %s", n.Tier, server),
			Fields: map[string]string{"server": "only for silo tenants"}}
	}
	p := qm.Placement{Engine: qm.EnginePostgres, Server: MainServer, Location: poolSchema}
	if n.Tier == qm.TierBridge {
		p.Location = "t_" + compactID(id)
	}
	return p, nil
}

// Provision implements catalog.Storage. A bridge schema is created and
// migrated in one transaction, so it exists whole or not at all. A silo
// database cannot be created inside a transaction; its contents are, and
// Deprovision drops a database left half made.
func (s storage) Provision(ctx context.Context, t *qm.Tenant) (int, error) {
	switch t.Tier {
	case qm.TierPool:
		return int(s.db.poolVersion.Load()), nil
	case qm.TierBridge:
		var v int
		err := inTx(ctx, s.db.admin, func(q sqlstore.Querier) error {
			var err error
			v, err = s.db.createAndMigrate(ctx, q, t.Placement.Location)
			return err
		})
		return v, err
	}
	return s.db.provisionSilo(ctx, t)
}

// Deprovision implements catalog.Storage: a pool tenant's rows are
// deleted in one transaction, as the tables' owner (the audit log is
// append-only to the serving role) with the tenant's scope set for their
// row-level security.
func (s storage) Deprovision(ctx context.Context, t *qm.Tenant) error {
	switch t.Tier {
	case qm.TierPool:
		return inTx(ctx, s.db.admin, func(q sqlstore.Querier) error {
			tables, err := tenantTables(ctx, q, poolSchema, t)
			if err != nil {
				return err
			}
			for _, name := range schema.PurgeOrder(tables) {
				if _, err := q.Exec(ctx, `DELETE FROM `+pgx.Identifier{poolSchema, name}.Sanitize()+` WHERE tenant_id = $1`, t.ID); err != nil {
					return fmt.Errorf("delete tenant %s from %s: %w", t.Slug, name, err)
				}
			}
			return nil
		})
	case qm.TierBridge:
		_, err := s.db.admin.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{t.Placement.Location}.Sanitize()+` CASCADE`)
		return err
	case qm.TierSilo:
		return s.db.deprovisionSilo(ctx, t)
	}
	return nil
}

// tenantTables lists the tables of schema nsp that have a tenant_id, as
// PostgreSQL's own catalog has them, and sets t's scope for their
// row-level security in the transaction q runs in.
func tenantTables(ctx context.Context, q sqlstore.Querier, nsp string, t *qm.Tenant) ([]string, error) {
	setTenant, err := setTenantSQL(t.ID)
	if err != nil {
		return nil, err
	}
	if _, err := q.Exec(ctx, setTenant); err != nil {
		return nil, err
	}
	names, err := sqlstore.QueryIDs(ctx, q, `SELECT c.relname FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace
		JOIN pg_attribute a ON a.attrelid = c.oid
		WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND a.attname = 'tenant_id' AND NOT a.attisdropped`, nsp)
	if err != nil {
		return nil, fmt.Errorf("tables of %s: %w", nsp, err)
	}
	return slices.Sorted(maps.Keys(names)), nil
}

// Forget implements catalog.Storage.
func (s storage) Forget(ctx context.Context, t *qm.Tenant) error {
	return inTx(ctx, s.db.admin, func(q sqlstore.Querier) error {
		tables, err := tenantTables(ctx, q, catalogSchema, t)
		if err != nil {
			return err
		}
		return catalog.ForgetIn(ctx, q, t, tables, func(name string) string { return pgx.Identifier{catalogSchema, name}.Sanitize() })
	})
}

// Remains implements catalog.Storage.
func (s storage) Remains(ctx context.Context, t *qm.Tenant) (map[string]int64, error) {
	left := map[string]int64{}
	count := func(nsp string) error {
		return inTx(ctx, s.db.admin, func(q sqlstore.Querier) error {
			tables, err := tenantTables(ctx, q, nsp, t)
			if err != nil {
				return err
			}
			return catalog.CountIn(ctx, q, t, tables, func(name string) string { return pgx.Identifier{nsp, name}.Sanitize() }, nsp+".", left)
		})
	}
	if err := count(catalogSchema); err != nil {
		return nil, err
	}
	switch t.Tier {
	case qm.TierPool:
		return left, count(poolSchema)
	case qm.TierBridge:
		var n int64
		if err := s.db.admin.QueryRow(ctx, `SELECT count(*) FROM pg_namespace WHERE nspname = $1`, t.Placement.Location).Scan(&n); err != nil {
			return nil, err
		}
		if n > 0 {
			left["schema "+t.Placement.Location] = n
		}
		return left, nil
	}
	return left, s.db.siloRemains(ctx, t, left)
}

// MigrateData implements catalog.Storage.
func (s storage) MigrateData(ctx context.Context, t *qm.Tenant) (int, error) {
	switch t.Tier {
	case qm.TierPool:
		return s.db.migratePool(ctx)
	case qm.TierBridge:
		return schema.Migrate(ctx, schemaTx(s.db.admin, t.Placement.Location), s.db.tenantMigrations)
	}
	return s.db.migrateSilo(ctx, t)
}

// Servers implements catalog.Storage: the main server holds the main
// database (catalog, pool and bridges) beside its silos.
func (s storage) Servers(ctx context.Context, tenants []*qm.Tenant) ([]qm.DataServer, error) {
	return s.db.list(ctx, tenants, map[string]string{MainServer: s.db.mainDatabase})
}
