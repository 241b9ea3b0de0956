package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore/lifecycle"
	"github.com/quartermaster/qm/sqlstore/telemetry"
	"github.com/quartermaster/qm/tenancy"
)

// moveTimes measures moving a pool tenant holding n points (for each n
// of sizes) to a silo: the whole move, which is also how long its writes
// wait, for the tenant is answered 503 from the move's start to its
// switch.
func moveTimes(ctx context.Context, e engine, name string, sizes []int) ([]Result, error) {
	le, ok := e.(lifecycle.Engine)
	if !ok {
		return nil, fmt.Errorf("%s: the engine cannot export", name)
	}
	var rs []Result
	for _, n := range sizes {
		slug := fmt.Sprintf("move-%d", n)
		tn, err := e.Tenants().CreateTenant(ctx, qm.NewTenant{Slug: slug, Name: "Move", Tier: qm.TierPool})
		if err != nil {
			return nil, err
		}
		_, ids, err := devicesOf(ctx, e, tn, 1)
		if err != nil {
			return nil, err
		}
		w := telemetry.NewPointWriter(e, time.Now, 0)
		start := time.Now().Add(-time.Duration(n) * time.Second)
		for i := 0; i < n; i += 5000 {
			batch := make([]qm.Point, min(5000, n-i))
			for j := range batch {
				kmh := 50.0
				batch[j] = qm.Point{Time: start.Add(time.Duration(i+j) * time.Second), Position: &qm.Position{Lat: 52.5, Lon: 13.4, SpeedKMH: &kmh},
					Metrics: map[string]qm.Metric{"battery_pct": qm.NumberMetric(80)}}
			}
			if _, err := w.Write(tenancy.WithTenant(ctx, tn), ids[0], batch); err != nil {
				w.Close()
				return nil, err
			}
		}
		w.Close()
		began := time.Now()
		if _, err := lifecycle.Move(ctx, le, slug, lifecycle.MoveOptions{Tier: qm.TierSilo, Holder: "bench"}); err != nil {
			return nil, err
		}
		took := time.Since(began)
		rs = append(rs, Result{Name: fmt.Sprintf("move pool → silo, %d points, %s (writes wait all of it)", n, name), N: 1, Total: took,
			Target: "pause < 2s at 1,000,000 points"})
	}
	return rs, nil
}
