// Package postgres is Quartermaster's PostgreSQL storage engine.
//
// The catalog lives in schema catalog of the main database. Pool tenants
// share the tables of schema pool, kept apart by tenant_id and row-level
// security; each bridge tenant has a schema t_<id>; each silo tenant has a
// database of its own (tables in schema data), on the main server or another
// configured one.
//
// Two roles are used. The privileged role of Config.URL migrates and
// provisions. Requests run as the serving role, which Setup creates if
// missing: it owns nothing, is neither superuser nor BYPASSRLS, and reaches
// tenant tables only through its membership in the group role qm_serving.
package postgres

import (
	"context"
	"embed"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

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

// Names of the places data lives. SiloSchema is the schema of a silo
// database that holds the tenant's tables.
const (
	// MainServer names the server of Config.URL.
	MainServer    = "main"
	catalogSchema = "catalog"
	poolSchema    = "pool"
	SiloSchema    = "data"
	// servingGroup is the role granted access to tenant tables; the serving
	// login role is a member.
	servingGroup = "qm_serving"
)

// Config configures the engine. Zero values take the defaults.
type Config struct {
	// URL is the privileged connection to the main database, used for
	// migrations, provisioning and the catalog.
	URL string
	// Servers names further PostgreSQL servers silo tenants may be placed
	// on, as URLs of a privileged role and a maintenance database.
	Servers map[string]string
	// ServingRole is the login role requests run as (qm_app). Setup creates
	// it when missing, with ServingPassword if set.
	ServingRole     string
	ServingPassword string
	// MaxConns bounds the serving pool of the main database (4 × CPUs).
	MaxConns int32
	// Tracer, when set, sees every statement the serving role sends;
	// tests check them with it (pgtest.CheckRouting).
	Tracer pgx.QueryTracer
	// Options are the shared settings; at most 64 silo databases have a
	// pool open by default.
	engines.Options
}

// DB is the PostgreSQL engine, opened.
type DB struct {
	*servers
	cfg               Config
	admin             *pgxpool.Pool // privileged, main database, search_path catalog
	serve             *pgxpool.Pool // serving role, main database
	catalogMigrations []schema.Migration
	tenants           *catalog.TenantService
	identity          *catalog.Identity
	devices           *catalog.DeviceStore
	poolVersion       atomic.Int64
	mainDatabase      string

	closeOnce sync.Once
}

// Open connects to the main database and checks that it answers. It does not
// migrate: call Setup for that.
func Open(ctx context.Context, cfg Config) (*DB, error) {
	if cfg.ServingRole == "" {
		cfg.ServingRole = "qm_app"
	}
	catalogMigs, tenantMigs, err := cfg.Prepare(64, migrations)
	if err != nil {
		return nil, err
	}
	urls := map[string]string{MainServer: cfg.URL}
	for name, u := range cfg.Servers {
		if name == MainServer {
			return nil, fmt.Errorf("server name %q is reserved for the main database", MainServer)
		}
		urls[name] = u
	}
	servers, err := newServers(urls, cfg.ServingRole, cfg.ServingPassword, cfg.Tracer, tenantMigs, cfg.Options)
	if err != nil {
		return nil, err
	}
	db := &DB{servers: servers, cfg: cfg, catalogMigrations: catalogMigs}
	main := servers.configs[MainServer]
	db.mainDatabase = main.ConnConfig.Database
	// Silo databases carry the main database's name, on every server.
	for name := range servers.configs {
		servers.siloPrefix[name] = db.mainDatabase
	}

	adminCfg := main.Copy()
	adminCfg.MaxConns = 16
	adminCfg.ConnConfig.RuntimeParams["search_path"] = catalogSchema
	if db.admin, err = connect(ctx, adminCfg); err != nil {
		servers.close()
		return nil, err
	}
	serveCfg := db.servingConfig(main, poolSchema)
	serveCfg.MaxConns = int32(4 * runtime.NumCPU())
	if cfg.MaxConns > 0 {
		serveCfg.MaxConns = cfg.MaxConns
	}
	// The serving pool connects lazily: the serving role may not exist
	// until Setup creates it.
	if db.serve, err = pgxpool.NewWithConfig(ctx, serveCfg); err != nil {
		db.admin.Close()
		servers.close()
		return nil, fmt.Errorf("serving pool: %w", err)
	}
	db.tenants = catalog.NewTenantService(querier{db.admin}, schemaTx(db.admin, catalogSchema), storage{db}, db, dataplane.SeedStatusLabels, cfg.Now, notices{db})
	db.identity = catalog.NewIdentity(querier{db.admin}, db.tenants)
	db.devices = catalog.NewDeviceStore(querier{db.admin}, schemaTx(db.admin, catalogSchema), db.tenants, db, cfg.Now)
	return db, nil
}

// connect opens a pool and makes sure the server answers, so a wrong URL is
// reported at once, naming the host and the cause.
func connect(ctx context.Context, pc *pgxpool.Config) (*pgxpool.Pool, error) {
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err == nil {
		if err = pool.Ping(ctx); err != nil {
			pool.Close()
		}
	}
	if err != nil {
		return nil, &ConnectError{Host: pc.ConnConfig.Host, Port: pc.ConnConfig.Port, Database: pc.ConnConfig.Database, Err: err}
	}
	return pool, nil
}

// Close closes every pool. It is safe to call more than once.
func (db *DB) Close() error {
	db.closeOnce.Do(func() {
		db.servers.close()
		db.serve.Close()
		db.admin.Close()
	})
	return nil
}

// Setup creates the roles and shared schemas if missing, and brings the
// catalog and the pool to the newest version.
func (db *DB) Setup(ctx context.Context) error {
	if err := db.ensureAllRoles(ctx); err != nil {
		return err
	}
	for _, schema := range []string{catalogSchema, poolSchema} {
		if err := db.createSchema(ctx, db.admin, schema); err != nil {
			return err
		}
	}
	if _, err := schema.Migrate(ctx, schemaTx(db.admin, catalogSchema), db.catalogMigrations); err != nil {
		return fmt.Errorf("migrate catalog: %w", err)
	}
	_, err := db.migratePool(ctx)
	return err
}

func (db *DB) migratePool(ctx context.Context) (int, error) {
	v, err := schema.Migrate(ctx, schemaTx(db.admin, poolSchema), db.tenantMigrations)
	if err != nil {
		return v, fmt.Errorf("migrate pool: %w", err)
	}
	db.poolVersion.Store(int64(v))
	return v, nil
}

// createSchema creates schema if missing, owned by the privileged role, and
// lets the serving group use it.
func (db *DB) createSchema(ctx context.Context, r pgRunner, schema string) error {
	id := pgx.Identifier{schema}.Sanitize()
	_, err := r.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+id)
	if err != nil && pgCode(err) != codeDuplicateSchema && pgCode(err) != codeUniqueViolation {
		return fmt.Errorf("create schema %s: %w", schema, err)
	}
	if _, err := r.Exec(ctx, `GRANT USAGE ON SCHEMA `+id+` TO `+servingGroup); err != nil {
		return fmt.Errorf("grant schema %s: %w", schema, err)
	}
	return nil
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

// ConnectError says which server could not be reached, and why.
type ConnectError struct {
	Host     string
	Port     uint16
	Database string
	Err      error
}

// Error implements the error interface.
func (e *ConnectError) Error() string {
	return fmt.Sprintf("cannot connect to PostgreSQL at %s:%d (database %s): %v", e.Host, e.Port, e.Database, e.Err)
}

// Unwrap returns the cause.
func (e *ConnectError) Unwrap() error { return e.Err }
