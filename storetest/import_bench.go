package storetest

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/assetcsv"
	"github.com/quartermaster/qm/sqlstore"
)

// BenchmarkImport imports a Snipe-IT-style file of rows assets into a new
// pool tenant of fresh storage from open, each round, and reports rows/s:
// Create makes every asset, Update imports the same file again, so every
// row updates the asset with its tag. Opening the storage, making the
// tenant and (for Update) the first import are not timed.
func BenchmarkImport(b *testing.B, rows int, open func(b *testing.B) Engine) {
	var csv bytes.Buffer
	csv.WriteString("Item Name,Asset Tag,Category,Manufacturer,Location,Model Name,Serial Number,Purchase Date,Purchase Cost\n")
	for i := range rows {
		fmt.Fprintf(&csv, "Item %d,T-%06d,Cat %d,Maker %d,Site %d,Model %d,S%08d,2024-03-%02d,\"$1,%03d.50\"\n", i, i, i%5, i%11, i%13, i%40, i, i%28+1, i%1000)
	}
	run := func(b *testing.B, s *sqlstore.AssetStore, e Engine, tn *qm.Tenant) *qm.ImportReport {
		r, err := assetcsv.NewReader(bytes.NewReader(csv.Bytes()))
		if err != nil {
			b.Fatal(err)
		}
		rep, err := s.Import(scoped(tn), r.Next, qm.ImportOptions{})
		if err != nil || !rep.Committed || rep.Failed > 0 {
			b.Fatalf("import: %+v, %v", rep, err)
		}
		return rep
	}
	for _, updating := range []bool{false, true} {
		name := map[bool]string{false: "Create", true: "Update"}[updating]
		b.Run(name, func(b *testing.B) {
			for n := 0; b.Loop(); n++ {
				b.StopTimer()
				e := open(b)
				s := sqlstore.NewAssetStore(e, e.Identity(), time.Now)
				tn, _ := MustTenant(b, e, qm.TierPool, fmt.Sprintf("bench-%d", n))
				if updating {
					run(b, s, e, tn)
				}
				b.StartTimer()
				rep := run(b, s, e, tn)
				if got := map[bool]int{false: rep.Created, true: rep.Updated}[updating]; got != rows {
					b.Fatalf("got %d assets %sd, want %d", got, name, rows)
				}
			}
			b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
