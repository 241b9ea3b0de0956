// Package sqlite is Quartermaster's embedded storage engine. The catalog is
// catalog.db in the data directory; pool tenants share pool.db; each silo
// tenant has a file of its own under tenants/. SQLite has no schemas, so the
// bridge tier is refused. A server that outgrows SQLite keeps silo tenants
// on PostgreSQL servers too (Config.Remote), its catalog staying here.
package sqlite

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore"
	"github.com/quartermaster/qm/sqlstore/catalog"
	"github.com/quartermaster/qm/sqlstore/dataplane"
	"github.com/quartermaster/qm/sqlstore/engines"
	"github.com/quartermaster/qm/sqlstore/schema"
)

//go:embed migrations
var migrations embed.FS

// Migrations returns the embedded migrations of the catalog and of tenant
// data.
func Migrations() (catalog, tenant []schema.Migration, err error) {
	return schema.LoadEngineMigrations(migrations)
}

// Config configures the engine. Zero values take the defaults.
type Config struct {
	// DataDir holds every file. It is created if missing.
	DataDir string
	// Options are the shared settings; at most 256 silo files are open by
	// default.
	engines.Options
	// Remote, when set, keeps the data of tenants placed on its servers
	// (a silo tenant given a server): the server grows into PostgreSQL
	// one tenant at a time. The engine closes it.
	Remote engines.Remote
}

// server is the only server name SQLite placements carry.
const server = "local"

// DB is the SQLite engine, opened.
type DB struct {
	cfg               Config
	catalog           *database
	pool              *database
	silos             *sqlstore.Cache[*database]
	catalogMigrations []schema.Migration
	tenantMigrations  []schema.Migration
	remote            engines.Remote
	tenants           *catalog.TenantService
	identity          *catalog.Identity
	devices           *catalog.DeviceStore
	poolVersion       atomic.Int64

	stopSweeping func()
	closeOnce    sync.Once
}

// Open opens the data directory, creating it if needed. It does not migrate:
// call Setup for that.
func Open(cfg Config) (*DB, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("open sqlite: no data directory given")
	}
	catalogMigs, tenantMigs, err := cfg.Prepare(256, migrations)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(cfg.DataDir, "tenants"), 0o750); err != nil {
		return nil, fmt.Errorf("open sqlite: cannot create data directory: %w", err)
	}
	db := &DB{cfg: cfg, catalogMigrations: catalogMigs, tenantMigrations: tenantMigs, remote: cfg.Remote}
	if r := db.remote; r != nil && r.LatestVersion() != db.LatestVersion() {
		return nil, fmt.Errorf("open sqlite: tenant data is at version %d on %s and %d on SQLite: they must be the same build's", r.LatestVersion(), r.Engine(), db.LatestVersion())
	}
	if db.catalog, err = openDatabase(db.path("catalog.db"), 0); err != nil {
		return nil, err
	}
	if db.pool, err = openDatabase(db.path("pool.db"), 0); err != nil {
		db.catalog.Close()
		return nil, err
	}
	db.silos = sqlstore.NewCache(cfg.MaxOpenSilos, cfg.SiloIdle, cfg.Now, db.openSilo)
	// SQLite has no notices: WatchChanges polls.
	db.tenants = catalog.NewTenantService(db.catalog.querier(), db.catalog.inTx, storage{db}, db, dataplane.SeedStatusLabels, cfg.Now, nil)
	db.identity = catalog.NewIdentity(db.catalog.querier(), db.tenants)
	db.devices = catalog.NewDeviceStore(db.catalog.querier(), db.catalog.inTx, db.tenants, db, cfg.Now)
	db.stopSweeping = db.silos.SweepEvery(cfg.SiloIdle / 4)
	return db, nil
}

func (db *DB) path(rel string) string { return filepath.Join(db.cfg.DataDir, rel) }

// openSilo opens an existing silo file. A missing file is an error, never a
// new empty database: the catalog says the tenant's data is there.
func (db *DB) openSilo(location string) (*database, error) {
	p := db.path(location)
	if _, err := os.Stat(p); err != nil {
		return nil, fmt.Errorf("open silo: %w", err)
	}
	return openDatabase(p, 2)
}

// Close closes every file. It is safe to call more than once.
func (db *DB) Close() error {
	var err error
	db.closeOnce.Do(func() {
		db.stopSweeping()
		err = errors.Join(db.silos.Close(), db.pool.Close(), db.catalog.Close())
		if db.remote != nil {
			err = errors.Join(err, db.remote.Close())
		}
	})
	return err
}

