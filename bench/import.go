package bench

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/assetcsv"
	"github.com/quartermaster/qm/sqlstore/dataplane"
	"github.com/quartermaster/qm/tenancy"
)

// importTarget is the rate the import figures should reach, creating and
// updating, on every engine.
const importTarget = 20000

// importAssets times an import of assetcsv.Sample(rows) into a new pool
// tenant, from the CSV as `quartermaster assets import` reads it, and a
// second import of the same file, which updates every asset.
func importAssets(ctx context.Context, e engine, name string, rows int) ([]Result, error) {
	tn, err := e.Tenants().CreateTenant(ctx, qm.NewTenant{Slug: "import", Name: "Import", Tier: qm.TierPool})
	if err != nil {
		return nil, err
	}
	csv := assetcsv.Sample(rows)
	var results []Result
	for _, action := range []string{"create", "update"} {
		r, err := assetcsv.NewReader(bytes.NewReader(csv), qm.ImportOptions{})
		if err != nil {
			return nil, err
		}
		start := time.Now()
		rep, err := r.Import(tenancy.WithTenant(ctx, tn), dataplane.NewAssetStore(e, e.Identity(), time.Now))
		total := time.Since(start)
		switch {
		case err != nil:
			return nil, fmt.Errorf("%s: import: %w", name, err)
		case map[string]int{"create": rep.Created, "update": rep.Updated}[action] != rows:
			return nil, fmt.Errorf("%s: import: %+v, want %d assets %sd", name, rep, rows, action)
		}
		results = append(results, Result{Name: fmt.Sprintf("import %d assets from CSV (%s), %s pool: %.0f rows/s", rows, action, name, float64(rows)/total.Seconds()),
			N: 1, Total: total, Target: fmt.Sprintf("< %v (%d rows/s)", time.Duration(float64(rows)/importTarget*float64(time.Second)), importTarget)})
	}
	return results, nil
}
