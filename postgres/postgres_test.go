package postgres_test

import (
	"context"
	"maps"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/internal/pgtest"
	"github.com/quartermaster/qm/postgres"
	"github.com/quartermaster/qm/sqlstore/schema"
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

// names runs a query returning one text column on a connection of its own.
func names(t *testing.T, url, query string, args ...any) []string {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
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
		StallSQL:    "SELECT pg_sleep(600)",
		NewStorage:  func(t *testing.T) storetest.Storage { return openStorage(t, pgtest.NewDatabase(t)) },
		OpenStorage: openStorage,
	}
}

// openStorage opens the storage of database url. When the test ends, every
// statement its engines sent as the serving role must have named its
// tenant for Citus (pgtest.CheckRouting), and the search index must hold
// the text of every asset (mustKeepSearch).
func openStorage(t *testing.T, url string) storetest.Storage {
	return openStorageWith(t, url, nil)
}

// openStorageWith is openStorage with the servers of more (by name) too.
func openStorageWith(t *testing.T, url string, more map[string]string) storetest.Storage {
	dbName := strings.TrimPrefix(mustParseURL(t, url).Path, "/")
	t.Cleanup(func() { mustKeepSearch(t, url) })
	routing := pgtest.CheckRouting(t, url)
	return storetest.Storage{
		ID: url,
		Open: func(t *testing.T, migs []schema.Migration) (storetest.Engine, error) {
			cfg := config(t, url)
			maps.Copy(cfg.Servers, more)
			cfg.TenantMigrations = migs
			cfg.Tracer = routing
			return mustOpen(t, cfg)
		},
		TenantPlaces: func(t *testing.T) []string {
			return names(t, url, `SELECT nspname FROM pg_namespace WHERE nspname LIKE 't\_%'
				UNION ALL SELECT datname FROM pg_database WHERE datname LIKE $1`, dbName+`\_%`)
		},
		Exists: func(t *testing.T, tn *qm.Tenant) bool {
			return len(names(t, url, `SELECT nspname FROM pg_namespace WHERE nspname = $1
				UNION ALL SELECT datname FROM pg_database WHERE datname = $1`, tn.Placement.Location)) == 1
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

// TestSilosAcrossClusters runs the cases of silo tenants kept on a
// second PostgreSQL cluster, a server of the engine's own: moved there and
// back, served, counted and purged there.
func TestSilosAcrossClusters(t *testing.T) {
	h := harness(t, qm.TierPool)
	h.Server = "far"
	far := pgtest.NewCluster(t)
	h.NewStorage = func(t *testing.T) storetest.Storage {
		return openStorageWith(t, pgtest.NewDatabase(t), map[string]string{h.Server: far})
	}
	storetest.RunRemote(t, h)
}

func mustParseURL(t *testing.T, raw string) *url.URL {
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestKilledMigration(t *testing.T) {
	storetest.TestKilledMigration(t, harness(t, qm.TierBridge), "TestChild", 40)
}

func TestChild(t *testing.T) {
	storetest.Child(t, harness(t, ""))
}

func TestIncompleteProvisioning(t *testing.T) {
	for _, tier := range []qm.Tier{qm.TierBridge, qm.TierSilo} {
		t.Run(string(tier), func(t *testing.T) {
			storetest.TestIncompleteProvisioning(t, harness(t, tier), "TestChild")
		})
	}
}

// mustKeepSearch fails the test unless the search index of every schema
// of database url holds the text of each asset it has, and nothing else:
// whatever wrote assets or models kept it (search.go).
func mustKeepSearch(t *testing.T, url string) {
	for _, nsp := range names(t, url, `SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relname = 'asset_search' AND c.relkind = 'r'`) {
		s := pgx.Identifier{nsp}.Sanitize()
		for _, stale := range names(t, url, `SELECT coalesce(s.asset_id, want.id)::text || ': ' || coalesce(s.text, '(none)') || ' for ' || coalesce(want.text, '(no asset)')
			FROM (SELECT a.tenant_id, a.id, `+s+`.asset_search_text(a.tag, a.name, a.serial, a.notes, m.name) AS text
				FROM `+s+`.assets a LEFT JOIN `+s+`.models m ON m.tenant_id = a.tenant_id AND m.id = a.model_id) want
			FULL JOIN `+s+`.asset_search s ON s.tenant_id = want.tenant_id AND s.asset_id = want.id
			WHERE want.text IS DISTINCT FROM s.text`) {
			t.Errorf("%s: stale search text: %s", nsp, stale)
		}
	}
}
