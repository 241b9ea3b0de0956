package sqlite_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/internal/pgtest"
	"github.com/quartermaster/qm/postgres"
	"github.com/quartermaster/qm/sqlite"
	"github.com/quartermaster/qm/sqlstore"
	"github.com/quartermaster/qm/sqlstore/dataplane"
	"github.com/quartermaster/qm/sqlstore/engines"
	"github.com/quartermaster/qm/sqlstore/schema"
	"github.com/quartermaster/qm/storetest"
	"github.com/quartermaster/qm/tenancy"
)

// mustOpen opens and sets up the engine, closing it when the test ends.
func mustOpen(t *testing.T, cfg sqlite.Config) (*sqlite.DB, error) {
	t.Helper()
	db, err := sqlite.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, db.Setup(t.Context())
}

func harness(t *testing.T, tier qm.Tier) storetest.Harness {
	_, tenantMigs, err := sqlite.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	return storetest.Harness{
		Tier:        tier,
		Migrations:  tenantMigs,
		StallSQL:    `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 10000000000) SELECT count(*) FROM c`,
		NewStorage:  func(t *testing.T) storetest.Storage { return openStorage(t, t.TempDir()) },
		OpenStorage: openStorage,
	}
}

func openStorage(t *testing.T, dir string) storetest.Storage {
	return openStorageWith(t, dir, nil)
}

// openStorageWith opens the storage of directory dir, each time with the
// PostgreSQL servers of servers (by name), when given, as its Remote.
func openStorageWith(t *testing.T, dir string, servers map[string]string) storetest.Storage {
	return storetest.Storage{
		ID: dir,
		Open: func(t *testing.T, migs []schema.Migration) (storetest.Engine, error) {
			cfg := sqlite.Config{DataDir: dir, Options: engines.Options{TenantMigrations: migs}}
			if servers != nil {
				r, err := postgres.OpenRemote(postgres.RemoteConfig{Servers: servers})
				if err != nil {
					t.Fatal(err)
				}
				cfg.Remote = r
			}
			return mustOpen(t, cfg)
		},
		TenantPlaces: func(t *testing.T) []string {
			entries, err := os.ReadDir(filepath.Join(dir, "tenants"))
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			return names
		},
		Exists: func(t *testing.T, tn *qm.Tenant) bool {
			_, err := os.Stat(filepath.Join(dir, tn.Placement.Location))
			return err == nil
		},
	}
}

func TestConformance(t *testing.T) {
	for _, tier := range []qm.Tier{qm.TierPool, qm.TierSilo} {
		t.Run(string(tier), func(t *testing.T) {
			t.Parallel()
			storetest.Run(t, harness(t, tier))
		})
	}
}

// TestGrowIntoPostgres runs the cases of a SQLite server that keeps silo
// tenants on a PostgreSQL server too: moves there and back, and the life
// of a tenant kept there.
func TestGrowIntoPostgres(t *testing.T) {
	h := harness(t, qm.TierPool)
	h.Server = "pg"
	h.NewStorage = func(t *testing.T) storetest.Storage {
		return openStorageWith(t, t.TempDir(), map[string]string{h.Server: pgtest.NewDatabase(t)})
	}
	storetest.RunRemote(t, h)
}

// TestWithoutItsServer: a SQLite server started without the PostgreSQL
// server a tenant is kept on says which it needs, for the tenant's
// requests and for its storage, and serves its other tenants.
func TestWithoutItsServer(t *testing.T) {
	dir := t.TempDir()
	grown, err := openStorageWith(t, dir, map[string]string{"pg": pgtest.NewDatabase(t)}).Open(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	away, err := grown.Tenants().CreateTenant(t.Context(), qm.NewTenant{Slug: "away", Name: "Away", Tier: qm.TierSilo, Server: "pg"})
	if err != nil {
		t.Fatal(err)
	}
	_, atHome := storetest.MustTenant(t, grown, qm.TierPool, "home")
	bare, err := openStorage(t, dir).Open(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = bare.View(tenancy.WithTenant(t.Context(), away), func(sqlstore.Conn) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "--pg-server pg=URL") {
		t.Fatalf("a request of the tenant: %v; want the server it needs named", err)
	}
	if _, err := bare.Tenants().Remains(t.Context(), away); err == nil || !strings.Contains(err.Error(), "--pg-server pg=URL") {
		t.Fatalf("what remains of the tenant: %v; want the server it needs named", err)
	}
	if err := bare.View(atHome, func(sqlstore.Conn) error { return nil }); err != nil {
		t.Fatalf("a request of another tenant: %v", err)
	}
}

func TestContextLeak(t *testing.T) {
	db, err := mustOpen(t, sqlite.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	storetest.TestContextLeak(t, db, qm.TierPool, 50, 40)
}

func TestKilledMigration(t *testing.T) {
	storetest.TestKilledMigration(t, harness(t, qm.TierSilo), "TestChild", 40)
}

func TestChild(t *testing.T) {
	storetest.Child(t, harness(t, ""))
}

func TestIncompleteProvisioning(t *testing.T) {
	for _, tier := range []qm.Tier{qm.TierSilo} {
		t.Run(string(tier), func(t *testing.T) {
			storetest.TestIncompleteProvisioning(t, harness(t, tier), "TestChild")
		})
	}
}

// TestSiloFilesBounded checks that silo files are opened on first use and no
// more than MaxOpenSilos stay open however many tenants are served.
func TestSiloFilesBounded(t *testing.T) {
	db, err := mustOpen(t, sqlite.Config{DataDir: t.TempDir(), Options: engines.Options{MaxOpenSilos: 3}})
	if err != nil {
		t.Fatal(err)
	}
	s := dataplane.NewLocationStore(db, time.Now)
	for i := range 10 {
		_, ctx := storetest.MustTenant(t, db, qm.TierSilo, fmt.Sprintf("silo-%d", i))
		storetest.MustLocation(t, s, ctx, "HQ", "")
		if _, err := s.Locations(ctx, qm.LocationFilter{}); err != nil {
			t.Fatal(err)
		}
		if n := db.OpenSilos(); n > 3 {
			t.Fatalf("after %d tenants, %d silo files open, want at most 3", i+1, n)
		}
	}
	if n := db.OpenSilos(); n != 3 {
		t.Fatalf("got %d silo files open, want 3", n)
	}
}
