package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore/catalog"
)

// noisyBatch is how many points each request of the noisy-neighbour figure
// sends: the plan allows that many times more points than API requests a
// second, so a tenant's batches and reads are held to the same pace.
const noisyBatch = 10

// The noisy-neighbour figure's senders: B's few, paced well under its
// plan; A's many, enough to offer ten times its plan's rates.
const quietWorkers, floodWorkers = 4, 32

// noisyNeighbour measures what tenant B meets when tenant A, on the same
// plan and in the same pool, floods the API: B reads a location and sends
// batches of points at a fifth of the plan's rates, for d alone, for d
// while A sends both at its plan's rates, and for d while A sends them at
// ten times those, in turns. Its results are B's reads and batches beside
// A at its plan and beside the flood, each with its p99 against B alone,
// and A's flooding reads and batches, with how many were refused.
func noisyNeighbour(ctx context.Context, e engine, name string, rate float64, d time.Duration) ([]Result, error) {
	plan := &qm.Plan{Name: "bench-noisy", Limits: qm.LimitSet{Values: map[qm.Limit]float64{
		qm.APIRequestsPerSecond: rate, qm.PointsPerSecond: rate * noisyBatch,
		// One second's worth of points, not the ten a plan gets unless it
		// says: A's flood spends it at once, and is then held to the rate.
		qm.PointsBurst: math.Ceil(rate * noisyBatch),
	}}}
	if err := catalog.NewPlanStore(e.Tenants()).CreatePlan(ctx, plan); err != nil {
		return nil, err
	}
	api, stop := apiServer(e)
	defer stop()
	root, stopServer, err := serveLoopback(api.Handler())
	if err != nil {
		return nil, err
	}
	defer stopServer()
	a, err := newNeighbour(ctx, e, "noisy-a", plan.Name, root, floodWorkers)
	if err != nil {
		return nil, err
	}
	b, err := newNeighbour(ctx, e, "noisy-b", plan.Name, root, quietWorkers)
	if err != nil {
		return nil, err
	}
	// A's load comes from a process of its own, as another customer's
	// would (runApart); B's from this one.
	bClient, closeB := newClient(2*quietWorkers, 10*time.Second)
	defer closeB()
	steady, base := rate/5, time.Now().Add(-24*time.Hour)
	// B's connections are opened, and its first requests answered, before
	// it is timed, so that neither phase pays for them.
	if _, err := b.run(ctx, bClient, steady, d/10, base); err != nil {
		return nil, fmt.Errorf("tenant B warming up: %w", err)
	}
	// B runs alone, beside A at its plan's rates, and beside A's flood at
	// ten times them, in turns (alone, at plan, flood, flood, at plan,
	// alone…), so that drift (the machine's other work, the tables
	// growing) favours none of them. Beside A at its plan tells what A's
	// fair share costs B; beside the flood, what the excess adds.
	slot := d / slots
	var alone, atPlan, beside, flood traffic
	for i := range 3 * slots {
		from := base.Add(-time.Duration(i+1) * time.Hour) // other rows each slot
		times := map[int]float64{0: 0, 1: 1, 2: 10, 3: 10, 4: 1, 5: 0}[i%6]
		if times == 0 {
			t, err := b.run(ctx, bClient, steady, slot, from)
			if err != nil {
				return nil, fmt.Errorf("tenant B alone: %w", err)
			}
			alone.add(t)
			continue
		}
		// A sends from a little before B's slot to a little after it, so
		// that B meets it from its first request to its last, past the
		// burst A saved while it was idle.
		lead := slot / 10
		var a1 *traffic
		var g errgroup.Group
		g.Go(func() error {
			var err error
			a1, err = a.runApart(ctx, times*rate, slot+2*lead, from.Add(-30*time.Minute))
			return err
		})
		time.Sleep(lead)
		t, err := b.run(ctx, bClient, steady, slot, from)
		if err := errors.Join(err, g.Wait()); err != nil {
			return nil, fmt.Errorf("tenant B beside A at %gx: %w", times, err)
		}
		if times == 1 {
			atPlan.add(t)
			continue
		}
		beside.add(t)
		flood.add(a1)
	}
	label := fmt.Sprintf("%s pool, plan %g req/s", name, rate)
	return []Result{
		atPlan.reads.against(fmt.Sprintf("noisy neighbour: B's API reads, %g/s, beside A at its plan, %s", steady, label), alone.reads,
			atPlan.readAnswers.limited.Load()),
		atPlan.batches.against(fmt.Sprintf("noisy neighbour: B's ingest, %g/s of %d points, beside A at its plan, %s", steady, noisyBatch, label), alone.batches,
			atPlan.batchAnswers.limited.Load()),
		beside.reads.against(fmt.Sprintf("noisy neighbour: B's API reads, %g/s, beside A's flood, %s", steady, label), alone.reads,
			alone.readAnswers.limited.Load()+beside.readAnswers.limited.Load()),
		beside.batches.against(fmt.Sprintf("noisy neighbour: B's ingest, %g/s of %d points, beside A's flood, %s", steady, noisyBatch, label), alone.batches,
			alone.batchAnswers.limited.Load()+beside.batchAnswers.limited.Load()),
		flood.reads.flooded(fmt.Sprintf("noisy neighbour: A's API reads at 10x, %s", label), flood.d, flood.readAnswers.limited.Load()),
		flood.batches.flooded(fmt.Sprintf("noisy neighbour: A's ingest at 10x, %d points a request, %s", noisyBatch, label), flood.d, flood.batchAnswers.limited.Load()),
	}, nil
}

