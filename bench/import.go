package bench

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/assetcsv"
	"github.com/quartermaster/qm/sqlstore"
	"github.com/quartermaster/qm/tenancy"
)

// importTargets are the rates the import figure should reach, by engine.
var importTargets = map[string]float64{"sqlite": 20000}

// importAssets times one import of assetcsv.Sample(rows) into a new pool
// tenant, from the CSV as `quartermaster assets import` reads it.
func importAssets(ctx context.Context, e engine, name string, rows int) (Result, error) {
	tn, err := e.Tenants().CreateTenant(ctx, qm.NewTenant{Slug: "import", Name: "Import", Tier: qm.TierPool})
	if err != nil {
		return Result{}, err
	}
	r, err := assetcsv.NewReader(bytes.NewReader(assetcsv.Sample(rows)), qm.ImportOptions{})
	if err != nil {
		return Result{}, err
	}
	start := time.Now()
	rep, err := r.Import(tenancy.WithTenant(ctx, tn), sqlstore.NewAssetStore(e, e.Identity(), time.Now))
	total := time.Since(start)
	switch {
	case err != nil:
		return Result{}, fmt.Errorf("%s: import: %w", name, err)
	case rep.Created != rows:
		return Result{}, fmt.Errorf("%s: import: %d of %d assets created", name, rep.Created, rows)
	}
	res := Result{Name: fmt.Sprintf("import %d assets from CSV, %s pool: %.0f rows/s", rows, name, float64(rows)/total.Seconds()),
		N: 1, Total: total}
	if rate := importTargets[name]; rate > 0 {
		res.Target = fmt.Sprintf("< %v (%.0f rows/s)", time.Duration(float64(rows)/rate*float64(time.Second)), rate)
	}
	return res, nil
}