// Setup brings the catalog and the pool file to the newest version, and
// prepares the Remote's servers.
func (db *DB) Setup(ctx context.Context) error {
	if db.remote != nil {
		if err := db.remote.Setup(ctx); err != nil {
			return fmt.Errorf("servers of %s: %w", db.remote.Engine(), err)
		}
	}
	if _, err := schema.Migrate(ctx, db.catalog.inTx, db.catalogMigrations); err != nil {
		return fmt.Errorf("migrate catalog: %w", err)
	}
	_, err := db.migratePool(ctx)
	return err
}

func (db *DB) migratePool(ctx context.Context) (int, error) {
	v, err := schema.Migrate(ctx, db.pool.inTx, db.tenantMigrations)
	if err != nil {
		return v, fmt.Errorf("migrate pool: %w", err)
	}
	db.poolVersion.Store(int64(v))
	return v, nil
}

// Tenants returns the tenant catalog.
func (db *DB) Tenants() *catalog.TenantService { return db.tenants }

// Identity returns the catalog's users, sessions and tokens.
func (db *DB) Identity() *catalog.Identity { return db.identity }

// Devices returns the device inventory.
func (db *DB) Devices() *catalog.DeviceStore { return db.devices }

// LatestVersion returns the newest tenant schema version this build knows.
func (db *DB) LatestVersion() int { return schema.Latest(db.tenantMigrations) }

// Ready reports whether the catalog is reachable and every tenant's data is
// at the newest version.
func (db *DB) Ready(ctx context.Context) error {
	return db.tenants.Ready(ctx, schema.Latest(db.catalogMigrations), db.LatestVersion())
}

// OpenSilos returns how many silo files are open now.
func (db *DB) OpenSilos() int { return db.silos.Len() }

// View implements sqlstore.Router.
func (db *DB) View(ctx context.Context, fn func(sqlstore.Conn) error) error {
	t, d, release, err := db.route(ctx)
	if err != nil {
		return err
	}
	defer release()
	if d == nil {
		return db.remote.View(ctx, t, fn)
	}
	return fn(conn{Querier: d.read(), Binding: sqlstore.Bind(ctx, t)})
}

// Update implements sqlstore.Router.
func (db *DB) Update(ctx context.Context, fn func(sqlstore.Conn) error) error {
	t, d, release, err := db.route(ctx)
	if err != nil {
		return err
	}
	defer release()
	if d == nil {
		return db.remote.Update(ctx, t, fn)
	}
	return d.inTx(ctx, func(q sqlstore.Querier) error {
		return fn(conn{Querier: q, Binding: sqlstore.Bind(ctx, t)})
	})
}

// TxDomain implements sqlstore.BatchRouter: the pool file, or a silo's; or
// the Remote's, for a tenant it keeps.
func (db *DB) TxDomain(t *qm.Tenant) string {
	if r, _ := db.remoteOf(t); r != nil {
		return string(r.Engine()) + " " + r.TxDomain(t)
	}
	return t.Placement.Location
}

// UpdateEach implements sqlstore.BatchRouter.
func (db *DB) UpdateEach(ctx context.Context, scopes []context.Context, fn func(context.Context, sqlstore.Conn) error) error {
	if len(scopes) == 0 {
		return nil
	}
	tenants := make([]*qm.Tenant, len(scopes))
	var d *database
	for i, scope := range scopes {
		t, di, release, err := db.route(scope)
		if err != nil {
			return err
		}
		defer release()
		if i > 0 && di != d {
			return fmt.Errorf("tenants %s and %s do not share a database", tenants[0].Slug, t.Slug)
		}
		tenants[i], d = t, di
	}
	if d == nil {
		return db.remote.UpdateEach(ctx, tenants, scopes, fn)
	}
	return d.inTx(ctx, func(q sqlstore.Querier) error {
		for i, scope := range scopes {
			if err := fn(scope, conn{Querier: q, Binding: sqlstore.Bind(scope, tenants[i])}); err != nil {
				return err
			}
		}
		return nil
	})
}

var _ sqlstore.BatchRouter = (*DB)(nil)

func noRelease() {}

// route finds the file holding the data of the tenant scoped in ctx (nil
// for a tenant the Remote keeps), and admits the work at the node's gate:
// release ends both.
func (db *DB) route(ctx context.Context) (*qm.Tenant, *database, func(), error) {
	t, leave, err := db.tenants.Scoped(ctx, db.LatestVersion(), db.cfg.Logger)
	if err != nil {
		return nil, nil, nil, err
	}
	d, release, err := db.place(t)
	if err != nil {
		leave()
		return nil, nil, nil, err
	}
	return t, d, func() { release(); leave() }, nil
}

