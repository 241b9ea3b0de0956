package postgres

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore"
	"github.com/quartermaster/qm/sqlstore/engines"
	"github.com/quartermaster/qm/sqlstore/schema"
)

// servers are the PostgreSQL servers an engine keeps tenants' data on, by
// name, and the silo databases on them: what the engine (DB) and a Remote
// share. Each server is reached as the privileged role of its URL, to
// migrate and provision, and as the serving role, to serve.
type servers struct {
	configs map[string]*pgxpool.Config // privileged, per server
	// siloPrefix begins the name of every silo database on a server.
	siloPrefix       map[string]string
	role, password   string
	tracer           pgx.QueryTracer
	tenantMigrations []schema.Migration
	keepsSearchFrom  int // see keepsSearchFrom
	opts             engines.Options
	silos            *sqlstore.Cache[siloPool]
	stopSweeping     func()
}

// siloPool is a serving pool of one silo database.
type siloPool struct{ *pgxpool.Pool }

func (p siloPool) Close() error { p.Pool.Close(); return nil }

// newServers parses the servers' URLs, by name. The caller sets
// siloPrefix.
func newServers(urls map[string]string, role, password string, tracer pgx.QueryTracer, tenantMigrations []schema.Migration, opts engines.Options) (*servers, error) {
	s := &servers{configs: map[string]*pgxpool.Config{}, siloPrefix: map[string]string{}, role: role, password: password, tracer: tracer,
		tenantMigrations: tenantMigrations, keepsSearchFrom: keepsSearchFrom(tenantMigrations), opts: opts}
	for name, u := range urls {
		pc, err := pgxpool.ParseConfig(u)
		if err != nil {
			return nil, fmt.Errorf("server %s: invalid database URL: %w", name, errors.Unwrap(err))
		}
		// Citus carries a transaction's SET LOCAL to its workers, as the
		// tenant's scope needs (scopeStatements), only with this; PostgreSQL
		// without Citus keeps it as a setting nobody reads.
		pc.ConnConfig.RuntimeParams["citus.propagate_set_commands"] = "local"
		s.configs[name] = pc
	}
	s.silos = sqlstore.NewCache(opts.MaxOpenSilos, opts.SiloIdle, opts.Now, s.openSilo)
	s.stopSweeping = s.silos.SweepEvery(opts.SiloIdle / 4)
	return s, nil
}

// close closes every silo's pool.
func (s *servers) close() {
	s.stopSweeping()
	s.silos.Close()
}

// servingConfig is pc with the serving role's credentials and a session
// search path of schema. Each statement's scope sets the path again for its
// transaction; the session's path only lets pgx prepare a statement before
// the scope runs (PostgreSQL parses it again when the path has changed).
func (s *servers) servingConfig(pc *pgxpool.Config, schema string) *pgxpool.Config {
	sc := pc.Copy()
	sc.ConnConfig.User = s.role
	sc.ConnConfig.Password = s.password
	sc.ConnConfig.RuntimeParams["search_path"] = schema
	sc.ConnConfig.Tracer = s.tracer
	return sc
}

// ensureAllRoles makes sure every server has the serving roles.
func (s *servers) ensureAllRoles(ctx context.Context) error {
	for name := range s.configs {
		if err := s.ensureRoles(ctx, name); err != nil {
			return fmt.Errorf("server %s: %w", name, err)
		}
	}
	return nil
}

