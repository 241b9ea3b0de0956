package bench

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore/catalog"
)

// limitsCost measures what checking a tenant's limits costs: the API read
// and HTTP ingest figures for a pool tenant on a plan that sets every rate
// and cap, so generously that nothing is refused, against a pool tenant on
// the default plan, which sets none. Each side runs for d in slots of
// d/slots, in the order off, on, on, off, off, on, on, off…, so that drift
// (the machine's other work, the tables growing) favours neither.
// slots is how many turns each side of a figure that alternates its sides
// takes (limits off and on; B alone and beside the flood): an even number.
const slots = 4

func limitsCost(ctx context.Context, e engine, name string, clients, senders, batch int, d time.Duration) ([]Result, error) {
	generous := map[qm.Limit]float64{}
	for _, l := range qm.Limits {
		generous[l.Key] = 1e9 // far past anything the run reaches
	}
	// Retention's bound is no check on a request.
	delete(generous, qm.MaxRetentionDays)
	plans := catalog.NewPlanStore(e.Tenants())
	if err := plans.CreatePlan(ctx, &qm.Plan{Name: "bench-generous", Limits: qm.LimitSet{Values: generous}}); err != nil {
		return nil, err
	}
	type side struct {
		ingestSide
		path, token string
		reads       Sample
		readRate    float64
	}
	var off, on side
	for _, s := range []struct {
		slug, plan string
		side       *side
	}{{"limits-off", qm.DefaultPlan, &off}, {"limits-on", "bench-generous", &on}} {
		tn, err := e.Tenants().CreateTenant(ctx, qm.NewTenant{Slug: s.slug, Name: "Limits", Tier: qm.TierPool})
		if err != nil {
			return nil, err
		}
		if _, err := plans.SetTenantPlan(ctx, s.slug, s.plan); err != nil {
			return nil, err
		}
		if _, s.side.path, s.side.token, err = readable(ctx, e, tn); err != nil {
			return nil, err
		}
		if s.side.devices, _, err = devicesOf(ctx, e, tn, senders); err != nil {
			return nil, err
		}
	}
	api, stop := apiServer(e)
	defer stop()
	var order []*side
	for range slots / 2 {
		order = append(order, &off, &on, &on, &off)
	}
	for _, s := range order {
		sample, rate, err := load(ctx, api.Handler(), s.path, s.token, clients, d/slots)
		if err != nil {
			return nil, fmt.Errorf("api reads: %w", err)
		}
		s.reads, s.readRate = append(s.reads, sample...), s.readRate+rate/slots
	}
	sides := make([]*ingestSide, len(order))
	for i, s := range order {
		sides[i] = &s.ingestSide
	}
	if err := ingestTurns(ctx, api.Handler(), sides, senders, batch, d); err != nil {
		return nil, err
	}
	reads := on.reads.Compared(fmt.Sprintf("api GET location, limits on vs off, %d conns, %s pool", clients, name), "≥ 0.95x req/s", "limits off", off.reads)
	reads.Rate, reads.BaselineRate, reads.Ratio = on.readRate, off.readRate, on.readRate/off.readRate
	ingest := on.batches.Compared(fmt.Sprintf("ingest HTTP, limits on vs off, %d points a request, %d senders, %s pool", batch, senders, name),
		"≥ 0.95x points/s", "limits off", off.batches)
	ingest.Rate, ingest.BaselineRate, ingest.Ratio, ingest.Unit = on.ptsRate, off.ptsRate, on.ptsRate/off.ptsRate, "points/s"
	return []Result{reads, ingest}, nil
}

// ingestSide is one side of an ingest figure that alternates its sides:
// the tenant's devices' tokens, and the batches it sent at what rate.
type ingestSide struct {
	devices []string
	batches Sample
	ptsRate float64
}

// ingestTurns sends HTTP ingest as each side of order in turn, each for
// d/slots (order holds each side slots times), from senders devices in
// batches of batch points.
func ingestTurns(ctx context.Context, h http.Handler, order []*ingestSide, senders, batch int, d time.Duration) error {
	root, stopServer, err := serveLoopback(h)
	if err != nil {
		return err
	}
	defer stopServer()
	client, closeClient := newClient(senders, 30*time.Second)
	defer closeClient()
	for round, s := range order {
		base := time.Now().Add(-24*time.Hour - time.Duration(round)*6*time.Hour) // other rows each round
		sample, rate, err := pushPoints(ctx, senders, d/slots, func(i, first int) error {
			return call(ctx, client, "POST", root+"/ingest/v1/points", s.devices[i], pointBody(base, first, batch))
		}, batch)
		if err != nil {
			return fmt.Errorf("ingest: %w", err)
		}
		s.batches, s.ptsRate = append(s.batches, sample...), s.ptsRate+rate/slots
	}
	return nil
}
