package engines

import (
	"context"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore"
)

// Remote keeps tenants' data on another engine's servers for an engine
// whose catalog stays its own: a SQLite server grows into PostgreSQL one
// tenant at a time by placing tenants on the PostgreSQL servers of a
// Remote (postgres.OpenRemote), and moving them there. The engine still
// finds each tenant in its catalog and admits its work at its gate; then
// it hands a tenant placed on the Remote's engine to the Remote, which
// serves it as that engine serves its own.
type Remote interface {
	// Engine is the engine of the placements the Remote makes.
	Engine() qm.Engine
	// LatestVersion is the newest version of tenant data it knows: the
	// engine's own, for the versions of both engines count the same
	// migrations.
	LatestVersion() int
	// Setup prepares every server (the roles it serves as).
	Setup(ctx context.Context) error
	Close() error

	// Place, Provision, Deprovision, Remains, MigrateData and Servers are
	// those of catalog.Storage, for the data of the tenants the Remote
	// places: Remains says only what is left of their data.
	Place(id string, n qm.NewTenant) (qm.Placement, error)
	Provision(ctx context.Context, t *qm.Tenant) (int, error)
	Deprovision(ctx context.Context, t *qm.Tenant) error
	Remains(ctx context.Context, t *qm.Tenant) (map[string]int64, error)
	MigrateData(ctx context.Context, t *qm.Tenant) (int, error)
	Servers(ctx context.Context, tenants []*qm.Tenant) ([]qm.DataServer, error)

	// View, Update, TxDomain and UpdateEach are those of
	// sqlstore.BatchRouter, for tenants the engine found and admitted:
	// UpdateEach runs fn for tenants[i] in scopes[i].
	View(ctx context.Context, t *qm.Tenant, fn func(sqlstore.Conn) error) error
	Update(ctx context.Context, t *qm.Tenant, fn func(sqlstore.Conn) error) error
	TxDomain(t *qm.Tenant) string
	UpdateEach(ctx context.Context, tenants []*qm.Tenant, scopes []context.Context, fn func(context.Context, sqlstore.Conn) error) error
}
