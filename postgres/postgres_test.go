package postgres_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/internal/pgtest"
	"github.com/quartermaster/qm/postgres"
	"github.com/quartermaster/qm/sqlstore"
	"github.com/quartermaster/qm/storetest"
)

// mustOpen opens and sets up the engine, closing it when the test ends.
func mustOpen(t *testing.T, cfg postgres.Config) (*postgres.DB, error) {
	t.Helper()
	db, err := postgres.Open(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, db.Setup(t.Context())
}

// config returns a configuration for url with a second server, "other",
// that is the same PostgreSQL reached under another name.
func config(t *testing.T, url string) postgres.Config {
	return postgres.Config{URL: url, Servers: map[string]string{"other": pgtest.WithDatabase(t, url, "postgres")}}
}

func names(t *testing.T, conn *pgx.Conn, query string, args ...any) []string {
	t.Helper()
	rows, err := conn.Query(context.Background(), query, args...)
	if err != nil {
		t.Fatal(err)
	}
	ns, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return ns
}

func harness(t *testing.T, tier qm.Tier) storetest.Harness {
	_, tenantMigs, err := postgres.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	return storetest.Harness{
		Tier:        tier,
		Migrations:  tenantMigs,
		NewStorage:  func(t *testing.T) storetest.Storage { return openStorage(t, pgtest.NewDatabase(t)) },
		OpenStorage: openStorage,
	}
}

func openStorage(t *testing.T, url string) storetest.Storage {
	dbName := url[strings.LastIndex(url, "/")+1:]
	return storetest.Storage{
		ID: url,
		Open: func(t *testing.T, migs []sqlstore.Migration) (storetest.Engine, error) {
			cfg := config(t, url)
			cfg.TenantMigrations = migs
			return mustOpen(t, cfg)
		},
		TenantPlaces: func(t *testing.T) []string {
			conn := pgtest.MustConnect(t, url)
			return append(names(t, conn, `SELECT nspname FROM pg_namespace WHERE nspname LIKE 't\_%'`),
				names(t, conn, `SELECT datname FROM pg_database WHERE datname LIKE $1`, dbName+`\_%`)...)
		},
		Exists: func(t *testing.T, tn *qm.Tenant) bool {
			conn := pgtest.MustConnect(t, url)
			if tn.Tier == qm.TierSilo {
				return len(names(t, conn, `SELECT datname FROM pg_database WHERE datname = $1`, tn.Placement.Location)) == 1
			}
			return len(names(t, conn, `SELECT nspname FROM pg_namespace WHERE nspname = $1`, tn.Placement.Location)) == 1
		},
	}
}

func TestConformance(t *testing.T) {
	for _, tier := range qm.Tiers {
		t.Run(string(tier), func(t *testing.T) {
			t.Parallel()
			storetest.Run(t, harness(t, tier))
		})
	}
}

func mustParseURL(t *testing.T, raw string) *url.URL {
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestKilledMigration(t *testing.T) {
	storetest.TestKilledMigration(t, harness(t, qm.TierBridge), "TestKilledMigrationChild", 40)
}

func TestKilledMigrationChild(t *testing.T) {
	storetest.KilledMigrationChild(t, harness(t, storetest.ChildTier()))
}
