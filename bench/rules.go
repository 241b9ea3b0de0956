package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/alerting"
	"github.com/quartermaster/qm/sqlstore/alerts"
	"github.com/quartermaster/qm/sqlstore/telemetry"
	"github.com/quartermaster/qm/tenancy"
	"github.com/quartermaster/qm/webhook"
	"golang.org/x/sync/errgroup"
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

// webhookLatency measures the time from a point's commit to the webhook
// its alarm's event causes arriving at a receiver on this machine, one
// point at a time for d: a pool tenant with benchRules rules and
// benchGeofences geofences, and one more rule, speed over 90 km/h, that
// sends to the receiver; the points go fast and slow by turns, so each
// raises or clears its alarm. The evaluator and the dispatcher run as in
// serve.
func webhookLatency(ctx context.Context, e engine, name string, d time.Duration) (Result, error) {
	tn, err := e.Tenants().CreateTenant(ctx, qm.NewTenant{Slug: "rules-hook", Name: "Rules", Tier: qm.TierPool})
	if err != nil {
		return Result{}, err
	}
	scope := tenancy.WithTenant(ctx, tn)
	_, ids, err := devicesOf(ctx, e, tn, 1)
	if err != nil {
		return Result{}, err
	}
	if err := makeRules(scope, e, benchRules); err != nil {
		return Result{}, err
	}
	arrived := make(chan time.Time, 16)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		at := time.Now()
		io.Copy(io.Discard, r.Body)
		arrived <- at
	}))
	defer receiver.Close()
	// The receiver is on loopback: the bench's operator allows it.
	channels := alerts.NewChannelStore(e, func(context.Context, string) error { return nil }, time.Now)
	hook, _, err := channels.CreateChannel(scope, qm.ChannelDefinition{Name: "Bench", Kind: qm.ChannelWebhook, Enabled: true, URL: receiver.URL})
	if err != nil {
		return Result{}, err
	}
	rules := alerts.NewRuleStore(e, telemetry.NewFleetStore(e, e.Devices(), time.Now), func() time.Time { return time.Now().AddDate(0, -1, 0) })
	if _, err := rules.CreateRule(scope, qm.RuleDefinition{Name: "Speeding", Kind: qm.RuleSpeed, Severity: qm.SeverityMajor, SpeedKMH: 90, Enabled: true,
		ChannelIDs: []string{hook.ID}}); err != nil {
		return Result{}, err
	}

	discard := slog.New(slog.NewTextHandler(io.Discard, nil))
	dispatcher := alerting.NewDispatcher(alerting.DispatchConfig{
		Outbox: alerts.NewOutboxStore(e), Tenants: e.Tenants(), Lease: e.Tenants().TakeLease, Holder: "bench",
		Webhooks: webhook.NewClient(webhook.Options{AllowPrivate: true}), Now: time.Now, Log: discard,
	})
	evaluator := alerting.New(alerts.NewAlarmStore(e, time.Now), e.Tenants(), discard, dispatcher.Raised)
	points := telemetry.NewPointWriter(e, time.Now, 0)
	defer points.Close()
	points.Notify(evaluator)
	runCtx, cancel := context.WithCancel(ctx)
	var g errgroup.Group
	g.Go(func() error { return evaluator.Run(runCtx) })
	g.Go(func() error { return dispatcher.Run(runCtx) })
	defer func() { cancel(); g.Wait() }()

	var s Sample
	// The points were measured in the last hour, a second apart.
	began := time.Now()
	start := began.Add(-time.Hour)
	for i := 0; time.Since(began) < d; i++ {
		kmh := 40.0
		if i%2 == 0 {
			kmh = 120
		}
		p := qm.Point{Time: start.Add(time.Duration(i) * time.Second), Position: &qm.Position{Lat: 52.5, Lon: 13.4, SpeedKMH: &kmh}}
		if _, err := points.Write(scope, ids[0], []qm.Point{p}); err != nil {
			return Result{}, err
		}
		committed := time.Now()
		select {
		case at := <-arrived:
			s = append(s, at.Sub(committed))
		case <-time.After(30 * time.Second):
			return Result{}, fmt.Errorf("point %d: no webhook within 30 s of its commit", i)
		case <-ctx.Done():
			return Result{}, ctx.Err()
		}
	}
	return s.Result(fmt.Sprintf("a point's commit to its webhook's arrival, %d rules and %d geofences, %s pool", benchRules+1, benchGeofences, name), ""), nil
}
