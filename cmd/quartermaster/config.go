package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/broker"
	"github.com/quartermaster/qm/postgres"
	"github.com/quartermaster/qm/sqlite"
	"github.com/quartermaster/qm/sqlstore"
	"github.com/quartermaster/qm/sqlstore/catalog"
	"github.com/quartermaster/qm/sqlstore/engines"
)

// config is what every command needs to reach storage. Flags win over the
// environment, which wins over defaults.
type config struct {
	dataDir     string
	databaseURL string
	pgServers   serverList
	servingRole string
	defaultTier string
	logLevel    string
	// mqttBroker (host:port) and mqttUser name an external MQTT broker
	// and the nodes' account there (password from QM_MQTT_BROKER_PASSWORD),
	// whose device accounts every command keeps in step (mqttbroker.go).
	mqttBroker, mqttUser string
	dynsec               *broker.DynSec // set by open when mqttBroker is
	stderr               io.Writer
}

// serverList is the repeatable --pg-server NAME=URL flag.
type serverList map[string]string

func (s serverList) String() string { return "" }

func (s serverList) Set(v string) error {
	for _, item := range strings.Split(v, ",") {
		name, url, ok := strings.Cut(strings.TrimSpace(item), "=")
		if !ok || name == "" || url == "" {
			return fmt.Errorf("want NAME=URL, got %q", item)
		}
		s[name] = url
	}
	return nil
}

func envOr(key, def string) string {
	if v, ok := os.LookupEnv(key); ok && v != "" {
		return v
	}
	return def
}

// newFlagSet returns a flag set for a command with the storage flags on it.
func newFlagSet(name string, stderr io.Writer) (*flag.FlagSet, *config) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage of quartermaster %s (see quartermaster --help):\n", name)
		fs.PrintDefaults()
	}
	c := &config{pgServers: serverList{}, stderr: stderr}
	fs.StringVar(&c.dataDir, "data-dir", envOr("QM_DATA_DIR", "./data"), "SQLite data directory (QM_DATA_DIR)")
	fs.StringVar(&c.databaseURL, "database-url", envOr("QM_DATABASE_URL", ""), "PostgreSQL URL of a privileged role; selects PostgreSQL (QM_DATABASE_URL)")
	fs.Var(c.pgServers, "pg-server", "a PostgreSQL server for silo tenants, NAME=URL, beside the main database or SQLite; repeatable (QM_PG_SERVERS)")
	fs.StringVar(&c.servingRole, "serving-role", envOr("QM_SERVING_ROLE", "qm_app"), "unprivileged PostgreSQL role requests run as (QM_SERVING_ROLE)")
	fs.StringVar(&c.defaultTier, "default-tier", envOr("QM_DEFAULT_TIER", string(qm.TierPool)), "tier of new tenants when --tier is not given (QM_DEFAULT_TIER)")
	fs.StringVar(&c.logLevel, "log-level", envOr("QM_LOG_LEVEL", "info"), "debug, info, warn or error (QM_LOG_LEVEL)")
	fs.StringVar(&c.mqttBroker, "mqtt-broker", envOr("QM_MQTT_BROKER", ""), "mqtt://HOST:PORT of an external MQTT broker (Mosquitto 2, dynamic security) devices connect to instead of the embedded one; its device accounts are kept by every command (QM_MQTT_BROKER)")
	fs.StringVar(&c.mqttUser, "mqtt-broker-user", envOr("QM_MQTT_BROKER_USER", "quartermaster"), "the nodes' account at --mqtt-broker, an admin of its dynamic security; password from QM_MQTT_BROKER_PASSWORD (QM_MQTT_BROKER_USER)")
	if v := os.Getenv("QM_PG_SERVERS"); v != "" {
		c.pgServers.Set(v)
	}
	return fs, c
}

