package bench

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/errgroup"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/alerting"
	"github.com/quartermaster/qm/auth"
	"github.com/quartermaster/qm/httpapi"
	"github.com/quartermaster/qm/ingest"
	"github.com/quartermaster/qm/metrics"
	"github.com/quartermaster/qm/postgres"
	"github.com/quartermaster/qm/rates"
	"github.com/quartermaster/qm/sqlite"
	"github.com/quartermaster/qm/sqlstore"
	"github.com/quartermaster/qm/sqlstore/alerts"
	"github.com/quartermaster/qm/sqlstore/catalog"
	"github.com/quartermaster/qm/sqlstore/dataplane"
	"github.com/quartermaster/qm/sqlstore/engines"
	"github.com/quartermaster/qm/sqlstore/schema"
	"github.com/quartermaster/qm/sqlstore/telemetry"
	"github.com/quartermaster/qm/tenancy"
	"github.com/quartermaster/qm/usage"
)

// Options says what to measure.
type Options struct {
	// SQLite and Postgres say which engines to measure. PostgresURL is a
	// privileged URL; the run creates a scratch database on that server
	// and drops it afterwards.
	SQLite      bool
	Postgres    bool
	PostgresURL string
	// Provision is how many tenants to create per engine and tier (PostgreSQL
	// silos: at most 50).
	Provision int
	// Reads is how many point reads to time per engine and tier, for the
	// kernel and for the driver alike.
	Reads int
	// MigrateTenants is how many SQLite silos and PostgreSQL bridge schemas
	// to migrate to a new version (0 skips the figure).
	MigrateTenants int
	// HTTP is how long each side of the API figure runs (0 skips it), with
	// Clients concurrent connections.
	HTTP    time.Duration
	Clients int
	// Ingest is how long each side of the telemetry ingest figure runs (0
	// skips it), with IngestSenders senders of IngestBatch points a request.
	Ingest                     time.Duration
	IngestSenders, IngestBatch int
	// Noisy is how long each phase of the noisy-neighbour figure runs (0
	// skips it): tenant B alone and beside tenant A's flood, in turns, at ten times
	// their plan's NoisyRate API requests a second (and ten times as many
	// points).
	Noisy     time.Duration
	NoisyRate float64
	// Limits is how long each side of the cost-of-limits figures runs (0
	// skips them): API reads with Clients connections and ingest with
	// IngestSenders and IngestBatch, for a tenant on a generous plan and
	// one on the default plan.
	Limits time.Duration
	// Rules is how long each side of the cost-of-rules figure runs (0
	// skips it): ingest with IngestSenders and IngestBatch for a tenant
	// with 100 rules and 1,000 geofences and one with none; and the
	// latency figure from a point's commit to its webhook.
	Rules time.Duration
	// MQTT is how long the MQTT publish figure runs (0 skips it), with
	// MQTTDevices connected devices; IdleDevices is how many idle devices
	// the memory figure connects (0 skips it).
	MQTT                     time.Duration
	MQTTDevices, IdleDevices int
	// Logins is how many sign-ins to time (0 skips them).
	Logins int
	// Assets is how many assets the big tenant of the list figure holds,
	// beside AssetTenants other tenants (0 skips the figure).
	Assets, AssetTenants int
	// ImportRows is how many assets the import figure reads from CSV (0
	// skips it).
	ImportRows int
	// MovePoints are the sizes, in points, of the tenants the move figure
	// moves from the pool to a silo (none skips it).
	MovePoints []int
	// Progress receives a line per step.
	Progress io.Writer
}

// engine is what the kernel figures need of an engine.
type engine interface {
	sqlstore.BatchRouter
	Setup(ctx context.Context) error
	Tenants() *catalog.TenantService
	Identity() *catalog.Identity
	Devices() *catalog.DeviceStore
	Close() error
}

