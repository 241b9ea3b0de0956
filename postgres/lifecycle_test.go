package postgres_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/internal/pgtest"
	"github.com/quartermaster/qm/sqlite"
	"github.com/quartermaster/qm/sqlstore/lifecycle"
	"github.com/quartermaster/qm/storetest"
)

// TestExportImportAcrossEngines checks that a tenant grows from SQLite
// into PostgreSQL and back by an archive: a SQLite pool tenant imported
// as a PostgreSQL bridge tenant, and that one as a SQLite silo tenant,
// export the same tables, byte for byte.
func TestExportImportAcrossEngines(t *testing.T) {
	ctx := context.Background()
	pg, err := mustOpen(t, config(t, pgtest.NewDatabase(t)))
	if err != nil {
		t.Fatal(err)
	}
	lite, err := sqlite.Open(sqlite.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lite.Close() })
	if err := lite.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	src := storetest.MustFillTenant(t, lite, qm.TierPool, "small")
	archive, m1 := storetest.MustExport(t, lite, "small")

	grown, rep, err := lifecycle.Import(ctx, pg, bytes.NewReader(archive), lifecycle.ImportOptions{Slug: "grown", Tier: qm.TierBridge})
	if err != nil {
		t.Fatalf("import into postgres: %v", err)
	}
	if grown.Placement.Engine != qm.EnginePostgres || grown.Tier != qm.TierBridge || len(rep.Devices) != 1 || rep.Devices[0].Token == "" {
		t.Fatalf("imported %+v, devices %+v", grown, rep.Devices)
	}
	if d, err := pg.Devices().Device(ctx, src.Device.Ident); err != nil || d.ID != src.Device.ID || d.TenantID != grown.ID {
		t.Fatalf("the device on postgres: %+v, %v", d, err)
	}
	back, m2 := storetest.MustExport(t, pg, "grown")
	if m1.Engine != qm.EngineSQLite || m2.Engine != qm.EnginePostgres {
		t.Fatalf("engines %s, %s", m1.Engine, m2.Engine)
	}
	storetest.SameTables(t, m1, m2)

	if _, _, err := lifecycle.Import(ctx, lite, bytes.NewReader(back), lifecycle.ImportOptions{Slug: "back", Tier: qm.TierSilo}); err != nil {
		t.Fatalf("import into sqlite: %v", err)
	}
	_, m3 := storetest.MustExport(t, lite, "back")
	storetest.SameTables(t, m1, m3)
}
