package lifecycle_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/internal/pgtest"
	"github.com/quartermaster/qm/postgres"
	"github.com/quartermaster/qm/sqlite"
	"github.com/quartermaster/qm/sqlstore/dataplane"
	"github.com/quartermaster/qm/sqlstore/lifecycle"
	"github.com/quartermaster/qm/sqlstore/telemetry"
	"github.com/quartermaster/qm/storetest"
)

// Sizes of the benchmarks' tenant: points over devices, and assets.
const (
	benchDevices = 10
	benchPoints  = 100_000
	benchAssets  = 2_000
)

// engines opens fresh storage of each engine: PostgreSQL only when
// QM_TEST_DATABASE_URL names a server (scripts/with-postgres.sh).
var engines = []struct {
	name string
	open func(b *testing.B) lifecycle.Engine
}{
	{"sqlite", func(b *testing.B) lifecycle.Engine {
		db, err := sqlite.Open(sqlite.Config{DataDir: b.TempDir()})
		return storetest.MustSetUp(b, db, err)
	}},
	{"postgres", func(b *testing.B) lifecycle.Engine {
		db, err := postgres.Open(context.Background(), postgres.Config{URL: pgtest.NewDatabase(b)})
		return storetest.MustSetUp(b, db, err)
	}},
}

// mustBenchTenant fills a pool tenant with benchPoints points and
// benchAssets assets, and returns its archive and how many rows it holds.
func mustBenchTenant(b *testing.B, e lifecycle.Engine) ([]byte, int64) {
	b.Helper()
	tn, ctx := storetest.MustTenant(b, e, qm.TierPool, "bench")
	cat := &qm.Reference{Name: "Laptops"}
	if err := dataplane.NewReferenceStore(qm.Categories, e, time.Now).Create(ctx, cat); err != nil {
		b.Fatal(err)
	}
	model := &qm.Model{Name: "Latitude", CategoryID: cat.ID}
	if err := dataplane.NewModelStore(e, time.Now).CreateModel(ctx, model); err != nil {
		b.Fatal(err)
	}
	assets := dataplane.NewAssetStore(e, e.Identity(), time.Now)
	for range benchAssets {
		if err := assets.CreateAsset(ctx, &qm.Asset{ModelID: model.ID, Notes: "a laptop"}); err != nil {
			b.Fatal(err)
		}
	}
	w := telemetry.NewPointWriter(e, time.Now, 0)
	defer w.Close()
	start := time.Now().Add(-30 * 24 * time.Hour)
	for i := range benchDevices {
		d := &qm.Device{Ident: fmt.Sprintf("bench-%d", i)}
		if _, err := e.Devices().RegisterDevice(ctx, d); err != nil {
			b.Fatal(err)
		}
		if _, _, err := e.Devices().AssignDevice(ctx, d.ID, tn); err != nil {
			b.Fatal(err)
		}
		for done := 0; done < benchPoints/benchDevices; done += 1000 {
			pts := make([]qm.Point, 1000)
			for j := range pts {
				speed := 50.0
				pts[j] = qm.Point{Time: start.Add(time.Duration(done+j) * time.Second), Position: &qm.Position{Lat: 52.5, Lon: 13.4, SpeedKMH: &speed},
					Metrics: map[string]qm.Metric{"battery_pct": qm.NumberMetric(80)}}
			}
			if _, err := w.Write(ctx, d.ID, pts); err != nil {
				b.Fatal(err)
			}
		}
	}
	var buf bytes.Buffer
	m, err := lifecycle.Export(context.Background(), e, "bench", &buf, lifecycle.ExportOptions{})
	if err != nil {
		b.Fatal(err)
	}
	var rows int64
	for _, f := range m.Files {
		rows += f.Rows
	}
	return buf.Bytes(), rows
}

// BenchmarkExport exports a tenant of 100,000 points and 2,000 assets;
// an op is the whole tenant, and rows/s counts every row of its tables.
func BenchmarkExport(b *testing.B) {
	for _, eng := range engines {
		b.Run(eng.name, func(b *testing.B) {
			e := eng.open(b)
			_, rows := mustBenchTenant(b, e)
			for b.Loop() {
				if _, err := lifecycle.Export(context.Background(), e, "bench", io.Discard, lifecycle.ExportOptions{}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// BenchmarkImport imports that tenant's archive as a new pool tenant of
// the same storage, verified; rows/s as BenchmarkExport.
func BenchmarkImport(b *testing.B) {
	for _, eng := range engines {
		b.Run(eng.name, func(b *testing.B) {
			e := eng.open(b)
			archive, rows := mustBenchTenant(b, e)
			n := 0
			for b.Loop() {
				n++
				_, _, err := lifecycle.Import(context.Background(), e, bytes.NewReader(archive), lifecycle.ImportOptions{Slug: fmt.Sprintf("copy-%d", n)})
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