// target is one engine under measurement: how to make fresh storage, open
// it (again, with other migrations), and reach a tenant's table straight
// through the driver. A storage is a data directory or a database name.
type target struct {
	name       string
	tiers      []qm.Tier
	newStorage func(ctx context.Context) (string, error)
	open       func(ctx context.Context, storage string, migs []schema.Migration) (engine, error)
	direct     func(ctx context.Context, storage string, t *qm.Tenant) (pointRead, func(), error)
	// raw inserts points into a pool tenant's table straight through the
	// driver.
	raw  func(ctx context.Context, storage string, t *qm.Tenant) (rawInsert, func(), error)
	migs []schema.Migration
	// migrateTier is the tier whose per-tenant places the migration figure
	// migrates.
	migrateTier qm.Tier
	cleanup     func()
}

// rawPointInsert is the insert a program without Quartermaster would send
// for each point.
func rawPointInsert(table string) string {
	return `INSERT INTO ` + table + ` (tenant_id, device_id, t_us, lat, lon, speed_kmh, heading, metrics, received_us)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING`
}

func rawPointArgs(tenantID, deviceID string, p qm.Point) []any {
	metrics, _ := json.Marshal(p.Metrics)
	return []any{tenantID, deviceID, p.Time.UnixMicro(), p.Position.Lat, p.Position.Lon, *p.Position.SpeedKMH, *p.Position.Heading,
		string(metrics), time.Now().UnixMicro()}
}

// pointRead reads one location by id and scans it as the kernel does.
type pointRead func(ctx context.Context, tenantID, id string) error

const pointQuery = `SELECT id, name, parent_id, address, notes, created_at, updated_at FROM %s WHERE tenant_id = $1 AND id = $2`

func scanPoint(r interface{ Scan(...any) error }) error {
	var l qm.Location
	var parent sql.NullString
	return r.Scan(&l.ID, &l.Name, &parent, &l.Address, &l.Notes, &l.CreatedAt, &l.UpdatedAt)
}

