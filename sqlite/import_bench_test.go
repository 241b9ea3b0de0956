package sqlite_test

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/assetcsv"
	"github.com/quartermaster/qm/sqlite"
	"github.com/quartermaster/qm/sqlstore"
	"github.com/quartermaster/qm/storetest"
)

// BenchmarkImport imports 10,000 Snipe-IT-style rows into a pool tenant;
// rows/s is reported.
func BenchmarkImport(b *testing.B) {
	var csv bytes.Buffer
	csv.WriteString("Item Name,Asset Tag,Category,Manufacturer,Location,Model Name,Serial Number,Purchase Date,Purchase Cost\n")
	const rows = 10000
	for i := range rows {
		fmt.Fprintf(&csv, "Item %d,T-%06d,Cat %d,Maker %d,Site %d,Model %d,S%08d,2024-03-%02d,\"$1,%03d.50\"\n", i, i, i%5, i%11, i%13, i%40, i, i%28+1, i%1000)
	}
	for n := 0; b.Loop(); n++ {
		db, err := sqlite.Open(sqlite.Config{DataDir: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		if err := db.Setup(b.Context()); err != nil {
			b.Fatal(err)
		}
		_, ctx := storetest.MustTenant(b, db, qm.TierPool, "bench")
		r, err := assetcsv.NewReader(bytes.NewReader(csv.Bytes()))
		if err != nil {
			b.Fatal(err)
		}
		rep, err := sqlstore.NewAssetStore(db, db.Identity(), time.Now).Import(ctx, r.Next, qm.ImportOptions{})
		if err != nil || rep.Created != rows {
			b.Fatalf("%+v, %v", rep, err)
		}
		db.Close()
	}
	b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
}
