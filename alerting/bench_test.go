package alerting_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore/alerts"
	"github.com/quartermaster/qm/sqlstore/telemetry"
)

// BenchmarkEvaluateDevice times the evaluation of a device's new batch of
// 10 points by a tenant's rules: none, and 100 rules (speed, metric,
// battery, and exits from 1,000 geofences' first 70) — the load.
func BenchmarkEvaluateDevice(b *testing.B) {
	for _, n := range []int{0, 100} {
		b.Run(fmt.Sprintf("rules=%d", n), func(b *testing.B) {
			w0 := newWorld(b)
			db, scope, d := w0.db, w0.scope, w0.d
			start := time.Now().UTC()
			then := func() time.Time { return start.Add(-time.Hour) }
			fleet := telemetry.NewFleetStore(db, db.Devices(), time.Now)
			fences := alerts.NewGeofenceStore(db, then)
			rules := alerts.NewRuleStore(db, fleet, then)
			var ids []string
			if n > 0 {
				for i := range 1000 {
					lat, lon := 40+float64(i%100)*0.1, float64(i/100)*0.1
					shape, err := qm.PolygonShape([][][][2]float64{{{{lon, lat}, {lon + 0.05, lat}, {lon + 0.05, lat + 0.05}, {lon, lat + 0.05}, {lon, lat}}}})
					if err != nil {
						b.Fatal(err)
					}
					g := &qm.Geofence{Name: fmt.Sprintf("Zone %d", i), Shape: shape}
					if err := fences.CreateGeofence(scope, g); err != nil {
						b.Fatal(err)
					}
					ids = append(ids, g.ID)
				}
			}
			for i := range n {
				def := qm.RuleDefinition{Name: fmt.Sprintf("Rule %d", i), Severity: qm.SeverityInfo, Enabled: true}
				switch i % 10 {
				case 0, 1, 2, 3, 4, 5, 6:
					def.Kind, def.GeofenceID, def.Trigger = qm.RuleGeofence, ids[i], "exit"
				case 7:
					def.Kind, def.SpeedKMH, def.ForS = qm.RuleSpeed, 200, 10
				case 8:
					def.Kind, def.Condition = qm.RuleMetric, &qm.Comparison{Metric: "rpm", Op: ">", Value: qm.NumberMetric(7000)}
				default:
					def.Kind, def.BatteryPct = qm.RuleBattery, 5
				}
				if _, err := rules.CreateRule(scope, def); err != nil {
					b.Fatal(err)
				}
			}
			w := telemetry.NewPointWriter(db, time.Now, 0)
			defer w.Close()
			alarms := alerts.NewAlarmStore(db, time.Now)
			speed := 50.0
			b.ResetTimer()
			for i := range b.N {
				pts := make([]qm.Point, 10)
				for j := range pts {
					pts[j] = qm.Point{Time: start.Add(time.Duration(i*10+j) * time.Millisecond), Position: &qm.Position{Lat: 52.5, Lon: 13.4, SpeedKMH: &speed},
						Metrics: map[string]qm.Metric{"rpm": qm.NumberMetric(2000), "battery_pct": qm.NumberMetric(80)}}
				}
				b.StopTimer()
				if _, err := w.Write(scope, d.ID, pts); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if _, err := alarms.EvaluateDevice(scope, d.ID); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
