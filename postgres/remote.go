package postgres

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore"
	"github.com/quartermaster/qm/sqlstore/engines"
	"github.com/quartermaster/qm/sqlstore/schema"
)

// RemoteConfig configures a Remote.
type RemoteConfig struct {
	// Servers names the PostgreSQL servers, as URLs of a privileged role
	// and a database of its own, whose name begins each silo database's.
	Servers map[string]string
	// ServingRole (qm_app) and ServingPassword are the serving role's, as
	// in Config.
	ServingRole     string
	ServingPassword string
	// Options are the shared settings; at most 64 silo databases have a
	// pool open by default.
	engines.Options
}

// Remote is PostgreSQL servers a server of another engine keeps silo
// tenants on (engines.Remote): a SQLite server grows into PostgreSQL with
// one. Each tenant has a database of its own, made, served, migrated and
// dropped as the PostgreSQL engine's silos are.
type Remote struct{ *servers }

var _ engines.Remote = (*Remote)(nil)

// OpenRemote opens the servers of cfg. It connects to none until used:
// Setup checks them.
func OpenRemote(cfg RemoteConfig) (*Remote, error) {
	if len(cfg.Servers) == 0 {
		return nil, fmt.Errorf("open postgres servers: none given")
	}
	if cfg.ServingRole == "" {
		cfg.ServingRole = "qm_app"
	}
	_, tenantMigs, err := cfg.Prepare(64, migrations)
	if err != nil {
		return nil, err
	}
	s, err := newServers(cfg.Servers, cfg.ServingRole, cfg.ServingPassword, nil, tenantMigs, cfg.Options)
	if err != nil {
		return nil, err
	}
	for name, pc := range s.configs {
		s.siloPrefix[name] = pc.ConnConfig.Database
	}
	return &Remote{s}, nil
}

// Engine implements engines.Remote.
func (r *Remote) Engine() qm.Engine { return qm.EnginePostgres }

// LatestVersion implements engines.Remote.
func (r *Remote) LatestVersion() int { return schema.Latest(r.tenantMigrations) }

// Setup implements engines.Remote.
func (r *Remote) Setup(ctx context.Context) error { return r.ensureAllRoles(ctx) }

// Close implements engines.Remote.
func (r *Remote) Close() error {
	r.close()
	return nil
}

// Place implements engines.Remote: a silo on the server named.
func (r *Remote) Place(id string, n qm.NewTenant) (qm.Placement, error) {
	if n.Tier != qm.TierSilo {
		names := slices.Sorted(maps.Keys(r.configs))
		return qm.Placement{}, &qm.Error{Code: qm.EInvalid,
			Message: fmt.Sprintf("a tenant placed on PostgreSQL server %s has a database of its own: use tier silo (servers: %s)", n.Server, strings.Join(names, ", ")),
			Fields:  map[string]string{"tier": "silo, on a PostgreSQL server"}}
	}
	return r.siloPlacement(id, n.Server)
}

// Provision implements engines.Remote.
func (r *Remote) Provision(ctx context.Context, t *qm.Tenant) (int, error) {
	return r.provisionSilo(ctx, t)
}

// Deprovision implements engines.Remote.
func (r *Remote) Deprovision(ctx context.Context, t *qm.Tenant) error {
	return r.deprovisionSilo(ctx, t)
}

// Remains implements engines.Remote.
func (r *Remote) Remains(ctx context.Context, t *qm.Tenant) (map[string]int64, error) {
	left := map[string]int64{}
	return left, r.siloRemains(ctx, t, left)
}

// MigrateData implements engines.Remote.
func (r *Remote) MigrateData(ctx context.Context, t *qm.Tenant) (int, error) {
	return r.migrateSilo(ctx, t)
}

// Servers implements engines.Remote.
func (r *Remote) Servers(ctx context.Context, tenants []*qm.Tenant) ([]qm.DataServer, error) {
	return r.list(ctx, tenants, nil)
}

// View implements engines.Remote.
func (r *Remote) View(ctx context.Context, t *qm.Tenant, fn func(sqlstore.Conn) error) error {
	l, err := r.silo(t)
	if err != nil {
		return err
	}
	defer l.release()
	return l.view(ctx, fn)
}

// Update implements engines.Remote.
func (r *Remote) Update(ctx context.Context, t *qm.Tenant, fn func(sqlstore.Conn) error) error {
	l, err := r.silo(t)
	if err != nil {
		return err
	}
	defer l.release()
	return l.update(ctx, fn)
}

// TxDomain implements engines.Remote: each silo is a database of its own.
func (r *Remote) TxDomain(t *qm.Tenant) string { return siloKey(t.Placement) }

// UpdateEach implements engines.Remote.
func (r *Remote) UpdateEach(ctx context.Context, tenants []*qm.Tenant, scopes []context.Context, fn func(context.Context, sqlstore.Conn) error) error {
	return updateEach(ctx, scopes, func(i int) (located, error) { return r.silo(tenants[i]) }, fn)
}
