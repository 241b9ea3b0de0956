package telemetry

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore"
	"github.com/quartermaster/qm/tenancy"
)

// PointWriter stores telemetry with group commit: the requests that arrive
// while a transaction commits wait together and go into the next one, one
// transaction per database however many devices and tenants sent them.
// Write returns only after the points are committed, so a device is told
// its points are stored only when they are.
//
// Fairness: each database's queue keeps a line per tenant and fills a
// transaction by taking one request from each tenant in turn, so a tenant
// that floods waits behind its own requests, not others behind it.
type PointWriter struct {
	router sqlstore.BatchRouter
	now    func() time.Time
	// maxPoints bounds the points of one transaction (a request is never
	// split, so one may exceed it).
	maxPoints int

	mu        sync.Mutex
	queues    map[string]*pointQueue
	stopped   bool
	observers []qm.PointEvents
	wg        sync.WaitGroup
}

// StoredPoints implements qm.PointStore, from the devices' counts.
func (w *PointWriter) StoredPoints(ctx context.Context) (int64, error) {
	return sqlstore.View(ctx, w.router, func(c sqlstore.Conn) (n int64, err error) {
		err = c.QueryRow(ctx, `SELECT COALESCE(SUM(points), 0) FROM device_state WHERE tenant_id = $1`, c.TenantID()).Scan(&n)
		return n, err
	})
}

// NewPointWriter returns a writer over router; maxPoints bounds a
// transaction (0 means 20,000).
func NewPointWriter(router sqlstore.BatchRouter, now func() time.Time, maxPoints int) *PointWriter {
	if maxPoints <= 0 {
		maxPoints = 20000
	}
	return &PointWriter{router: router, now: now, maxPoints: maxPoints, queues: map[string]*pointQueue{}}
}

// Notify makes ev hear, after each commit from now on, which devices
// stored new points. cmd/quartermaster wires the console's live map here.
func (w *PointWriter) Notify(ev qm.PointEvents) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.observers = append(w.observers, ev)
}

// ErrWriterStopped is Write's error after Close.
var ErrWriterStopped = errors.New("the point writer is stopped")

// writeRequest is one call of Write, waiting for its commit.
type writeRequest struct {
	scope  context.Context
	batch  DevicePoints
	stored int
	done   chan error
}

// pointQueue is the queue of one database, with a line per tenant.
type pointQueue struct {
	mu      sync.Mutex
	lines   map[string][]*writeRequest // tenant id → its requests, oldest first
	order   []string                   // tenants with requests, in turn
	pending int
	wake    chan struct{}
}