// parseNone parses args for a command that takes flags only.
func parseNone(fs *flag.FlagSet, args []string) error {
	pos, err := parse(fs, args)
	if err == nil && len(pos) > 0 {
		err = fmt.Errorf("quartermaster %s takes no arguments, got %q", fs.Name(), pos)
	}
	return err
}

// parse parses args, allowing flags after positional arguments
// (`tenant show acme --json`), and returns the positional ones.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, errUsage
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// logger returns a logger writing to the command's stderr at the configured
// level.
func (c *config) logger() (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.logLevel)); err != nil {
		return nil, fmt.Errorf("--log-level: %q is not one of debug, info, warn, error", c.logLevel)
	}
	return slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: level})), nil
}

// engine is an opened storage engine as the commands use it.
type engine interface {
	sqlstore.BatchRouter
	Setup(ctx context.Context) error
	Tenants() *catalog.TenantService
	Identity() *catalog.Identity
	Devices() *catalog.DeviceStore
	LatestVersion() int
	Ready(ctx context.Context) error
	Close() error
}

// open opens the configured engine: PostgreSQL when a URL is given, SQLite
// otherwise. It does not migrate.
func (c *config) open(ctx context.Context) (engine, error) {
	log, err := c.logger()
	if err != nil {
		return nil, err
	}
	for name, u := range c.pgServers {
		if !isPostgresURL(u) {
			return nil, fmt.Errorf("--pg-server %s: want a postgres:// URL, got %q", name, u)
		}
	}
	if c.databaseURL == "" {
		return c.withBroker(c.openSQLite(log))
	}
	if !isPostgresURL(c.databaseURL) {
		return nil, errors.New("--database-url must be a postgres:// URL")
	}
	db, err := postgres.Open(ctx, postgres.Config{
		URL: c.databaseURL, Servers: c.pgServers,
		ServingRole: c.servingRole, ServingPassword: os.Getenv("QM_SERVING_PASSWORD"),
		Options: engines.Options{Logger: log},
	})
	if err != nil {
		return nil, connectionError(err)
	}
	return c.withBroker(db, nil)
}

func isPostgresURL(u string) bool {
	return strings.HasPrefix(u, "postgres://") || strings.HasPrefix(u, "postgresql://")
}

// openSQLite opens the SQLite engine of the data directory, with the
// PostgreSQL servers of --pg-server for the silo tenants it grows into
// them.
func (c *config) openSQLite(log *slog.Logger) (engine, error) {
	cfg := sqlite.Config{DataDir: c.dataDir, Options: engines.Options{Logger: log}}
	if len(c.pgServers) > 0 {
		r, err := postgres.OpenRemote(postgres.RemoteConfig{Servers: c.pgServers,
			ServingRole: c.servingRole, ServingPassword: os.Getenv("QM_SERVING_PASSWORD"), Options: engines.Options{Logger: log}})
		if err != nil {
			return nil, err
		}
		cfg.Remote = r
	}
	db, err := sqlite.Open(cfg)
	if err != nil && cfg.Remote != nil {
		cfg.Remote.Close()
	}
	return db, err
}

// connectionError shortens a PostgreSQL connection failure to the host and
// the cause, for one line on a terminal.
func connectionError(err error) error {
	var ce *postgres.ConnectError
	if !errors.As(err, &ce) {
		return err
	}
	cause := ce.Err.Error()
	var pe *pgconn.PgError
	var oe *net.OpError
	switch {
	case errors.As(ce.Err, &pe):
		cause = pe.Message
	case errors.As(ce.Err, &oe):
		cause = oe.Err.Error()
	}
	return fmt.Errorf("cannot connect to PostgreSQL at %s:%d: %s", ce.Host, ce.Port, cause)
}

// openReady opens storage and brings the catalog and shared places to the
// newest version.
func (c *config) openReady(ctx context.Context) (engine, error) {
	e, err := c.open(ctx)
	if err != nil {
		return nil, err
	}
	if err := e.Setup(ctx); err != nil {
		e.Close()
		return nil, connectionError(err)
	}
	return e, nil
}
