package engines

import (
	"github.com/quartermaster/qm/sqlstore/schema"
	"io/fs"
	"log/slog"
	"time"
)

// Options are the settings every engine shares. Zero values take the
// defaults.
type Options struct {
	// MaxOpenSilos bounds how many silo databases are open at once (the
	// engine's default); SiloIdle is how long an unused one stays open
	// (5 minutes).
	MaxOpenSilos int
	SiloIdle     time.Duration
	// TenantMigrations replaces the embedded tenant migrations (tests and
	// benchmarks add steps with it).
	TenantMigrations []schema.Migration
	// Now is the clock (time.Now).
	Now func() time.Time
	// Logger receives the engine's logs (slog.Default()).
	Logger *slog.Logger
}

// Prepare fills in defaults, maxOpenSilos being the engine's, and loads the
// engine's embedded migrations from fsys (see schema.LoadEngineMigrations),
// the tenant ones replaced by TenantMigrations when set.
func (o *Options) Prepare(maxOpenSilos int, fsys fs.FS) (catalog, tenant []schema.Migration, err error) {
	if o.MaxOpenSilos <= 0 {
		o.MaxOpenSilos = maxOpenSilos
	}
	if o.SiloIdle <= 0 {
		o.SiloIdle = 5 * time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if catalog, tenant, err = schema.LoadEngineMigrations(fsys); err != nil {
		return nil, nil, err
	}
	if o.TenantMigrations != nil {
		tenant = o.TenantMigrations
	}
	return catalog, tenant, nil
}
