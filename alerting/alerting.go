// Package alerting runs the tenants' telemetry rules after their devices'
// points are committed. It hears from the point writer which devices of
// which tenant stored new points (qm.PointEvents) and evaluates each such
// device in the background, so ingest never waits for rules.
//
// Evaluation reads the points from the database, from where each rule
// stopped, so it sees them in the order measured whatever order they came
// in, and nothing is lost when a node dies between a commit and its
// evaluation: the device's next points are evaluated together with those.
package alerting

import (
	"context"
	"log/slog"
	"sync"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/tenancy"
)

// Tenants finds a tenant by id.
type Tenants interface {
	TenantByID(ctx context.Context, id string) (*qm.Tenant, error)
}

// Evaluator evaluates the devices the point writer tells it of.
type Evaluator struct {
	alarms  qm.AlarmEvaluator
	tenants Tenants
	log     *slog.Logger
	// Raised, when set, hears the events each evaluation caused (the
	// notifications' way out, and tests).
	raised func(tenantID string, events []*qm.AlarmEvent)

	mu      sync.Mutex
	pending map[device]struct{}
	order   []device
	wake    chan struct{}
}

type device struct{ tenantID, deviceID string }

var _ qm.PointEvents = (*Evaluator)(nil)

// New returns an Evaluator over alarms; raised, when not nil, is called
// with the events of each evaluation that caused some.
func New(alarms qm.AlarmEvaluator, tenants Tenants, log *slog.Logger, raised func(tenantID string, events []*qm.AlarmEvent)) *Evaluator {
	return &Evaluator{alarms: alarms, tenants: tenants, log: log, raised: raised, pending: map[device]struct{}{}, wake: make(chan struct{}, 1)}
}

// PointsCommitted implements qm.PointEvents: it queues the devices, once
// each however often they report before their turn, and never blocks.
func (e *Evaluator) PointsCommitted(tenantID string, deviceIDs []string) {
	e.mu.Lock()
	for _, id := range deviceIDs {
		d := device{tenantID, id}
		if _, ok := e.pending[d]; !ok {
			e.pending[d] = struct{}{}
			e.order = append(e.order, d)
		}
	}
	e.mu.Unlock()
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// CatchUp queues every device of every active tenant with points the
// rules have not read: those a node committed and then stopped before
// evaluating. Run calls it as it starts; it stops early when ctx ends.
func (e *Evaluator) CatchUp(ctx context.Context) {
	all, ok := e.tenants.(TenantSource)
	if !ok {
		return
	}
	ts, err := all.Tenants(ctx)
	if err != nil {
		if ctx.Err() == nil {
			e.log.Warn("alerting: catch up: tenants", "err", err)
		}
		return
	}
	for _, t := range ts {
		if ctx.Err() != nil {
			return
		}
		if t.State != qm.StateActive {
			continue
		}
		ids, err := e.alarms.Behind(tenancy.WithTenant(ctx, t))
		if err != nil {
			e.log.Warn("alerting: catch up", "tenant", t.Slug, "err", err)
			continue
		}
		if len(ids) > 0 {
			e.PointsCommitted(t.ID, ids)
		}
	}
}

// Run catches up, then evaluates queued devices, oldest news first, until
// ctx ends.
func (e *Evaluator) Run(ctx context.Context) error {
	e.CatchUp(ctx)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-e.wake:
		}
		for {
			d, ok := e.next()
			if !ok {
				break
			}
			e.evaluate(ctx, d)
		}
	}
}

// next takes the device whose news is oldest.
func (e *Evaluator) next() (device, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.order) == 0 {
		return device{}, false
	}
	d := e.order[0]
	e.order = e.order[1:]
	delete(e.pending, d)
	return d, true
}

// evaluate runs the rules of d's tenant over d's new points. A failure is
// logged: the device's next points are evaluated with those it missed.
func (e *Evaluator) evaluate(ctx context.Context, d device) {
	t, err := e.tenants.TenantByID(ctx, d.tenantID)
	if err != nil {
		e.log.Warn("alerting: tenant of committed points", "tenant_id", d.tenantID, "err", err)
		return
	}
	events, err := e.alarms.EvaluateDevice(tenancy.WithTenant(ctx, t), d.deviceID)
	switch {
	case err != nil && ctx.Err() == nil:
		e.log.Warn("alerting: evaluate device", "tenant", t.Slug, "device_id", d.deviceID, "err", err)
	case len(events) > 0 && e.raised != nil:
		e.raised(t.ID, events)
	}
}