// neighbour is a pool tenant of the noisy-neighbour figure, ready to read
// its location and send points through the API at root.
type neighbour struct {
	Read, Ingest string
	Token        string
	Devices      []string // a device's token for each worker
}

func newNeighbour(ctx context.Context, e engine, slug, plan, root string, workers int) (*neighbour, error) {
	tn, err := e.Tenants().CreateTenant(ctx, qm.NewTenant{Slug: slug, Name: "Neighbour", Tier: qm.TierPool})
	if err != nil {
		return nil, err
	}
	if _, err := catalog.NewPlanStore(e.Tenants()).SetTenantPlan(ctx, slug, plan); err != nil {
		return nil, err
	}
	_, path, token, err := readable(ctx, e, tn)
	if err != nil {
		return nil, err
	}
	devices, _, err := devicesOf(ctx, e, tn, workers)
	if err != nil {
		return nil, err
	}
	return &neighbour{Read: root + path, Ingest: root + "/ingest/v1/points", Token: token, Devices: devices}, nil
}

// traffic is what a neighbour's run met: the latency of each read and
// batch, what they were answered, and how long the run took.
type traffic struct {
	reads, batches            Sample
	readAnswers, batchAnswers answers
	d                         time.Duration
}

// add adds the traffic of another run to t.
func (t *traffic) add(o *traffic) {
	t.reads, t.batches, t.d = append(t.reads, o.reads...), append(t.batches, o.batches...), t.d+o.d
	for _, a := range [][2]*answers{{&t.readAnswers, &o.readAnswers}, {&t.batchAnswers, &o.batchAnswers}} {
		a[0].ok.Add(a[1].ok.Load())
		a[0].limited.Add(a[1].limited.Load())
	}
}

// run reads the neighbour's location and sends it batches of points, each
// perSecond, for d, from a worker per device; the points start at base.
func (n *neighbour) run(ctx context.Context, client *http.Client, perSecond float64, d time.Duration, base time.Time) (*traffic, error) {
	workers := len(n.Devices)
	every := time.Duration(float64(workers) / perSecond * float64(time.Second))
	var t traffic
	var g errgroup.Group
	g.Go(func() error {
		var err error
		t.reads, t.d, err = drive(ctx, workers, d, every, func(int, int) error {
			return t.readAnswers.call(ctx, client, "GET", n.Read, n.Token, nil)
		})
		return err
	})
	g.Go(func() error {
		var err error
		t.batches, _, err = drive(ctx, workers, d, every, func(w, k int) error {
			return t.batchAnswers.call(ctx, client, "POST", n.Ingest, n.Devices[w], pointBody(base, k*noisyBatch, noisyBatch))
		})
		return err
	})
	return &t, g.Wait()
}

// answers counts what a load was answered: 200, or 429 rate_limited, which
// a tenant past its plan's rates is owed. Anything else is an error.
type answers struct{ ok, limited atomic.Int64 }

func (a *answers) call(ctx context.Context, client *http.Client, method, url, token string, body []byte) error {
	status, err := send(ctx, client, method, url, token, body)
	switch {
	case err != nil:
		return err
	case status == http.StatusOK:
		a.ok.Add(1)
	case status == http.StatusTooManyRequests:
		a.limited.Add(1)
	default:
		return fmt.Errorf("%s %s: %d %s", method, url, status, http.StatusText(status))
	}
	return nil
}

// against summarizes s against baseline, the same load with A idle, by
// their p99s; refused counts its 429s.
func (s Sample) against(name string, baseline Sample, refused int64) Result {
	r := s.Compared(name, "p99 ≤ 1.5x", "A idle", baseline)
	r.RatioOf, r.Refused = "p99", int(refused)
	if r.BaselineP99 > 0 {
		r.Ratio = float64(r.P99) / float64(r.BaselineP99)
	}
	return r
}

// flooded summarizes s, a flood's requests over d, of which refused were
// answered 429: how fast it sent them, and how many were refused.
func (s Sample) flooded(name string, d time.Duration, refused int64) Result {
	r := s.Result(name, "429s")
	r.Rate, r.Refused = float64(len(s))/d.Seconds(), int(refused)
	return r
}
