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
// of sizes) to a silo while it keeps receiving points: the whole move,
// and the pause of its writes for the last pass (from PauseMove to the
// switch), when the tenant is answered 503.
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
		sent, pause, took, err := moveWhileSending(ctx, le, tn, ids[0], start.Add(time.Duration(n)*time.Second))
		if err != nil {
			return nil, err
		}
		rs = append(rs,
			Result{Name: fmt.Sprintf("move pool → silo, %d points, %s (served meanwhile, %d points/s: %d written)", n, name, sendRate, sent), N: 1, Total: took},
			Result{Name: fmt.Sprintf("move pool → silo, %d points, %s: the pause of its writes", n, name), N: 1, Total: pause,
				Target: "pause < 2s at 1,000,000 points"})
	}
	return rs, nil
}

// moveWhileSending moves tenant tn to a silo while its device keeps
// sending points of times from next on, sendRate a second in batches of
// ten (a batch refused in the pause is sent again), and returns how many
// points were stored meanwhile, the pause, and the whole move's time.
func moveWhileSending(ctx context.Context, e lifecycle.Engine, tn *qm.Tenant, device string, next time.Time) (int, time.Duration, time.Duration, error) {
	w := telemetry.NewPointWriter(e, time.Now, 0)
	defer w.Close()
	sendCtx, stop := context.WithCancel(ctx)
	sent := make(chan int, 1)
	go func() {
		n := 0
		tick := time.NewTicker(time.Second / (sendRate / 10))
		defer tick.Stop()
		for {
			select {
			case <-sendCtx.Done():
				sent <- n
				return
			case <-tick.C:
			}
			// The tenant as a request finds it now: moving, then moved.
			t, err := e.Tenants().Tenant(ctx, tn.Slug)
			if err != nil || t.State != qm.StateActive {
				continue // paused: sent again at the next tick
			}
			batch := make([]qm.Point, 10)
			for i := range batch {
				batch[i] = qm.Point{Time: next.Add(time.Duration(i) * time.Second), Metrics: map[string]qm.Metric{"battery_pct": qm.NumberMetric(70)}}
			}
			if _, err := w.Write(tenancy.WithTenant(ctx, t), device, batch); err == nil {
				n += len(batch)
				next = next.Add(10 * time.Second)
			}
		}
	}()
	var pause time.Duration
	began := time.Now()
	_, err := lifecycle.Move(ctx, e, tn.Slug, lifecycle.MoveOptions{Tier: qm.TierSilo, Holder: "bench",
		Switched: func(d time.Duration) { pause = d }})
	took := time.Since(began)
	stop()
	return <-sent, pause, took, err
}

// sendRate is how many points a second a tenant sends while the move
// figure moves it: a fleet of 100 vehicles reporting every second.
const sendRate = 100