// Run measures every figure for the chosen engines.
func Run(ctx context.Context, o Options) ([]Result, error) {
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	var targets []*target
	defer func() {
		for _, t := range targets {
			t.cleanup()
		}
	}()
	if o.SQLite {
		t, err := sqliteTarget()
		if err != nil {
			return nil, err
		}
		targets = append(targets, t)
	}
	if o.Postgres {
		t, err := postgresTarget(ctx, o.PostgresURL)
		if err != nil {
			return nil, err
		}
		targets = append(targets, t)
	}
	var results []Result
	var migrateTotal, noopTotal time.Duration
	for _, t := range targets {
		storage, err := t.newStorage(ctx)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", t.name, err)
		}
		e, err := t.open(ctx, storage, nil)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", t.name, err)
		}
		for _, tier := range t.tiers {
			fmt.Fprintf(o.Progress, "%s %s: provisioning %d tenants\n", t.name, tier, o.Provision)
			r, err := provision(ctx, e, t, tier, o.Provision)
			if err != nil {
				e.Close()
				return nil, err
			}
			results = append(results, r)
			fmt.Fprintf(o.Progress, "%s %s: %d point reads\n", t.name, tier, o.Reads)
			if r, err = pointReads(ctx, e, t, storage, tier, o.Reads); err != nil {
				e.Close()
				return nil, err
			}
			results = append(results, r)
		}
		if o.HTTP > 0 {
			fmt.Fprintf(o.Progress, "%s: API reads for %v, twice\n", t.name, o.HTTP)
			r, err := apiRead(ctx, e, t.name, o.Clients, o.HTTP)
			if err != nil {
				e.Close()
				return nil, err
			}
			results = append(results, r)
		}
		if o.Ingest > 0 {
			fmt.Fprintf(o.Progress, "%s: telemetry ingest for %v, twice\n", t.name, o.Ingest)
			r, err := httpIngest(ctx, e, t, storage, o.IngestSenders, o.IngestBatch, o.Ingest)
			if err != nil {
				e.Close()
				return nil, fmt.Errorf("%s: ingest: %w", t.name, err)
			}
			results = append(results, r)
		}
		if o.Limits > 0 {
			fmt.Fprintf(o.Progress, "%s: API reads and ingest with limits and without, for %v each\n", t.name, o.Limits)
			rs, err := limitsCost(ctx, e, t.name, o.Clients, o.IngestSenders, o.IngestBatch, o.Limits)
			if err != nil {
				e.Close()
				return nil, fmt.Errorf("%s: cost of limits: %w", t.name, err)
			}
			results = append(results, rs...)
		}
		if o.Rules > 0 {
			fmt.Fprintf(o.Progress, "%s: ingest with %d rules and without, for %v each\n", t.name, benchRules, o.Rules)
			r, err := rulesCost(ctx, e, t.name, o.IngestSenders, o.IngestBatch, o.Rules)
			if err != nil {
				e.Close()
				return nil, fmt.Errorf("%s: cost of rules: %w", t.name, err)
			}
			fmt.Fprintf(o.Progress, "%s: a point's commit to its webhook, one at a time, for %v\n", t.name, o.Rules)
			l, err := webhookLatency(ctx, e, t.name, o.Rules)
			if err != nil {
				e.Close()
				return nil, fmt.Errorf("%s: webhook latency: %w", t.name, err)
			}
			results = append(results, r, l)
		}
		if o.Noisy > 0 {
			fmt.Fprintf(o.Progress, "%s: noisy neighbour, %v alone and %v beside the flood, in turns\n", t.name, o.Noisy, o.Noisy)
			rs, err := noisyNeighbour(ctx, e, t.name, o.NoisyRate, o.Noisy)
			if err != nil {
				e.Close()
				return nil, fmt.Errorf("%s: noisy neighbour: %w", t.name, err)
			}
			results = append(results, rs...)
		}
		if o.MQTT > 0 {
			fmt.Fprintf(o.Progress, "%s: MQTT publishes from %d devices for %v\n", t.name, o.MQTTDevices, o.MQTT)
			r, err := mqttPublish(ctx, e, t.name, o.MQTTDevices, o.MQTT)
			if err != nil {
				e.Close()
				return nil, fmt.Errorf("%s: mqtt: %w", t.name, err)
			}
			results = append(results, r)
		}
		if o.IdleDevices > 0 {
			fmt.Fprintf(o.Progress, "%s: %d idle MQTT devices\n", t.name, o.IdleDevices)
			r, err := mqttIdleMemory(ctx, e, t.name, o.IdleDevices)
			if err != nil {
				e.Close()
				return nil, fmt.Errorf("%s: mqtt idle: %w", t.name, err)
			}
			results = append(results, r)
		}
		if o.Assets > 0 {
			rs, err := assetList(ctx, e, t.name, o.Assets, o.AssetTenants, o.Reads/25+20, o.Progress)
			if err != nil {
				e.Close()
				return nil, err
			}
			results = append(results, rs...)
		}
		if len(o.MovePoints) > 0 {
			fmt.Fprintf(o.Progress, "%s: moves of tenants of %v points, pool to silo\n", t.name, o.MovePoints)
			rs, err := moveTimes(ctx, e, t.name, o.MovePoints)
			if err != nil {
				e.Close()
				return nil, fmt.Errorf("%s: move: %w", t.name, err)
			}
			results = append(results, rs...)
		}
		if o.ImportRows > 0 {
			fmt.Fprintf(o.Progress, "%s: import of %d assets\n", t.name, o.ImportRows)
			rs, err := importAssets(ctx, e, t.name, o.ImportRows)
			if err != nil {
				e.Close()
				return nil, err
			}
			results = append(results, rs...)
		}
		if o.Logins > 0 {
			fmt.Fprintf(o.Progress, "%s: %d sign-ins\n", t.name, o.Logins)
			r, err := login(ctx, e, t.name, o.Logins)
			if err != nil {
				e.Close()
				return nil, err
			}
			results = append(results, r)
		}
		e.Close()
		if o.MigrateTenants > 0 {
			rs, err := migrate(ctx, t, o.MigrateTenants, o.Progress)
			if err != nil {
				return nil, err
			}
			results = append(results, rs...)
			migrateTotal += rs[1].Total
			noopTotal += rs[2].Total
		}
	}
	if o.MigrateTenants > 0 && len(targets) > 1 {
		results = append(results,
			Result{Name: "migrate: all of the above, to a new version", N: 1, Total: migrateTotal, Target: "< 60s"},
			Result{Name: "migrate: all of the above, no-op", N: 1, Total: noopTotal, Target: "< 2s"})
	}
	return results, nil
}

var provisionTargets = map[string]string{"sqlite pool": "< 5ms", "sqlite silo": "< 50ms", "postgres pool": "< 5ms", "postgres bridge": "< 200ms", "postgres silo": "< 1s"}

