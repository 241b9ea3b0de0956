package metrics_test

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/quartermaster/qm/metrics"
)

func TestLoad(t *testing.T) {
	at := time.Unix(1_000_000, 0)
	now := func() time.Time { return at }
	l := metrics.NewLoad(2, now)
	// busy: 100 requests at 3 ms and one at 900 ms; points: 500 points;
	// quiet: 10 requests; noisy: 5 refusals.
	for range 100 {
		l.Request("busy", 3*time.Millisecond)
	}
	l.Request("busy", 900*time.Millisecond)
	l.Points("points", 500)
	for range 10 {
		l.Request("quiet", time.Millisecond/2)
	}
	l.Refused("noisy", 5)
	top := l.Top(0)
	if len(top) != 4 || top[0].Tenant != "points" || top[1].Tenant != "busy" || top[2].Tenant != "quiet" || top[3].Tenant != "noisy" {
		t.Fatalf("top: %+v; want points, busy, quiet, noisy", top)
	}
	busy := top[1]
	if busy.RequestsPerSecond != 10.1 || busy.RequestP99 != 4*time.Millisecond {
		t.Fatalf("busy: %+v; want 10.1 requests a second (101 over 10 s), p99 under 4 ms", busy)
	}
	if top[3].RefusedPerSecond != 0.5 {
		t.Fatalf("noisy: %+v; want 0.5 refusals a second", top[3])
	}
	// Prometheus gets the top two alone: four series each.
	reg := prometheus.NewRegistry()
	reg.MustRegister(l)
	if n := testutil.CollectAndCount(l); n != 8 {
		t.Fatalf("%d series, want 8 (4 for each of the top 2)", n)
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP qm_tenant_points_per_second Points stored a second of the most loaded tenants, over the last 10 s.
# TYPE qm_tenant_points_per_second gauge
qm_tenant_points_per_second{tenant="busy"} 0
qm_tenant_points_per_second{tenant="points"} 50
`), "qm_tenant_points_per_second"); err != nil {
		t.Fatal(err)
	}
	// Ten seconds on, the window has passed: everyone is forgotten.
	at = at.Add(metrics.LoadWindow)
	if top := l.Top(0); len(top) != 0 {
		t.Fatalf("after the window: %+v, want nobody", top)
	}
}