// place finds the file holding tenant t's data: nil for a tenant the
// Remote keeps.
func (db *DB) place(t *qm.Tenant) (*database, func(), error) {
	if r, err := db.remoteOf(t); r != nil || err != nil {
		return nil, noRelease, err
	}
	switch t.Tier {
	case qm.TierPool:
		return db.pool, noRelease, nil
	case qm.TierSilo:
		d, release, err := db.silos.Acquire(t.Placement.Location)
		if err != nil {
			return nil, nil, fmt.Errorf("tenant %s: %w", t.Slug, err)
		}
		return d, release, nil
	}
	return nil, nil, fmt.Errorf("tenant %s: tier %s is not served by sqlite", t.Slug, t.Tier)
}

// remoteOf returns the Remote keeping t's data, nil for a tenant of
// SQLite's own; an error for a tenant of another engine when this server
// was started without its servers.
func (db *DB) remoteOf(t *qm.Tenant) (engines.Remote, error) {
	switch {
	case t.Placement.Engine == qm.EngineSQLite:
		return nil, nil
	case db.remote != nil && t.Placement.Engine == db.remote.Engine():
		return db.remote, nil
	}
	return nil, fmt.Errorf("tenant %s is kept on %s server %s, which this server was not started with (--pg-server %s=URL)",
		t.Slug, t.Placement.Engine, t.Placement.Server, t.Placement.Server)
}

// storage is the engine's catalog.Storage.
type storage struct{ db *DB }

var _ catalog.Storage = storage{}

// Place implements catalog.Storage.
func (s storage) Place(id string, n qm.NewTenant) (qm.Placement, error) {
	switch {
	case n.Server != "" && s.db.remote != nil:
		return s.db.remote.Place(id, n)
	case n.Server != "":
		return qm.Placement{}, &qm.Error{Code: qm.EInvalid, Message: "this SQLite server has no other servers: name a PostgreSQL server with --pg-server NAME=URL when it starts",
			Fields: map[string]string{"server": "no such server"}}
	case n.Tier == qm.TierPool:
		return qm.Placement{Engine: qm.EngineSQLite, Server: server, Location: "pool.db"}, nil
	case n.Tier == qm.TierSilo:
		return qm.Placement{Engine: qm.EngineSQLite, Server: server, Location: filepath.Join("tenants", id+".db")}, nil
	}
	return qm.Placement{}, &qm.Error{Code: qm.EInvalid,
		Message: "the bridge tier (a schema per tenant) needs PostgreSQL; on SQLite use pool or silo",
		Fields:  map[string]string{"tier": "bridge needs PostgreSQL"}}
}

// Provision implements catalog.Storage. A silo file is created exclusively:
// an existing file is never taken over.
func (s storage) Provision(ctx context.Context, t *qm.Tenant) (int, error) {
	if r, err := s.db.remoteOf(t); err != nil {
		return 0, err
	} else if r != nil {
		return r.Provision(ctx, t)
	}
	if t.Tier == qm.TierPool {
		return int(s.db.poolVersion.Load()), nil
	}
	p := s.db.path(t.Placement.Location)
	f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o640)
	if err != nil {
		return 0, fmt.Errorf("create silo file: %w", err)
	}
	f.Close()
	d, err := openDatabase(p, 1)
	if err != nil {
		return 0, err
	}
	defer d.Close()
	return schema.Migrate(ctx, d.inTx, s.db.tenantMigrations)
}

