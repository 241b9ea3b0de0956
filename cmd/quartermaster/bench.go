package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/quartermaster/qm/bench"
)

func cmdBench(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs, c := newFlagSet("bench", stderr)
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run (the servers are in this process) to this file, for go tool pprof")
	asJSON := fs.Bool("json", false, "print results as JSON")
	engines := fs.String("engines", "", "engines to measure, comma-separated: sqlite, postgres (default sqlite, plus postgres when --database-url is set)")
	provision := fs.Int("provision", 100, "tenants to provision per engine and tier (PostgreSQL silos: at most 50)")
	reads := fs.Int("reads", 5000, "point reads per engine and tier")
	tenants := fs.Int("tenants", 1000, "SQLite silos and PostgreSQL bridge schemas to migrate (0 skips)")
	httpFor := fs.Duration("http", 5*time.Second, "how long each side of the API load figure runs (0 skips)")
	ingestFor := fs.Duration("ingest", 5*time.Second, "how long each side of the telemetry ingest figure runs (0 skips)")
	senders := fs.Int("ingest-senders", 16, "concurrent senders of the ingest figure")
	batch := fs.Int("ingest-batch", 1000, "points a request in the ingest figure")
	limitsFor := fs.Duration("limits", 5*time.Second, "how long each side of the cost-of-limits figures runs: API reads and ingest on a generous plan against the default plan (0 skips)")
	rulesFor := fs.Duration("rules", 5*time.Second, "how long each side of the cost-of-rules figure runs: ingest for a tenant with 100 rules and 1,000 geofences against one with none, then the time from a point's commit to its webhook (0 skips)")
	noisyFor := fs.Duration("noisy", 10*time.Second, "how long each phase of the noisy-neighbour figure runs: B alone and beside A's flood, in turns (0 skips)")
	noisyRate := fs.Float64("noisy-rate", 200, "API requests a second the noisy-neighbour plan allows (and ten times as many points); B sends a fifth of it, A ten times it")
	mqttFor := fs.Duration("mqtt", 5*time.Second, "how long the MQTT publish figure runs (0 skips)")
	mqttDevices := fs.Int("mqtt-devices", 1000, "connected devices of the MQTT publish figure")
	idle := fs.Int("mqtt-idle", 10000, "idle devices of the MQTT memory figure (0 skips)")
	clients := fs.Int("clients", 64, "concurrent connections for the API load figure")
	logins := fs.Int("logins", 20, "sign-ins to time (0 skips)")
	assets := fs.Int("assets", 100000, "assets of the big tenant in the asset list figure (0 skips)")
	assetTenants := fs.Int("asset-tenants", 1000, "other pool tenants beside it, with 20 assets each")
	importRows := fs.Int("import-rows", 100000, "assets to import from CSV in the import figure (0 skips)")
	movePoints := fs.String("move", "10000", "points of the tenants the move figure moves from the pool to a silo, comma-separated (empty skips)")
	if err := parseNone(fs, args); err != nil {
		return err
	}
	o := bench.Options{PostgresURL: c.databaseURL, Provision: *provision, Reads: *reads, MigrateTenants: *tenants,
		Ingest: *ingestFor, IngestSenders: *senders, IngestBatch: *batch,
		MQTT: *mqttFor, MQTTDevices: *mqttDevices, IdleDevices: *idle,
		Limits: *limitsFor, Rules: *rulesFor, Noisy: *noisyFor, NoisyRate: *noisyRate,
		HTTP: *httpFor, Clients: *clients, Logins: *logins, Assets: *assets, AssetTenants: *assetTenants, ImportRows: *importRows, Progress: stderr}
	for _, f := range strings.FieldsFunc(*movePoints, func(r rune) bool { return r == ',' }) {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return fmt.Errorf("--move wants point counts such as 10000,1000000; got %q", f)
		}
		o.MovePoints = append(o.MovePoints, n)
	}
	if *engines == "" {
		*engines = "sqlite"
		if c.databaseURL != "" {
			*engines += ",postgres"
		}
	}
	for _, e := range strings.Split(*engines, ",") {
		switch strings.TrimSpace(e) {
		case "sqlite":
			o.SQLite = true
		case "postgres":
			if c.databaseURL == "" {
				return fmt.Errorf("--engines postgres needs --database-url (a privileged role: the run makes and drops scratch databases)")
			}
			o.Postgres = true
		default:
			return fmt.Errorf("--engines: unknown engine %q: use sqlite or postgres", e)
		}
	}
	if *provision < 1 || *reads < 1 || *tenants < 0 || *clients < 1 || *logins < 0 || *importRows < 0 {
		return fmt.Errorf("--provision, --reads and --clients must be at least 1, --tenants, --logins and --import-rows at least 0")
	}
	if *noisyFor > 0 && !(*noisyRate >= 5) {
		return fmt.Errorf("--noisy-rate must be at least 5 (B sends a fifth of it, at least one request a second)")
	}
	if *cpuProfile != "" {
		stop, err := startCPUProfile(*cpuProfile)
		if err != nil {
			return err
		}
		defer stop()
	}
	results, err := bench.Run(ctx, o)
	if err != nil {
		return connectionError(err)
	}
	if *asJSON {
		return bench.WriteJSON(stdout, results)
	}
	return bench.WriteTable(stdout, results)
}

// startCPUProfile profiles the process into path until stop is called.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}
