package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/assetcsv"
	"github.com/quartermaster/qm/sqlstore/dataplane"
)

// BenchmarkImport imports assetcsv.Sample(rows) into a new pool tenant of
// fresh storage from open, each round, and reports rows/s: Create makes
// every asset in a tenant without any; CreateBeside makes them beside an
// asset the tenant has, so each tag is looked for; Update imports the file
// a second time, each row updating the asset with its tag. Opening the
// storage, making the tenant and what the tenant has before are not timed.
func BenchmarkImport(b *testing.B, rows int, open func(b *testing.B) Engine) {
	csv := assetcsv.Sample(rows)
	run := func(b *testing.B, s *dataplane.AssetStore, tn *qm.Tenant, csv []byte) *qm.ImportReport {
		rep, err := importFile(scoped(tn), s, string(csv), qm.ImportOptions{})
		if err != nil || !rep.Committed || rep.Failed > 0 {
			b.Fatalf("import: %+v, %v", rep, err)
		}
		return rep
	}
	for _, bc := range []struct {
		name    string
		before  []byte // imported first, untimed
		written func(*qm.ImportReport) int
	}{
		{"Create", nil, func(r *qm.ImportReport) int { return r.Created }},
		{"CreateBeside", []byte("Asset Tag,Model Name,Category\nOTHER-1,Other,Other\n"), func(r *qm.ImportReport) int { return r.Created }},
		{"Update", csv, func(r *qm.ImportReport) int { return r.Updated }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for n := 0; b.Loop(); n++ {
				b.StopTimer()
				e := open(b)
				s := dataplane.NewAssetStore(e, e.Identity(), time.Now)
				tn, _ := MustTenant(b, e, qm.TierPool, fmt.Sprintf("bench-%d", n))
				if bc.before != nil {
					run(b, s, tn, bc.before)
				}
				b.StartTimer()
				if got := bc.written(run(b, s, tn, csv)); got != rows {
					b.Fatalf("got %d assets written, want %d", got, rows)
				}
			}
			b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