func provision(ctx context.Context, e engine, t *target, tier qm.Tier, n int) (Result, error) {
	if t.name == "postgres" && tier == qm.TierSilo {
		n = min(n, 50)
	}
	var s Sample
	for i := range n {
		err := s.Time(func() error {
			_, err := e.Tenants().CreateTenant(ctx, qm.NewTenant{Slug: fmt.Sprintf("prov-%s-%d", tier, i), Name: "Provisioned", Tier: tier})
			return err
		})
		if err != nil {
			return Result{}, fmt.Errorf("%s %s: provision: %w", t.name, tier, err)
		}
	}
	name := t.name + " " + string(tier)
	return s.Result("provision "+name, provisionTargets[name]), nil
}

func pointReads(ctx context.Context, e engine, t *target, storage string, tier qm.Tier, n int) (Result, error) {
	tn, err := e.Tenants().CreateTenant(ctx, qm.NewTenant{Slug: "read-" + string(tier), Name: "Reader", Tier: tier})
	if err != nil {
		return Result{}, err
	}
	tctx := tenancy.WithTenant(ctx, tn)
	store := dataplane.NewLocationStore(e, time.Now)
	loc := &qm.Location{Name: "Point", Address: "1 Main St"}
	if err := store.CreateLocation(tctx, loc); err != nil {
		return Result{}, err
	}
	direct, closeDirect, err := t.direct(ctx, storage, tn)
	if err != nil {
		return Result{}, err
	}
	defer closeDirect()
	kernel := func() error { _, err := store.Location(tctx, loc.ID); return err }
	driver := func() error { return direct(ctx, tn.ID, loc.ID) }
	for range 200 { // warm caches and prepared statements
		if err := errors.Join(kernel(), driver()); err != nil {
			return Result{}, fmt.Errorf("%s %s: point read: %w", t.name, tier, err)
		}
	}
	var ks, ds Sample
	for i := range n {
		// Alternate which goes first so drift favours neither.
		first, second := ks.Time, ds.Time
		fk, fd := kernel, driver
		if i%2 == 1 {
			first, second, fk, fd = ds.Time, ks.Time, driver, kernel
		}
		if err := errors.Join(first(fk), second(fd)); err != nil {
			return Result{}, fmt.Errorf("%s %s: point read: %w", t.name, tier, err)
		}
	}
	return ks.Compared("point read "+t.name+" "+string(tier), "≤ 1.1x", "driver", ds), nil
}

// migrate creates n tenants at the embedded version on the target's
// per-tenant tier, then times migrating them to a version with one more step,
// and a second, no-op run.
func migrate(ctx context.Context, t *target, n int, progress io.Writer) ([]Result, error) {
	storage, err := t.newStorage(ctx)
	if err != nil {
		return nil, err
	}
	e, err := t.open(ctx, storage, nil)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(progress, "%s: creating %d %s tenants to migrate\n", t.name, n, t.migrateTier)
	var create Sample
	for i := range n {
		err := create.Time(func() error {
			_, err := e.Tenants().CreateTenant(ctx, qm.NewTenant{Slug: fmt.Sprintf("mig-%d", i), Name: "Migrated", Tier: t.migrateTier})
			return err
		})
		if err != nil {
			e.Close()
			return nil, fmt.Errorf("%s: create tenant to migrate: %w", t.name, err)
		}
	}
	e.Close()
	newer := schema.Append(t.migs, "bench_step", "ALTER TABLE locations ADD COLUMN bench_note TEXT")
	if e, err = t.open(ctx, storage, newer); err != nil {
		return nil, err
	}
	defer e.Close()
	var runs [2]time.Duration
	var tenants int
	for i := range runs {
		fmt.Fprintf(progress, "%s: migrate run %d\n", t.name, i+1)
		start := time.Now()
		rep, err := e.Tenants().MigrateTenants(ctx, schema.Latest(newer), 8, nil)
		runs[i] = time.Since(start)
		if err != nil {
			return nil, err
		}
		if len(rep.Failures) > 0 {
			return nil, fmt.Errorf("%s: migrate: %d places failed, first: %v", t.name, len(rep.Failures), rep.Failures[0].Err)
		}
		if i == 0 {
			tenants = rep.Tenants
		} else if rep.Tenants != 0 {
			return nil, fmt.Errorf("%s: second migrate run found %d tenants to migrate, want 0", t.name, rep.Tenants)
		}
	}
	label := fmt.Sprintf("%s %d %s tenants", t.name, n, t.migrateTier)
	return []Result{
		create.Result("migrate: create "+label, ""),
		{Name: "migrate: " + label + " to a new version", N: tenants, Total: runs[0]},
		{Name: "migrate: " + label + ", no-op", N: n, Total: runs[1]},
	}, nil
}

