package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore/alerts"
	"github.com/quartermaster/qm/sqlstore/telemetry"
	"github.com/quartermaster/qm/tenancy"
)

// The rules figure's load: a tenant's rules, 7 in 10 watching one of its
// geofences for an exit (the senders are outside them all, so each such
// rule's alarm is open and its last time moves on), the rest speed,
// metric and battery rules that never hold.
const benchRules, benchGeofences = 100, 1000

// rulesCost measures what a tenant's rules cost its ingest: HTTP batch
// ingest for a pool tenant with benchRules rules and benchGeofences
// geofences, evaluated as the points commit, against one with none, in
// turns (off, on, on, off…), as limitsCost does.
func rulesCost(ctx context.Context, e engine, name string, senders, batch int, d time.Duration) (Result, error) {
	var off, on ingestSide
	for _, s := range []struct {
		slug  string
		side  *ingestSide
		rules int
	}{{"rules-off", &off, 0}, {"rules-on", &on, benchRules}} {
		tn, err := e.Tenants().CreateTenant(ctx, qm.NewTenant{Slug: s.slug, Name: "Rules", Tier: qm.TierPool})
		if err != nil {
			return Result{}, err
		}
		if s.side.devices, _, err = devicesOf(ctx, e, tn, senders); err != nil {
			return Result{}, err
		}
		if err := makeRules(tenancy.WithTenant(ctx, tn), e, s.rules); err != nil {
			return Result{}, err
		}
	}
	api, stop := apiServer(e)
	defer stop()
	var order []*ingestSide
	for range slots / 2 {
		order = append(order, &off, &on, &on, &off)
	}
	if err := ingestTurns(ctx, api.Handler(), order, senders, batch, d); err != nil {
		return Result{}, err
	}
	r := on.batches.Compared(fmt.Sprintf("ingest HTTP, %d rules and %d geofences vs none, %d points a request, %d senders, %s pool",
		benchRules, benchGeofences, batch, senders, name), "≥ 0.8x points/s", "no rules", off.batches)
	r.Rate, r.BaselineRate, r.Ratio, r.Unit = on.ptsRate, off.ptsRate, on.ptsRate/off.ptsRate, "points/s"
	return r, nil
}

// makeRules gives the tenant in ctx n rules and, when n > 0,
// benchGeofences squares, all defined a month ago: before any point the
// figure sends.
func makeRules(ctx context.Context, e engine, n int) error {
	if n == 0 {
		return nil
	}
	monthAgo := func() time.Time { return time.Now().AddDate(0, -1, 0) }
	fences := alerts.NewGeofenceStore(e, monthAgo)
	rules := alerts.NewRuleStore(e, telemetry.NewFleetStore(e, e.Devices(), time.Now), monthAgo)
	var ids []string
	for i := range benchGeofences {
		lat, lon := 40+float64(i%100)*0.1, float64(i/100)*0.1
		shape, err := qm.PolygonShape([][][][2]float64{{{{lon, lat}, {lon + 0.05, lat}, {lon + 0.05, lat + 0.05}, {lon, lat + 0.05}, {lon, lat}}}})
		if err != nil {
			return err
		}
		g := &qm.Geofence{Name: fmt.Sprintf("Zone %d", i), Shape: shape}
		if err := fences.CreateGeofence(ctx, g); err != nil {
			return err
		}
		ids = append(ids, g.ID)
	}
	for i := range n {
		d := qm.RuleDefinition{Name: fmt.Sprintf("Rule %d", i), Severity: qm.SeverityInfo, Enabled: true}
		switch i % 10 {
		case 7:
			d.Kind, d.SpeedKMH, d.ForS = qm.RuleSpeed, 200, 10
		case 8:
			d.Kind, d.Condition = qm.RuleMetric, &qm.Comparison{Metric: "rpm", Op: ">", Value: qm.NumberMetric(7000)}
		case 9:
			d.Kind, d.BatteryPct = qm.RuleBattery, 5
		default:
			d.Kind, d.GeofenceID, d.Trigger = qm.RuleGeofence, ids[i], "exit"
		}
		if _, err := rules.CreateRule(ctx, d); err != nil {
			return err
		}
	}
	return nil
}