// Write stores the points device deviceID of the tenant scoped in ctx sent,
// and returns how many were new (a point resent is not stored twice). It
// returns when they are committed, or with ctx's error if ctx ends first,
// in which case they may still be committed.
func (w *PointWriter) Write(ctx context.Context, deviceID string, points []qm.Point) (int, error) {
	t, err := tenancy.FromContext(ctx)
	if err != nil {
		return 0, err
	}
	if len(points) == 0 {
		return 0, nil
	}
	req := &writeRequest{scope: ctx, batch: DevicePoints{DeviceID: deviceID, Points: points}, done: make(chan error, 1)}
	domain := w.router.TxDomain(t)
	w.mu.Lock()
	if w.stopped {
		w.mu.Unlock()
		return 0, ErrWriterStopped
	}
	q := w.queues[domain]
	if q == nil {
		q = &pointQueue{lines: map[string][]*writeRequest{}, wake: make(chan struct{}, 1)}
		w.queues[domain] = q
		w.wg.Add(1)
		go w.run(domain, q)
	}
	q.mu.Lock()
	if len(q.lines[t.ID]) == 0 {
		q.order = append(q.order, t.ID)
	}
	q.lines[t.ID] = append(q.lines[t.ID], req)
	q.pending++
	q.mu.Unlock()
	w.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
	select {
	case err := <-req.done:
		return req.stored, err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// idleTimeout ends a database's writer goroutine after it has had nothing
// to do for this long (silo tenants each have a database).
const idleTimeout = time.Minute

// run commits the queue of one database until it is idle or the writer
// stops.
func (w *PointWriter) run(domain string, q *pointQueue) {
	defer w.wg.Done()
	idle := time.NewTimer(idleTimeout)
	defer idle.Stop()
	for {
		if batch := q.take(w.maxPoints); len(batch) > 0 {
			w.commit(batch)
			continue
		}
		w.mu.Lock()
		q.mu.Lock()
		drained := w.stopped && q.pending == 0
		q.mu.Unlock()
		w.mu.Unlock()
		if drained {
			return
		}
		idle.Reset(idleTimeout)
		select {
		case <-q.wake:
		case <-idle.C:
			w.mu.Lock()
			q.mu.Lock()
			empty := q.pending == 0
			if empty {
				delete(w.queues, domain)
			}
			q.mu.Unlock()
			w.mu.Unlock()
			if empty {
				return
			}
		}
	}
}

// take removes the requests of the next transaction: one from each tenant
// in turn until maxPoints is reached or the queue is empty.
func (q *pointQueue) take(maxPoints int) []*writeRequest {
	q.mu.Lock()
	defer q.mu.Unlock()
	var batch []*writeRequest
	points := 0
	for len(q.order) > 0 && points < maxPoints {
		tenant := q.order[0]
		line := q.lines[tenant]
		req := line[0]
		batch = append(batch, req)
		points += len(req.batch.Points)
		q.pending--
		q.order = q.order[1:]
		if len(line) == 1 {
			delete(q.lines, tenant)
		} else {
			q.lines[tenant] = line[1:]
			q.order = append(q.order, tenant) // back of the turn
		}
	}
	return batch
}

// commit writes a batch in one transaction and tells each request how it
// went. When the transaction fails, each tenant's requests are tried on
// their own, so one tenant's failure (a suspended tenant, say) does not
// fail the others.
func (w *PointWriter) commit(batch []*writeRequest) {
	byTenant := map[context.Context][]*writeRequest{}
	var scopes []context.Context
	seen := map[string]context.Context{}
	for _, req := range batch {
		t, _ := tenancy.FromContext(req.scope)
		scope, ok := seen[t.ID]
		if !ok {
			scope = req.scope
			seen[t.ID] = scope
			scopes = append(scopes, scope)
		}
		byTenant[scope] = append(byTenant[scope], req)
	}
	err := w.transact(scopes, byTenant)
	if err != nil && len(scopes) > 1 {
		for _, scope := range scopes {
			w.finish(byTenant[scope], w.transact([]context.Context{scope}, byTenant))
		}
		return
	}
	w.finish(batch, err)
}

// transact writes the requests of scopes' tenants in one transaction.
func (w *PointWriter) transact(scopes []context.Context, byTenant map[context.Context][]*writeRequest) error {
	received := w.now()
	// The transaction belongs to no one request: it outlives a client that
	// gives up, whose points may then be stored without an answer.
	return w.router.UpdateEach(context.Background(), scopes, func(scope context.Context, c sqlstore.Conn) error {
		reqs := byTenant[scope]
		batches := make([]DevicePoints, len(reqs))
		for i, req := range reqs {
			batches[i] = req.batch
		}
		added, err := WritePoints(context.WithoutCancel(scope), c, batches, received)
		if err != nil {
			return err
		}
		for i, req := range reqs {
			req.stored = added[i]
		}
		return nil
	})
}

// finish tells each request how its commit went, and the observers which
// devices stored new points: this is the one place every protocol's
// committed points pass.
func (w *PointWriter) finish(reqs []*writeRequest, err error) {
	if err == nil {
		w.committed(reqs)
	}
	for _, req := range reqs {
		if err != nil {
			req.stored = 0
		}
		req.done <- err
	}
}

// committed tells the observers of the devices reqs stored new points
// of, per tenant, each device once, in the order they came.
func (w *PointWriter) committed(reqs []*writeRequest) {
	w.mu.Lock()
	observers := w.observers
	w.mu.Unlock()
	if len(observers) == 0 {
		return
	}
	var tenants []string
	devices := map[string][]string{}
	seen := map[[2]string]bool{}
	for _, req := range reqs {
		t, _ := tenancy.FromContext(req.scope)
		k := [2]string{t.ID, req.batch.DeviceID}
		if req.stored == 0 || seen[k] {
			continue
		}
		seen[k] = true
		if devices[t.ID] == nil {
			tenants = append(tenants, t.ID)
		}
		devices[t.ID] = append(devices[t.ID], req.batch.DeviceID)
	}
	for _, id := range tenants {
		for _, ev := range observers {
			ev.PointsCommitted(id, devices[id])
		}
	}
}

// Close stops taking writes, lets the queued ones commit, and waits.
func (w *PointWriter) Close() {
	w.mu.Lock()
	w.stopped = true
	queues := make([]*pointQueue, 0, len(w.queues))
	for _, q := range w.queues {
		queues = append(queues, q)
	}
	w.mu.Unlock()
	for _, q := range queues {
		select {
		case q.wake <- struct{}{}:
		default:
		}
	}
	w.wg.Wait()
}