func sqliteTarget() (*target, error) {
	dir, err := os.MkdirTemp("", "qm-bench-")
	if err != nil {
		return nil, err
	}
	_, migs, err := sqlite.Migrations()
	if err != nil {
		return nil, err
	}
	return &target{
		name: "sqlite", tiers: []qm.Tier{qm.TierPool, qm.TierSilo}, migs: migs, migrateTier: qm.TierSilo,
		newStorage: func(context.Context) (string, error) { return os.MkdirTemp(dir, "data-") },
		open: func(ctx context.Context, storage string, m []schema.Migration) (engine, error) {
			db, err := sqlite.Open(sqlite.Config{DataDir: storage, Options: engines.Options{TenantMigrations: m}})
			if err != nil {
				return nil, err
			}
			return db, setup(ctx, db)
		},
		direct: func(ctx context.Context, storage string, tn *qm.Tenant) (pointRead, func(), error) {
			db, err := sql.Open("sqlite", "file:"+filepath.Join(storage, tn.Placement.Location)+"?_pragma=query_only(ON)")
			if err != nil {
				return nil, nil, err
			}
			// Prepared once, as a direct user of the driver would (the
			// kernel keeps its statements prepared too).
			st, err := db.PrepareContext(ctx, fmt.Sprintf(pointQuery, "locations"))
			if err != nil {
				db.Close()
				return nil, nil, err
			}
			return func(ctx context.Context, tenantID, id string) error {
				return scanPoint(st.QueryRowContext(ctx, tenantID, id))
			}, func() { st.Close(); db.Close() }, nil
		},
		raw: func(ctx context.Context, storage string, tn *qm.Tenant) (rawInsert, func(), error) {
			db, err := sql.Open("sqlite", "file:"+filepath.Join(storage, tn.Placement.Location)+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)")
			if err != nil {
				return nil, nil, err
			}
			db.SetMaxOpenConns(1) // SQLite has one writer
			st, err := db.PrepareContext(ctx, rawPointInsert("points"))
			if err != nil {
				db.Close()
				return nil, nil, err
			}
			return func(ctx context.Context, deviceID string, pts []qm.Point) error {
				tx, err := db.BeginTx(ctx, nil)
				if err != nil {
					return err
				}
				defer tx.Rollback()
				txst := tx.StmtContext(ctx, st)
				for _, p := range pts {
					if _, err := txst.ExecContext(ctx, rawPointArgs(tn.ID, deviceID, p)...); err != nil {
						return err
					}
				}
				return tx.Commit()
			}, func() { st.Close(); db.Close() }, nil
		},
		cleanup: func() { os.RemoveAll(dir) },
	}, nil
}