// ensureRoles creates the serving group and login role on a server if they
// are missing, and refuses a serving role that could bypass row security.
func (s *servers) ensureRoles(ctx context.Context, server string) error {
	conn, err := s.adminConn(ctx, server, "")
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	login := pgx.Identifier{s.role}.Sanitize()
	create := []string{`CREATE ROLE ` + servingGroup + ` NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE`}
	loginSQL := `CREATE ROLE ` + login + ` LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE`
	if s.password != "" {
		loginSQL += ` PASSWORD ` + quoteLiteral(s.password)
	}
	create = append(create, loginSQL)
	for i, role := range []string{servingGroup, s.role} {
		var exists bool
		if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = $1)`, role).Scan(&exists); err != nil {
			return fmt.Errorf("look up role %s: %w", role, err)
		}
		if exists {
			continue
		}
		// Another process may create the role at the same moment.
		if _, err := conn.Exec(ctx, create[i]); err != nil && pgCode(err) != codeDuplicateObject && pgCode(err) != codeUniqueViolation {
			return fmt.Errorf("create role %s: %w", role, err)
		}
	}
	// Granting twice is harmless; two processes granting at once can clash.
	if _, err := conn.Exec(ctx, `GRANT `+servingGroup+` TO `+login); err != nil && pgCode(err) != codeUniqueViolation {
		return fmt.Errorf("grant %s to %s: %w", servingGroup, s.role, err)
	}
	var super, bypass bool
	err = conn.QueryRow(ctx, `SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = $1`, s.role).Scan(&super, &bypass)
	if err != nil {
		return fmt.Errorf("check role %s: %w", s.role, err)
	}
	if super || bypass {
		return fmt.Errorf("serving role %s is a superuser or may bypass row-level security: use a plain role", s.role)
	}
	return nil
}

// quoteLiteral quotes s as an SQL string literal.
func quoteLiteral(s string) string {
	out := []byte{'\''}
	for i := 0; i < len(s); i++ {
		if s[i] == '\'' {
			out = append(out, '\'')
		}
		out = append(out, s[i])
	}
	return string(append(out, '\''))
}

// adminConn connects as the privileged role to database on server; an empty
// database means the one in the server's URL.
func (s *servers) adminConn(ctx context.Context, server, database string) (*pgx.Conn, error) {
	pc, ok := s.configs[server]
	if !ok {
		return nil, fmt.Errorf("unknown database server %q", server)
	}
	cc := pc.ConnConfig.Copy()
	if database != "" {
		cc.Database = database
	}
	conn, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		return nil, &ConnectError{Host: cc.Host, Port: cc.Port, Database: cc.Database, Err: err}
	}
	return conn, nil
}

// unknownServer is the answer to a tenant placed on a server not
// configured.
func unknownServer(name string) error {
	return &qm.Error{Code: qm.EInvalid, Message: fmt.Sprintf("unknown database server %q: configure it with --pg-server", name),
		Fields: map[string]string{"server": "unknown server"}}
}

// siloPlacement is where a new silo tenant id's database goes on server.
// Silo databases begin with the server's prefix, so several deployments
// can share a server; cut to fit PostgreSQL's 63 bytes.
func (s *servers) siloPlacement(id, server string) (qm.Placement, error) {
	if _, ok := s.configs[server]; !ok {
		return qm.Placement{}, unknownServer(server)
	}
	prefix := s.siloPrefix[server]
	if len(prefix) > 24 {
		prefix = prefix[:24]
	}
	return qm.Placement{Engine: qm.EnginePostgres, Server: server, Location: prefix + "_t_" + compactID(id)}, nil
}

// compactID is a tenant id without hyphens, for names of schemas and
// databases.
func compactID(id string) string { return strings.ReplaceAll(id, "-", "") }

// siloKey names a silo database in the cache: server and database.
func siloKey(p qm.Placement) string { return p.Server + "/" + p.Location }

func splitSiloKey(key string) (server, database string) {
	server, database, _ = strings.Cut(key, "/")
	return server, database
}

// openSilo opens a serving pool on a silo database.
func (s *servers) openSilo(key string) (siloPool, error) {
	server, database := splitSiloKey(key)
	pc, ok := s.configs[server]
	if !ok {
		return siloPool{}, fmt.Errorf("unknown database server %q", server)
	}
	sc := s.servingConfig(pc, SiloSchema)
	sc.ConnConfig.Database = database
	sc.MaxConns = 4
	sc.MaxConnIdleTime = s.opts.SiloIdle
	pool, err := pgxpool.NewWithConfig(context.Background(), sc)
	if err != nil {
		return siloPool{}, fmt.Errorf("open silo %s: %w", key, err)
	}
	return siloPool{pool}, nil
}

// silo finds silo tenant t's database for a piece of work.
func (s *servers) silo(t *qm.Tenant) (located, error) {
	pool, release, err := s.silos.Acquire(siloKey(t.Placement))
	if err != nil {
		return located{}, fmt.Errorf("tenant %s: %w", t.Slug, err)
	}
	return located{t: t, pool: pool.Pool, schema: SiloSchema, keepsSearchFrom: s.keepsSearchFrom, release: release}, nil
}

// provisionSilo creates silo tenant t's database and migrates it. A
// database cannot be created inside a transaction; its contents are, and
// deprovisionSilo drops a database left half made.
func (s *servers) provisionSilo(ctx context.Context, t *qm.Tenant) (int, error) {
	admin, err := s.adminConn(ctx, t.Placement.Server, "")
	if err != nil {
		return 0, err
	}
	dbName := pgx.Identifier{t.Placement.Location}.Sanitize()
	_, err = admin.Exec(ctx, `CREATE DATABASE `+dbName)
	if err == nil {
		// Only the serving group may connect to a silo database.
		_, err = admin.Exec(ctx, `REVOKE ALL ON DATABASE `+dbName+` FROM PUBLIC; GRANT CONNECT ON DATABASE `+dbName+` TO `+servingGroup)
	}
	admin.Close(context.WithoutCancel(ctx))
	if err != nil {
		return 0, fmt.Errorf("create database %s: %w", t.Placement.Location, err)
	}
	conn, err := s.adminConn(ctx, t.Placement.Server, t.Placement.Location)
	if err != nil {
		return 0, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	tx, err := conn.Begin(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	v, err := s.createAndMigrate(ctx, querier{tx}, SiloSchema)
	if err != nil {
		return 0, err
	}
	return v, tx.Commit(ctx)
}

// createAndMigrate creates the schema called name and migrates it, all
// inside the one transaction q runs in.
func (s *servers) createAndMigrate(ctx context.Context, q sqlstore.Querier, name string) (int, error) {
	id := pgx.Identifier{name}.Sanitize()
	if _, err := q.Exec(ctx, `CREATE SCHEMA `+id+`; GRANT USAGE ON SCHEMA `+id+` TO `+servingGroup); err != nil {
		return 0, fmt.Errorf("create schema %s: %w", name, err)
	}
	if err := setSearchPath(ctx, q, name); err != nil {
		return 0, err
	}
	sameTx := func(_ context.Context, fn func(sqlstore.Querier) error) error { return fn(q) }
	return schema.Migrate(ctx, sameTx, s.tenantMigrations)
}

// deprovisionSilo drops silo tenant t's database, if it is there.
func (s *servers) deprovisionSilo(ctx context.Context, t *qm.Tenant) error {
	s.silos.Remove(siloKey(t.Placement))
	admin, err := s.adminConn(ctx, t.Placement.Server, "")
	if err != nil {
		return err
	}
	defer admin.Close(context.WithoutCancel(ctx))
	_, err = admin.Exec(ctx, `DROP DATABASE IF EXISTS `+pgx.Identifier{t.Placement.Location}.Sanitize()+` WITH (FORCE)`)
	return err
}

// siloRemains adds silo tenant t's database to left, if it is there.
func (s *servers) siloRemains(ctx context.Context, t *qm.Tenant, left map[string]int64) error {
	admin, err := s.adminConn(ctx, t.Placement.Server, "")
	if err != nil {
		return err
	}
	defer admin.Close(context.WithoutCancel(ctx))
	var n int64
	if err := admin.QueryRow(ctx, `SELECT count(*) FROM pg_database WHERE datname = $1`, t.Placement.Location).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		left["database "+t.Placement.Location] = n
	}
	return nil
}

// migrateSilo brings silo tenant t's database to the newest version.
func (s *servers) migrateSilo(ctx context.Context, t *qm.Tenant) (int, error) {
	conn, err := s.adminConn(ctx, t.Placement.Server, t.Placement.Location)
	if err != nil {
		return 0, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return schema.Migrate(ctx, schemaTx(conn, SiloSchema), s.tenantMigrations)
}

// list describes each server of names: the bytes of the databases of
// the silo tenants of tenants placed on it, and of its own of shared
// (by name, on the main server: the main database).
func (s *servers) list(ctx context.Context, tenants []*qm.Tenant, shared map[string]string) ([]qm.DataServer, error) {
	names := slices.Sorted(maps.Keys(s.configs))
	list := make([]qm.DataServer, 0, len(names))
	for _, name := range names {
		var dbs []string
		if db, ok := shared[name]; ok {
			dbs = append(dbs, db)
		}
		for _, t := range tenants {
			if t.Tier == qm.TierSilo && t.Placement.Engine == qm.EnginePostgres && t.Placement.Server == name {
				dbs = append(dbs, t.Placement.Location)
			}
		}
		conn, err := s.adminConn(ctx, name, "")
		if err != nil {
			return nil, err
		}
		var bytes int64
		err = conn.QueryRow(ctx, `SELECT coalesce(sum(pg_database_size(datname)), 0)::bigint FROM pg_database WHERE datname = ANY($1)`, dbs).Scan(&bytes)
		conn.Close(context.WithoutCancel(ctx))
		if err != nil {
			return nil, fmt.Errorf("size of server %s: %w", name, err)
		}
		list = append(list, qm.DataServer{Engine: qm.EnginePostgres, Name: name, Bytes: bytes})
	}
	return list, nil
}