// Deprovision implements catalog.Storage: a pool tenant's rows are
// deleted in one transaction, its audit log with them (named in
// tenant_purges, which the append-only trigger heeds); a silo's file is
// removed.
func (s storage) Deprovision(ctx context.Context, t *qm.Tenant) error {
	if r, err := s.db.remoteOf(t); err != nil {
		return err
	} else if r != nil {
		return r.Deprovision(ctx, t)
	}
	if t.Tier == qm.TierPool {
		return s.db.pool.inTx(ctx, func(q sqlstore.Querier) error {
			tables, err := tenantTables(ctx, q)
			if err != nil {
				return err
			}
			if _, err := q.Exec(ctx, `INSERT INTO tenant_purges (tenant_id) VALUES ($1) ON CONFLICT DO NOTHING`, t.ID); err != nil {
				return fmt.Errorf("mark tenant %s purged: %w", t.Slug, err)
			}
			for _, name := range append(schema.PurgeOrder(slices.DeleteFunc(tables, isPurges)), purges) {
				if _, err := q.Exec(ctx, `DELETE FROM `+quote(name)+` WHERE tenant_id = $1`, t.ID); err != nil {
					return fmt.Errorf("delete tenant %s from %s: %w", t.Slug, name, err)
				}
			}
			return nil
		})
	}
	s.db.silos.Remove(t.Placement.Location)
	p := s.db.path(t.Placement.Location)
	var errs []error
	for _, f := range []string{p, p + "-wal", p + "-shm"} {
		if err := os.Remove(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// purges is the table that lets a purge delete a tenant's audit log.
const purges = "tenant_purges"

func isPurges(name string) bool { return name == purges }

// tenantTables lists the tables of q's database that have a tenant_id,
// as SQLite's own schema has them. Their names are SQLite's, from
// sqlite_master: safe to quote.
func tenantTables(ctx context.Context, q sqlstore.Querier) ([]string, error) {
	names, err := sqlstore.QueryIDs(ctx, q, `SELECT m.name FROM sqlite_master m JOIN pragma_table_info(m.name) p
		WHERE m.type = 'table' AND p.name = 'tenant_id'`)
	if err != nil {
		return nil, fmt.Errorf("tables: %w", err)
	}
	return slices.Sorted(maps.Keys(names)), nil
}

// quote quotes a table's name as SQLite found it.
func quote(name string) string { return `"` + name + `"` }

// Forget implements catalog.Storage.
func (s storage) Forget(ctx context.Context, t *qm.Tenant) error {
	return s.db.catalog.inTx(ctx, func(q sqlstore.Querier) error {
		tables, err := tenantTables(ctx, q)
		if err != nil {
			return err
		}
		return catalog.ForgetIn(ctx, q, t, tables, quote)
	})
}

// Remains implements catalog.Storage.
func (s storage) Remains(ctx context.Context, t *qm.Tenant) (map[string]int64, error) {
	left := map[string]int64{}
	count := func(d *database, prefix string) error {
		q := d.read()
		tables, err := tenantTables(ctx, q)
		if err != nil {
			return err
		}
		return catalog.CountIn(ctx, q, t, tables, quote, prefix, left)
	}
	if err := count(s.db.catalog, "catalog."); err != nil {
		return nil, err
	}
	if r, err := s.db.remoteOf(t); err != nil {
		return nil, err
	} else if r != nil {
		data, err := r.Remains(ctx, t)
		maps.Copy(left, data)
		return left, err
	}
	if t.Tier == qm.TierPool {
		return left, count(s.db.pool, "pool.")
	}
	p := s.db.path(t.Placement.Location)
	for _, f := range []string{p, p + "-wal", p + "-shm"} {
		if _, err := os.Stat(f); err == nil {
			left["file "+filepath.Base(f)] = 1
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	return left, nil
}

// MigrateData implements catalog.Storage.
func (s storage) MigrateData(ctx context.Context, t *qm.Tenant) (int, error) {
	if r, err := s.db.remoteOf(t); err != nil {
		return 0, err
	} else if r != nil {
		return r.MigrateData(ctx, t)
	}
	if t.Tier == qm.TierPool {
		return s.db.migratePool(ctx)
	}
	d, release, err := s.db.silos.Acquire(t.Placement.Location)
	if err != nil {
		return 0, err
	}
	defer release()
	return schema.Migrate(ctx, d.inTx, s.db.tenantMigrations)
}

// Servers implements catalog.Storage: this one, with the bytes of its
// files (catalog, pool and silos, with their logs); and the Remote's.
func (s storage) Servers(ctx context.Context, tenants []*qm.Tenant) ([]qm.DataServer, error) {
	var bytes int64
	for _, pattern := range []string{"catalog.db*", "pool.db*", filepath.Join("tenants", "*")} {
		files, err := filepath.Glob(s.db.path(pattern))
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			info, err := os.Stat(f)
			if err != nil && !errors.Is(err, fs.ErrNotExist) { // a silo removed meanwhile
				return nil, err
			}
			if err == nil {
				bytes += info.Size()
			}
		}
	}
	list := []qm.DataServer{{Engine: qm.EngineSQLite, Name: server, Bytes: bytes}}
	if s.db.remote == nil {
		return list, nil
	}
	more, err := s.db.remote.Servers(ctx, tenants)
	return append(list, more...), err
}