func postgresTarget(ctx context.Context, adminURL string) (*target, error) {
	admin, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	b := make([]byte, 4)
	rand.Read(b)
	prefix := "qm_bench_" + hex.EncodeToString(b)
	u, _ := url.Parse(adminURL)
	withDB := func(db string) string { v := *u; v.Path = "/" + db; return v.String() }
	_, migs, err := postgres.Migrations()
	if err != nil {
		return nil, err
	}
	made := 0
	return &target{
		name: "postgres", tiers: qm.Tiers, migs: migs, migrateTier: qm.TierBridge,
		newStorage: func(ctx context.Context) (string, error) {
			made++
			name := fmt.Sprintf("%s_%d", prefix, made)
			if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
				return "", fmt.Errorf("create scratch database: %w", err)
			}
			return name, nil
		},
		open: func(ctx context.Context, storage string, m []schema.Migration) (engine, error) {
			db, err := postgres.Open(ctx, postgres.Config{URL: withDB(storage), Options: engines.Options{TenantMigrations: m}})
			if err != nil {
				return nil, err
			}
			return db, setup(ctx, db)
		},
		direct: func(ctx context.Context, storage string, tn *qm.Tenant) (pointRead, func(), error) {
			database, schema := storage, tn.Placement.Location
			if tn.Tier == qm.TierSilo {
				database, schema = tn.Placement.Location, postgres.SiloSchema
			}
			pool, err := pgxpool.New(ctx, withDB(database))
			if err != nil {
				return nil, nil, err
			}
			q := fmt.Sprintf(pointQuery, pgx.Identifier{schema, "locations"}.Sanitize())
			return func(ctx context.Context, tenantID, id string) error {
				return scanPoint(pool.QueryRow(ctx, q, tenantID, id))
			}, pool.Close, nil
		},
		raw: func(ctx context.Context, storage string, tn *qm.Tenant) (rawInsert, func(), error) {
			pool, err := pgxpool.New(ctx, withDB(storage))
			if err != nil {
				return nil, nil, err
			}
			q := rawPointInsert(pgx.Identifier{tn.Placement.Location, "points"}.Sanitize())
			return func(ctx context.Context, deviceID string, pts []qm.Point) error {
				return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
					var b pgx.Batch
					for _, p := range pts {
						b.Queue(q, rawPointArgs(tn.ID, deviceID, p)...)
					}
					return tx.SendBatch(ctx, &b).Close()
				})
			}, pool.Close, nil
		},
		cleanup: func() {
			ctx := context.Background()
			defer admin.Close(ctx)
			rows, err := admin.Query(ctx, `SELECT datname FROM pg_database WHERE datname LIKE $1`, prefix+`\_%`)
			if err != nil {
				return
			}
			names, _ := pgx.CollectRows(rows, pgx.RowTo[string])
			for _, n := range names {
				admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{n}.Sanitize()+" WITH (FORCE)")
			}
		},
	}, nil
}

func setup(ctx context.Context, e engine) error {
	if err := e.Setup(ctx); err != nil {
		e.Close()
		return err
	}
	return nil
}

// apiServer is the HTTP API on e, made as `quartermaster serve` makes it:
// its point writer, its metrics, one set of paces for the API and the
// ingester, which keeps this node's share of the rates, and a usage meter
// that writes its counts as it runs. stop closes them all.
func apiServer(e engine) (api *httpapi.Server, stop func()) {
	points := telemetry.NewPointWriter(e, time.Now, 0)
	a := auth.New(auth.Config{Identity: e.Identity(), Tenants: e.Tenants(), Devices: e.Devices()})
	discard := slog.New(slog.NewTextHandler(io.Discard, nil))
	paces := rates.New(time.Now)
	meter := usage.New(fmt.Sprintf("bench/%d", time.Now().UnixNano()), catalog.NewUsageStore(e.Tenants()), time.Now, discard)
	m := metrics.New(20)
	ctx, cancel := context.WithCancel(context.Background())
	var g errgroup.Group
	g.Go(func() error { return meter.Run(ctx) })
	// One node's name for every server of the run, which follow one
	// another: each takes the whole of the rates, as one node would.
	g.Go(func() error { return paces.KeepShare(ctx, e.Tenants(), "bench", discard) })
	// The tenants' rules run over what commits, as in serve.
	evaluator := alerting.New(alerts.NewAlarmStore(e, time.Now), e.Tenants(), discard, nil)
	points.Notify(evaluator)
	g.Go(func() error { return evaluator.Run(ctx) })
	ingester := ingest.NewIngester(ingest.Config{Store: points, Rates: paces, Usage: meter, Metrics: &m.Ingest, Load: m.Load, Now: time.Now})
	api = httpapi.New(httpapi.Config{Logger: discard, Auth: a, Ready: func(context.Context) error { return nil }, Rates: paces, Usage: meter, Load: m.Load,
		Services: engines.Services(e, engines.ServiceOptions{HashPassword: a.HashPassword, Points: ingester, Now: time.Now})})
	return api, func() {
		api.Close()
		cancel()
		g.Wait()
		points.Close()
	}
}
